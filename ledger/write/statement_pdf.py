"""The settlement statement as a PDF for auditors (A4, German).

``render_statement`` lays out a ``StatementData`` with reportlab's platypus, in this order:
title and recipient with the result at a glance; then numbered sections: grant and
payouts, spending by category, overhead cap, spending per pool and school (only with
cost centres of pools or schools), pass-through to member municipalities (only with
pass-through), excluded spending grouped by the rule that excluded it and the postings
not yet classified (both adding up to ``result.excluded`` and ``result.unclassified``),
the officers' overrides (withdrawn ones included), settlement agreement (if any), the
forecast while the school year is still open, result, interest on late repayment (if
any), payment details, the audit note (hash-chain head and the evaluation run behind
the figures) and the chronological voucher list with each posting's classification.
Every page carries a footer with "Seite x von y", the creation time, recipient and
school year (two passes via a page-collecting canvas).

The lists that grow with the postings (voucher list, unclassified postings) are handed to
reportlab a page at a time (``_PagedTable``: one big Table is quadratic in its pages) with
plain-text cells broken into lines as a Paragraph would break them (``_text_cell``), so a
school year of 10 000 postings renders in seconds and in bounded memory.

Output is deterministic: reportlab runs in invariant mode, the PDF's creation date is
``data.created_at`` and no section reads the clock, so equal input gives equal bytes.
Text uses the standard Helvetica font, so it stays extractable (umlauts, ß, §, € included).
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ledger.core.money import ZERO, format_german
from ledger.reports.forecast import Forecast
from ledger.reports.settlement import RepaymentResult
from ledger.reports.statement import (
    PassThroughLine,
    StatementData,
    TargetLine,
    VoucherLine,
)
from ledger.rules.evaluation_runs import RunState
from ledger.rules.overrides import OverrideRecord
from ledger.rules.status import CATEGORY_STATUSES, Status

MARGIN = 20 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN  # 170 mm
FOOTER_FONT = ("Helvetica", 7.5)
CELL_PADDING = 3  # left and right padding of table cells, points

_BASE = getSampleStyleSheet()
TITLE = ParagraphStyle("Titel", parent=_BASE["Title"], fontName="Helvetica-Bold", fontSize=15,
                       leading=19, spaceAfter=4 * mm)
HEADING = ParagraphStyle("Abschnitt", parent=_BASE["Heading2"], fontName="Helvetica-Bold",
                         fontSize=11.5, leading=14, spaceBefore=5 * mm, spaceAfter=2 * mm,
                         keepWithNext=1)
BODY = ParagraphStyle("Text", parent=_BASE["Normal"], fontName="Helvetica", fontSize=9.5,
                      leading=12.5)
HEADING_LONG = ParagraphStyle("AbschnittLang", parent=HEADING, keepWithNext=0)
NOTE = ParagraphStyle("Hinweis", parent=BODY, fontName="Helvetica-Oblique", fontSize=8.5,
                      leading=11, spaceBefore=1.5 * mm)
CELL = ParagraphStyle("Zelle", parent=BODY, fontSize=8.5, leading=10.5)
CELL_BOLD = ParagraphStyle("ZelleFett", parent=CELL, fontName="Helvetica-Bold")
CELL_RIGHT = ParagraphStyle("ZelleRechts", parent=CELL, alignment=TA_RIGHT)
CELL_BOLD_RIGHT = ParagraphStyle("ZelleFettRechts", parent=CELL_BOLD, alignment=TA_RIGHT)
HEAD = ParagraphStyle("Kopf", parent=CELL_BOLD, fontSize=7.5, leading=9)
HEAD_RIGHT = ParagraphStyle("KopfRechts", parent=HEAD, alignment=TA_RIGHT)
CELL_SMALL = ParagraphStyle("ZelleKlein", parent=CELL, fontSize=7.5, leading=9)


def render_statement(data: StatementData) -> bytes:
    """Render the settlement statement as PDF bytes (A4, German).

    Args:
        data: the statement's content; amounts in EUR (``Decimal``), dates as ``date``,
            ``data.created_at`` (naive local time) is printed in the footer and used as
            the PDF's creation date.
    Returns:
        The PDF document as bytes. Equal ``data`` gives byte-identical output.
    """
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=18 * mm,
        bottomMargin=22 * mm,
        title=f"Abrechnung der {data.programme} – Schuljahr {data.school_year} – "
        f"{data.recipient_name}",
        author=data.recipient_name,
        subject=f"Verwendungsnachweis {data.programme}, Schuljahr {data.school_year}, "
        f"{data.legal_basis}",
        creator="inkl-ledger",
        lang="de-DE",
        invariant=1,
    )
    maker = partial(_NumberedCanvas, footer_left=_footer_lines(data), created_at=data.created_at)
    doc.build(_story(data), canvasmaker=maker)
    return buffer.getvalue()


class _NumberedCanvas(canvas.Canvas):
    """Canvas that keeps every page's state and draws the footer when the page count is known.

    The reportlab "page x of y" recipe (ActiveState 576832): ``showPage`` only stores the
    page, ``save`` replays the pages with "Seite x von y".
    """

    def __init__(self, *args, footer_left: tuple[str, str], created_at: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self._footer_left = footer_left
        self._saved_page_states: list[dict] = []
        stamp = created_at.strftime("D:%Y%m%d%H%M%S")
        self.setDateFormatter(lambda *_: stamp)

    def showPage(self):  # noqa: N802 (reportlab's name)
        self._saved_page_states.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved_page_states)
        for state in self._saved_page_states:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        width = A4[0]
        self.saveState()
        self.setFont(*FOOTER_FONT)
        self.setStrokeColor(colors.grey)
        self.setLineWidth(0.4)
        self.line(MARGIN, 15 * mm, width - MARGIN, 15 * mm)
        self.drawString(MARGIN, 11.5 * mm, self._footer_left[0])
        self.drawString(MARGIN, 8.5 * mm, self._footer_left[1])
        self.drawRightString(width - MARGIN, 11.5 * mm, f"Seite {self._pageNumber} von {total}")
        self.restoreState()


def _footer_lines(data: StatementData) -> tuple[str, str]:
    """The footer's two left-hand lines: recipient and school year, creation time."""
    created = data.created_at
    return (
        f"{data.recipient_name} ({data.recipient_key}) · Schuljahr {data.school_year}",
        f"Erstellt am {created:%d.%m.%Y} um {created:%H:%M}",
    )


# ---------------------------------------------------------------- formatting helpers


def _eur(amount: Decimal) -> str:
    """``Decimal`` EUR → ``"1.234,56 EUR"``."""
    return f"{format_german(amount)} EUR"


def _num_date(day: date) -> str:
    """``date`` → ``"01.04.2024"``."""
    return day.strftime("%d.%m.%Y")


def _long_date(day: date) -> str:
    """``date`` → ``"1. April 2024"``."""
    return format_date(day, format="long", locale="de_DE")


def _p(text: str, style: ParagraphStyle = CELL) -> Paragraph:
    """A paragraph of plain (escaped) text."""
    return Paragraph(escape(text), style)


def _lines(*lines: str, style: ParagraphStyle = CELL) -> Paragraph:
    """A paragraph of plain (escaped) text lines, one below the other; empty lines are left out."""
    return Paragraph("<br/>".join(escape(line) for line in lines if line), style)


@lru_cache(maxsize=4096)
def _width(text: str, font: str, size: float) -> float:
    """reportlab's ``stringWidth``, remembered: cells repeat words and characters."""
    return stringWidth(text, font, size)


def _broken(text: str, width: float, style: ParagraphStyle) -> list[str] | None:
    """The lines of plain ``text`` in ``style`` at most ``width`` points wide, broken as reportlab's
    ``Paragraph`` breaks them: at spaces (a line of n words may exceed ``width`` by the style's
    space shrinkage, n × ``spaceShrinkage`` × a space), a text of one word too long for a line
    between characters. None for a longer text with such a word (a Paragraph splits it mid-line)."""
    font, size = style.fontName, style.fontSize
    words = text.split()
    if len(words) == 1 and _width(words[0], font, size) > width:
        return _split_word(words[0], width, font, size)
    space = _width(" ", font, size)
    lines: list[str] = []
    line: list[str] = []
    used = -space
    for word in words:
        needed = _width(word, font, size)
        if needed > width:
            return None
        if line and used + space + needed > width + style.spaceShrinkage * space * len(line):
            lines.append(" ".join(line))
            line, used = [], -space
        line.append(word)
        used += space + needed
    return lines + [" ".join(line)] if line else lines


def _split_word(word: str, width: float, font: str, size: float) -> list[str]:
    """``word`` cut between characters into lines at most ``width`` points wide (as a Paragraph does)."""
    parts, part, used = [], "", 0.0
    for char in word:
        needed = _width(char, font, size)
        if part and used + needed > width:
            parts.append(part)
            part, used = "", 0.0
        part += char
        used += needed
    return parts + [part]


def _text_cell(text: str, width: float, style: ParagraphStyle) -> str | Paragraph:
    """A table cell of plain ``text`` (a newline breaks the line there) for a column of ``width``
    points (paddings included) that looks like a Paragraph in ``style``: the lines as one string,
    which reportlab lays out and draws far faster than a Paragraph, or the Paragraph itself where
    the lines cannot be broken as it would break them. The table sets the column's font and
    leading to the style's (``_LongTable.text_styles``)."""
    lines = [_broken(line, width - 2 * CELL_PADDING, style) for line in text.split("\n")]
    if any(broken is None for broken in lines):
        return _lines(*text.split("\n"), style=style)
    return "\n".join(part for broken in lines for part in broken)


def _one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) as one space, as a Paragraph shows it."""
    return " ".join(text.split())


def _head(*labels: str, right: tuple[int, ...] = ()) -> list[Paragraph]:
    """A header row of small bold cells; a ``\\n`` in a label breaks the line there, ``right``
    are the indexes of right-aligned (amount) columns."""
    return [_lines(*label.split("\n"), style=HEAD_RIGHT if i in right else HEAD)
            for i, label in enumerate(labels)]


def _timestamp(moment: datetime) -> str:
    """``datetime`` → ``"15.03.2024 10:00"``."""
    return moment.strftime("%d.%m.%Y %H:%M")


def _amount(amount: Decimal) -> str:
    """``Decimal`` EUR → ``"1.234,56"`` (for tables whose header says "EUR")."""
    return format_german(amount)


def _iban(iban: str) -> str:
    """IBAN in groups of four: ``"DE59 3005 0000 0001 6835 15"``."""
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _table(rows: list[list], widths: list[float], *, amount_cols: tuple[int, ...] = (-1,),
           total_rows: int = 0, header: bool = True, repeat: bool = False, label_cols: int = 1,
           commands: tuple = ()) -> Table:
    """A table in the statement's style.

    ``rows`` may hold strings or Paragraphs; ``amount_cols`` are right-aligned; the last
    ``total_rows`` rows are bold with a rule above; ``header`` styles the first row (and
    ``repeat`` repeats it after a page break); the last row's label spans its first
    ``label_cols`` columns; ``commands`` are further style commands (before the header's
    and the total's).
    """
    table = Table(rows, colWidths=widths, repeatRows=1 if repeat else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        *commands,
    ]
    for col in amount_cols:
        style.append(("ALIGN", (col, 0), (col, -1), "RIGHT"))
    if header:
        style += [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ]
    if total_rows:
        style += [
            ("FONT", (0, -total_rows), (-1, -1), "Helvetica-Bold", 8.5),
            ("LINEABOVE", (0, -total_rows), (-1, -total_rows), 0.6, colors.black),
        ]
    if label_cols > 1:
        style.append(("SPAN", (0, -1), (label_cols - 1, -1)))
    table.setStyle(TableStyle(style))
    return table


def _details(rows: list[tuple[str, str]]) -> Table:
    """A two-column label/value table for texts (labels bold, values left-aligned)."""
    cells = [[_p(label, CELL_BOLD), _p(value)] for label, value in rows]
    return _table(cells, [40 * mm, CONTENT_WIDTH - 40 * mm], amount_cols=(), header=False)


def _figures(rows: list[tuple[str, str]], *, total_rows: int = 0) -> Table:
    """A two-column label/value table (no header), values right-aligned."""
    first_total = len(rows) - total_rows
    cells = [[_p(label, CELL_BOLD if i >= first_total else CELL),
              _p(value, CELL_BOLD_RIGHT if i >= first_total else CELL_RIGHT)]
             for i, (label, value) in enumerate(rows)]
    return _table(cells, [CONTENT_WIDTH - 80 * mm, 80 * mm], total_rows=total_rows, header=False)


@dataclass(frozen=True)
class _LongTable:
    """A table that may run over many pages: the ``header`` row (repeated on every page), a row
    per item of ``items`` (built by ``row``) and the closing ``tail`` rows, the last one the total
    (its label spanning ``label_cols`` columns); ``widths`` and ``amount_cols`` as for ``_table``."""

    header: list
    items: Sequence
    row: Callable[[Any], list[str]]
    tail: list[list]
    widths: list[float]
    text_styles: dict[int, ParagraphStyle]
    amount_cols: tuple[int, ...] = (-1,)
    label_cols: int = 1

    def cells(self, item: Any) -> list:
        """The row of ``item``: ``row`` gives plain texts, the ``text_styles`` columns are set
        like Paragraphs of their style (``_text_cell``)."""
        return [_text_cell(text, self.widths[col], self.text_styles[col]) if col in self.text_styles else text
                for col, text in enumerate(self.row(item))]

    def table(self, rows: list[list], *, closing: bool) -> Table:
        """The ``Table`` of ``rows`` (header first); ``closing``: they end with the tail rows."""
        fonts = tuple(("FONT", (col, 0), (col, -1), style.fontName, style.fontSize, style.leading)
                      for col, style in self.text_styles.items())
        return _table(rows, self.widths, amount_cols=self.amount_cols, total_rows=1 if closing else 0,
                      repeat=True, label_cols=self.label_cols if closing else 1, commands=fonts)


class _PagedTable(Flowable):
    """A ``_LongTable`` handed to reportlab one page at a time.

    reportlab splits a ``Table`` at a page end into the rows that fit and a new ``Table`` of all
    the rows left (recomputing its spans), so one table of n rows costs O(n) per page: quadratic
    in its pages. This flowable gives the frame a ``Table`` of the header and only the next
    ``rows`` rows (doubled until they overflow the space left; after a page, a few more than it
    took), lets reportlab split that, and keeps the rows after the split for the next page. Rows
    are built when a page needs them and dropped once placed, so only a few pages of cells exist
    at a time.
    """

    def __init__(self, spec: _LongTable, start: int = 0, built: dict[int, list] | None = None,
                 rows: int = 32) -> None:
        super().__init__()
        self.hAlign = "CENTER"  # as the Table's
        self._spec = spec
        self._start = start
        self._built = {} if built is None else built  # item index -> row, shared by the pages
        self._size = rows
        self._window: tuple[tuple[float, float], Table, bool] | None = None

    def _rows(self, stop: int) -> list[list]:
        built, spec = self._built, self._spec
        for index in range(self._start, stop):
            if index not in built:
                built[index] = spec.cells(spec.items[index])
        return [spec.header] + [built[index] for index in range(self._start, stop)]

    def _table(self, width: float, height: float) -> tuple[Table, bool]:
        """The table for ``height`` of space: the header and enough rows to overflow it, or all
        the rows left and the tail; the flag says which (True: the closing table)."""
        if self._window is not None and self._window[0] == (width, height):
            return self._window[1:]
        size, count = self._size, len(self._spec.items)
        while True:
            stop = min(self._start + size, count)
            closing = stop == count
            rows = self._rows(stop) + (self._spec.tail if closing else [])
            table = self._spec.table(rows, closing=closing)
            self.width, self.height = table.wrap(width, height)
            if closing or self.height > height:
                self._window = ((width, height), table, closing)
                return table, closing
            size *= 2

    def wrap(self, availWidth, availHeight):  # noqa: N803 (reportlab's names)
        """Size of the table for the space left (taller than it unless the closing rows fit)."""
        self._table(availWidth, availHeight)
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803
        """reportlab's split of the window; the rows after the split stay in a new ``_PagedTable``."""
        table, closing = self._table(availWidth, availHeight)
        parts = table.split(availWidth, availHeight)
        if closing or len(parts) < 2:
            return parts
        placed = parts[0]._nrows - 1  # after the header
        for index in range(self._start, self._start + placed):
            del self._built[index]
        return [parts[0], _PagedTable(self._spec, self._start + placed, self._built, placed + 2)]

    def draw(self):
        """Draw the closing table (it fits)."""
        self._window[1].drawOn(self.canv, 0, 0)


class _Sections:
    """Numbers the section headings consecutively (optional sections, e.g. the agreement or
    the forecast, shift the numbers after them); ``numbers`` maps a heading's text to its
    number, for references from later sections."""

    def __init__(self) -> None:
        self.number = 0
        self.numbers: dict[str, int] = {}

    def _next(self, text: str) -> str:
        self.number += 1
        self.numbers[text] = self.number
        return f"{self.number}. {text}"

    def heading(self, text: str) -> Paragraph:
        """A numbered heading kept on the same page as the flowable after it."""
        return _p(self._next(text), HEADING)

    def long_heading(self, text: str) -> list:
        """A numbered heading before a long table: new page only if little space is left."""
        return [CondPageBreak(40 * mm), _p(self._next(text), HEADING_LONG)]


# ---------------------------------------------------------------- sections


def _story(data: StatementData) -> list:
    """All flowables of the statement, in section order."""
    sections = _Sections()
    story = _title(data)
    story += _summary(data.result)
    story += _grant(data, sections)
    story += _spending(data.result, sections)
    story += _overhead(data.result, sections)
    story += _targets(data.targets, sections)
    if data.pass_through:
        story += _pass_through(data.pass_through, sections)
    story += _not_conform(data, sections)
    story += _overrides(data.overrides, sections)
    if data.result.agreement is not None:
        story += _agreement(data.result, sections)
    if data.forecast is not None:
        story += _forecast(data.forecast, sections)
    story += _result(data.result, sections)
    if data.result.interest:
        story += _interest(data.result, sections)
    story += _payment(data, sections)
    story += _tamper_evidence(data, sections)
    story += _vouchers(data.vouchers, sections)
    return story


def _title(data: StatementData) -> list:
    """Title, recipient, programme, legal basis and rule pack."""
    result = data.result
    rows = [
        ("Zuwendungsempfänger", data.recipient_name),
        ("Art", data.recipient_kind),
        ("Schlüssel", data.recipient_key),
        ("Programm", data.programme),
        ("Rechtsgrundlage", data.legal_basis),
        ("Regelwerk", f"{data.rule_pack_title} (Kennung {result.rule_pack_id}, "
                      f"Version {result.rule_pack_version})"),
    ]
    return [_p(f"Abrechnung der {data.programme} – Schuljahr {data.school_year}", TITLE),
            _details(rows)]


def _summary(result: RepaymentResult) -> list:
    """The result at a glance on page 1; the numbered sections give the derivation."""
    rows = [
        ("Erhaltene Zuwendung", _eur(result.grant_received)),
        ("Zweckentsprechende Ausgaben", _eur(result.permitted)),
        ("Rückzahlung fällig" + (" (laut Vereinbarung)" if result.agreement else ""), _eur(result.repayment_due)),
        ("Fällig am", _due_date_text(result)),
    ]
    return [Spacer(1, 3 * mm), _p("Ergebnis auf einen Blick", HEADING_LONG), _figures(rows, total_rows=2)]


def _grant(data: StatementData, sections: _Sections) -> list:
    """Assessed amount, payouts and grant received."""
    result = data.result
    notice = (f"Festsetzungsbescheid vom {_num_date(data.notice_date)}" if data.notice_date
              else "Festsetzungsbescheid (Datum nicht erfasst)")
    assessed = _eur(result.grant_assessed) if result.grant_assessed is not None else "nicht erfasst"
    story = [sections.heading("Zuwendung"),
             _figures([(f"Festgesetzter Betrag laut {notice}", assessed)]),
             Spacer(1, 2 * mm)]
    rows = [["Datum", "Beleg-Nr.", "Auszahlung"]]
    rows += [[_num_date(p.date), _p(p.voucher_number), _eur(p.amount)] for p in data.payouts]
    rows.append(["Erhaltene Zuwendung insgesamt", "", _eur(result.grant_received)])
    if not data.payouts:
        story.append(_p("Keine Auszahlung gebucht.", NOTE))
    table = _table(rows, [30 * mm, CONTENT_WIDTH - 75 * mm, 45 * mm], total_rows=1, label_cols=2)
    return story + [table]


def _spending(result: RepaymentResult, sections: _Sections) -> list:
    """Net spending per category with status and subtotals per status."""
    rows = [["Kategorie", "Kennung", "Status", "Betrag"]]
    rows += [[_p(c.label), _p(c.category), Status(c.status).label, _eur(c.amount)]
             for c in result.by_category]
    totals = []
    for status in CATEGORY_STATUSES:
        amount = sum((c.amount for c in result.by_category if c.status == status), Decimal("0"))
        totals.append([f"Summe {status.label}", "", "", _eur(amount)])
    totals.append([_p("Zweckentsprechende Ausgaben (zulässig und gedeckelte Kategorien bis "
                      "zur Obergrenze)", CELL_BOLD), "", "", _eur(result.permitted)])
    table = _table(rows + totals, [72 * mm, 40 * mm, 28 * mm, 30 * mm],
                   total_rows=len(totals), repeat=True, label_cols=3)
    note = ("Status: der Status der Kategorie laut Regelwerk. Ob eine Buchung zweckentsprechend ist, entscheidet "
            "ihre Einstufung (Pool und Finanzierungsgrundlage, Schule, Weiterleitung, abweichende Einstufung); auch "
            "Buchungen zulässiger Kategorien können daher ausgeschlossen oder nicht eingestuft sein (Abschnitt "
            "„Ausgeschlossene und nicht eingestufte Ausgaben“). Die letzte Zeile folgt dieser Einstufung.")
    return sections.long_heading("Zweckentsprechende Ausgaben nach Kategorien") + [table, _p(note, NOTE)]


def _percent(rate: Decimal) -> str:
    """``Decimal("0.15")`` → ``"15 %"``, ``Decimal("0.125")`` → ``"12,5 %"``."""
    text = f"{(rate * 100).normalize():f}".replace(".", ",")
    return f"{text} %"


def _overhead(result: RepaymentResult, sections: _Sections) -> list:
    """Overhead cap: pool personnel costs, cap, overhead charged, excess."""
    story = [sections.heading("Overhead-Obergrenze")]
    if result.overhead_cap is None:
        story.append(_p("Keine Overhead-Obergrenze nach dem für dieses Schuljahr geltenden "
                        "Regelwerk.", BODY))
        if result.overhead_charged:
            story.append(_figures([("Overhead verbucht", _eur(result.overhead_charged))]))
        return story
    story.append(_figures([
        ("Personalkosten des Pool-Modells", _eur(result.pool_personnel)),
        (f"Obergrenze ({_percent(result.overhead_rate)} der Personalkosten des Pool-Modells)",
         _eur(result.overhead_cap)),
        ("Overhead verbucht", _eur(result.overhead_charged)),
        ("Overhead oberhalb der Obergrenze (nicht zweckentsprechend)",
         _eur(result.overhead_excess)),
    ], total_rows=1))
    return [KeepTogether(story)]


# Systemic vs individual financing (DOMAIN.md; seeds 000_56511fda85b4e153.txt Region Hannover and
# 001_ba74bdce3eae9029.txt Düsseldorf: pools that keep individual approval; seed 002_17056edfca8550ce.txt,
# Hinweise Teil III: infrastructure model, e.g. StädteRegion Aachen KOBSI).
_TARGETS_NOTE = (
    "Zweckentsprechend sind Personalkosten nur, soweit die Schulassistenz systemisch eingesetzt ist: der Schule des "
    "Gemeinsamen Lernens antragsunabhängig und fallübergreifend zur Verfügung gestellt (Infrastrukturmodell, z. B. "
    "das Modell der StädteRegion Aachen). Bündelt ein Pool dagegen einzeln bewilligte Ansprüche, bei denen jedes "
    "Kind weiterhin Antrag und Bescheid braucht (wie in den Pool-Modellen der Region Hannover und der Stadt "
    "Düsseldorf), handelt es sich um Individualansprüche nach § 35a SGB VIII bzw. § 112 SGB IX; sie sind "
    "ausgeschlossen. Bei gemischter Finanzierung ist nur der erfasste systemische Anteil zweckentsprechend. "
    "Aufgeführt sind Buchungen mit der Kostenstelle eines Pools oder einer Schule; übrige Buchungen (z. B. "
    "Overhead, Weiterleitungen) sind hier nicht enthalten.")


def _targets(targets: tuple[TargetLine, ...], sections: _Sections) -> list:
    """Spending per pool and per school with the conform, excluded and unclassified parts."""
    story = sections.long_heading("Ausgaben nach Pools und Schulen")
    if not targets:
        return story + [_p("Keine Buchungen mit der Kostenstelle eines Pools oder einer Schule.", NOTE)]
    rows = [_head("Art", "Kennung / Name", "Finanzierungs-\ngrundlage", "Schulen", "Summe\n(EUR)",
                  "zweckent-\nsprechend\n(systemisch)", "ausge-\nschlossen\n(Individual-\nansprüche\netc.)",
                  "nicht\neingestuft", right=(4, 5, 6, 7))]
    rows += [[_p(t.kind), _lines(t.key, t.name), _p(t.basis.removeprefix("Finanzierungsgrundlage "), CELL_SMALL),
              _p(t.schools, CELL_SMALL),
              _amount(t.total), _amount(t.conform), _amount(t.excluded), _amount(t.unclassified)]
             for t in targets]

    def total(field: str) -> str:
        return _amount(sum((getattr(t, field) for t in targets), ZERO))

    rows.append(["Summe Pools und Schulen", "", "", "", total("total"), total("conform"), total("excluded"),
                 total("unclassified")])
    table = _table(rows, [12 * mm, 30 * mm, 24 * mm, 28 * mm, 19 * mm, 19 * mm, 19 * mm, 19 * mm],
                   amount_cols=(4, 5, 6, 7), total_rows=1, repeat=True, label_cols=4)
    return story + [table, _p(_TARGETS_NOTE, NOTE)]


def _verification_text(line: PassThroughLine) -> Paragraph:
    if not line.verifications:
        return _p("keine Vergewisserung dokumentiert", CELL_BOLD)
    return _lines(*(f"am {_num_date(v.verified_on)}, Aktenzeichen {v.document_reference}, durch {v.verified_by}"
                     for v in line.verifications))


def _pass_through(lines: tuple[PassThroughLine, ...], sections: _Sections) -> list:
    """Pass-through per member municipality: GL bearer, amount, conform part, verification."""
    rows = [_head("Gemeinde", "Träger von\nGL-Schulen", "Betrag", "davon zweck-\nentsprechend",
                  "Vergewisserung (Datum, Aktenzeichen, durch)", right=(2, 3))]
    rows += [[_p(line.municipality), "ja" if line.gl_bearer else "nein", _eur(line.amount), _eur(line.conform),
              _verification_text(line)] for line in lines]
    rows.append(["Weiterleitungen insgesamt", "", _eur(sum((line.amount for line in lines), ZERO)),
                 _eur(sum((line.conform for line in lines), ZERO)), ""])
    table = _table(rows, [36 * mm, 18 * mm, 26 * mm, 26 * mm, 64 * mm], amount_cols=(2, 3), total_rows=1,
                   repeat=True, label_cols=2)
    note = ("Eine Weiterleitung ist nur zweckentsprechend, wenn die Gemeinde Träger von Schulen des Gemeinsamen "
            "Lernens ist und der Kreis sich vor der Zahlung vergewissert hat, dass zweckentsprechende Projekte "
            "vorhanden oder konkret geplant sind (Hinweise Teil II); die Vergewisserung muss dokumentiert sein.")
    return sections.long_heading("Weiterleitungen an kreisangehörige Gemeinden") + [table, _p(note, NOTE)]


_OVERRIDES_HEADING = "Abweichende Einstufungen"

#: German labels of the rules that exclude spending (``ledger.rules.classify``); "category.*" is labelled by category.
RULE_LABELS = {
    "period.outside": "Buchungsdatum außerhalb des Schuljahres",
    "school.not_gl": "Schule ist keine Schule des Gemeinsamen Lernens",
    "pool.not_gl": "Pool mit Schulen, die keine Schulen des Gemeinsamen Lernens sind",
    "pool.individual": "Pool bündelt einzeln bewilligte Ansprüche (Individualansprüche)",
    "pool.mixed": "Gemischt finanzierter Pool: Anteil der Individualansprüche",
    "pass_through.not_gl_bearer": "Weiterleitung an eine Gemeinde, die nicht Träger von GL-Schulen ist",
    "pass_through.unverified": "Weiterleitung ohne dokumentierte Vergewisserung",
    "override": f"Abweichende Einstufung (Begründung im Abschnitt „{_OVERRIDES_HEADING}“)",
}


def _excluded_part(v: VoucherLine) -> Decimal:
    """The excluded part of a posting: what is neither conform nor unclassified."""
    return ZERO if v.status == "unclassified" else v.amount - v.conform


def _rule_label(rule: str, sample: VoucherLine) -> str:
    if rule.startswith("category."):
        return f"Ausgeschlossene Kategorie „{sample.category_label}“"
    return RULE_LABELS.get(rule, "Ausgeschlossen nach Regel")


def _not_conform(data: StatementData, sections: _Sections) -> list:
    """Excluded spending grouped by the rule that excluded it, and the unclassified postings;
    each table adds up to ``result.excluded`` and ``result.unclassified``."""
    result = data.result
    groups: dict[str, list[VoucherLine]] = {}
    for v in data.vouchers:
        if _excluded_part(v):
            groups.setdefault(v.rule, []).append(v)
    rows = [_head("Ausschlussgrund (Regel)", "Buchungen", "Betrag", right=(1, 2))]
    listed = ZERO
    for rule in sorted(groups):
        lines = groups[rule]
        amount = sum((_excluded_part(v) for v in lines), ZERO)
        listed += amount
        rows.append([_lines(_rule_label(rule, lines[0]), f"Regel: {rule}" if rule else ""), str(len(lines)),
                     _eur(amount)])
    if listed != result.excluded:
        rows.append([_p("Nicht einzelnen Buchungen zugeordnet"), "", _eur(result.excluded - listed)])
    rows.append(["Ausgeschlossene Ausgaben insgesamt", "", _eur(result.excluded)])
    story = sections.long_heading("Ausgeschlossene und nicht eingestufte Ausgaben")
    story += [_table(rows, [122 * mm, 20 * mm, 28 * mm], amount_cols=(1, 2), total_rows=1, repeat=True),
              _p("Bei teilweise zulässigen Buchungen zählt nur der ausgeschlossene Teil. Overhead oberhalb der "
                 "Obergrenze ist im Abschnitt „Overhead-Obergrenze“ ausgewiesen und hier nicht enthalten.", NOTE),
              Spacer(1, 3 * mm)]

    unclassified = [v for v in data.vouchers if v.status == "unclassified"]
    listed = sum((v.amount for v in unclassified), ZERO)
    tail = []
    if listed != result.unclassified:
        tail.append(["", "", _p("Nicht einzelnen Buchungen zugeordnet"), "", _eur(result.unclassified - listed)])
    tail.append(["Nicht eingestufte Ausgaben insgesamt", "", "", "", _eur(result.unclassified)])
    table = _LongTable(_head("Datum", "Beleg-Nr.", "Buchungstext", "Grund", "Betrag", right=(4,)), unclassified,
                       _unclassified_row, tail, [18 * mm, 24 * mm, 56 * mm, 46 * mm, 26 * mm],
                       {1: CELL, 2: CELL, 3: CELL_SMALL}, amount_cols=(4,), label_cols=4)
    story += [_PagedTable(table),
              _p("Nicht eingestufte Ausgaben gelten als nicht zweckentsprechend, bis die fehlenden Angaben "
                 "(z. B. Kategorie, Kostenstelle, Finanzierungsgrundlage des Pools) ergänzt sind.", NOTE)]
    return story


def _unclassified_row(v: VoucherLine) -> list[str]:
    """A row of the unclassified postings: date, voucher, text, reason, amount."""
    return [_num_date(v.date), _one_line(v.voucher_number), _one_line(v.text), _one_line(v.reason or v.category_label),
            _eur(v.amount)]


def _override_state(o: OverrideRecord) -> str:
    if o.active:
        return "gilt"
    return (f"zurückgenommen am {_timestamp(o.withdrawn_at)} von {o.withdrawn_by}: "
            f"{o.withdrawal_justification or ''}").rstrip(": ")


def _overrides(overrides: tuple[OverrideRecord, ...], sections: _Sections) -> list:
    """The officers' overrides of the year with justification, author and state (withdrawn ones included)."""
    story = sections.long_heading(_OVERRIDES_HEADING)
    if not overrides:
        return story + [_p("Keine abweichenden Einstufungen.", NOTE)]
    rows = [_head("Nr.", "Beleg", "Betrag", "Einstufung", "Begründung", "von / am", "Stand", right=(2,))]
    for o in overrides:
        label = Status(o.status).label
        rows.append([
            str(o.id), _lines(o.voucher_number, _num_date(o.day)), _eur(o.amount),
            _lines(label, f"davon zulässig: {_eur(o.conform)}" if o.status == "split" else ""),
            _p(o.justification, CELL_SMALL), _lines(o.created_by, _timestamp(o.created_at)),
            _p(_override_state(o), CELL if o.active else CELL_SMALL),
        ])
    table = _table(rows, [8 * mm, 24 * mm, 24 * mm, 26 * mm, 40 * mm, 22 * mm, 26 * mm], amount_cols=(2,),
                   repeat=True)
    note = ("Eine abweichende Einstufung ersetzt für die genannte Buchung (und ihre Stornobuchung) die Einstufung "
            "nach den Regeln. Zurückgenommene Einstufungen gelten nicht mehr; sie sind zur Nachvollziehbarkeit "
            "aufgeführt.")
    return story + [table, _p(note, NOTE)]


def _days_text(days: int | None) -> str:
    if days is None:
        return ""
    if days > 0:
        return f" (in {days} {'Tag' if days == 1 else 'Tagen'})"
    if days == 0:
        return " (heute)"
    return f" (seit {-days} {'Tag' if days == -1 else 'Tagen'} abgelaufen)"


def _forecast(f: Forecast, sections: _Sections) -> list:
    """The projection while the school year is open: basis, projected figures, deadline, warnings."""
    basis_label = ("Zuwendung (festgesetzt; Auszahlungen stehen noch aus)" if f.grant_basis_source == "assessed"
                   else "Zuwendung (erhalten)")
    if f.projected_overhead_cap is None:
        overhead = f"{_eur(f.projected_overhead)} (keine Obergrenze)"
    else:
        overhead = f"{_eur(f.projected_overhead)} von {_eur(f.projected_overhead_cap)}"
    due = ("keine (keine Auszahlung gebucht)" if f.due_date is None
           else _long_date(f.due_date) + _days_text(f.days_until_due))
    story = [sections.heading("Prognose (Schuljahr noch nicht abgeschlossen)"),
             _p(f"Stand {_num_date(f.as_of)}: gebuchte Ausgaben bis zu diesem Tag und offene Verpflichtungen "
                f"(Verträge) bis zum Ende des Schuljahres, eingestuft nach Regelwerk {f.rule_pack_id}, "
                f"Version {f.rule_pack_version}.", BODY),
             Spacer(1, 2 * mm),
             _figures([
                 (basis_label, _eur(f.grant_basis)),
                 ("Zweckentsprechend gebucht bis zum Stichtag", _eur(f.actuals.permitted)),
                 ("Offene Verpflichtungen bis zum Ende des Schuljahres", _eur(f.committed)),
                 ("Voraussichtlich zweckentsprechende Ausgaben", _eur(f.projected_permitted)),
                 ("Voraussichtlich ausgeschlossen", _eur(f.projected_excluded)),
                 ("Nicht eingestuft (gebucht oder verpflichtet)", _eur(f.unclassified)),
                 ("Overhead voraussichtlich / Obergrenze", overhead),
                 ("Voraussichtliche Rückzahlung", _eur(f.projected_repayment)),
                 ("Rückzahlungsfrist", due),
             ], total_rows=2)]
    if f.warnings:
        story += [Spacer(1, 2 * mm), _p("Warnungen:", CELL_BOLD)]
        story += [_p(f"• {text}", NOTE) for _code, text in f.warnings]
    else:
        story.append(_p("Keine Warnungen.", NOTE))
    if f.agreement_reference:
        story.append(_p(f"Für das Schuljahr gilt eine Vereinbarung ({f.agreement_reference}); die Prognose "
                        "rechnet nach den Regeln und wendet sie nicht an.", NOTE))
    story.append(_p("Die Prognose ersetzt nicht die Abrechnung nach dem Ende des Schuljahres.", NOTE))
    return [KeepTogether(story)]


def _agreement(result: RepaymentResult, sections: _Sections) -> list:
    """The settlement agreement: reference, agreed figures, computed and agreed repayment."""
    agreement = result.agreement
    if agreement.waived:
        terms = ("Vereinbarte Regelung", "Verzicht des Landes auf Rückforderung")
    else:
        terms = ("Als zweckentsprechend vereinbart", _eur(agreement.deemed_conform))
    return [KeepTogether([
        sections.heading("Vereinbarung"),
        _p(agreement.reference, BODY),
        Spacer(1, 2 * mm),
        _figures([
            terms,
            ("Rückzahlung nach Berechnung", _eur(result.computed_repayment_due)),
            ("Rückzahlung nach Vereinbarung", _eur(agreement.repayment_due)),
        ]),
        _p("Die Vereinbarung ersetzt für dieses Schuljahr das berechnete Ergebnis.", NOTE),
    ])]


def _due_date_text(result: RepaymentResult) -> str:
    """``"1. April 2024 → 2. April 2024 (§ 193 BGB)"`` when shifted, else the due date."""
    if result.due_date is None:
        return "keine (keine Auszahlung gebucht)"
    if result.nominal_due_date and result.nominal_due_date != result.due_date:
        return (f"{_long_date(result.nominal_due_date)} → {_long_date(result.due_date)} "
                f"(§ 193 BGB)")
    return _long_date(result.due_date)


def _result(result: RepaymentResult, sections: _Sections) -> list:
    """Grant, purpose-conform spending, repayment due, repaid, outstanding, due date."""
    due_label = ("Rückzahlung fällig (laut Vereinbarung)" if result.agreement
                 else "Rückzahlung fällig")
    outstanding_label = ("Noch zu zahlen" if result.outstanding >= 0
                         else "Überzahlung (zu viel zurückgezahlt)")
    return [KeepTogether([
        sections.heading("Ergebnis"),
        _figures([
            ("Erhaltene Zuwendung", _eur(result.grant_received)),
            ("Zweckentsprechende Ausgaben", _eur(result.permitted)),
            (due_label, _eur(result.repayment_due)),
            ("Bestätigte Rückzahlungsverpflichtung (gebucht)",
             _eur(result.confirmed_obligation)),
            ("Bereits zurückgezahlt", _eur(result.already_repaid)),
            (outstanding_label, _eur(result.outstanding)),
            ("Fällig am", _due_date_text(result)),
        ], total_rows=2),
    ])]


def _interest(result: RepaymentResult, sections: _Sections) -> list:
    """Interest on late repayment: one row per late payment or open amount, with rates."""
    rows = [["Betrag", "Zinstage", "Zeitraum", "Zinssatz p. a.", "Zinsen"]]
    for item in result.interest:
        first = item.due_date + timedelta(days=1)
        rates = " / ".join(f"{_percent_number(p.applied_rate)} %" for p in item.periods)
        rows.append([_eur(item.principal), str(item.days), f"{_num_date(first)} – {_num_date(item.end_date)}",
                     _p(rates), _eur(item.interest)])
    rows.append(["Verzugszinsen insgesamt", "", "", "", _eur(result.late_interest)])
    table = _table(rows, [32 * mm, 18 * mm, 50 * mm, 40 * mm, 30 * mm], total_rows=1, label_cols=4)
    note = ("Zinsen nach § 49a Abs. 3 VwVfG NRW (Basiszinssatz nach § 247 BGB zuzüglich des Aufschlags "
            "laut Regelwerk), tagegenau ab dem Tag nach der Fälligkeit bis zum Zahlungstag.")
    if result.interest_as_of:
        note += f" Offene Beträge verzinst bis {_num_date(result.interest_as_of)}."
    return [KeepTogether([sections.heading("Verzugszinsen"), table, _p(note, NOTE)])]


def _percent_number(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",")


def _payment(data: StatementData, sections: _Sections) -> list:
    """Where and under which reference to repay."""
    bank = data.bank
    return [KeepTogether([
        sections.heading("Zahlungsangaben"),
        _details([
            ("Zahlungsempfänger", bank.payee),
            ("Kreditinstitut", bank.bank),
            ("IBAN", _iban(bank.iban)),
            ("BIC", bank.bic),
            ("Verwendungszweck", data.payment_reference),
        ]),
    ])]


def _evaluation_rows(state: RunState | None) -> list[tuple[str, str]]:
    """The evaluation run behind the figures and whether today's classification agrees with it."""
    run = state.run if state is not None else None
    if run is None:
        return [("Bewertungslauf", "Noch kein Bewertungslauf aufgezeichnet; die Zahlen beruhen auf der heutigen "
                                   "Einstufung.")]
    if state.current:
        agreement = "entspricht der heutigen Einstufung"
    elif state.frozen:
        agreement = f"heute abweichend bei {state.changed} Buchungen; abgeschlossenes Jahr: es gilt der Lauf"
    else:
        agreement = (f"heute abweichend bei {state.changed} Buchungen; Schuljahr nicht abgeschlossen: die Zahlen "
                     "beruhen auf der heutigen Einstufung")
    reason = f", Anlass: {run.reason}" if run.reason else ""
    return [
        ("Bewertungslauf", f"Nr. {run.id} vom {_timestamp(run.created_at)} ({run.created_by}){reason}; "
                           f"{run.postings} Buchungen eingestuft"),
        ("Regelwerk des Laufs", f"{run.pack_id}, Version {run.pack_version}"),
        ("SHA-256 des Regelwerks", run.pack_digest),
        ("Abgleich", agreement),
    ]


def _tamper_evidence(data: StatementData, sections: _Sections) -> list:
    """The hash-chain head of the books and the evaluation run behind this statement, for a later check."""
    head = data.chain_head
    return [KeepTogether([
        sections.heading("Prüfvermerk zur Unveränderbarkeit"),
        _details([
            ("Buchungskette", f"{head.seq} Buchungen bis zur Erstellung dieser Abrechnung"),
            ("SHA-256 der letzten Buchung", head.entry_hash),
            *_evaluation_rows(data.result.evaluation),
        ]),
        _p("Jede Buchung enthält die Prüfsumme ihrer Vorgängerin. Stimmt die Prüfsumme der Buchung "
           f"Nr. {head.seq} später noch mit dem obigen Wert überein und meldet 'inkl verify' eine intakte "
           "Kette, sind die Bücher hinter dieser Abrechnung unverändert. Ein Bewertungslauf hält die Einstufung "
           "jeder Buchung mit dem Regelwerk fest, nach dem sie erfolgte; ein abgeschlossenes Schuljahr wird nach "
           "seinem letzten Lauf abgerechnet, nicht nach einem später geänderten Regelwerk.", NOTE),
    ])]


def _classification_lines(v: VoucherLine) -> tuple[str, ...]:
    """The posting's classification under its category: status, conform part, override number."""
    label = Status(v.status).label
    partial = v.status != "unclassified" and v.conform not in (ZERO, v.amount)
    status = f"{label}: {format_german(v.conform)}" if partial else label
    return (status, f"Abw. Nr. {v.override_id}" if v.override_id is not None else "")


def _voucher_row(v: VoucherLine) -> list[str]:
    """A row of the voucher list: date, voucher, text, account, category with classification, amount."""
    category = [_one_line(line) for line in (v.category or v.category_label, *_classification_lines(v)) if line]
    return [_num_date(v.date), _one_line(v.voucher_number), _one_line(v.text), _one_line(v.account),
            "\n".join(category), _eur(v.amount)]


def _vouchers(vouchers: tuple[VoucherLine, ...], sections: _Sections) -> list:
    """Chronological voucher list with each posting's classification; header repeats on every page, total at the end."""
    total = sum((v.amount for v in vouchers), Decimal("0"))
    table = _LongTable(["Datum", "Beleg-Nr.", "Buchungstext", "Konto", "Kategorie", "Betrag"], vouchers,
                       _voucher_row, [[f"Summe ({len(vouchers)} Buchungen)", "", "", "", "", _eur(total)]],
                       [18 * mm, 24 * mm, 56 * mm, 11 * mm, 36 * mm, 25 * mm],
                       {1: CELL, 2: CELL, 3: CELL, 4: CELL_SMALL}, label_cols=5)
    overrides = sections.numbers.get(_OVERRIDES_HEADING)
    legend = _p("Konto: Nummer im Kontenplan; Kategorie: Kennung aus Abschnitt 2, darunter die Einstufung der "
                "Buchung (bei teilweise zulässigen Buchungen mit dem zweckentsprechenden Betrag in EUR; "
                f"„Abw. Nr.“: abweichende Einstufung, siehe Abschnitt {overrides}).", NOTE)
    return sections.long_heading("Belegliste (chronologisch)") + [legend, _PagedTable(table)]

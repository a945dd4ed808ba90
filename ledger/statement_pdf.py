"""The settlement statement as a PDF for auditors (A4, German).

``render_statement`` lays out a ``StatementData`` with reportlab's platypus: title and
recipient, grant and payouts, spending by category, overhead cap, excluded and
unclassified spending, settlement agreement, result, payment details and the
chronological voucher list. Every page carries a footer with "Seite x von y", the
creation time, recipient and school year (two passes via a page-collecting canvas).

Output is deterministic: reportlab runs in invariant mode and the PDF's creation date
is ``data.created_at``, so equal input gives equal bytes. Text uses the standard
Helvetica font, so it stays extractable (umlauts, ß, §, € included).
"""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import (CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate,
                                Spacer, Table, TableStyle)

from ledger.money import format_german
from ledger.repayment import CategoryAmount, RepaymentResult
from ledger.statement import StatementData, VoucherLine
from ledger.rules import STATUS_LABELS


# StatementData carries the cap, not the rate; the label follows the Hinweise (part IV).

MARGIN = 20 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN  # 170 mm
FOOTER_FONT = ("Helvetica", 7.5)

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


def _iban(iban: str) -> str:
    """IBAN in groups of four: ``"DE59 3005 0000 0001 6835 15"``."""
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _table(rows: list[list], widths: list[float], *, amount_cols: tuple[int, ...] = (-1,),
           total_rows: int = 0, header: bool = True, repeat: bool = False) -> Table:
    """A table in the statement's style.

    ``rows`` may hold strings or Paragraphs; ``amount_cols`` are right-aligned; the last
    ``total_rows`` rows are bold with a rule above; ``header`` styles the first row.
    """
    table = Table(rows, colWidths=widths, repeatRows=1 if repeat else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
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


class _Sections:
    """Numbers the section headings consecutively (section 6 appears only with an agreement)."""

    def __init__(self) -> None:
        self.number = 0

    def heading(self, text: str) -> Paragraph:
        """A numbered heading kept on the same page as the flowable after it."""
        self.number += 1
        return _p(f"{self.number}. {text}", HEADING)

    def long_heading(self, text: str) -> list:
        """A numbered heading before a long table: new page only if little space is left."""
        self.number += 1
        return [CondPageBreak(40 * mm), _p(f"{self.number}. {text}", HEADING_LONG)]


# ---------------------------------------------------------------- sections


def _story(data: StatementData) -> list:
    """All flowables of the statement, in section order."""
    sections = _Sections()
    story = _title(data)
    story += _summary(data.result)
    story += _grant(data, sections)
    story += _spending(data.result, sections)
    story += _overhead(data.result, sections)
    story += _not_conform(data, sections)
    if data.result.agreement is not None:
        story += _agreement(data.result, sections)
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
    table = _table(rows, [30 * mm, CONTENT_WIDTH - 75 * mm, 45 * mm], total_rows=1)
    table.setStyle(TableStyle([("SPAN", (0, -1), (1, -1))]))
    return story + [table]


def _spending(result: RepaymentResult, sections: _Sections) -> list:
    """Net spending per category with status and subtotals per status."""
    rows = [["Kategorie", "Kennung", "Status", "Betrag"]]
    rows += [[_p(c.label), _p(c.category), STATUS_LABELS.get(c.status, c.status), _eur(c.amount)]
             for c in result.by_category]
    totals = []
    for status, label in STATUS_LABELS.items():
        amount = sum((c.amount for c in result.by_category if c.status == status), Decimal("0"))
        totals.append([f"Summe {label}", "", "", _eur(amount)])
    totals.append([_p("Zweckentsprechende Ausgaben (zulässig und gedeckelte Kategorien bis "
                      "zur Obergrenze)", CELL_BOLD), "", "", _eur(result.permitted)])
    table = _table(rows + totals, [72 * mm, 40 * mm, 28 * mm, 30 * mm],
                   total_rows=len(totals), repeat=True)
    table.setStyle(TableStyle([("SPAN", (0, -1), (2, -1))]))
    return sections.long_heading("Zweckentsprechende Ausgaben nach Kategorien") + [table]


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


def _not_conform(data: StatementData, sections: _Sections) -> list:
    """Excluded categories and unclassified postings."""
    result = data.result
    excluded: list[CategoryAmount] = [c for c in result.by_category if c.status == "excluded"]
    rows = [["Ausgeschlossene Kategorie", "Kennung", "Betrag"]]
    rows += [[_p(c.label), _p(c.category), _eur(c.amount)] for c in excluded]
    rows.append(["Ausgeschlossene Ausgaben insgesamt", "", _eur(result.excluded)])
    story = [sections.heading("Ausgeschlossene und nicht klassifizierte Ausgaben"),
             _table(rows, [95 * mm, 45 * mm, 30 * mm], total_rows=1, repeat=True),
             Spacer(1, 3 * mm)]

    unclassified: list[VoucherLine] = [v for v in data.vouchers if v.category is None]
    rows = [["Datum", "Beleg-Nr.", "Buchungstext", "Betrag"]]
    rows += [[_num_date(v.date), _p(v.voucher_number), _p(v.text), _eur(v.amount)]
             for v in unclassified]
    rows.append(["Nicht klassifizierte Ausgaben insgesamt", "", "", _eur(result.unclassified)])
    table = _table(rows, [20 * mm, 30 * mm, 90 * mm, 30 * mm], total_rows=1, repeat=True)
    table.setStyle(TableStyle([("SPAN", (0, -1), (2, -1))]))
    story += [table, _p("Nicht klassifizierte Ausgaben gelten als nicht zweckentsprechend, "
                        "bis sie einer Kategorie zugeordnet sind.", NOTE)]
    return story


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
    table = _table(rows, [32 * mm, 18 * mm, 50 * mm, 40 * mm, 30 * mm], total_rows=1)
    table.setStyle(TableStyle([("SPAN", (0, -1), (3, -1))]))
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


def _tamper_evidence(data: StatementData, sections: _Sections) -> list:
    """The hash-chain head of the books behind this statement, for a later check."""
    head = data.chain_head
    return [KeepTogether([
        sections.heading("Prüfvermerk zur Unveränderbarkeit"),
        _details([
            ("Buchungskette", f"{head.seq} Buchungen bis zur Erstellung dieser Abrechnung"),
            ("SHA-256 der letzten Buchung", head.entry_hash),
        ]),
        _p("Jede Buchung enthält die Prüfsumme ihrer Vorgängerin. Stimmt die Prüfsumme der Buchung "
           f"Nr. {head.seq} später noch mit dem obigen Wert überein und meldet 'inkl verify' eine intakte "
           "Kette, sind die Bücher hinter dieser Abrechnung unverändert.", NOTE),
    ])]


def _vouchers(vouchers: tuple[VoucherLine, ...], sections: _Sections) -> list:
    """Chronological voucher list; header repeats on every page, total at the end."""
    rows = [["Datum", "Beleg-Nr.", "Buchungstext", "Konto", "Kategorie", "Betrag"]]
    rows += [[_num_date(v.date), _p(v.voucher_number), _p(v.text), _p(v.account),
              _p(v.category or v.category_label), _eur(v.amount)] for v in vouchers]
    total = sum((v.amount for v in vouchers), Decimal("0"))
    rows.append([f"Summe ({len(vouchers)} Buchungen)", "", "", "", "", _eur(total)])
    table = _table(rows, [18 * mm, 25 * mm, 62 * mm, 11 * mm, 29 * mm, 25 * mm],
                   total_rows=1, repeat=True)
    table.setStyle(TableStyle([("SPAN", (0, -1), (4, -1))]))
    legend = _p("Konto: Nummer im Kontenplan; Kategorie: Kennung aus Abschnitt 2.", NOTE)
    return sections.long_heading("Belegliste (chronologisch)") + [legend, table]

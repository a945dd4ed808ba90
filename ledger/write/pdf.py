"""A small toolkit for German A4 reports with reportlab (platypus), independent of any one report.

What it gives, in points (1/72 inch) unless ``mm`` is said:

- page geometry (``MARGIN``, ``CONTENT_WIDTH``) and the paragraph styles (``TITLE``, ``HEADING``,
  ``BODY``, ``NOTE``, ``CELL``…), all in the standard Helvetica fonts, so text stays extractable
  (umlauts, ß, §, € included);
- ``render``: a story of flowables as PDF bytes, deterministic (reportlab's invariant mode, the
  creation date given), every page with a footer "Seite x von y" (``NumberedCanvas``, two passes)
  and, if asked, a watermark such as "ENTWURF" across every page (``draw_watermark``);
- German formatting for cells: EUR amounts, dates, timestamps, IBANs, percentages;
- cell and table builders in one house style (``paragraph``, ``multiline``, ``header_row``,
  ``ruled_table``, ``details``, ``figures``) and consecutively numbered section headings
  (``Sections``);
- tables that may run over many pages (``LongTable``, laid out by ``PagedTable`` a page at a
  time: one big ``Table`` is quadratic in its pages) with plain-text cells broken into lines as
  a Paragraph would break them (``text_cell``), so lists of 10 000 rows render in seconds and in
  bounded memory.

Equal input gives equal bytes: nothing here reads the clock.
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property, lru_cache, partial
from typing import Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from babel.numbers import format_decimal
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
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)
from reportlab.platypus.tables import CellStyle

from ledger.core.money import format_german

MARGIN = 20 * mm  #: left and right page margin
CONTENT_WIDTH = A4[0] - 2 * MARGIN  #: width of the text between the margins (170 mm)
FOOTER_FONT = ("Helvetica", 7.5)
CELL_PADDING = 3  #: left and right padding of table cells, points

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


def render(story: list[Flowable], *, title: str, author: str, subject: str, footer: tuple[str, str],
           created_at: datetime, watermark: str | None = None, keywords: str = "") -> bytes:
    """Lay out ``story`` on A4 pages (margins ``MARGIN`` left and right, 18 mm top, 22 mm bottom
    for the footer) and return the PDF bytes.

    Args:
        story: the flowables, in order.
        title, author, subject: the document's metadata (creator "inkl-ledger", language de-DE).
        footer: the two lines printed at the bottom left of every page; the bottom right says
            "Seite x von y".
        created_at: the PDF's creation date (naive local time).
        watermark: a short text (e.g. "ENTWURF") drawn on every page behind the content, large,
            diagonal and light grey (``draw_watermark``); None for none.
        keywords: the document's keywords (metadata, e.g. the chain heads a statement rests on).
    Returns:
        The PDF document; equal arguments give byte-identical output (reportlab's invariant mode).
    """
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=18 * mm,
        bottomMargin=22 * mm,
        title=title,
        author=author,
        subject=subject,
        keywords=keywords,
        creator="inkl-ledger",
        lang="de-DE",
        invariant=1,
    )
    on_page = partial(draw_watermark, watermark) if watermark else (lambda _canvas, _doc: None)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page,
              canvasmaker=partial(NumberedCanvas, footer_left=footer, created_at=created_at))
    return buffer.getvalue()


WATERMARK_FONT = "Helvetica-Bold"
WATERMARK_GREY = 0.88  #: the watermark's grey (1 = white): light enough that the content stays readable


def draw_watermark(text: str, canv: canvas.Canvas, _doc=None) -> None:
    """Draw ``text`` across the page along its diagonal (bottom left to top right), centred, in
    light grey and as large as fits in 80 % of the diagonal (at most 130 pt).

    Called when a page begins, so the page's content is drawn over it. It is real text in
    Helvetica (not an image), so text extraction finds it on every page."""
    width, height = A4
    diagonal = math.hypot(width, height)
    size = min(130.0, 0.8 * diagonal / stringWidth(text, WATERMARK_FONT, 1))
    canv.saveState()
    canv.setFillGray(WATERMARK_GREY)
    canv.setFont(WATERMARK_FONT, size)
    canv.translate(width / 2, height / 2)
    canv.rotate(math.degrees(math.atan2(height, width)))
    canv.drawCentredString(0, -size * 0.35, text)  # about half the capital height below the baseline's centre
    canv.restoreState()


class NumberedCanvas(canvas.Canvas):
    """Canvas that keeps every page's state and draws the footer when the page count is known.

    The reportlab "page x of y" recipe (ActiveState 576832): ``showPage`` only stores the
    page, ``save`` replays the pages with "Seite x von y" (bottom right) and the two
    ``footer_left`` lines (bottom left); ``created_at`` is the PDF's creation date.
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


# ---------------------------------------------------------------- formatting


def eur(amount: Decimal) -> str:
    """``Decimal`` EUR → ``"1.234,56 EUR"``."""
    return f"{format_german(amount)} EUR"


def exact_eur(amount: Decimal) -> str:
    """EUR with all its decimal places, at least two, German style: ``"71.353,485 EUR"``; for
    showing a computation before its rounding."""
    return f"{format_decimal(amount, format='#,##0.00##########', locale='de_DE')} EUR"


def num_date(day: date) -> str:
    """``date`` → ``"01.04.2024"``."""
    return day.strftime("%d.%m.%Y")


def long_date(day: date) -> str:
    """``date`` → ``"1. April 2024"``."""
    return format_date(day, format="long", locale="de_DE")


def timestamp(moment: datetime) -> str:
    """``datetime`` → ``"15.03.2024 10:00"``."""
    return moment.strftime("%d.%m.%Y %H:%M")


def iban(number: str) -> str:
    """IBAN in groups of four: ``"DE59 3005 0000 0001 6835 15"``."""
    compact = number.replace(" ", "").upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def percent_points(rate: Decimal) -> str:
    """A rate in percent points → ``"6,62 %"`` (``Decimal("6.620")``), ``"15 %"`` (``Decimal("15")``)."""
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def percent(rate: Decimal) -> str:
    """A rate as a fraction → ``"15 %"`` (``Decimal("0.15")``), ``"12,5 %"`` (``Decimal("0.125")``)."""
    return percent_points(rate * 100)


# ---------------------------------------------------------------- cells


def paragraph(text: str, style: ParagraphStyle = CELL) -> Paragraph:
    """A paragraph of plain text (markup characters are escaped, so they show as they are)."""
    return Paragraph(escape(text), style)


def multiline(*lines: str, style: ParagraphStyle = CELL) -> Paragraph:
    """A paragraph of plain (escaped) text lines, one below the other; empty lines are left out."""
    return Paragraph("<br/>".join(escape(line) for line in lines if line), style)


#: The smallest font size ``whole_words`` shrinks a style to, points.
MIN_FONT_SIZE = 4.0


def widest_word_width(texts: Sequence[str], style: ParagraphStyle) -> float:
    """The width in points of the widest word (run without whitespace) of ``texts`` in ``style``; 0 for none."""
    return max((_width(word, style.fontName, style.fontSize) for text in texts for word in text.split()),
               default=0.0)


def whole_words(texts: Sequence[str], width: float, style: ParagraphStyle) -> ParagraphStyle:
    """``style``, or a copy with a smaller font (and leading), so that no word of ``texts`` is wider
    than a column of ``width`` points (paddings included): names and voucher numbers are never
    broken inside a word. The font shrinks to ``MIN_FONT_SIZE`` at most; the copy does not split
    long words (``splitLongWords`` off), so a word still too wide runs into the padding instead."""
    room = width - 2 * CELL_PADDING
    widest = widest_word_width(texts, style)
    if widest <= room:
        return style
    size = max(MIN_FONT_SIZE, style.fontSize * room / widest * 0.98)
    return ParagraphStyle(f"{style.name}-{size:.2f}", parent=style, fontSize=size,
                          leading=style.leading * size / style.fontSize, splitLongWords=0)


def unbroken(*lines: str, width: float, style: ParagraphStyle = CELL) -> Paragraph:
    """A cell of plain text ``lines`` for a column of ``width`` points whose words are never
    broken inside (a smaller font where needed, ``whole_words``); empty lines are left out."""
    return multiline(*lines, style=whole_words(lines, width, style))


def header_row(*labels: str, right: tuple[int, ...] = ()) -> list[Paragraph]:
    """A header row of small bold cells; a ``\\n`` in a label breaks the line there, ``right``
    are the indexes of right-aligned (amount) columns."""
    return [multiline(*label.split("\n"), style=HEAD_RIGHT if i in right else HEAD)
            for i, label in enumerate(labels)]


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) as one space, as a Paragraph shows it."""
    return " ".join(text.split())


def text_cell(text: str, width: float, style: ParagraphStyle) -> str | Paragraph:
    """A table cell of plain ``text`` (a newline breaks the line there) for a column of ``width``
    points (paddings included) that looks like a Paragraph in ``style``: the lines as one string,
    which reportlab lays out and draws far faster than a Paragraph, or the Paragraph itself where
    the lines cannot be broken as it would break them. The table sets the column's font and
    leading to the style's (``LongTable.text_styles``)."""
    lines = [_broken(line, width - 2 * CELL_PADDING, style) for line in text.split("\n")]
    if any(broken is None for broken in lines):
        return multiline(*text.split("\n"), style=style)
    return "\n".join(part for broken in lines for part in broken)


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


# ---------------------------------------------------------------- tables


def ruled_table(rows: list[list], widths: list[float], *, amount_cols: tuple[int, ...] = (-1,),
                total_rows: int = 0, header: bool = True, repeat: bool = False, label_cols: int = 1,
                commands: tuple = ()) -> Table:
    """A table in the house style: Helvetica 8.5 pt, a light rule below every row, the header on grey.

    ``rows`` may hold strings or Paragraphs; ``widths`` are the columns' widths in points;
    ``amount_cols`` are right-aligned; the last ``total_rows`` rows are bold with a rule above;
    ``header`` styles the first row (and ``repeat`` repeats it after a page break); the last
    row's label spans its first ``label_cols`` columns (and is left-aligned); ``commands`` are
    further ``TableStyle`` commands (after the alignment of the amount columns, before the
    header's and the total's).
    """
    table = Table(rows, colWidths=widths, repeatRows=1 if repeat else 0)
    table.setStyle(TableStyle(house_style(amount_cols=amount_cols, total_rows=total_rows, header=header,
                                          label_cols=label_cols, commands=commands)))
    return table


def house_style(*, amount_cols: tuple[int, ...] = (-1,), total_rows: int = 0, header: bool = True,
                label_cols: int = 1, commands: tuple = ()) -> list[tuple]:
    """The ``TableStyle`` commands of ``ruled_table`` (same arguments), in the order it applies them."""
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        *(("ALIGN", (col, 0), (col, -1), "RIGHT") for col in amount_cols),
        *commands,
    ]
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
        style += [("SPAN", (0, -1), (label_cols - 1, -1)), ("ALIGN", (0, -1), (0, -1), "LEFT")]
    return style


#: The ``TableStyle`` operations that reportlab applies cell by cell (to each cell's ``CellStyle``);
#: the others (rules, backgrounds, spans) are kept as one command each.
CELL_STYLE_OPS = frozenset({"FONT", "FONTNAME", "FACE", "SIZE", "FONTSIZE", "LEADING", "TEXTCOLOR", "ALIGN",
                            "ALIGNMENT", "VALIGN", "LEFTPADDING", "RIGHTPADDING", "TOPPADDING", "BOTTOMPADDING",
                            "HREF", "DESTINATION", "DIRECTION", "SHAPING"})


def details(rows: list[tuple[str, str]]) -> Table:
    """A two-column (label, value) table of texts over the content width: labels bold in 40 mm,
    values left-aligned; no header."""
    cells = [[paragraph(label, CELL_BOLD), paragraph(value)] for label, value in rows]
    return ruled_table(cells, [40 * mm, CONTENT_WIDTH - 40 * mm], amount_cols=(), header=False)


def figures(rows: list[tuple[str, str]], *, total_rows: int = 0) -> Table:
    """A two-column (label, value) table of figures over the content width, values right-aligned
    in 80 mm; no header; the last ``total_rows`` rows bold with a rule above."""
    first_total = len(rows) - total_rows
    cells = [[paragraph(label, CELL_BOLD if i >= first_total else CELL),
              paragraph(value, CELL_BOLD_RIGHT if i >= first_total else CELL_RIGHT)]
             for i, (label, value) in enumerate(rows)]
    return ruled_table(cells, [CONTENT_WIDTH - 80 * mm, 80 * mm], total_rows=total_rows, header=False)


@dataclass(frozen=True)
class LongTable:
    """A table that may run over many pages: the ``header`` row (repeated on every page), a row
    per item of ``items`` (built by ``row``, plain texts) and the closing ``tail`` rows (at least
    one), the last one the total (its label spanning ``label_cols`` columns); ``widths`` (points)
    and ``amount_cols`` as for ``ruled_table``; the columns in ``text_styles`` (index → style) are
    set like Paragraphs of that style (``text_cell``). Laid out by ``PagedTable``.

    Its tables look like ``ruled_table``'s, but the house style's cell-by-cell commands (fonts,
    paddings, alignment) are applied once, to a prototype of a header, a body row and the tail
    (``cell_styles``); every table of the list shares those ``CellStyle`` objects (reportlab's
    ``cellStyles``) and gets only the style's rules, background and span."""

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
        like Paragraphs of their style (``text_cell``)."""
        return [text_cell(text, self.widths[col], self.text_styles[col]) if col in self.text_styles else text
                for col, text in enumerate(self.row(item))]

    def _commands(self, closing: bool) -> list[tuple]:
        """The house style's commands for a table of the header and rows (``closing``: and the tail)."""
        fonts = tuple(("FONT", (col, 0), (col, -1), style.fontName, style.fontSize, style.leading)
                      for col, style in self.text_styles.items())
        return house_style(amount_cols=self.amount_cols, total_rows=1 if closing else 0,
                           label_cols=self.label_cols if closing else 1, commands=fonts)

    @cached_property
    def cell_styles(self) -> tuple[list[CellStyle], list[CellStyle], list[list[CellStyle]]]:
        """The cell styles of the header row, of every body row and of the tail rows (a
        ``CellStyle`` per column): those reportlab gives a ``ruled_table`` of header, rows and
        tail, set by its ``setStyle`` on a prototype of a header, one empty row and the tail."""
        if not self.tail:
            raise ValueError("a LongTable needs its tail (the total row)")
        columns = len(self.widths)
        styles = [[CellStyle(repr((row, col))) for col in range(columns)] for row in range(2 + len(self.tail))]
        prototype = Table([self.header, [""] * columns, *self.tail], colWidths=self.widths, cellStyles=styles)
        prototype.setStyle(TableStyle(self._commands(closing=True)))
        return styles[0], styles[1], styles[2:]

    @cached_property
    def _rules(self) -> dict[bool, TableStyle]:
        """The house style's commands that are not cell by cell (rules, background, span), by ``closing``."""
        return {closing: TableStyle([cmd for cmd in self._commands(closing) if cmd[0] not in CELL_STYLE_OPS])
                for closing in (False, True)}

    def row_height(self, cells: list) -> float | None:
        """The height in points of a body row of ``cells``, as reportlab computes it for plain-text
        cells (lines × leading + top and bottom padding, the tallest cell); None when a cell is a
        Paragraph (reportlab measures it)."""
        height = 0.0
        for cell, style in zip(cells, self.cell_styles[1]):
            if not isinstance(cell, str):
                return None
            lines = cell.count("\n") + 1
            height = max(height, (style.leading or 1.2 * style.fontsize) * lines
                         + (style.bottomPadding + style.topPadding))
        return height

    def table(self, rows: list[list], *, closing: bool, heights: list[float | None] | None = None) -> Table:
        """The ``Table`` of ``rows`` (header first); ``closing``: they end with the tail rows.
        ``heights``: the rows' heights in points where known (None: reportlab measures the row)."""
        header, body, tail = self.cell_styles
        tail = tail if closing else []
        styles = [header] + [list(body) for _ in range(len(rows) - 1 - len(tail))] + tail
        table = Table(rows, colWidths=self.widths, rowHeights=heights, repeatRows=1, cellStyles=styles)
        table.setStyle(self._rules[closing])
        return table


class PagedTable(Flowable):
    """A ``LongTable`` handed to reportlab one page at a time.

    reportlab splits a ``Table`` at a page end into the rows that fit and a new ``Table`` of all
    the rows left (recomputing its spans), so one table of n rows costs O(n) per page: quadratic
    in its pages. This flowable gives the frame a ``Table`` of the header and only the next rows,
    as many as overflow the space left by their heights (``LongTable.row_height``; doubled while
    the table still fits, where a row's height is unknown), lets reportlab split that, and keeps
    the rows after the split for the next page. Rows are built (with their heights) when a page
    needs them and dropped once placed, so only a few pages of cells exist at a time.
    """

    def __init__(self, spec: LongTable, start: int = 0,
                 built: dict[int, tuple[list, float | None]] | None = None) -> None:
        super().__init__()
        self.hAlign = "CENTER"  # as the Table's
        self._spec = spec
        self._start = start
        self._built = {} if built is None else built  # item index -> (row, height in points), shared by the pages
        self._window: tuple[tuple[float, float], Table, bool] | None = None

    def _row(self, index: int) -> tuple[list, float | None]:
        """The cells of item ``index`` and the row's height in points (None: unknown), built once."""
        built = self._built.get(index)
        if built is None:
            spec = self._spec
            cells = spec.cells(spec.items[index])
            built = self._built[index] = (cells, spec.row_height(cells))
        return built

    def _overflowing(self, height: float) -> int:
        """How many rows from the start, at least one, are taller than ``height`` points together
        (the rows of unknown height counted as 0, the header not at all), or all the rows left."""
        count, index, used = len(self._spec.items), self._start, 0.0
        while index < count and used <= height:
            used += self._row(index)[1] or 0.0
            index += 1
        return max(index - self._start, 1)

    def _table(self, width: float, height: float) -> tuple[Table, bool]:
        """The table for ``height`` of space: the header and enough rows to overflow it, or all
        the rows left and the tail; the flag says which (True: the closing table)."""
        if self._window is not None and self._window[0] == (width, height):
            return self._window[1:]
        spec = self._spec
        size, count = self._overflowing(height), len(spec.items)
        while True:
            stop = min(self._start + size, count)
            closing = stop == count
            window = [self._row(index) for index in range(self._start, stop)]
            rows = [spec.header] + [cells for cells, _ in window] + (spec.tail if closing else [])
            heights = [None] + [row_height for _, row_height in window] + ([None] * len(spec.tail) if closing else [])
            table = spec.table(rows, closing=closing, heights=heights)
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
        """reportlab's split of the window; the rows after the split stay in a new ``PagedTable``."""
        table, closing = self._table(availWidth, availHeight)
        parts = table.split(availWidth, availHeight)
        if closing or len(parts) < 2:
            return parts
        placed = parts[0]._nrows - 1  # after the header
        for index in range(self._start, self._start + placed):
            del self._built[index]
        return [parts[0], PagedTable(self._spec, self._start + placed, self._built)]

    def draw(self):
        """Draw the closing table (it fits)."""
        self._window[1].drawOn(self.canv, 0, 0)


# ---------------------------------------------------------------- sections


class Sections:
    """Numbers the section headings consecutively ("1. …", "2. …"; optional sections shift the
    numbers after them); ``numbers`` maps a heading's text to its number, for references from
    later sections."""

    def __init__(self) -> None:
        self.number = 0
        self.numbers: dict[str, int] = {}

    def _next(self, text: str) -> str:
        self.number += 1
        self.numbers[text] = self.number
        return f"{self.number}. {text}"

    def heading(self, text: str) -> Paragraph:
        """A numbered heading kept on the same page as the flowable after it."""
        return paragraph(self._next(text), HEADING)

    def long_heading(self, text: str) -> list:
        """A numbered heading before a long table: new page only if less than 40 mm are left."""
        return [CondPageBreak(40 * mm), paragraph(self._next(text), HEADING_LONG)]

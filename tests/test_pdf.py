"""Tests of the PDF toolkit (ledger.write.pdf) where it has logic of its own: plain-text cells broken
into lines, and the German formatting of IBANs and percentages. (That the breaks fall where a
Paragraph's fall is pinned in test_statement_pdf.py.)"""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from ledger.write.pdf import (
    CELL,
    CELL_PADDING,
    CELL_SMALL,
    iban,
    percent,
    percent_points,
    text_cell,
)

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ0123456789-.,:;()/§€",
                min_size=1, max_size=14)


def _fits(line: str, width: float, style) -> bool:
    """``line`` is at most ``width`` points wide, allowing the style's space shrinkage (as a Paragraph)."""
    spaces = line.count(" ")
    shrink = style.spaceShrinkage * stringWidth(" ", style.fontName, style.fontSize) * spaces
    return stringWidth(line, style.fontName, style.fontSize) <= width + shrink + 1e-9


@given(st.lists(WORDS, max_size=30), st.sampled_from((18, 24, 36, 56)), st.sampled_from((CELL, CELL_SMALL)))
def test_text_cell_keeps_every_word_in_order_within_the_width(words, column_mm, style):
    text = " ".join(words)
    cell = text_cell(text, column_mm * mm, style)
    if not isinstance(cell, str):  # a word too long for a line, among others: left to a Paragraph
        assert len(words) > 1
        return
    lines = cell.split("\n")
    assert all(_fits(line, column_mm * mm - 2 * CELL_PADDING, style) for line in lines)
    if len(words) == 1:  # one word, possibly cut between characters
        assert "".join(lines) == words[0]
    else:
        assert " ".join(lines).split() == words


def test_text_cell_keeps_given_line_breaks_and_cuts_a_single_long_word():
    assert text_cell("Erste Zeile\nzweite Zeile", 56 * mm, CELL) == "Erste Zeile\nzweite Zeile"
    cut = text_cell("VERTRAG-2023-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0001", 24 * mm, CELL).split("\n")
    assert len(cut) > 1 and "".join(cut) == "VERTRAG-2023-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0001"
    assert text_cell("", 24 * mm, CELL) == ""


def test_iban_and_percentages_in_german():
    assert iban("de59300500000001683515") == "DE59 3005 0000 0001 6835 15"
    assert iban("DE59 3005 0000 0001 6835 15") == "DE59 3005 0000 0001 6835 15"
    assert percent(Decimal("0.15")) == "15 %"
    assert percent(Decimal("0.125")) == "12,5 %"
    assert percent(Decimal("1")) == "100 %"
    assert percent_points(Decimal("6.620")) == "6,62 %"


# --- long tables: laid out a page at a time, styled once ----------------------------------------------------

def _long_table(count: int):
    """A LongTable of ``count`` rows like the voucher list's: short and wrapping texts, a small-print
    column, amounts right-aligned, a total spanning four columns."""
    from ledger.write.pdf import LongTable

    texts = ("Abschlag", "Personalkosten Schulassistenz Pool Süd, Abschlag mit einem längeren Buchungstext, "
             "der in der Zelle umbrechen muss", "Rechnung\nzweite Zeile")
    items = [(f"{1 + i % 28:02d}.08.2023", f"V-{i:05d}", texts[i % 3], "zulässig" if i % 2 else "nicht eingestuft",
              f"{i},00 EUR") for i in range(count)]
    return LongTable(["Datum", "Beleg-Nr.", "Buchungstext", "Einstufung", "Betrag"], items, list,
                     [["Summe", "", "", "", "0,00 EUR"]], [18 * mm, 24 * mm, 66 * mm, 36 * mm, 26 * mm],
                     {2: CELL, 3: CELL_SMALL}, label_cols=4)


def _render(story) -> bytes:
    from datetime import datetime

    from ledger.write.pdf import render

    return render(story, title="T", author="A", subject="S", footer=("a", "b"), created_at=datetime(2026, 1, 1))


def test_long_table_windows_are_styled_and_measured_as_ruled_tables():
    """A LongTable's tables share cell styles set once and get their rows' heights from
    ``row_height``; each cell's style and each row's height is what a ``ruled_table`` of the same
    rows gives (the header, the rows, the total spanning its label columns)."""
    from ledger.write.pdf import ruled_table

    spec = _long_table(40)
    fonts = tuple(("FONT", (col, 0), (col, -1), style.fontName, style.fontSize, style.leading)
                  for col, style in spec.text_styles.items())
    body = [spec.cells(item) for item in spec.items]
    for closing in (False, True):
        rows = [spec.header, *body, *(spec.tail if closing else [])]
        heights = [None] + [spec.row_height(cells) for cells in body] + [None] * (len(rows) - 1 - len(body))
        window = spec.table(rows, closing=closing, heights=heights)
        reference = ruled_table(rows, spec.widths, total_rows=1 if closing else 0, repeat=True,
                                label_cols=4 if closing else 1, commands=fonts)
        assert window.wrap(170 * mm, 10_000) == reference.wrap(170 * mm, 10_000)
        assert window._rowHeights == reference._rowHeights
        for ours, theirs in zip(window._cellStyles, reference._cellStyles, strict=True):
            assert [vars(style) | {"name": ""} for style in ours] == [vars(style) | {"name": ""} for style in theirs]
        assert window._linecmds == reference._linecmds and window._spanCmds == reference._spanCmds
        assert window._bkgrndcmds == reference._bkgrndcmds


def test_paged_table_styles_cells_once_and_builds_about_a_page_of_rows_per_page(monkeypatch):
    """The house style's cell-by-cell commands run on one prototype, not on every window table
    (reportlab applies a full-range command to each cell: 12 commands × 6 columns × every row of
    every window were 1,5 million calls for a statement of 12 504 lines), and each window holds
    about the rows its page takes, not a doubling of them."""
    from reportlab.platypus import tables

    from ledger.write import pdf

    styled = []
    original = tables._setCellStyle
    monkeypatch.setattr(tables, "_setCellStyle", lambda *args: (styled.append(1), original(*args)))
    built = []
    table = pdf.LongTable.table
    monkeypatch.setattr(pdf.LongTable, "table",
                        lambda self, rows, **kw: (built.append(len(rows)), table(self, rows, **kw))[1])

    spec = _long_table(3000)
    _render([pdf.PagedTable(spec)])
    assert len(styled) < 300  # the prototype's 3 rows × 5 columns × the cell commands
    assert sum(built) < 1.3 * len(spec.items)

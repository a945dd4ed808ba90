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

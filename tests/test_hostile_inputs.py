"""Hostile and malformed input never crashes and is never accepted (issue 18): each case is
refused with its line and column, on the import and the manual entry, on both databases.

The cases were found by a corpus run against the importer: amounts in Arabic-Indic or
full-width digits were read as numbers, a NUL byte in a booking text was accepted (and
PostgreSQL then refused it with a server error), a field longer than the csv module's limit
ended in a traceback."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from ledger.core.errors import LedgerError
from ledger.core.money import AmountError, parse_amount, parse_decimal, parse_german
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import find_account
from ledger.core.schoolyear import SchoolYear
from tests.conftest import NOW, import_bytes

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag\n"


@pytest.mark.parametrize("name, row, line, column, message", [
    ("Arabic-Indic digits", "01.10.2023;A;x;5292;1810;١٢٣,٤٥\n", 2, "Betrag", "ungültiger Betrag"),
    ("full-width digits", "01.10.2023;A;x;5292;1810;１２３,４５\n", 2, "Betrag", "ungültiger Betrag"),
    ("NUL in a text", "01.10.2023;A;x\x00y;5292;1810;1,00\n", 2, "Buchungstext", "Nullzeichen"),
    ("10 MB line", "01.10.2023;A;" + "x" * (10 * 1024 * 1024) + ";5292;1810;1,00\n", 2, None, "länger als 131.072"),
    ("200 000-character quoted field", '01.10.2023;A;"' + "y" * 200_000 + '";5292;1810;1,00\n', 2, None,
     "länger als 131.072"),
    ("amount at the 64-bit maximum", "01.10.2023;A;x;5292;1810;92233720368547758,07\n", 2, "Betrag",
     "Höchstbetrag"),
    ("amount of 1 000 digits", "01.10.2023;A;x;5292;1810;" + "9" * 1000 + "\n", 2, "Betrag", "Höchstbetrag"),
])
def test_a_hostile_row_is_refused_with_line_and_column(session, kreis, name, row, line, column, message):
    summary = import_bytes(session, kreis, (HEADER + row).encode("utf-8"), "feindlich.csv", created_by="t", now=NOW)
    assert not summary.ok and summary.imported == 0, name
    first = summary.errors[0]
    assert (first.line, first.column) == (line, column) and message in first.message, (name, first)


def test_a_header_field_over_the_limit_is_refused_on_line_1(session, kreis):
    summary = import_bytes(session, kreis, ("Buchungsdatum;" + "x" * 200_000 + "\n").encode(), "k.csv",
                           created_by="t", now=NOW)
    assert [(e.line, "länger als" in e.message) for e in summary.errors] == [(1, True)]


@pytest.mark.parametrize("text", ["١٢٣,٤٥", "１２３,４５", "١٢٣.٤٥", "１２３"])
def test_amounts_take_ascii_digits_only(text):
    for parse in (parse_german, parse_decimal, parse_amount):
        with pytest.raises(AmountError):
            parse(text)


def test_ascii_amounts_still_parse():
    assert (parse_german("1.234,56"), parse_decimal("1234.56"), parse_amount("1234,5")) == (
        Decimal("1234.56"), Decimal("1234.56"), Decimal("1234.50"))


@pytest.mark.parametrize("voucher, text, cost_centre, message", [
    ("M-1", "Honorar\x00", None, "Buchungstext enthält ein Nullzeichen (NUL)"),
    # "Trojan Source" (CVE-2021-42574): a right-to-left override makes the text read backwards
    ("M-1", "Honorar \u202eRNI", None, "Buchungstext enthält ein Steuerzeichen (U+202E)"),
    ("M-\u20661", "Honorar", None, "Belegnummer enthält ein Steuerzeichen (U+2066)"),
    ("M-1", "Honorar", "KST\x07", "Kostenstelle enthält ein Steuerzeichen (U+0007)"),
])
def test_a_manual_entry_with_a_control_character_is_refused(session, kreis, voucher, text, cost_centre, message):
    bank, expense = find_account(session, kreis, "1810"), find_account(session, kreis, "5292")
    year = SchoolYear(2023)
    with pytest.raises(LedgerError, match=re.escape(message)):
        post_entry(session, kreis, day=date(2023, 10, 1), voucher_number=voucher, text=text,
                   lines=[PostingLine(expense, Decimal("1.00"), year, cost_centre=cost_centre),
                          PostingLine(bank, Decimal("-1.00"), year)],
                   kind="manual", created_by="t", now=NOW)


def test_a_manual_entry_keeps_line_breaks_and_tabs(session, kreis):
    bank, expense = find_account(session, kreis, "1810"), find_account(session, kreis, "5292")
    year = SchoolYear(2023)
    entry = post_entry(session, kreis, day=date(2023, 10, 1), voucher_number="M-2", text="Honorar\r\nOktober\t1",
                       lines=[PostingLine(expense, Decimal("1.00"), year), PostingLine(bank, Decimal("-1.00"), year)],
                       kind="manual", created_by="t", now=NOW)
    assert entry.text == "Honorar\r\nOktober\t1"

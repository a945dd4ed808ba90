"""Cells of the spreadsheets and CSV files the ledger writes, safe to open in Excel or LibreOffice.

Formula injection (OWASP, "CSV Injection"): a spreadsheet program runs a cell that begins
with ``=``, ``+``, ``-`` or ``@`` (and, after a tab or a carriage return, what follows) as a
formula, so a booking text ``=HYPERLINK("http://…";"Beleg")`` from an imported bank file
would become a live link, a ``+1`` a number and ``@SUM(…)`` a calculation. Every *text*
cell the ledger writes therefore goes through ``neutralise``: one of these first characters
gets an apostrophe in front (``'=HYPERLINK(…)``), which makes it text in every spreadsheet
program; nothing else of the text changes. The CSV module quotes ``;``, ``"`` and line
breaks; the apostrophe is the one change the ledger makes to a text.

Numbers are never text: amounts are written from ``Decimal`` (never from user input), so a
negative amount cannot hide a formula and is *not* neutralised. In XLSX an amount is a
numeric cell (two decimals, ``#,##0.00``); in CSV it is ``-1234,56``: minus sign, decimal
comma, no digit grouping — German Excel reads it as the number −1.234,56 (a minus sign
followed by digits and one decimal comma is no formula). Dates are real date cells in XLSX
(``DD.MM.YYYY``) and ``31.07.2024`` in CSV.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

#: First characters a spreadsheet program reads as the start of a formula (OWASP list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Put in front of a text that begins with one of ``FORMULA_STARTS``.
ESCAPE = "'"


def neutralise(text: str) -> str:
    """``text`` made safe for a spreadsheet cell: ``"=1+1"`` → ``"'=1+1"``, ``"-5 % Rabatt"`` →
    ``"'-5 % Rabatt"``, ``"Rechnung"`` unchanged, ``""`` unchanged. Texts only: amounts are
    written as numbers (``csv_amount``), never through this."""
    return ESCAPE + text if text.startswith(FORMULA_STARTS) else text


def csv_amount(amount: Decimal) -> str:
    """EUR as a German CSV number: ``Decimal("-1234.5")`` → ``"-1234,50"`` (two places,
    decimal comma, no grouping; a leading minus only for negative amounts)."""
    return f"{amount.quantize(Decimal('0.01')):f}".replace(".", ",")


def csv_value(value) -> str:
    """One CSV field from a Python value: ``Decimal`` → ``csv_amount``, ``date`` → ``31.07.2024``,
    ``int`` → digits, ``None`` → empty, any other value as text through ``neutralise``."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return csv_amount(value)
    if isinstance(value, datetime):
        return f"{value:%d.%m.%Y %H:%M:%S}"
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return neutralise(str(value))


def sheet_value(value):
    """One XLSX cell value from a Python value: numbers and dates unchanged (numeric and date
    cells), ``None`` unchanged (empty), any other value as text through ``neutralise``."""
    if value is None or isinstance(value, (Decimal, date)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return neutralise(str(value))

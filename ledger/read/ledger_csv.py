"""The built-in import format: the finance system's journal export, a semicolon CSV.

A header row, UTF-8 (with or without BOM) or Windows-1252 (``ledger.read.csvfile``),
columns ``Buchungsdatum`` (TT.MM.JJJJ), ``Belegnummer``, ``Buchungstext``, ``Sollkonto``,
``Habenkonto``, ``Betrag`` (German format, positive) and optionally ``Kostenstelle``,
``Kategorie`` (a rule-pack category id) and ``Schuljahr`` (``2023/24``). Each record
is one booking of ``Betrag`` from ``Sollkonto`` to ``Habenkonto``. ``LEDGER_CSV`` is the
format as ``ledger.read.importer`` takes it (its default).
"""
from __future__ import annotations

import io
from datetime import date, datetime
from functools import lru_cache

from ledger.core.money import AmountError, parse_german_cents
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.read.csvfile import CsvTable, ImportIssue
from ledger.read.rows import ImportRow, RowFormat, base_key, school_year_of

REQUIRED_COLUMNS = ("Buchungsdatum", "Belegnummer", "Buchungstext", "Sollkonto", "Habenkonto", "Betrag")
OPTIONAL_COLUMNS = ("Kostenstelle", "Kategorie", "Schuljahr")
#: Longest text per column, in characters (the database's column widths).
MAX_LENGTH = {"Belegnummer": 60, "Buchungstext": 500, "Kostenstelle": 40, "Sollkonto": 20, "Habenkonto": 20}


def parse(line: int, fields: list[str], columns: dict[str, int]) -> tuple[ImportRow | None, list[ImportIssue]]:
    """The record at physical ``line`` (``fields`` in header order, ``columns``: name → index)
    as ``(ImportRow, [])``, or ``(None, issues)`` with every syntax error of the record,
    each naming line and column in German."""
    values = {name: fields[index] for name, index in columns.items()}
    issues: list[ImportIssue] = []

    def fail(column: str, message: str) -> None:
        issues.append(ImportIssue(line, column, message))

    for column in REQUIRED_COLUMNS:
        if not values[column]:
            fail(column, "Pflichtfeld ist leer")
    for column, limit in MAX_LENGTH.items():
        if len(values.get(column, "")) > limit:
            fail(column, f"länger als {limit} Zeichen")
    day = cents = None
    if values["Buchungsdatum"]:
        try:
            day = _parse_day(values["Buchungsdatum"])
        except ValueError:
            fail("Buchungsdatum", f"ungültiges Datum {values['Buchungsdatum']!r} (erwartet TT.MM.JJJJ)")
    if values["Betrag"]:
        try:
            cents = parse_german_cents(values["Betrag"])
            if cents <= 0:
                fail("Betrag", "Betrag muss positiv sein (die Richtung ergibt sich aus Soll und Haben)")
        except AmountError as exc:
            fail("Betrag", str(exc))
    if values["Sollkonto"] and values["Sollkonto"] == values["Habenkonto"]:
        fail("Habenkonto", "Soll- und Habenkonto sind gleich")
    school_year = None
    if values.get("Schuljahr"):
        try:
            school_year = SchoolYear.parse(values["Schuljahr"])
        except SchoolYearError as exc:
            fail("Schuljahr", str(exc))
    if issues or day is None or cents is None:
        return None, issues
    return ImportRow(
        line=line, day=day, voucher_number=values["Belegnummer"], text=values["Buchungstext"],
        debit=values["Sollkonto"], credit=values["Habenkonto"], cents=cents,
        cost_centre=values.get("Kostenstelle") or None, category=values.get("Kategorie") or None,
        school_year=school_year or school_year_of(day), school_year_given=school_year is not None,
    ), []


def base(fields: list[str], columns: dict[str, int]) -> tuple | None:
    """The record's ``ImportRow.base()`` without parsing the rest of it; None if its date
    or amount does not parse."""
    try:
        return base_key(_parse_day(fields[columns["Buchungsdatum"]]), fields[columns["Belegnummer"]],
                        fields[columns["Sollkonto"]], fields[columns["Habenkonto"]],
                        parse_german_cents(fields[columns["Betrag"]]))
    except (ValueError, AmountError):
        return None


def accounts(fields: list[str], columns: dict[str, int]) -> tuple[str, str]:
    """The record's ``Sollkonto`` and ``Habenkonto`` as written."""
    return fields[columns["Sollkonto"]], fields[columns["Habenkonto"]]


def read_rows(data: bytes) -> tuple[list[ImportRow], list[ImportIssue]]:
    """Decode and parse an export (the file's bytes) into rows, without the books; every
    syntax error is returned, none raised."""
    table = CsvTable(lambda: io.BytesIO(data), REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    issues = list(table.issues)
    rows = []
    for line, fields, issue in table.records():
        row, row_issues = (None, [issue]) if issue else parse(line, fields, table.columns)
        issues += row_issues
        if row is not None:
            rows.append(row)
    return rows, issues


@lru_cache(maxsize=8192)
def _parse_day(text: str) -> date:
    """``"31.10.2023"`` → ``date(2023, 10, 31)``; raises ValueError."""
    return datetime.strptime(text, "%d.%m.%Y").date()


LEDGER_CSV = RowFormat(
    required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, parse=parse, base=base, accounts=accounts,
    column_of={"day": "Buchungsdatum", "debit": "Sollkonto", "credit": "Habenkonto", "category": "Kategorie",
               "school_year": "Schuljahr"},
)

"""One table as a CSV file for German Excel or as an XLSX workbook (the auditors' downloads).

A ``Sheet`` is a title, German column headings and rows of Python values (``str``, ``int``,
``Decimal`` EUR, ``date``, None). ``to_csv`` writes UTF-8 with BOM, ``;`` between fields and
CR LF after each record (what German Excel opens without an import dialogue), quoting by the
``csv`` module; ``to_xlsx`` writes one worksheet with XlsxWriter: bold headings, frozen first
row, an autofilter, dates as date cells (``DD.MM.YYYY``), amounts as numeric cells with two
decimals. Both neutralise texts that a spreadsheet would run as formulas
(``ledger.write.cells``).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from xlsxwriter import Workbook

from ledger.core.errors import LedgerError
from ledger.write.cells import csv_value, sheet_value

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Formats of the downloads and their content types.
CONTENT_TYPES = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}

_AMOUNT_FORMAT = "#,##0.00"
_DATE_FORMAT = "DD.MM.YYYY"
_MAX_WIDTH = 60
#: Rows of an XLSX worksheet (Excel's limit), the heading row included.
XLSX_MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class Sheet:
    """A table to download: ``title`` (worksheet name, at most 31 characters are used),
    ``headings`` (German), ``rows`` (each as long as ``headings``), ``bold_rows`` (indexes
    into ``rows`` shown bold in XLSX, e.g. totals)."""

    title: str
    headings: tuple[str, ...]
    rows: list[list] = field(default_factory=list)
    bold_rows: frozenset[int] = frozenset()


def to_csv(sheet: Sheet) -> bytes:
    """The sheet as CSV bytes: BOM, heading row, one record per row (see module docstring)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerow([csv_value(h) for h in sheet.headings])
    writer.writerows([csv_value(v) for v in row] for row in sheet.rows)
    return text.getvalue().encode("utf-8-sig")


def to_xlsx(sheet: Sheet, *, now: datetime | None = None) -> bytes:
    """The sheet as an XLSX workbook (bytes) with one worksheet; ``now`` sets the creation
    time in the document properties (default: the current time).

    Written with XlsxWriter, every cell with its type's own call (``write_string``,
    ``write_number``, ``write_datetime``): a text is never read as a formula, number or link
    by the writer itself (a school year's journal of some 40 000 postings in a few seconds).

    Raises:
        LedgerError: more rows than a worksheet holds (``XLSX_MAX_ROWS``; CSV has no limit).
    """
    if len(sheet.rows) + 1 > XLSX_MAX_ROWS:
        raise LedgerError(f"{sheet.title}: {len(sheet.rows):,} Zeilen passen nicht in ein Tabellenblatt "
                          f"(höchstens {XLSX_MAX_ROWS - 1:,}); bitte den Zeitraum verkleinern oder CSV wählen."
                          .replace(",", "."))
    out = io.BytesIO()
    workbook = Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                              "strings_to_urls": False})
    properties = {"title": sheet.title, "author": "inkl-ledger"}
    if now is not None:
        properties["created"] = now.replace(tzinfo=None)
    workbook.set_properties(properties)
    worksheet = workbook.add_worksheet(_sheet_title(sheet.title))
    formats = _Formats(workbook)
    for column, heading in enumerate(sheet.headings):
        worksheet.write_string(0, column, sheet_value(heading), formats.bold)
    widths = [len(h) for h in sheet.headings]
    for index, row in enumerate(sheet.rows):
        bold = index in sheet.bold_rows
        for column, value in enumerate(row):
            widths[column] = max(widths[column], _write(worksheet, index + 1, column, value, formats, bold))
    for column, width in enumerate(widths):
        worksheet.set_column(column, column, min(width + 2, _MAX_WIDTH))
    worksheet.freeze_panes(1, 0)
    if sheet.rows:
        worksheet.autofilter(0, 0, len(sheet.rows), len(sheet.headings) - 1)
    workbook.close()
    return out.getvalue()


class _Formats:
    """The cell formats of a workbook: plain and bold, each for text, amounts and dates."""

    def __init__(self, workbook: Workbook):
        self.bold = workbook.add_format({"bold": True})
        self.amount = workbook.add_format({"num_format": _AMOUNT_FORMAT})
        self.day = workbook.add_format({"num_format": _DATE_FORMAT})
        self.bold_amount = workbook.add_format({"num_format": _AMOUNT_FORMAT, "bold": True})
        self.bold_day = workbook.add_format({"num_format": _DATE_FORMAT, "bold": True})


def _write(worksheet, row: int, column: int, value, formats: _Formats, bold: bool) -> int:
    """Write one cell: amounts as numbers (two decimals), dates as dates, ints as numbers, texts
    neutralised (``ledger.write.cells``), None as an empty (formatted, if bold) cell. Returns
    the width the cell needs, in characters."""
    value = sheet_value(value)
    if value is None:
        if bold:
            worksheet.write_blank(row, column, None, formats.bold)
        return 0
    if isinstance(value, Decimal):
        worksheet.write_number(row, column, value, formats.bold_amount if bold else formats.amount)
        return len(str(value)) + 3
    if isinstance(value, date):
        worksheet.write_datetime(row, column, value, formats.bold_day if bold else formats.day)
        return 10
    if isinstance(value, int):
        worksheet.write_number(row, column, value, formats.bold if bold else None)
        return len(str(value))
    worksheet.write_string(row, column, value, formats.bold if bold else None)
    return len(value)


def render(sheet: Sheet, fmt: str, *, now: datetime | None = None) -> bytes:
    """The sheet in format ``fmt`` (``"csv"`` or ``"xlsx"``). Raises ValueError for another format."""
    if fmt == "csv":
        return to_csv(sheet)
    if fmt == "xlsx":
        return to_xlsx(sheet, now=now)
    raise ValueError(f"unbekanntes Format {fmt!r}: erlaubt sind csv, xlsx")


def _sheet_title(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    for char in "[]:*?/\\":
        title = title.replace(char, "-")
    return title[:31]

"""One table as a CSV file for German Excel or as an XLSX workbook (the auditors' downloads).

A ``Sheet`` is a title, German column headings and rows of Python values (``str``, ``int``,
``Decimal`` EUR, ``date``, None). ``to_csv`` writes UTF-8 with BOM, ``;`` between fields and
CR LF after each record (what German Excel opens without an import dialogue), quoting by the
``csv`` module; ``to_xlsx`` writes one worksheet with openpyxl: bold headings, frozen first
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

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ledger.write.cells import csv_value, sheet_value

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Formats of the downloads and their content types.
CONTENT_TYPES = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}

_AMOUNT_FORMAT = "#,##0.00"
_DATE_FORMAT = "DD.MM.YYYY"
_MAX_WIDTH = 60


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
    time in the document properties (default: openpyxl's, the current time)."""
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = _sheet_title(sheet.title)
    workbook.properties.title = sheet.title
    workbook.properties.creator = "inkl-ledger"
    if now is not None:
        workbook.properties.created = workbook.properties.modified = now.replace(tzinfo=None)
    worksheet.append([sheet_value(h) for h in sheet.headings])
    bold = Font(bold=True)
    for cell in worksheet[1]:
        cell.font = bold
    widths = [len(h) for h in sheet.headings]
    for index, row in enumerate(sheet.rows):
        worksheet.append([sheet_value(v) for v in row])
        for column, (value, cell) in enumerate(zip(row, worksheet[worksheet.max_row])):
            if isinstance(value, Decimal):
                cell.number_format = _AMOUNT_FORMAT
            elif isinstance(value, date):
                cell.number_format = _DATE_FORMAT
            if index in sheet.bold_rows:
                cell.font = bold
            widths[column] = max(widths[column], len(csv_value(value)))
    for column, width in enumerate(widths, start=1):
        worksheet.column_dimensions[get_column_letter(column)].width = min(width + 2, _MAX_WIDTH)
    worksheet.freeze_panes = "A2"
    if sheet.rows:
        worksheet.auto_filter.ref = worksheet.dimensions
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


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

"""Reading the semicolon CSV files officers import (journal exports and master data).

UTF-8 (with or without BOM) or Windows-1252, a header row, ``;`` as separator. Errors
are values (``ImportIssue``) with the physical line (1 = header) and the column, so a
file's every error can be listed at once.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class ImportIssue:
    """One error in an import file: physical line (1 = header), column name or None, German message."""

    line: int
    column: str | None
    message: str

    def render(self, filename: str) -> str:
        """``"datei.csv:7: Betrag: ungültiger Betrag '12,345'"``"""
        column = f" {self.column}:" if self.column else ""
        return f"{filename}:{self.line}:{column} {self.message}"


def read_table(data: bytes, required: tuple[str, ...], optional: tuple[str, ...] = ()
               ) -> tuple[list[tuple[int, dict[str, str]]], list[ImportIssue]]:
    """Decode ``data`` and return its records as (line, {column: stripped text}) and the issues.

    Header issues (missing required or unknown or repeated columns, wrong separator) and
    records with too many or too few fields are issues; such records are left out.
    Absent optional columns read as ``""``.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            return [], [ImportIssue(1, None, f"Zeichenkodierung weder UTF-8 noch Windows-1252 ({exc.reason})")]
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
    issues = _check_header(reader.fieldnames, required, optional)
    if issues:
        return [], issues
    records = []
    for record in reader:
        if record.get(None):
            issues.append(ImportIssue(reader.line_num, None, "zu viele Felder in der Zeile"))
        elif any(value is None for value in record.values()):
            issues.append(ImportIssue(reader.line_num, None, "zu wenige Felder in der Zeile"))
        else:
            values = {name: "" for name in optional}
            values.update({key.strip(): value.strip() for key, value in record.items()})
            records.append((reader.line_num, values))
    return records, issues


def _check_header(fieldnames: list[str] | None, required: tuple[str, ...], optional: tuple[str, ...]
                  ) -> list[ImportIssue]:
    if not fieldnames:
        return [ImportIssue(1, None, "Kopfzeile fehlt (Datei leer?)")]
    names = [name.strip() for name in fieldnames]
    issues = [ImportIssue(1, name, "Pflichtspalte fehlt") for name in required if name not in names]
    issues += [ImportIssue(1, name, "unbekannte Spalte") for name in names if name not in required + optional]
    issues += [ImportIssue(1, name, "Spalte doppelt vorhanden") for name, n in Counter(names).items() if n > 1]
    if len(names) == 1 and ("," in fieldnames[0] or "\t" in fieldnames[0]):
        issues.append(ImportIssue(1, None, "Trennzeichen muss ein Semikolon sein"))
    return issues

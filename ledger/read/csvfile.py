"""Reading the semicolon CSV files officers import (journal exports and master data).

UTF-8 (with or without BOM) or Windows-1252, a header row, ``;`` as separator. Errors
are values (``ImportIssue``) with the physical line (1 = header) and the column, so a
file's every error can be listed at once.

``CsvTable`` streams a file (it is read once to tell its encoding and then once per
``records()`` call, never held in memory), so an export of a million rows is read in
constant memory. ``read_table`` returns a small file's records as a list.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

#: Bytes read at a time when telling the encoding.
_CHUNK = 1 << 20


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


class CsvTable:
    """A semicolon CSV file with a header, readable more than once, streaming.

    ``open_binary`` opens the file's bytes afresh on every call (``path.open("rb")``,
    or ``lambda: io.BytesIO(data)``). After construction ``issues`` holds the encoding
    and header errors (then ``records()`` yields nothing), ``columns`` maps each known
    column name to its field index (absent optional columns are missing from it), ``size``
    is the file's length in bytes.
    """

    def __init__(self, open_binary: Callable[[], BinaryIO], required: tuple[str, ...],
                 optional: tuple[str, ...] = ()) -> None:
        self._open = open_binary
        self.issues: list[ImportIssue] = []
        self.columns: dict[str, int] = {}
        self.width = 0
        self.encoding, self.size = _encoding(open_binary)
        if self.encoding is None:
            self.issues.append(ImportIssue(1, None, "Zeichenkodierung weder UTF-8 noch Windows-1252"))
            return
        with self._text() as text:
            header = next(csv.reader(text, delimiter=";"), None)
        self.issues = _check_header(header, required, optional)
        if not self.issues:
            self.width = len(header)
            self.columns = {name.strip(): index for index, name in enumerate(header)}

    def records(self) -> Iterator[tuple[int, list[str] | None, ImportIssue | None]]:
        """Yield ``(line, fields, None)`` per record, fields stripped and in header order,
        or ``(line, None, issue)`` for a record with too many or too few fields.
        Blank lines are skipped. Nothing is yielded if the header had issues."""
        if self.issues:
            return
        width = self.width
        with self._text() as text:
            reader = csv.reader(text, delimiter=";")
            next(reader, None)
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != width:
                    message = "zu viele Felder in der Zeile" if len(fields) > width else "zu wenige Felder in der Zeile"
                    yield reader.line_num, None, ImportIssue(reader.line_num, None, message)
                else:
                    yield reader.line_num, [field.strip() for field in fields], None

    def _text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._open(), encoding=self.encoding, newline="")


def read_table(data: bytes, required: tuple[str, ...], optional: tuple[str, ...] = ()
               ) -> tuple[list[tuple[int, dict[str, str]]], list[ImportIssue]]:
    """Decode ``data`` and return its records as (line, {column: stripped text}) and the issues.

    Header issues (missing required or unknown or repeated columns, wrong separator) and
    records with too many or too few fields are issues; such records are left out.
    Absent optional columns read as ``""``.
    """
    table = CsvTable(lambda: io.BytesIO(data), required, optional)
    issues = list(table.issues)
    records = []
    for line, fields, issue in table.records():
        if issue is not None:
            issues.append(issue)
            continue
        values = {name: "" for name in optional}
        values.update({name: fields[index] for name, index in table.columns.items()})
        records.append((line, values))
    return records, issues


def _encoding(open_binary: Callable[[], BinaryIO]) -> tuple[str | None, int]:
    """The encoding and the size in bytes: ``"utf-8-sig"`` if the whole file decodes as
    UTF-8, else ``"cp1252"`` if it decodes as Windows-1252, else None. Reads in chunks."""
    size = 0
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        size = 0
        try:
            with open_binary() as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding, size
        except UnicodeDecodeError:
            continue
    return None, size


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

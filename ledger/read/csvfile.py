"""Reading the delimited text files officers import (journal exports and master data).

UTF-8 (with or without BOM) or Windows-1252, a header row, ``;`` as separator unless an
import profile (``ledger.read.profiles``) says otherwise. Errors
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

from ledger.core.characters import FORBIDDEN_CHARACTERS, forbidden_character_message

#: Bytes read at a time when telling the encoding: 64 KiB. With 1 MiB chunks each chunk's bytes
#: and its decoded text were large blocks that fragmented the C heap, and an import's resident
#: memory grew by 40 MB over a 74 MB file before its first row was booked.
_CHUNK = 1 << 16


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
    """A delimited text file with a header, readable more than once, streaming.

    ``open_binary`` opens the file's bytes afresh on every call (``path.open("rb")``,
    or ``lambda: io.BytesIO(data)``). ``delimiter``: the field separator; ``encoding``:
    ``"auto"`` (UTF-8 with or without BOM, else Windows-1252), ``"utf-8"`` or ``"cp1252"``;
    ``skip_lines``: lines before the header (a format's own header, as DATEV's first line);
    ``extra_columns``: ``"refuse"`` (a column neither required nor optional is an error)
    or ``"ignore"``; ``header``: False for a file without column headings (its columns are
    known by position; the first record sets the number of fields). After construction ``issues`` holds the encoding and header errors
    (then ``records()`` yields nothing), ``columns`` maps each column name of the header
    to its field index (absent optional columns are missing from it), ``header`` holds
    the header's names as written, ``size`` is the file's length in bytes.
    """

    def __init__(self, open_binary: Callable[[], BinaryIO], required: tuple[str, ...],
                 optional: tuple[str, ...] = (), *, delimiter: str = ";", encoding: str = "auto",
                 skip_lines: int = 0, extra_columns: str = "refuse", header: bool = True) -> None:
        self._open = open_binary
        self.delimiter = delimiter
        self.skip_lines = skip_lines
        self.has_header = header
        self.issues: list[ImportIssue] = []
        self.columns: dict[str, int] = {}
        self.header: list[str] = []
        self.width = 0
        self.encoding, self.size, problem = _encoding(open_binary, encoding)
        if self.encoding is None:
            self.issues.append(problem)
            return
        line = skip_lines + 1
        with self._text() as text:
            reader = csv.reader(text, delimiter=delimiter)
            try:
                for _ in range(skip_lines):
                    next(reader, None)
                header = next(reader, None)
            except csv.Error as exc:
                self.issues = [ImportIssue(reader.line_num or line, None, csv_problem(exc))]
                return
        forbidden = _forbidden(header or [], [])
        if forbidden is not None:
            self.issues = [ImportIssue(line, None, f"Kopfzeile {forbidden.message}")]
            return
        if not self.has_header:
            self.width = len(header or ())
            if not header:
                self.issues = [ImportIssue(line, None, "die Datei enthält keine Zeilen")]
            return
        self.issues = _check_header(header, required, optional, line, delimiter,
                                    None if extra_columns == "ignore" else required + optional)
        if not self.issues:
            self.width = len(header)
            self.header = [name.strip() for name in header]
            self.columns = {name: index for index, name in enumerate(self.header)}

    def records(self) -> Iterator[tuple[int, list[str] | None, ImportIssue | None]]:
        """Yield ``(line, fields, None)`` per record, fields stripped and in header order,
        or ``(line, None, issue)`` for a record with too many or too few fields (a quote that
        is never closed: at the line it opens) or a character of ``ledger.core.characters.FORBIDDEN_CHARACTERS``.
        Blank lines are skipped. Nothing is yielded if the header had issues."""
        if self.issues:
            return
        width = self.width
        with self._text() as text:
            reader = csv.reader(text, delimiter=self.delimiter)
            for _ in range(self.skip_lines + self.has_header):
                next(reader, None)
            try:
                start = reader.line_num + 1
                for fields in reader:
                    first, start = start, reader.line_num + 1
                    if not fields:
                        continue
                    if len(fields) != width:
                        message = "zu viele Felder in der Zeile" if len(fields) > width else "zu wenige Felder in der Zeile"
                        if any("\n" in field or "\r" in field for field in fields):   # a quote runs over lines
                            message += (f" (ein Anführungszeichen in Zeile {first} wird nicht geschlossen; "
                                        f"der Datensatz reicht bis Zeile {reader.line_num})")
                            yield first, None, ImportIssue(first, None, message)
                            continue
                        yield reader.line_num, None, ImportIssue(reader.line_num, None, message)
                        continue
                    forbidden = _forbidden(fields, self.header)
                    if forbidden is not None:
                        yield reader.line_num, None, ImportIssue(reader.line_num, forbidden.column, forbidden.message)
                    else:
                        yield reader.line_num, [field.strip() for field in fields], None
            except csv.Error as exc:     # a field over the limit: the rest of the file cannot be read
                yield reader.line_num, None, ImportIssue(reader.line_num, None, csv_problem(exc))

    def preamble(self) -> list[list[str]]:
        """The ``skip_lines`` lines before the header, split into fields (a format's own header)."""
        if self.encoding is None:
            return []
        with self._text() as text:
            reader = csv.reader(text, delimiter=self.delimiter)
            return [fields for _, fields in zip(range(self.skip_lines), reader)]

    def _text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._open(), encoding=self.encoding, newline="")


#: The longest field a delimited file may hold (the csv module's limit, characters).
MAX_FIELD_CHARS = csv.field_size_limit()


@dataclass(frozen=True)
class ForbiddenCharacter:
    """A forbidden character found in a record: the column it stands in and the German message."""

    column: str | None
    message: str


def _forbidden(fields: list[str], header: list[str]) -> ForbiddenCharacter | None:
    """The first forbidden character of a record (``fields``, columns named by ``header``)."""
    if FORBIDDEN_CHARACTERS.search("".join(fields)) is None:   # the common case: one search per record
        return None
    for index, field in enumerate(fields):
        message = forbidden_character_message(field)
        if message is not None:
            return ForbiddenCharacter(header[index] if index < len(header) else f"Spalte {index + 1}", message)
    return None


def csv_problem(exc: csv.Error) -> str:
    """The German message of the csv module's error ``exc`` (a field over ``MAX_FIELD_CHARS``,
    an unclosed quote at the end of the file, …)."""
    text = str(exc)
    if "field larger than field limit" in text:
        return (f"ein Feld ist länger als {MAX_FIELD_CHARS:,} Zeichen (ein nicht geschlossenes Anführungszeichen "
                f"oder keine Exportdatei?)").replace(",", ".")
    return f"die Zeile ist kein gültiger Datensatz ({text})"


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


#: The encodings tried per setting, in order (``utf-8-sig`` reads UTF-8 with or without BOM).
_ENCODINGS = {"auto": ("utf-8-sig", "cp1252"), "utf-8": ("utf-8-sig",), "cp1252": ("cp1252",)}


#: The encodings each setting allows, as officers read them.
_ENCODING_NAMES = {"auto": "UTF-8 oder Windows-1252", "utf-8": "UTF-8", "cp1252": "Windows-1252"}


def _encoding(open_binary: Callable[[], BinaryIO], setting: str = "auto") -> tuple[str | None, int, ImportIssue | None]:
    """The encoding, the size in bytes and, if no encoding fits, the issue (with the line of
    the first byte that cannot be read): of the encodings ``setting`` allows (``"auto"``:
    UTF-8, then Windows-1252), the first the whole file decodes in. A file in UTF-16 or
    UTF-32 (by its byte order mark, or ASCII text with every other byte NUL) is named as
    such: Windows-1252 would read it as text full of NUL characters. Reads in chunks."""
    size = 0
    with open_binary() as stream:
        head = stream.read(64)
    wide = _wide_encoding(head)
    if wide is not None:
        return None, len(head), ImportIssue(1, None, f"Zeichenkodierung {wide}; gelesen wird nur "
                                            f"{_ENCODING_NAMES[setting]} (bitte die Datei so speichern)")
    line = 1
    for encoding in _ENCODINGS[setting]:
        decoder = codecs.getincrementaldecoder(encoding)()
        size, line = 0, 1
        try:
            with open_binary() as stream:
                while chunk := stream.read(_CHUNK):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        line += chunk[:max(exc.start, 0)].count(b"\n")
                        raise
                    size += len(chunk)
                    line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
            return encoding, size, None
        except UnicodeDecodeError:
            continue
    expected = {"auto": "weder UTF-8 noch Windows-1252", "utf-8": "nicht UTF-8", "cp1252": "nicht Windows-1252"}
    return None, size, ImportIssue(line, None, f"Zeichenkodierung {expected[setting]} (das erste nicht lesbare "
                                   f"Zeichen steht in Zeile {line})")


def _wide_encoding(head: bytes) -> str | None:
    """``"UTF-32"`` or ``"UTF-16"`` if the file's first bytes ``head`` show it, else None."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    sample = head[:len(head) - len(head) % 2]
    if len(sample) >= 4 and any(not any(half) and all(half_other) for half, half_other in (
            (sample[0::2], sample[1::2]), (sample[1::2], sample[0::2]))):
        return "UTF-16"
    return None


#: German names of the separators a profile may choose.
SEPARATOR_NAMES = {";": "ein Semikolon", ",": "ein Komma", "\t": "ein Tabulator", "|": "ein senkrechter Strich"}


def _check_header(fieldnames: list[str] | None, required: tuple[str, ...], optional: tuple[str, ...], line: int,
                  delimiter: str, known: tuple[str, ...] | None) -> list[ImportIssue]:
    """The header's errors: missing, repeated and (if ``known`` is given) unknown columns, a wrong separator."""
    if not fieldnames:
        return [ImportIssue(line, None, "Kopfzeile fehlt (Datei leer?)")]
    names = [name.strip() for name in fieldnames]
    issues = [ImportIssue(line, name, "Pflichtspalte fehlt") for name in required if name not in names]
    if known is not None:
        issues += [ImportIssue(line, f"Spalte {index + 1}", "Spalte ohne Überschrift (ein Trennzeichen zu viel, "
                               "z. B. am Zeilenende?)") for index, name in enumerate(names) if not name]
        issues += [ImportIssue(line, name, "unbekannte Spalte") for name in names if name and name not in known]
    issues += [ImportIssue(line, name, "Spalte doppelt vorhanden") for name, n in Counter(names).items()
               if n > 1 and (known is not None or name in required + optional)]
    others = [sep for sep in SEPARATOR_NAMES if sep != delimiter]
    if len(names) == 1 and any(sep in fieldnames[0] for sep in others):
        issues.append(ImportIssue(line, None, f"Trennzeichen muss {SEPARATOR_NAMES.get(delimiter, repr(delimiter))} sein"))
    return issues

"""Delimited exports (CSV and its kin) read through an import profile's mapping.

The file is a header row (after ``skip_lines`` lines of preamble) and one record per line,
in the profile's encoding and separator (``ledger.read.csvfile.CsvTable``, streaming);
each record becomes a booking through the profile's ``RecordMapping``
(``ledger.read.mapping``). The ledger's own journal export (profile ``inkl-csv``) is one
such profile, with ``extra_columns = "refuse"``: a column it does not know is an error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from ledger.read.csvfile import CsvTable, ImportIssue
from ledger.read.mapping import BoundMapping, RecordMapping, bind
from ledger.read.rows import ImportRow


@dataclass(frozen=True)
class FileLayout:
    """How a delimited file is laid out: ``encoding`` (``auto``, ``utf-8``, ``cp1252``),
    ``delimiter``, ``skip_lines`` before the header, ``header`` (False: no column headings,
    columns by position), ``extra_columns`` (``ignore`` or ``refuse``)."""

    encoding: str = "auto"
    delimiter: str = ";"
    skip_lines: int = 0
    extra_columns: str = "ignore"
    header: bool = True


class DelimitedSource:
    """A delimited file opened with a layout and a mapping: a ``ledger.read.rows.RowSource``."""

    def __init__(self, open_binary: Callable[[], BinaryIO], layout: FileLayout, mapping: RecordMapping) -> None:
        named = tuple(c for c in mapping.columns.values() if isinstance(c, str))
        optional = tuple(mapping.columns[name] for name in mapping.optional if isinstance(mapping.columns.get(name), str))
        required = tuple(c for c in named if c not in optional)
        self.table = CsvTable(open_binary, required if layout.extra_columns == "refuse" else (),
                              optional if layout.extra_columns == "refuse" else (),
                              delimiter=layout.delimiter, encoding=layout.encoding, skip_lines=layout.skip_lines,
                              extra_columns=layout.extra_columns, header=layout.header)
        self.size = self.table.size
        self.issues: list[ImportIssue] = list(self.table.issues)
        self.bound: BoundMapping | None = None
        if not self.issues:
            self.bound, self.issues = bind(mapping, self.table.columns if layout.header else None, self.table.width,
                                           layout.skip_lines + 1)
        self.column_of = mapping.column_of()

    def records(self) -> Iterator[tuple[int, list[str] | None, ImportIssue | None]]:
        """The table's records (nothing if the file or its header had errors)."""
        if self.issues:
            return iter(())
        return self.table.records()

    def parse(self, line: int, record: list[str]) -> tuple[ImportRow | None, list[ImportIssue]]:
        """See ``ledger.read.mapping.BoundMapping.parse``."""
        return self.bound.parse(line, record)

    def base(self, record: list[str]) -> tuple | None:
        """See ``ledger.read.mapping.BoundMapping.base``."""
        return self.bound.base(record)

    def accounts(self, record: list[str]) -> tuple[str, str, bool]:
        """See ``ledger.read.mapping.BoundMapping.accounts``."""
        return self.bound.accounts(record)

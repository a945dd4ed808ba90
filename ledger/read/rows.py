"""What an input format gives the import: rows with their identity (``ImportRow``), and
what the import needs of a format (``RowFormat``).

Every format module (the built-in semicolon export is ``ledger.read.ledger_csv``) turns
a file's records into the same rows; the import (``ledger.read.importer``) checks them
against the books and books them, whatever format they came from.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Mapping

from ledger.core.money import from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.read.csvfile import ImportIssue


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A parsed, syntactically valid row: one booking from ``debit`` to ``credit`` (account
    numbers) of ``cents`` (positive, in cents) on ``day``, ``line`` its physical line in the
    file. ``school_year`` is the one given in the row (``school_year_given``) or, without
    one, the school year of the booking date."""

    line: int
    day: date
    voucher_number: str
    text: str
    debit: str
    credit: str
    cents: int
    cost_centre: str | None
    category: str | None
    school_year: SchoolYear
    school_year_given: bool

    @property
    def amount(self) -> Decimal:
        """The amount in EUR."""
        return from_cents(self.cents)

    @property
    def day_school_year(self) -> SchoolYear:
        """The school year of the booking date (1 August – 31 July)."""
        return school_year_of(self.day)

    def base(self) -> tuple:
        """What makes two rows of one file identical bookings (their occurrence tells them apart)."""
        return base_key(self.day, self.voucher_number, self.debit, self.credit, self.cents)

    def identity(self, occurrence: int) -> str:
        """SHA-256 of what makes a row the same booking in a later export: the base and the
        row's ``occurrence`` (0, 1, …) among the file's rows with the same base."""
        return _sha256(f"{self.day}|{self.voucher_number}|{self.debit}|{self.credit}|{self.cents}|{occurrence}")

    def content_hash(self) -> str:
        """SHA-256 over every field, to spot a known row whose content changed."""
        return _sha256("|".join(str(v) for v in (
            self.day, self.voucher_number, self.text, self.debit, self.credit, self.cents,
            self.cost_centre, self.category, self.school_year if self.school_year_given else "")))


@dataclass(frozen=True)
class RowFormat:
    """An input format of journal rows, as ``ledger.read.importer`` takes it.

    - ``required`` / ``optional``: the header's column names (``ledger.read.csvfile.CsvTable``).
    - ``parse(line, fields, columns)``: a record (its fields in header order, ``columns``
      mapping column name → index) → ``(ImportRow, [])``, or ``(None, issues)`` naming
      line and column in German.
    - ``base(fields, columns)``: the record's ``ImportRow.base()`` computed cheaply, for the
      import's first pass; None if the record does not parse.
    - ``accounts(fields, columns)``: the debit and credit account numbers as written, so that
      a record with other errors still has its accounts checked against the books.
    - ``column_of``: the column that an error about an ``ImportRow`` field names, for the
      fields the import checks against the books: ``day``, ``debit``, ``credit``,
      ``category``, ``school_year``.
    """

    required: tuple[str, ...]
    optional: tuple[str, ...]
    parse: Callable[[int, list[str], dict[str, int]], tuple[ImportRow | None, list[ImportIssue]]]
    base: Callable[[list[str], dict[str, int]], tuple | None]
    accounts: Callable[[list[str], dict[str, int]], tuple[str, str]]
    column_of: Mapping[str, str]


def base_key(day: date, voucher_number: str, debit: str, credit: str, cents: int) -> tuple:
    """A row's base identity; ``ImportRow.base`` and every ``RowFormat.base`` build it here."""
    return (day, voucher_number, debit, credit, cents)


@lru_cache(maxsize=8192)
def school_year_of(day: date) -> SchoolYear:
    """``SchoolYear.of(day)``, cached: a file's rows share few dates."""
    return SchoolYear.of(day)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

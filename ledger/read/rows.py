"""What an input format gives the import: rows with their identity (``ImportRow``), and
what the import needs of a file opened in its format (``RowSource``).

Every format module (delimited exports ``ledger.read.delimited``, DATEV's Buchungsstapel
``ledger.read.datev``, bank statements ``ledger.read.camt053``), opened through an import
profile (``ledger.read.profiles``), turns a file's records into the same rows; the import
(``ledger.read.importer``) checks them against the books and books them, whatever format
they came from.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterator, Mapping, Protocol

from ledger.core.money import from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.read.csvfile import ImportIssue


@dataclass(frozen=True, slots=True)
class BankDetails:
    """What a row read from a bank statement carries besides the booking
    (``ledger.read.bank``): its identity ``key`` and ``content`` hash (the bank entry's own,
    independent of the profile's rules), the bank account's number in the chart, the
    counterparty's name and IBAN, the remittance text, the payment reference, whether the
    counterparty is the Landeskasse, and ``park_reason`` (German) when no rule found the
    counter account (then the row is parked for the officer, not booked)."""

    key: str
    content: str
    account: str
    counterparty: str | None
    counterparty_iban: str | None
    remittance: str
    reference: str | None
    landeskasse: bool = False
    park_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A parsed, syntactically valid row: one booking from ``debit`` to ``credit`` (account
    numbers) of ``cents`` (positive, in cents) on ``day``, ``line`` its physical line in the
    file. ``school_year`` is the one given in the row (``school_year_given``) or, without
    one, the school year of the booking date. ``swapped``: the debit account came from the
    format's credit column (a Haben row of Konto/Gegenkonto, a negative amount), so that an
    error about an account names the column it was read from."""

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
    swapped: bool = False
    bank: BankDetails | None = None

    @property
    def amount(self) -> Decimal:
        """The amount in EUR."""
        return from_cents(self.cents)

    @property
    def day_school_year(self) -> SchoolYear:
        """The school year of the booking date (1 August – 31 July)."""
        return school_year_of(self.day)

    def base(self) -> tuple:
        """What makes two rows of one file identical bookings (their occurrence tells them apart);
        a bank statement's row is its own (its occurrence is counted by its reader)."""
        if self.bank is not None:
            return (self.bank.key,)
        return base_key(self.day, self.voucher_number, self.debit, self.credit, self.cents)

    def identity(self, occurrence: int) -> str:
        """SHA-256 of what makes a row the same booking in a later export: the base and the
        row's ``occurrence`` (0, 1, …) among the file's rows with the same base; for a bank
        statement's row, the bank entry's identity (``ledger.read.camt053.BankEntry.identity``)."""
        if self.bank is not None:
            return self.bank.key
        return _sha256(f"{self.day}|{self.voucher_number}|{self.debit}|{self.credit}|{self.cents}|{occurrence}")

    def content_hash(self) -> str:
        """SHA-256 over every field, to spot a known row whose content changed; for a bank
        statement's row, over the bank entry's fields (rules may change what it is booked as)."""
        if self.bank is not None:
            return self.bank.content
        return _sha256("|".join(str(v) for v in (
            self.day, self.voucher_number, self.text, self.debit, self.credit, self.cents,
            self.cost_centre, self.category, self.school_year if self.school_year_given else "")))


class RowSource(Protocol):
    """An input file opened in its format, as ``ledger.read.importer`` reads it.

    - ``issues``: the file's own errors found on opening (encoding, header, a format
      header); then ``records()`` yields nothing.
    - ``size``: the file's length in bytes.
    - ``records()``: ``(line, record, None)`` per record, or ``(line, None, issue)`` for a
      record that is malformed as a whole; readable more than once, streaming.
    - ``parse(line, record)``: ``(ImportRow, [])``; ``(None, issues)`` naming line and
      column in German; ``(None, [])`` for a record the profile skips.
    - ``base(record)``: the record's ``ImportRow.base()`` if it parses (a record that does not
      may give None or a base: the base only tells which records to count exactly).
    - ``accounts(record)``: the debit and credit account numbers and ``swapped``, so that a
      record with other errors still has its accounts checked against the books.
    - ``column_of``: the column an error about an ``ImportRow`` field names: ``day``,
      ``debit``, ``credit``, ``category``, ``school_year``.
    """

    issues: list[ImportIssue]
    size: int
    column_of: Mapping[str, str]

    def records(self) -> Iterator[tuple[int, Any, ImportIssue | None]]: ...

    def parse(self, line: int, record: Any) -> tuple[ImportRow | None, list[ImportIssue]]: ...

    def base(self, record: Any) -> tuple | None: ...

    def accounts(self, record: Any) -> tuple[str, str, bool]: ...


def base_key(day: date, voucher_number: str, debit: str, credit: str, cents: int) -> tuple:
    """A row's base identity; ``ImportRow.base`` and every ``RowSource.base`` build it here."""
    return (day, voucher_number, debit, credit, cents)


@lru_cache(maxsize=8192)
def school_year_of(day: date) -> SchoolYear:
    """``SchoolYear.of(day)``, cached: a file's rows share few dates."""
    return SchoolYear.of(day)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

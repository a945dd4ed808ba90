"""The monthly import of a journal export into a recipient's books, whatever its format.

The import profile (``ledger.read.profiles``; by default the ledger's own semicolon
export, ``inkl-csv``) opens the file in its format and turns its records into rows
(``ledger.read.rows.RowSource``); this module checks them against the books and books
them. Rows a profile's rule skips are counted, not booked.

All or nothing: every error of every row is collected (as values, with line and
column; the first ``MAX_ISSUES`` are listed) and if there is one, nothing is written.
Re-importing rows already imported (the same file, or a later export overlapping it)
adds nothing: each row's identity (date, voucher, accounts, amount, and its occurrence
among identical rows of the file) is kept in ``imported_rows``. A bank receipt credited
to the grant revenue account is recognised as the recorded payout, never booked twice.

The file is streamed, never held in memory: one pass finds the identities that occur
more than once (a Bloom filter, then exact counting of those only), a second checks
and books the rows in chunks of ``CHUNK_ROWS`` inside a savepoint that is rolled back
if any row of the file fails. A small file (``SINGLE_PASS_BYTES``) is read once,
counting every identity. The journal entries are written as ``post_entry`` writes
them, by ``ledger.core.booking`` (hash chain, the database's balance and period checks),
a chunk's entries at once.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from sqlalchemy import func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.booking import JournalWriter, Line, NewEntry, insert_many
from ledger.core.db import custom_plans
from ledger.core.grants import INKLUSIONSPAUSCHALE, find_payout_for_receipt
from ledger.core.models import Account, ImportBatch, ImportedRow, ParkedBankEntry, Recipient
from ledger.core.periods import closed_years
from ledger.core.posting import lock_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.read.bank import BankContext, match_repayment
from ledger.read.csvfile import ImportIssue
from ledger.read.profiles import Profile, get_profile
from ledger.read.rows import ImportRow, RowSource
from ledger.rules.packs import RulePack, RulePackError, load_packs, pack_for

#: Accounts the ledger books itself (repayments); an import must not touch them.
_LEDGER_ONLY_ROLES = ("repayment_charge", "repayment_liability")
#: Errors listed per file; further ones are counted in one last issue.
MAX_ISSUES = 1000
#: Rows checked against the books and written per round trip.
CHUNK_ROWS = 2000
#: Files smaller than this (bytes) are read in one pass, counting every row's identity base
#: (``_keyed_rows``) instead of finding the repeated ones first (``_repeated_bases``); they
#: report no progress (their total is known only at the end, and they take a moment).
SINGLE_PASS_BYTES = 256 * 1024
#: How often (in rows) an import reports its progress.
PROGRESS_EVERY = 10_000


@dataclass(frozen=True)
class ImportSummary:
    """Outcome of an import: the profile's key, counts of rows, new entries, duplicates,
    recognised payouts, rows skipped by the profile's rules, bank entries parked for the
    officer and repayments to the Landeskasse matched (booked or recognised), errors.

    ``ok`` is False when ``errors`` is non-empty; then nothing was written.
    """

    file: str
    sha256: str
    rows: int
    imported: int
    duplicates: int
    payouts_recognised: int
    dry_run: bool
    errors: tuple[ImportIssue, ...] = field(default=())
    profile: str = "inkl-csv"
    skipped: int = 0
    parked: int = 0
    repayments_recognised: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        """A JSON-ready dict (``errors`` as a list of {line, column, message})."""
        data = asdict(self)
        data["errors"] = [asdict(issue) for issue in self.errors]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ImportSummary":
        """The summary ``as_dict`` gave (e.g. read back from a background job's JSON state)."""
        return cls(**{**data, "errors": tuple(ImportIssue(**issue) for issue in data["errors"])})


def import_file(
    session: Session, recipient: Recipient, path: Path, *, created_by: str, now: datetime,
    dry_run: bool = False, packs: tuple[RulePack, ...] | None = None,
    progress: Callable[[int, int], None] | None = None, filename: str | None = None,
    profile: Profile | None = None, observe: Callable[[ImportRow, str], None] | None = None,
) -> ImportSummary:
    """Import the file at ``path``, read with ``profile`` (default: the ledger's own export,
    ``ledger.read.profiles.DEFAULT_PROFILE``), into ``recipient``'s books (see the module
    docstring).

    ``filename`` is the name recorded in the import history (default: ``path``'s name;
    an upload staged under its hash keeps the user's file name this way).
    Returns the summary; on errors nothing is written and ``summary.ok`` is False.
    With ``dry_run`` the file is checked and counted but nothing is written.
    ``progress(done, total)`` (rows) is called every ``PROGRESS_EVERY`` rows checked.
    ``observe(row, outcome)`` is called for every valid row with ``"new"``, ``"duplicate"``
    (already imported) or ``"payout"`` (recognised as a recorded payout), in file order.
    The caller commits the session; until then nothing is visible, and a crash leaves
    the books as they were. The file is read in constant memory.
    """
    with path.open("rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    profile = profile or get_profile(None)
    return _import(session, recipient, lambda: path.open("rb"), filename or path.name, digest, created_by=created_by,
                   now=now, dry_run=dry_run, packs=packs, progress=progress, profile=profile, observe=observe)


def _import(session: Session, recipient: Recipient, open_binary, filename: str, digest: str, *, created_by: str,
            now: datetime, dry_run: bool, packs: tuple[RulePack, ...] | None,
            progress: Callable[[int, int], None] | None, profile: Profile,
            observe: Callable[[ImportRow, str], None] | None = None) -> ImportSummary:
    if not dry_run:
        lock_recipient(session, recipient)  # before the duplicate check: concurrent imports apply once
    books = _Books.load(session, recipient, packs or load_packs())
    source = profile.open(open_binary, BankContext.of(recipient, books.accounts, books.packs))
    issues = _Issues(source.issues)
    repeated, total = (None, None) if source.size < SINGLE_PASS_BYTES else _repeated_bases(source)
    counts: Counter[str] = Counter()
    taken_payouts: set[int] = set()
    writer = None if dry_run else _Writer(session, books, profile.key, created_by=created_by, now=now)
    with session.begin_nested() as savepoint:
        for chunk in _chunks(_keyed_rows(source, books, issues, repeated, counts), CHUNK_ROWS):
            plan = _plan(session, chunk, books, issues, taken_payouts, source.column_of, observe,
                         park=profile.bank is not None and profile.bank.unmatched == "park")
            counts.update(rows=plan.rows, new=len(plan.new) + len(plan.repayments), duplicates=plan.duplicates,
                          payouts=sum(1 for item in plan.payouts if item[4] == "payout"),
                          repayments=len(plan.repayments) + sum(1 for item in plan.payouts if item[4] == "repayment"),
                          parked=len(plan.parked))
            if writer is not None and not issues:
                writer.write(plan)
            if (progress is not None and total is not None
                    and counts["rows"] // PROGRESS_EVERY > (counts["rows"] - plan.rows) // PROGRESS_EVERY):
                progress(counts["rows"], total)
        if total is None:
            total = counts["records"]
        if total == 0 and not issues:
            issues.add(ImportIssue(1, None, "die Datei enthält keine Buchungszeilen"))
        summary = ImportSummary(
            file=filename, sha256=digest, rows=total, imported=counts["new"], duplicates=counts["duplicates"],
            payouts_recognised=counts["payouts"], dry_run=dry_run, errors=issues.sorted(), profile=profile.key,
            skipped=counts["skipped"], parked=counts["parked"], repayments_recognised=counts["repayments"])
        if not summary.ok:
            savepoint.rollback()
        elif writer is not None and writer.wrote:
            writer.finish(summary)
    return summary


class _Issues:
    """The errors of one file: the first ``MAX_ISSUES`` and a count of the rest."""

    def __init__(self, first: Iterable[ImportIssue] = ()) -> None:
        self.listed: list[ImportIssue] = []
        self.more = 0
        for issue in first:          # the reader's own errors (e.g. a header's) count against the limit too
            self.add(issue)

    def add(self, issue: ImportIssue) -> None:
        if len(self.listed) < MAX_ISSUES:
            self.listed.append(issue)
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.listed)

    def sorted(self) -> tuple[ImportIssue, ...]:
        listed = sorted(self.listed, key=lambda issue: issue.line)
        if self.more:
            listed.append(ImportIssue(listed[-1].line, None, f"… und {self.more} weitere Fehler "
                                      f"(nur die ersten {MAX_ISSUES} werden aufgeführt)"))
        return tuple(listed)


@dataclass(frozen=True)
class _Books:
    """What the checks need of the recipient's books, read once per import, and what the
    checks found per import for values many rows share (accounts, school years, categories),
    so that each row's check is a few dictionary look-ups."""

    recipient: Recipient
    accounts: dict[str, Account]
    closed: frozenset[str]
    packs: tuple[RulePack, ...]
    #: (debit, credit, swapped, bank) of rows whose accounts passed ``_check_accounts``.
    accounts_ok: set[tuple] = field(default_factory=set)
    #: school year → its text, and its pack (or the RulePackError of its missing pack).
    year_texts: dict[SchoolYear, str] = field(default_factory=dict)
    year_packs: dict[SchoolYear, RulePack | RulePackError] = field(default_factory=dict)
    #: (pack id, version, category, debit, credit) → the category's error message, None if fine.
    categories: dict[tuple, str | None] = field(default_factory=dict)
    #: (account number, row category) → (account, category of its posting): ``_Writer._lines``.
    posting_of: dict[tuple, tuple[Account, str | None]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, recipient: Recipient, packs: tuple[RulePack, ...]) -> "_Books":
        accounts = {a.number: a for a in session.scalars(select(Account).where(Account.recipient_id == recipient.id))}
        return cls(recipient, accounts, frozenset(closed_years(session, recipient)), packs)

    def year_text(self, year: SchoolYear) -> str:
        """``str(year)``, once per school year."""
        text = self.year_texts.get(year)
        if text is None:
            text = self.year_texts[year] = str(year)
        return text

    def pack(self, year: SchoolYear) -> RulePack | RulePackError:
        """The Inklusionspauschale's pack in force for ``year``, or the error that none is."""
        found = self.year_packs.get(year)
        if found is None:
            try:
                found = pack_for(INKLUSIONSPAUSCHALE, year, self.packs)
            except RulePackError as exc:
                found = exc
            self.year_packs[year] = found
        return found


def _repeated_bases(source: RowSource) -> tuple[set[int], int]:
    """First pass: hashes of row bases (``ImportRow.base``) that may occur more than once,
    and the number of records. A Bloom filter (one bit per byte of the file, two probes)
    finds every repeated base and a few others; ``_keyed_rows`` counts those exactly."""
    size = 1 << max(source.size, 1 << 13).bit_length()  # bits, a power of two
    bits = bytearray(size // 8)
    mask = size - 1
    repeated: set[int] = set()
    total = 0
    base = source.base
    for _line, record, _issue in source.records():
        total += 1
        if record is None:
            continue
        row_base = base(record)
        if row_base is None:
            continue
        key = hash(row_base)
        i, j = key & mask, (key >> 32) & mask
        seen = bits[i >> 3] >> (i & 7) & 1 and bits[j >> 3] >> (j & 7) & 1
        if seen:
            repeated.add(key)
        bits[i >> 3] |= 1 << (i & 7)
        bits[j >> 3] |= 1 << (j & 7)
    return repeated, total


def _keyed_rows(source: RowSource, books: _Books, issues: _Issues, repeated: set[int] | None,
                counts: Counter[str]) -> Iterator[tuple[ImportRow, str]]:
    """Second pass: every valid row with its identity key; every error goes to ``issues``;
    records are counted in ``counts["records"]``, rows the profile skips in
    ``counts["skipped"]``. ``repeated``: the hashes of the bases that may repeat
    (``_repeated_bases``), or None to count the occurrences of every base (a small file's
    only pass; the same keys, in memory proportional to the file)."""
    occurrences: Counter[tuple] = Counter()
    parse, column_of = source.parse, source.column_of
    for line, record, issue in source.records():
        counts["records"] += 1
        if issue is not None:
            issues.add(issue)
            continue
        row, row_issues = parse(line, record)
        if row is None:
            if not row_issues:
                counts["skipped"] += 1
                continue
            debit, credit, swapped = source.accounts(record)
            for row_issue in row_issues + _check_accounts(line, debit, credit, swapped, books, column_of):
                issues.add(row_issue)
            continue
        row_issues = _check_row(row, books, column_of)
        if row_issues:
            for row_issue in row_issues:
                issues.add(row_issue)
            continue
        base = row.base()
        occurrence = 0
        if repeated is None or hash(base) in repeated:
            occurrence = occurrences[base]
            occurrences[base] += 1
        yield row, row.identity(occurrence)


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _Plan:
    """What one chunk of valid rows will write: new rows with their keys; rows recognised as a
    recorded payout or repayment (with its entry and ``"payout"`` or ``"repayment"``); bank
    debits to the Landeskasse booked as the repayment of a school year; bank entries parked
    with their reason."""

    rows: int
    new: list[tuple[ImportRow, str, str]] = field(default_factory=list)
    payouts: list[tuple[ImportRow, str, str, int, str]] = field(default_factory=list)
    repayments: list[tuple[ImportRow, str, str, str]] = field(default_factory=list)
    parked: list[tuple[ImportRow, str, str, str]] = field(default_factory=list)
    duplicates: int = 0


def _plan(session: Session, chunk: list[tuple[ImportRow, str]], books: _Books, issues: _Issues,
          taken: set[int], column_of: Mapping[str, str],
          observe: Callable[[ImportRow, str], None] | None = None, *, park: bool = False) -> _Plan:
    """Sort a chunk's rows into new, duplicate, recognised payout or repayment, and parked;
    conflicts go to ``issues``. ``taken``: ids of the payouts and repayment entries recognised
    so far in this import (updated); ``column_of``: the format's column per row field
    (``RowSource.column_of``); ``observe``: see ``import_file``; ``park``: a bank entry that
    cannot be placed is parked (the profile's ``[bank] unmatched``), else it is an error."""
    plan = _Plan(rows=len(chunk))
    recipient = books.recipient
    keys = [key for _row, key in chunk]
    known = _known_rows(session, recipient, keys)
    parked = _parked_rows(session, recipient, [key for row, key in chunk if row.bank is not None])

    def seen(row: ImportRow, outcome: str) -> None:
        if observe is not None:
            observe(row, outcome)

    def park_or_refuse(row: ImportRow, key: str, content: str, reason: str, column: str) -> None:
        if key in parked:
            plan.duplicates += 1
            seen(row, "duplicate")
        elif park and row.bank is not None:
            plan.parked.append((row, key, content, reason))
            seen(row, "parked")
        else:
            issues.add(ImportIssue(row.line, column, reason))

    for row, key in chunk:
        content = row.content_hash()
        if key in known:
            if known[key] != content:
                issues.add(ImportIssue(row.line, None, "Buchung wurde bereits mit anderem Inhalt importiert; "
                                       "Korrekturen bitte als Storno und Neubuchung"))
            else:
                plan.duplicates += 1
                seen(row, "duplicate")
            continue
        if row.bank is not None and row.bank.park_reason:
            park_or_refuse(row, key, content, row.bank.park_reason, column_of["credit"])
            continue
        accounts = books.accounts
        if accounts[row.credit].role == "grant_revenue":
            payout = find_payout_for_receipt(session, recipient, row.day, row.cents, taken)
            if payout is None:
                park_or_refuse(row, key, content, "Eingang der Inklusionspauschale ohne passende erfasste Auszahlung; "
                               "bitte die Auszahlung zuerst erfassen (Zuweisung)",
                               column_of["debit" if row.swapped else "credit"])
                continue
            taken.add(payout.id)
            plan.payouts.append((row, key, content, payout.entry_id, "payout"))
            seen(row, "payout")
            continue
        if row.bank is not None and accounts[row.debit].role == "repayment_liability":
            match = match_repayment(session, recipient, row, books.packs, taken)
            if isinstance(match, str):
                park_or_refuse(row, key, content, match, column_of["debit"])
            elif match.recorded_entry_id is not None:
                taken.add(match.recorded_entry_id)
                plan.payouts.append((row, key, content, match.recorded_entry_id, "repayment"))
                seen(row, "repayment")
            else:
                plan.repayments.append((row, key, content, match.school_year))
                seen(row, "repayment")
            continue
        plan.new.append((row, key, content))
        seen(row, "new")
    return plan


def _parked_rows(session: Session, recipient: Recipient, keys: list[str]) -> set[str]:
    """Those of ``keys`` parked before (resolved or not: a resolved one is an imported row too)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.scalars(select(ParkedBankEntry.row_key).where(
            ParkedBankEntry.recipient_id == recipient.id, ParkedBankEntry.row_key.in_(keys[start:start + 500]))))
    return found


def _known_rows(session: Session, recipient: Recipient, keys: list[str]) -> dict[str, str]:
    """Content hash of each of ``keys`` already imported for ``recipient`` (by the unique index):
    one query per chunk of rows (``CHUNK_ROWS`` keys at most)."""
    known: dict[str, str] = {}
    with custom_plans(session):
        for start in range(0, len(keys), CHUNK_ROWS):
            chunk = keys[start:start + CHUNK_ROWS]
            rows = session.execute(select(ImportedRow.row_key, ImportedRow.content_hash).where(
                ImportedRow.recipient_id == recipient.id, ImportedRow.row_key.in_(chunk)))
            known.update((key, content) for key, content in rows)
    return known


def _check_row(row: ImportRow, books: _Books, column_of: Mapping[str, str]) -> list[ImportIssue]:
    """A valid row's errors against the books: its accounts, a closed school year, a school
    year without a rule pack, a category unknown to the pack or on no expense account."""
    bank = row.bank is not None
    accounts_key = (row.debit, row.credit, row.swapped, bank)
    if accounts_key in books.accounts_ok:
        issues = []
    else:
        issues = _check_accounts(row.line, row.debit, row.credit, row.swapped, books, column_of, bank=bank)
        if not issues:
            books.accounts_ok.add(accounts_key)
    if books.closed:
        for field_name, year in (("day", books.year_text(row.day_school_year)),
                                 ("school_year", books.year_text(row.school_year))):
            if year in books.closed:
                issues.append(ImportIssue(row.line, column_of[field_name], f"Schuljahr {year} ist abgeschlossen"))
                break
    pack = books.pack(row.school_year)
    if isinstance(pack, RulePackError):
        column = column_of["school_year" if row.school_year_given else "day"]
        return issues + [ImportIssue(row.line, column, pack.message)]
    if row.category is not None:
        key = (pack.id, pack.version, row.category, row.debit, row.credit)
        try:
            message = books.categories[key]
        except KeyError:
            accounts = books.accounts
            if not pack.has_category(row.category):
                message = f"unbekannte Kategorie {row.category!r}"
            elif not any(accounts.get(n) is not None and accounts[n].type == "expense" for n in (row.debit, row.credit)):
                message = "Kategorie ist nur bei Buchungen auf Aufwandskonten zulässig"
            else:
                message = None
            books.categories[key] = message
        if message is not None:
            issues.append(ImportIssue(row.line, column_of["category"], message))
    return issues


def _check_accounts(line: int, debit: str, credit: str, swapped: bool, books: _Books, column_of: Mapping[str, str],
                    *, bank: bool = False) -> list[ImportIssue]:
    """The errors of a row's debit and credit account numbers against the chart of accounts;
    ``swapped``: the debit number came from the format's credit column (``ImportRow.swapped``);
    ``bank``: a bank statement's row, which may pay the repayment liability (a payment to the
    Landeskasse, matched to the confirmed repayment)."""
    issues = []
    accounts = books.accounts
    debit_column, credit_column = ((column_of["credit"], column_of["debit"]) if swapped
                                   else (column_of["debit"], column_of["credit"]))
    for column, number in ((debit_column, debit), (credit_column, credit)):
        account = accounts.get(number)
        if not number:
            continue
        if account is None:
            issues.append(ImportIssue(line, column, f"unbekanntes Konto {number} "
                                      f"(nicht im Kontenplan von {books.recipient.name})"))
        elif account.role in _LEDGER_ONLY_ROLES and not (bank and column == debit_column
                                                          and account.role == "repayment_liability"):
            issues.append(ImportIssue(line, column, f"Konto {number} wird nur über die Rückzahlung (bestätigen, zahlen) bebucht"))
    if accounts.get(debit) is not None and accounts[debit].role == "grant_revenue":
        issues.append(ImportIssue(line, debit_column, "Sollbuchungen auf das Ertragskonto der Inklusionspauschale "
                                  "sind als Rückzahlung zu erfassen (Rückzahlung bestätigen, zahlen)"))
    return issues


class _Writer:
    """Books the planned chunks of one import.

    Each new row becomes a journal entry of two postings (debit, then credit), written by
    ``ledger.core.booking`` as for any entry; the database's triggers check balance, chain
    and closed periods. The import batch row is written last (``finish``), when its counts
    are known: the imported rows' reference to it is checked at commit (a deferred foreign
    key, migration 0008).
    """

    def __init__(self, session: Session, books: _Books, profile: str, *, created_by: str, now: datetime) -> None:
        self.session = session
        self.profile = profile
        self.books = books
        self.recipient = books.recipient
        self.accounts = books.accounts
        self.created_by = created_by
        self.now = now
        self.wrote = False
        self._batch_id: int | None = None
        self._journal = JournalWriter(session, books.recipient, created_by=created_by, now=now)

    def write(self, plan: _Plan) -> None:
        """Book ``plan``'s new rows and repayments, record them and its recognised payouts and
        repayments as imported, and park its parked bank entries."""
        if not (plan.new or plan.payouts or plan.repayments or plan.parked):
            return
        if self._batch_id is None:
            self._batch_id = self._next_batch_id()
        booked = [(row, key, content) for row, key, content in plan.new]
        booked += [(row, key, content) for row, key, content, _year in plan.repayments]
        entries = [NewEntry(row.day, row.voucher_number, row.text, "import", self._lines(row))
                   for row, _key, _content in plan.new]
        entries += [NewEntry(row.day, row.voucher_number, row.text, "repayment_payment", self._lines(row, year))
                    for row, _key, _content, year in plan.repayments]
        entry_ids = self._journal.book(entries)
        recipient_id, batch_id = self.recipient.id, self._batch_id
        imported = [(recipient_id, key, content, batch_id, row.line, entry_id)
                    for (row, key, content), entry_id in zip(booked, entry_ids)]
        imported += [(recipient_id, key, content, batch_id, row.line, entry_id)
                     for row, key, content, entry_id, _kind in plan.payouts]
        insert_many(self.session, ImportedRow, ("recipient_id", "row_key", "content_hash", "batch_id", "line",
                                                "entry_id"), imported)
        self._park(plan.parked)
        self.wrote = True

    def _park(self, parked: list[tuple[ImportRow, str, str, str]]) -> None:
        """Keep the bank entries no rule placed (``ParkedBankEntry``), for the officer."""
        for row, key, content, reason in parked:
            bank = row.bank
            self.session.add(ParkedBankEntry(
                recipient_id=self.recipient.id, row_key=key, content_hash=content, batch_id=self._batch_id,
                line=row.line, account_id=self.accounts[bank.account].id, date=row.day,
                amount_cents=row.cents if row.debit == bank.account else -row.cents,
                counterparty=(bank.counterparty or None) and bank.counterparty[:140],
                counterparty_iban=bank.counterparty_iban, remittance=bank.remittance[:500] or None,
                reference=row.voucher_number[:140], reason=reason[:300],
                created_by=self.created_by, created_at=self.now))
        if parked:
            self.session.flush()

    def finish(self, summary: ImportSummary) -> None:
        """Write the import batch (with the summary's counts) and the audit record."""
        self.session.execute(insert(ImportBatch.__table__).values(
            id=self._batch_id, recipient_id=self.recipient.id, filename=summary.file[:300], sha256=summary.sha256,
            rows=summary.rows, imported=summary.imported, duplicates=summary.duplicates,
            profile=self.profile, created_by=self.created_by, created_at=self.now))
        audit.record(self.session, actor=self.created_by, action="import", now=self.now, recipient=self.recipient,
                     details={"file": summary.file, "sha256": summary.sha256, "profile": self.profile,
                              "rows": summary.rows, "skipped": summary.skipped,
                              "imported": summary.imported, "duplicates": summary.duplicates,
                              "payouts_recognised": summary.payouts_recognised, "parked": summary.parked,
                              "repayments_recognised": summary.repayments_recognised, "batch": self._batch_id})

    def _next_batch_id(self) -> int:
        session = self.session
        if session.get_bind().dialect.name == "postgresql":
            return session.scalar(sql_text("SELECT nextval(pg_get_serial_sequence('import_batches', 'id'))"))
        return session.scalar(select(func.coalesce(func.max(ImportBatch.id), 0) + 1))

    def _lines(self, row: ImportRow, school_year: str | None = None) -> list[Line]:
        """The debit and the credit posting of ``row``, in its school year or ``school_year``
        (a repayment: the year it repays)."""
        year = school_year or self.books.year_text(row.school_year)
        posting_of, category, cost_centre, cents = self.books.posting_of, row.category, row.cost_centre, row.cents
        try:
            debit, debit_category = posting_of[row.debit, category]
            credit, credit_category = posting_of[row.credit, category]
        except KeyError:
            for number in (row.debit, row.credit):
                account = self.accounts[number]
                posting_of[number, category] = (account, (category or account.category) if account.type == "expense"
                                                else None)
            debit, debit_category = posting_of[row.debit, category]
            credit, credit_category = posting_of[row.credit, category]
        return [(debit, cents, year, debit_category, cost_centre), (credit, -cents, year, credit_category, cost_centre)]

"""The monthly import of a finance-system journal export (semicolon CSV).

Format: a header row, UTF-8 (with or without BOM) or Windows-1252, columns
``Buchungsdatum`` (TT.MM.JJJJ), ``Belegnummer``, ``Buchungstext``, ``Sollkonto``,
``Habenkonto``, ``Betrag`` (German format, positive) and optionally ``Kostenstelle``,
``Kategorie`` (a rule-pack category id) and ``Schuljahr`` (``2023/24``).

All or nothing: every error of every row is collected (as values, with line and
column; the first ``MAX_ISSUES`` are listed) and if there is one, nothing is written.
Re-importing rows already imported (the same file, or a later export overlapping it)
adds nothing: each row's identity (date, voucher, accounts, amount, and its occurrence
among identical rows of the file) is kept in ``imported_rows``. A bank receipt credited
to the grant revenue account is recognised as the recorded payout, never booked twice.

The file is streamed, never held in memory: one pass finds the identities that occur
more than once (a Bloom filter, then exact counting of those only), a second checks
and books the rows in chunks of ``CHUNK_ROWS`` inside a savepoint that is rolled back
if any row of the file fails. The rows are booked with set-based inserts; the journal
entries are the same as ``ledger.core.posting.post_entry`` would write (hash chain, the
database's balance and period checks), but without a round trip per entry.
"""
from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.chain import chain_head, link_hash
from ledger.core.db import custom_plans
from ledger.core.grants import INKLUSIONSPAUSCHALE, find_payout_for_receipt
from ledger.core.models import (
    Account,
    ImportBatch,
    ImportedRow,
    JournalEntry,
    Posting,
    Recipient,
)
from ledger.core.money import AmountError, from_cents, parse_german_cents
from ledger.core.periods import closed_years
from ledger.core.posting import lock_recipient
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.read.csvfile import CsvTable, ImportIssue
from ledger.rules.packs import RulePack, RulePackError, load_packs, pack_for

REQUIRED_COLUMNS = ("Buchungsdatum", "Belegnummer", "Buchungstext", "Sollkonto", "Habenkonto", "Betrag")
OPTIONAL_COLUMNS = ("Kostenstelle", "Kategorie", "Schuljahr")
_MAX_LENGTH = {"Belegnummer": 60, "Buchungstext": 500, "Kostenstelle": 40, "Sollkonto": 20, "Habenkonto": 20}
#: Accounts the ledger books itself (repayments); an import must not touch them.
_LEDGER_ONLY_ROLES = ("repayment_charge", "repayment_liability")
#: Errors listed per file; further ones are counted in one last issue.
MAX_ISSUES = 1000
#: Rows checked against the books and written per round trip.
CHUNK_ROWS = 2000
#: How often (in rows) an import reports its progress.
PROGRESS_EVERY = 10_000


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A parsed, syntactically valid row. ``cents`` is the positive amount in cents;
    ``school_year`` is the ``Schuljahr`` column or, without one, the school year of the
    booking date."""

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

    def base(self) -> tuple:
        """What makes two rows of one file identical bookings (their occurrence tells them apart)."""
        return _base(self.day, self.voucher_number, self.debit, self.credit, self.cents)

    def identity(self, occurrence: int) -> str:
        """SHA-256 of what makes a row the same booking in a later export."""
        return _sha256(f"{self.day}|{self.voucher_number}|{self.debit}|{self.credit}|{self.cents}|{occurrence}")

    def content_hash(self) -> str:
        """SHA-256 over every column, to spot a known row whose content changed."""
        return _sha256("|".join(str(v) for v in (
            self.day, self.voucher_number, self.text, self.debit, self.credit, self.cents,
            self.cost_centre, self.category, self.school_year if self.school_year_given else "")))


@dataclass(frozen=True)
class ImportSummary:
    """Outcome of an import: counts of rows, new entries, duplicates, recognised payouts, errors.

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
) -> ImportSummary:
    """Import the file at ``path`` into ``recipient``'s books (see the module docstring).

    ``filename`` is the name recorded in the import history (default: ``path``'s name;
    an upload staged under its hash keeps the user's file name this way).
    Returns the summary; on errors nothing is written and ``summary.ok`` is False.
    With ``dry_run`` the file is checked and counted but nothing is written.
    ``progress(done, total)`` (rows) is called every ``PROGRESS_EVERY`` rows checked.
    The caller commits the session; until then nothing is visible, and a crash leaves
    the books as they were. The file is read in constant memory.
    """
    with path.open("rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    return _import(session, recipient, lambda: path.open("rb"), filename or path.name, digest, created_by=created_by,
                   now=now, dry_run=dry_run, packs=packs, progress=progress)


def import_bytes(
    session: Session, recipient: Recipient, data: bytes, filename: str, *, created_by: str,
    now: datetime, dry_run: bool = False, packs: tuple[RulePack, ...] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Like ``import_file`` for the file's content ``data`` held in memory, named ``filename``."""
    return _import(session, recipient, lambda: io.BytesIO(data), filename, hashlib.sha256(data).hexdigest(),
                   created_by=created_by, now=now, dry_run=dry_run, packs=packs, progress=progress)


def read_rows(data: bytes) -> tuple[list[ImportRow], list[ImportIssue]]:
    """Decode and parse an export into rows; every syntax error is returned, none raised."""
    table = _table(lambda: io.BytesIO(data))
    issues = list(table.issues)
    rows = []
    for line, fields, issue in table.records():
        row, row_issues = (None, [issue]) if issue else _parse_record(line, fields, table.columns)
        issues += row_issues
        if row is not None:
            rows.append(row)
    return rows, issues


def _table(open_binary) -> CsvTable:
    return CsvTable(open_binary, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)


def _import(session: Session, recipient: Recipient, open_binary, filename: str, digest: str, *, created_by: str,
            now: datetime, dry_run: bool, packs: tuple[RulePack, ...] | None,
            progress: Callable[[int, int], None] | None) -> ImportSummary:
    if not dry_run:
        lock_recipient(session, recipient)  # before the duplicate check: concurrent imports apply once
    table = _table(open_binary)
    issues = _Issues(table.issues)
    repeated, total = _repeated_bases(table)
    books = _Books.load(session, recipient, packs or load_packs())
    counts: Counter[str] = Counter()
    taken_payouts: set[int] = set()
    writer = None if dry_run else _Writer(session, books, created_by=created_by, now=now)
    with session.begin_nested() as savepoint:
        for chunk in _chunks(_keyed_rows(table, books, issues, repeated), CHUNK_ROWS):
            plan = _plan(session, chunk, books, issues, taken_payouts)
            counts.update(rows=plan.rows, new=len(plan.new), duplicates=plan.duplicates, payouts=len(plan.payouts))
            if writer is not None and not issues:
                writer.write(plan)
            if progress is not None and counts["rows"] // PROGRESS_EVERY > (counts["rows"] - plan.rows) // PROGRESS_EVERY:
                progress(counts["rows"], total)
        if total == 0 and not issues:
            issues.add(ImportIssue(1, None, "die Datei enthält keine Buchungszeilen"))
        summary = ImportSummary(
            file=filename, sha256=digest, rows=total, imported=counts["new"], duplicates=counts["duplicates"],
            payouts_recognised=counts["payouts"], dry_run=dry_run, errors=issues.sorted())
        if not summary.ok:
            savepoint.rollback()
        elif writer is not None and writer.wrote:
            writer.finish(summary)
    return summary


class _Issues:
    """The errors of one file: the first ``MAX_ISSUES`` and a count of the rest."""

    def __init__(self, first: Iterable[ImportIssue] = ()) -> None:
        self.listed: list[ImportIssue] = list(first)
        self.more = 0

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
    """What the checks need of the recipient's books, read once per import."""

    recipient: Recipient
    accounts: dict[str, Account]
    closed: frozenset[str]
    packs: tuple[RulePack, ...]

    @classmethod
    def load(cls, session: Session, recipient: Recipient, packs: tuple[RulePack, ...]) -> "_Books":
        accounts = {a.number: a for a in session.scalars(select(Account).where(Account.recipient_id == recipient.id))}
        return cls(recipient, accounts, frozenset(closed_years(session, recipient)), packs)


def _repeated_bases(table: CsvTable) -> tuple[set[int], int]:
    """First pass: hashes of row bases (``ImportRow.base``) that may occur more than once,
    and the number of records. A Bloom filter (one bit per byte of the file, two probes)
    finds every repeated base and a few others; ``_keyed_rows`` counts those exactly."""
    size = 1 << max(table.size, 1 << 13).bit_length()  # bits, a power of two
    bits = bytearray(size // 8)
    mask = size - 1
    repeated: set[int] = set()
    total = 0
    columns = table.columns
    for _line, fields, _issue in table.records():
        total += 1
        if fields is None:
            continue
        try:
            key = hash(_base(_parse_day(fields[columns["Buchungsdatum"]]), fields[columns["Belegnummer"]],
                             fields[columns["Sollkonto"]], fields[columns["Habenkonto"]],
                             parse_german_cents(fields[columns["Betrag"]])))
        except (ValueError, AmountError):
            continue
        i, j = key & mask, (key >> 32) & mask
        seen = bits[i >> 3] >> (i & 7) & 1 and bits[j >> 3] >> (j & 7) & 1
        if seen:
            repeated.add(key)
        bits[i >> 3] |= 1 << (i & 7)
        bits[j >> 3] |= 1 << (j & 7)
    return repeated, total


def _keyed_rows(table: CsvTable, books: _Books, issues: _Issues, repeated: set[int]
                ) -> Iterator[tuple[ImportRow, str]]:
    """Second pass: every valid row with its identity key; every error goes to ``issues``."""
    occurrences: Counter[tuple] = Counter()
    columns = table.columns
    for line, fields, issue in table.records():
        if issue is not None:
            issues.add(issue)
            continue
        row, row_issues = _parse_record(line, fields, columns)
        if row is None:
            for row_issue in row_issues + _check_accounts(line, fields[columns["Sollkonto"]],
                                                          fields[columns["Habenkonto"]], books):
                issues.add(row_issue)
            continue
        row_issues = _check_row(row, books)
        if row_issues:
            for row_issue in row_issues:
                issues.add(row_issue)
            continue
        base = row.base()
        occurrence = 0
        if hash(base) in repeated:
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


def _base(day: date, voucher_number: str, debit: str, credit: str, cents: int) -> tuple:
    """A row's base identity; both passes must build it the same way."""
    return (day, voucher_number, debit, credit, cents)


@lru_cache(maxsize=8192)
def _parse_day(text: str) -> date:
    """``"31.10.2023"`` → ``date(2023, 10, 31)``; raises ValueError."""
    return datetime.strptime(text, "%d.%m.%Y").date()


@lru_cache(maxsize=8192)
def _school_year_of(day: date) -> SchoolYear:
    return SchoolYear.of(day)


def _parse_record(line: int, fields: list[str], columns: dict[str, int]) -> tuple[ImportRow | None, list[ImportIssue]]:
    values = {name: fields[index] for name, index in columns.items()}
    issues: list[ImportIssue] = []

    def fail(column: str, message: str) -> None:
        issues.append(ImportIssue(line, column, message))

    for column in REQUIRED_COLUMNS:
        if not values[column]:
            fail(column, "Pflichtfeld ist leer")
    for column, limit in _MAX_LENGTH.items():
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
        school_year=school_year or _school_year_of(day), school_year_given=school_year is not None,
    ), []


@dataclass
class _Plan:
    """What one chunk of valid rows will write: new rows with their keys, recognised payouts."""

    rows: int
    new: list[tuple[ImportRow, str, str]] = field(default_factory=list)
    payouts: list[tuple[ImportRow, str, str, int]] = field(default_factory=list)
    duplicates: int = 0


def _plan(session: Session, chunk: list[tuple[ImportRow, str]], books: _Books, issues: _Issues,
          taken: set[int]) -> _Plan:
    """Sort a chunk's rows into new, duplicate and recognised payout; conflicts go to ``issues``.
    ``taken``: ids of the payouts recognised so far in this import (updated)."""
    plan = _Plan(rows=len(chunk))
    recipient = books.recipient
    known = _known_rows(session, recipient, [key for _row, key in chunk])
    for row, key in chunk:
        content = row.content_hash()
        if key in known:
            if known[key] != content:
                issues.add(ImportIssue(row.line, None, "Buchung wurde bereits mit anderem Inhalt importiert; "
                                       "Korrekturen bitte als Storno und Neubuchung"))
            else:
                plan.duplicates += 1
            continue
        if books.accounts[row.credit].role == "grant_revenue":
            payout = find_payout_for_receipt(session, recipient, row.day, row.cents, taken)
            if payout is None:
                issues.add(ImportIssue(row.line, "Habenkonto", "Eingang der Inklusionspauschale ohne "
                                       "passende erfasste Auszahlung; bitte zuerst mit 'inkl grant add' erfassen"))
                continue
            taken.add(payout.id)
            plan.payouts.append((row, key, content, payout.entry_id))
            continue
        plan.new.append((row, key, content))
    return plan


def _known_rows(session: Session, recipient: Recipient, keys: list[str]) -> dict[str, str]:
    """Content hash of each of ``keys`` already imported for ``recipient`` (by the unique index)."""
    known: dict[str, str] = {}
    with custom_plans(session):
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = session.execute(select(ImportedRow.row_key, ImportedRow.content_hash).where(
                ImportedRow.recipient_id == recipient.id, ImportedRow.row_key.in_(chunk)))
            known.update((key, content) for key, content in rows)
    return known


def _check_row(row: ImportRow, books: _Books) -> list[ImportIssue]:
    issues = _check_accounts(row.line, row.debit, row.credit, books)
    for column, year in (("Buchungsdatum", str(_school_year_of(row.day))), ("Schuljahr", str(row.school_year))):
        if year in books.closed:
            issues.append(ImportIssue(row.line, column, f"Schuljahr {year} ist abgeschlossen"))
            break
    try:
        pack = pack_for(INKLUSIONSPAUSCHALE, row.school_year, books.packs)
    except RulePackError as exc:
        column = "Schuljahr" if row.school_year_given else "Buchungsdatum"
        return issues + [ImportIssue(row.line, column, exc.message)]
    if row.category is not None:
        accounts = books.accounts
        if not pack.has_category(row.category):
            issues.append(ImportIssue(row.line, "Kategorie", f"unbekannte Kategorie {row.category!r}"))
        elif not any(accounts.get(n) is not None and accounts[n].type == "expense" for n in (row.debit, row.credit)):
            issues.append(ImportIssue(row.line, "Kategorie", "Kategorie ist nur bei Buchungen auf Aufwandskonten zulässig"))
    return issues


def _check_accounts(line: int, debit: str, credit: str, books: _Books) -> list[ImportIssue]:
    issues = []
    accounts = books.accounts
    for column, number in (("Sollkonto", debit), ("Habenkonto", credit)):
        account = accounts.get(number)
        if not number:
            continue
        if account is None:
            issues.append(ImportIssue(line, column, f"unbekanntes Konto {number} "
                                      f"(nicht im Kontenplan von {books.recipient.name})"))
        elif account.role in _LEDGER_ONLY_ROLES:
            issues.append(ImportIssue(line, column, f"Konto {number} wird nur über 'inkl repayment' bebucht"))
    if accounts.get(debit) is not None and accounts[debit].role == "grant_revenue":
        issues.append(ImportIssue(line, "Sollkonto", "Sollbuchungen auf das Ertragskonto der Inklusionspauschale "
                                  "sind als Rückzahlung über 'inkl repayment' zu erfassen"))
    return issues


class _Writer:
    """Books the planned chunks of one import with set-based inserts.

    Each new row becomes a journal entry of two postings (debit, then credit) linked
    into the recipient's hash chain exactly as ``post_entry`` links it; the database's
    triggers check balance, chain and closed periods as for any entry. The import batch
    row is written last (``finish``), when its counts are known: the imported rows'
    reference to it is checked at commit (a deferred foreign key, migration 0008).
    """

    def __init__(self, session: Session, books: _Books, *, created_by: str, now: datetime) -> None:
        self.session = session
        self.recipient = books.recipient
        self.accounts = books.accounts
        self.created_by = created_by
        self.now = now
        self.wrote = False
        self._batch_id: int | None = None
        self._head = None
        self._next_id = 0

    def write(self, plan: _Plan) -> None:
        if not plan.new and not plan.payouts:
            return
        if self._batch_id is None:
            self._start()
        entries, postings, imported = [], [], []
        seq, prev = self._head
        recipient_id, recipient_key, created_by = self.recipient.id, self.recipient.key, self.created_by
        for (row, key, content), entry_id in zip(plan.new, self._entry_ids(len(plan.new))):
            seq += 1
            lines = self._lines(row)
            entry_hash = link_hash(
                prev, recipient_key=recipient_key, seq=seq, day=row.day, voucher_number=row.voucher_number,
                text=row.text, kind="import", created_by=created_by, created_at=self.now, reverses_hash=None,
                postings=[(account.number, cents, year, category, cost_centre)
                          for account, cents, year, category, cost_centre in lines])
            day = self._date(row.day)
            postings += [(entry_id, account.id, cents, day, year, category, cost_centre)
                         for account, cents, year, category, cost_centre in lines]
            entries.append((entry_id, recipient_id, day, row.voucher_number, row.text, "import",
                            created_by, self._created_at, None, seq, prev, entry_hash))
            imported.append((recipient_id, key, content, self._batch_id, row.line, entry_id))
            prev = entry_hash
        imported += [(recipient_id, key, content, self._batch_id, row.line, entry_id)
                     for row, key, content, entry_id in plan.payouts]
        # Postings first, the entries last: the database checks each entry's balance when it arrives.
        if postings:
            self._insert(Posting, ("entry_id", "account_id", "amount_cents", "date", "school_year", "category",
                                   "cost_centre"), postings)
            self._insert(JournalEntry, ("id", "recipient_id", "date", "voucher_number", "text", "kind", "created_by",
                                        "created_at", "reverses_id", "seq", "prev_hash", "entry_hash"), entries)
        self._insert(ImportedRow, ("recipient_id", "row_key", "content_hash", "batch_id", "line", "entry_id"), imported)
        self._head = (seq, prev)
        self.wrote = True

    def _insert(self, model, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """``executemany`` of ``rows`` (tuples in ``columns`` order, values as the driver
        takes them) into ``model``'s table: no per-row work in SQLAlchemy."""
        marker = "?" if self.session.get_bind().dialect.paramstyle == "qmark" else "%s"
        self.session.connection().exec_driver_sql(
            f"INSERT INTO {model.__tablename__} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})",
            rows)

    def finish(self, summary: ImportSummary) -> None:
        """Write the import batch (with the summary's counts) and the audit record."""
        self.session.execute(insert(ImportBatch.__table__).values(
            id=self._batch_id, recipient_id=self.recipient.id, filename=summary.file[:300], sha256=summary.sha256,
            rows=summary.rows, imported=summary.imported, duplicates=summary.duplicates,
            created_by=self.created_by, created_at=self.now))
        audit.record(self.session, actor=self.created_by, action="import", now=self.now, recipient=self.recipient,
                     details={"file": summary.file, "sha256": summary.sha256, "rows": summary.rows,
                              "imported": summary.imported, "duplicates": summary.duplicates,
                              "payouts_recognised": summary.payouts_recognised, "batch": self._batch_id})

    def _start(self) -> None:
        session = self.session
        if session.get_bind().dialect.name == "postgresql":
            self._batch_id = session.scalar(sql_text("SELECT nextval(pg_get_serial_sequence('import_batches', 'id'))"))
        else:
            self._batch_id = session.scalar(select(func.coalesce(func.max(ImportBatch.id), 0) + 1))
            self._next_id = session.scalar(select(func.coalesce(func.max(JournalEntry.id), 0) + 1))
        head = chain_head(session, self.recipient)
        self._head = (head.seq, head.entry_hash)
        # The driver-level values of dates and times (ISO text on SQLite, as SQLAlchemy stores them).
        dialect = session.get_bind().dialect
        columns = JournalEntry.__table__.c
        self._date = columns.date.type.bind_processor(dialect) or (lambda day: day)
        self._created_at = (columns.created_at.type.bind_processor(dialect) or (lambda moment: moment))(self.now)

    def _entry_ids(self, count: int) -> list[int]:
        if not count:
            return []
        if self.session.get_bind().dialect.name == "postgresql":
            return list(self.session.scalars(sql_text(
                "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id')) FROM generate_series(1, :n)"),
                {"n": count}))
        ids = list(range(self._next_id, self._next_id + count))
        self._next_id += count
        return ids

    def _lines(self, row: ImportRow) -> list[tuple[Account, int, str, str | None, str | None]]:
        """(account, cents, school year, category, cost centre) of the debit and the credit posting."""
        year = str(row.school_year)
        lines = []
        for number, cents in ((row.debit, row.cents), (row.credit, -row.cents)):
            account = self.accounts[number]
            category = (row.category or account.category) if account.type == "expense" else None
            lines.append((account, cents, year, category, row.cost_centre))
        return lines


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

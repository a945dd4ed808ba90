"""The monthly import of a finance-system journal export (semicolon CSV).

Format: a header row, UTF-8 (with or without BOM) or Windows-1252, columns
``Buchungsdatum`` (TT.MM.JJJJ), ``Belegnummer``, ``Buchungstext``, ``Sollkonto``,
``Habenkonto``, ``Betrag`` (German format, positive) and optionally ``Kostenstelle``,
``Kategorie`` (a rule-pack category id) and ``Schuljahr`` (``2023/24``).

All or nothing: every error of every row is collected (as values, with line and
column) and if there is one, nothing is written. Re-importing rows already imported
(the same file, or a later export overlapping it) adds nothing: each row's identity
(date, voucher, accounts, amount, and its occurrence among identical rows of the
file) is kept in ``imported_rows``. A bank receipt credited to the grant revenue
account is recognised as the recorded payout, never booked twice.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import audit
from ledger.csvfile import ImportIssue, read_table
from ledger.grants import find_payout_for_receipt
from ledger.models import Account, ImportBatch, ImportedRow, Recipient
from ledger.money import AmountError, parse_german, to_cents
from ledger.periods import closed_years
from ledger.posting import PostingLine, lock_recipient, post_entry
from ledger.rules import RulePack, RulePackError, load_packs, pack_for
from ledger.schoolyear import SchoolYear, SchoolYearError

REQUIRED_COLUMNS = ("Buchungsdatum", "Belegnummer", "Buchungstext", "Sollkonto", "Habenkonto", "Betrag")
OPTIONAL_COLUMNS = ("Kostenstelle", "Kategorie", "Schuljahr")
_MAX_LENGTH = {"Belegnummer": 60, "Buchungstext": 500, "Kostenstelle": 40, "Sollkonto": 20, "Habenkonto": 20}
#: Accounts the ledger books itself (repayments); an import must not touch them.
_LEDGER_ONLY_ROLES = ("repayment_charge", "repayment_liability")


@dataclass(frozen=True)
class ImportRow:
    """A parsed, syntactically valid row. ``amount`` is positive EUR; ``school_year`` is
    the ``Schuljahr`` column or, without one, the school year of the booking date."""

    line: int
    day: date
    voucher_number: str
    text: str
    debit: str
    credit: str
    amount: Decimal
    cost_centre: str | None
    category: str | None
    school_year: SchoolYear
    school_year_given: bool

    def identity(self, occurrence: int) -> str:
        """SHA-256 of what makes a row the same booking in a later export."""
        return _sha256(f"{self.day}|{self.voucher_number}|{self.debit}|{self.credit}|{to_cents(self.amount)}|{occurrence}")

    def content_hash(self) -> str:
        """SHA-256 over every column, to spot a known row whose content changed."""
        return _sha256("|".join(str(v) for v in (
            self.day, self.voucher_number, self.text, self.debit, self.credit, to_cents(self.amount),
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


#: How often (in rows) an import reports its progress while writing.
PROGRESS_EVERY = 500


def import_file(
    session: Session, recipient: Recipient, path: Path, *, created_by: str, now: datetime,
    dry_run: bool = False, packs: tuple[RulePack, ...] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import the file at ``path`` into ``recipient``'s books (see the module docstring).

    Returns the summary; on errors nothing is written and ``summary.ok`` is False.
    With ``dry_run`` the file is checked and counted but nothing is written.
    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` new rows while writing.
    The caller commits the session; until then nothing is visible, and a crash leaves
    the books as they were.
    """
    return import_bytes(session, recipient, path.read_bytes(), path.name,
                        created_by=created_by, now=now, dry_run=dry_run, packs=packs, progress=progress)


def import_bytes(
    session: Session, recipient: Recipient, data: bytes, filename: str, *, created_by: str,
    now: datetime, dry_run: bool = False, packs: tuple[RulePack, ...] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Like ``import_file`` for the file's content ``data`` (e.g. an upload) named ``filename``."""
    digest = hashlib.sha256(data).hexdigest()
    if not dry_run:
        lock_recipient(session, recipient)  # before the duplicate check: concurrent imports apply once
    rows, issues, unparsed = _parse(data)
    plan = _Plan()
    if rows or unparsed:
        issues += _check_against_books(session, recipient, rows, unparsed, packs or load_packs(), plan)
    issues.sort(key=lambda issue: issue.line)
    summary = ImportSummary(
        file=filename, sha256=digest, rows=len(rows) + len(unparsed), imported=len(plan.new),
        duplicates=len(plan.duplicates), payouts_recognised=len(plan.payouts), dry_run=dry_run,
        errors=tuple(issues),
    )
    if summary.ok and not dry_run and (plan.new or plan.payouts):
        _write(session, recipient, plan, summary, created_by=created_by, now=now, progress=progress)
    return summary


def read_rows(data: bytes) -> tuple[list[ImportRow], list[ImportIssue]]:
    """Decode and parse an export into rows; every syntax error is returned, none raised."""
    rows, issues, _unparsed = _parse(data)
    return rows, issues


def _parse(data: bytes) -> tuple[list[ImportRow], list[ImportIssue], list[tuple[int, str, str]]]:
    """Rows, syntax errors, and (line, debit, credit) of rows that failed, so their
    accounts can still be checked and every error of the file reported at once."""
    records, issues = read_table(data, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    rows: list[ImportRow] = []
    unparsed: list[tuple[int, str, str]] = []
    for line, values in records:
        row, row_issues = _parse_record(line, values)
        issues.extend(row_issues)
        if row is not None:
            rows.append(row)
        else:
            unparsed.append((line, values["Sollkonto"], values["Habenkonto"]))
    if not records and not issues:
        issues.append(ImportIssue(1, None, "die Datei enthält keine Buchungszeilen"))
    return rows, issues, unparsed


def _parse_record(line: int, values: dict[str, str]) -> tuple[ImportRow | None, list[ImportIssue]]:
    issues: list[ImportIssue] = []

    def fail(column: str, message: str) -> None:
        issues.append(ImportIssue(line, column, message))

    for column in REQUIRED_COLUMNS:
        if not values[column]:
            fail(column, "Pflichtfeld ist leer")
    for column, limit in _MAX_LENGTH.items():
        if len(values.get(column, "")) > limit:
            fail(column, f"länger als {limit} Zeichen")
    day = amount = None
    if values["Buchungsdatum"]:
        try:
            day = datetime.strptime(values["Buchungsdatum"], "%d.%m.%Y").date()
        except ValueError:
            fail("Buchungsdatum", f"ungültiges Datum {values['Buchungsdatum']!r} (erwartet TT.MM.JJJJ)")
    if values["Betrag"]:
        try:
            amount = parse_german(values["Betrag"])
            if amount <= 0:
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
    if issues or day is None or amount is None:
        return None, issues
    return ImportRow(
        line=line, day=day, voucher_number=values["Belegnummer"], text=values["Buchungstext"],
        debit=values["Sollkonto"], credit=values["Habenkonto"], amount=amount,
        cost_centre=values.get("Kostenstelle") or None, category=values.get("Kategorie") or None,
        school_year=school_year or SchoolYear.of(day), school_year_given=school_year is not None,
    ), []


@dataclass
class _Plan:
    """What a valid import will write: new rows with their keys, recognised payouts, duplicates."""

    new: list[tuple[ImportRow, str, str]] = field(default_factory=list)
    payouts: list[tuple[ImportRow, str, str, int]] = field(default_factory=list)
    duplicates: list[ImportRow] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)


def _check_against_books(
    session: Session, recipient: Recipient, rows: list[ImportRow], unparsed: list[tuple[int, str, str]],
    packs: tuple[RulePack, ...], plan: _Plan,
) -> list[ImportIssue]:
    plan.accounts.update({a.number: a for a in session.scalars(
        select(Account).where(Account.recipient_id == recipient.id))})
    closed = closed_years(session, recipient)
    issues: list[ImportIssue] = []
    for line, debit, credit in unparsed:
        issues += _check_accounts(line, debit, credit, plan.accounts, recipient)
    keyed = _keyed(rows)
    known = _known_rows(session, recipient, [key for _row, key in keyed])
    taken_payouts: set[int] = set()
    for row, key in keyed:
        row_issues = _check_row(row, plan.accounts, packs, recipient, closed)
        if row_issues:
            issues.extend(row_issues)
            continue
        content = row.content_hash()
        if key in known:
            if known[key] != content:
                issues.append(ImportIssue(row.line, None, "Buchung wurde bereits mit anderem Inhalt importiert; "
                                          "Korrekturen bitte als Storno und Neubuchung"))
            else:
                plan.duplicates.append(row)
            continue
        if plan.accounts[row.credit].role == "grant_revenue":
            payout = find_payout_for_receipt(session, recipient, row.day, to_cents(row.amount), taken_payouts)
            if payout is None:
                issues.append(ImportIssue(row.line, "Habenkonto", "Eingang der Inklusionspauschale ohne "
                                          "passende erfasste Auszahlung; bitte zuerst mit 'inkl grant add' erfassen"))
                continue
            taken_payouts.add(payout.id)
            plan.payouts.append((row, key, content, payout.entry_id))
            continue
        plan.new.append((row, key, content))
    return issues


def _keyed(rows: list[ImportRow]) -> list[tuple[ImportRow, str]]:
    seen: Counter[str] = Counter()
    keyed = []
    for row in rows:
        base = row.identity(0)
        keyed.append((row, row.identity(seen[base])))
        seen[base] += 1
    return keyed


def _known_rows(session: Session, recipient: Recipient, keys: list[str]) -> dict[str, str]:
    known: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.execute(select(ImportedRow.row_key, ImportedRow.content_hash).where(
            ImportedRow.recipient_id == recipient.id, ImportedRow.row_key.in_(chunk)))
        known.update((key, content) for key, content in rows)
    return known


def _check_row(row: ImportRow, accounts: dict[str, Account], packs: tuple[RulePack, ...],
               recipient: Recipient, closed: set[str]) -> list[ImportIssue]:
    issues = _check_accounts(row.line, row.debit, row.credit, accounts, recipient)
    for column, year in (("Buchungsdatum", str(SchoolYear.of(row.day))), ("Schuljahr", str(row.school_year))):
        if year in closed:
            issues.append(ImportIssue(row.line, column, f"Schuljahr {year} ist abgeschlossen"))
            break
    try:
        pack = pack_for(row.school_year, packs)
    except RulePackError as exc:
        column = "Schuljahr" if row.school_year_given else "Buchungsdatum"
        return issues + [ImportIssue(row.line, column, exc.message)]
    if row.category is not None:
        if not pack.has_category(row.category):
            issues.append(ImportIssue(row.line, "Kategorie", f"unbekannte Kategorie {row.category!r}"))
        elif not any(accounts.get(n) is not None and accounts[n].type == "expense" for n in (row.debit, row.credit)):
            issues.append(ImportIssue(row.line, "Kategorie", "Kategorie ist nur bei Buchungen auf Aufwandskonten zulässig"))
    return issues


def _check_accounts(line: int, debit: str, credit: str, accounts: dict[str, Account],
                    recipient: Recipient) -> list[ImportIssue]:
    issues = []
    for column, number in (("Sollkonto", debit), ("Habenkonto", credit)):
        account = accounts.get(number)
        if not number:
            continue
        if account is None:
            issues.append(ImportIssue(line, column, f"unbekanntes Konto {number} (nicht im Kontenplan von {recipient.name})"))
        elif account.role in _LEDGER_ONLY_ROLES:
            issues.append(ImportIssue(line, column, f"Konto {number} wird nur über 'inkl repayment' bebucht"))
    if accounts.get(debit) is not None and accounts[debit].role == "grant_revenue":
        issues.append(ImportIssue(line, "Sollkonto", "Sollbuchungen auf das Ertragskonto der Inklusionspauschale "
                                  "sind als Rückzahlung über 'inkl repayment' zu erfassen"))
    return issues


def _write(session: Session, recipient: Recipient, plan: _Plan, summary: ImportSummary, *,
           created_by: str, now: datetime, progress: Callable[[int, int], None] | None) -> None:
    batch = ImportBatch(recipient_id=recipient.id, filename=summary.file[:300], sha256=summary.sha256,
                        rows=summary.rows, imported=summary.imported, duplicates=summary.duplicates,
                        created_by=created_by, created_at=now)
    session.add(batch)
    session.flush()
    for done, (row, key, content) in enumerate(plan.new, start=1):
        entry = post_entry(
            session, recipient, day=row.day, voucher_number=row.voucher_number, text=row.text,
            lines=[_line(plan.accounts[row.debit], row.amount, row), _line(plan.accounts[row.credit], -row.amount, row)],
            kind="import", created_by=created_by, now=now,
        )
        session.add(ImportedRow(recipient_id=recipient.id, row_key=key, content_hash=content,
                                batch_id=batch.id, line=row.line, entry_id=entry.id))
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(plan.new))
    for row, key, content, entry_id in plan.payouts:
        session.add(ImportedRow(recipient_id=recipient.id, row_key=key, content_hash=content,
                                batch_id=batch.id, line=row.line, entry_id=entry_id))
    session.flush()
    audit.record(session, actor=created_by, action="import", now=now, recipient=recipient,
                 details={"file": summary.file, "sha256": summary.sha256, "rows": summary.rows,
                          "imported": summary.imported, "duplicates": summary.duplicates,
                          "payouts_recognised": summary.payouts_recognised, "batch": batch.id})


def _line(account: Account, amount: Decimal, row: ImportRow) -> PostingLine:
    category = (row.category or account.category) if account.type == "expense" else None
    return PostingLine(account, amount, row.school_year, category, row.cost_centre)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

"""The dry run an officer reads before booking an import: what each row becomes and what
the file changes in the year's figures.

The preview books the file for real inside a savepoint, with the same code as the booking
(``ledger.read.importer.import_file``), classifies the new postings with the rules engine
(``ledger.rules.evaluate``), computes each touched school year's repayment
(``ledger.reports.repayment.compute_repayment``), and rolls the savepoint back: the figures
shown are the figures the booking will produce, and nothing stays written. It takes the
recipient's write lock for its duration, like the booking.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.errors import LedgerError
from ledger.core.models import ImportBatch, ImportedRow, Posting, Recipient
from ledger.core.money import format_plain
from ledger.core.schoolyear import SchoolYear
from ledger.read.importer import ImportSummary, import_file
from ledger.read.profiles import Profile
from ledger.read.rows import ImportRow
from ledger.reports.repayment import compute_repayment
from ledger.rules.evaluate import evaluate
from ledger.rules.packs import RulePack, load_packs

#: Rows kept in a preview (the counts always cover the whole file).
MAX_PREVIEW_ROWS = 10_000


@dataclass(frozen=True)
class PreviewRow:
    """One valid row of the file and what the import does with it: ``outcome`` ``"new"``
    (booked), ``"duplicate"`` (imported before), ``"payout"`` (recognised as a recorded
    payout), ``"repayment"`` (a payment to the Landeskasse matched to the confirmed
    repayment) or ``"parked"`` (a bank entry kept for the officer); for new rows on an
    expense account the category as booked and the rules engine's ``status`` (a
    ``ledger.rules.status.Status`` value), its ``rule`` id and German ``reason``."""

    line: int
    day: date
    voucher_number: str
    text: str
    debit: str
    credit: str
    amount: Decimal
    school_year: str
    outcome: str
    category: str | None = None
    cost_centre: str | None = None
    status: str | None = None
    rule: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class YearEffect:
    """A school year the file touches: the repayment due (EUR) before and after booking it,
    or ``error`` (German) where it cannot be computed (no rule pack for the year)."""

    school_year: str
    repayment_before: Decimal | None
    repayment_after: Decimal | None
    error: str | None = None


@dataclass(frozen=True)
class ImportPreview:
    """The dry run's summary (counts and every error), its first ``MAX_PREVIEW_ROWS`` rows
    (``rows``; ``rows_total`` counts them all) and the effect on each touched school year."""

    summary: ImportSummary
    rows: tuple[PreviewRow, ...] = ()
    rows_total: int = 0
    effects: tuple[YearEffect, ...] = field(default=())

    def as_dict(self) -> dict:
        """JSON-ready: the summary as ``ImportSummary.as_dict``, dates ISO, amounts plain decimal text."""
        return {
            "summary": self.summary.as_dict(), "rows_total": self.rows_total,
            "rows": [{**asdict(row), "day": row.day.isoformat(), "amount": format_plain(row.amount)}
                     for row in self.rows],
            "effects": [{"school_year": e.school_year, "error": e.error,
                         "repayment_before": _plain(e.repayment_before), "repayment_after": _plain(e.repayment_after)}
                        for e in self.effects],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ImportPreview":
        """The preview ``as_dict`` gave (a background job's result)."""
        return cls(
            ImportSummary.from_dict(data["summary"]),
            tuple(PreviewRow(**{**row, "day": date.fromisoformat(row["day"]), "amount": Decimal(row["amount"])})
                  for row in data["rows"]),
            data["rows_total"],
            tuple(YearEffect(e["school_year"], _decimal(e["repayment_before"]), _decimal(e["repayment_after"]),
                             e["error"]) for e in data["effects"]))


def _plain(amount: Decimal | None) -> str | None:
    return None if amount is None else format_plain(amount)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def preview_import(session: Session, recipient: Recipient, path: Path, *, profile: Profile | None = None,
                   created_by: str, now: datetime, filename: str | None = None,
                   packs: tuple[RulePack, ...] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ImportPreview:
    """The preview of importing the file at ``path`` with ``profile`` into ``recipient``'s
    books (see the module docstring). Nothing is written: the caller's session holds the
    recipient's write lock until it ends; commit or roll back as for a read.

    The summary is the one the booking would return, with ``dry_run`` True. If the file has
    errors, the preview has only its summary.
    """
    packs = packs or load_packs()
    rows: list[tuple[ImportRow, str]] = []
    total = Counter()

    def observe(row: ImportRow, outcome: str) -> None:
        total["rows"] += 1
        if len(rows) < MAX_PREVIEW_ROWS:
            rows.append((row, outcome))

    with session.begin_nested() as savepoint:
        summary = import_file(session, recipient, path, created_by=created_by, now=now, packs=packs,
                              progress=progress, filename=filename, profile=profile, observe=observe)
        if not summary.ok or not (summary.imported or summary.payouts_recognised):
            savepoint.rollback()
            return ImportPreview(_as_dry_run(summary))
        lines = _booked_lines(session, recipient)
        years = _years_of(session, lines)
        classified = _classified(session, recipient, years, lines, packs)
        after = {str(year): _repayment(session, recipient, year, packs) for year in years}
        savepoint.rollback()
    before = {str(year): _repayment(session, recipient, year, packs) for year in years}
    effects = tuple(YearEffect(year, before[year][0], after[year][0], after[year][1] or before[year][1])
                    for year in sorted(after))
    preview_rows = tuple(_preview_row(row, outcome, classified.get(row.line)) for row, outcome in rows)
    return ImportPreview(_as_dry_run(summary), preview_rows, total["rows"], effects)


def _as_dry_run(summary: ImportSummary) -> ImportSummary:
    return replace(summary, dry_run=True)


def _booked_lines(session: Session, recipient: Recipient) -> dict[int, int]:
    """Journal entry id → file line of the rows booked in the savepoint (the newest batch)."""
    batch = session.scalar(select(func.max(ImportBatch.id)).where(ImportBatch.recipient_id == recipient.id))
    rows = session.execute(select(ImportedRow.entry_id, ImportedRow.line).where(ImportedRow.batch_id == batch))
    return {entry_id: line for entry_id, line in rows}


def _years_of(session: Session, lines: dict[int, int]) -> list[SchoolYear]:
    """The school years of the postings of the entries ``lines`` names."""
    years = set()
    entry_ids = list(lines)
    for start in range(0, len(entry_ids), 500):
        years.update(session.scalars(select(Posting.school_year).distinct()
                                     .where(Posting.entry_id.in_(entry_ids[start:start + 500]))))
    return sorted(SchoolYear.parse(year) for year in years)


def _classified(session: Session, recipient: Recipient, years: list[SchoolYear], lines: dict[int, int],
                packs: tuple[RulePack, ...]) -> dict[int, tuple[str, str, str, str | None]]:
    """File line → (status, rule, reason, category) of the expense posting of each row booked in
    the savepoint (the first, where a row has two); the category as booked (the row's, or its
    account's)."""
    found: dict[int, tuple[str, str, str, str | None]] = {}
    for year in years:
        try:
            evaluated = evaluate(session, recipient, year, packs)
        except LedgerError:
            continue
        for item in evaluated:
            line = lines.get(item.entry_id)
            if line is not None and line not in found:
                c = item.classification
                found[line] = (c.status.value, c.rule, c.reason, item.category)
    return found


def _repayment(session: Session, recipient: Recipient, year: SchoolYear, packs: tuple[RulePack, ...]
               ) -> tuple[Decimal | None, str | None]:
    try:
        return compute_repayment(session, recipient, year, packs).repayment_due, None
    except LedgerError as exc:
        return None, str(exc)


def _preview_row(row: ImportRow, outcome: str, classified: tuple[str, str, str, str | None] | None) -> PreviewRow:
    status, rule, reason, category = classified or (None, None, None, row.category)
    return PreviewRow(row.line, row.day, row.voucher_number, row.text, row.debit, row.credit, row.amount,
                      str(row.school_year), outcome, category, row.cost_centre, status, rule, reason)

"""Recorded evaluation runs: the classification of a school year as it stood, kept for good.

A run stores, for every expense posting of one recipient's school year, the effective
classification (``ledger.rules.evaluate``) together with the rule pack's id, version and file
digest, who ran it, when and why, and how many postings changed against the run before.
Runs are append-only (migration 0005).

When runs are made: ``record_evaluation`` on request (``inkl evaluate``, e.g. after a
rule pack changed or to re-judge an older year under its own pack), and automatically
when a repayment is confirmed and when a year is closed. A closed school year is judged
by its latest run, not by the rules as they are today: a changed pack never rewrites a
settled year; only a new, visible run does (``classified``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import (
    Account,
    EvaluationRun,
    JournalEntry,
    Posting,
    Recipient,
    StoredClassification,
)
from ledger.core.money import ZERO, from_cents, to_cents
from ledger.core.periods import closed_years
from ledger.core.posting import lock_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.rules.classify import Classification
from ledger.rules.evaluate import Evaluated, evaluate
from ledger.rules.packs import RulePack, load_packs, pack_for
from ledger.rules.status import Status


@dataclass(frozen=True)
class Run:
    """A recorded evaluation run as a value: id, school year, the pack's id, version and
    file digest (SHA-256 hex), who, when (naive local time) and why, the run before,
    postings classified, postings changed against the run before, sums in EUR."""

    id: int
    school_year: str
    pack_id: str
    pack_version: str
    pack_digest: str
    created_by: str
    created_at: datetime
    reason: str
    previous_id: int | None
    postings: int
    changed: int
    conform: Decimal
    excluded: Decimal
    unclassified: Decimal

    @classmethod
    def of(cls, run: EvaluationRun) -> "Run":
        """The value of a stored ``EvaluationRun``."""
        return cls(run.id, run.school_year, run.pack_id, run.pack_version, run.pack_digest, run.created_by,
                   run.created_at, run.reason, run.previous_id, run.postings, run.changed,
                   from_cents(run.conform_cents), from_cents(run.excluded_cents), from_cents(run.unclassified_cents))

    def as_dict(self) -> dict:
        """JSON-ready: amounts as EUR strings, timestamps ISO 8601."""
        return {"id": self.id, "school_year": self.school_year,
                "rule_pack": {"id": self.pack_id, "version": self.pack_version, "digest": self.pack_digest},
                "created_by": self.created_by, "created_at": self.created_at.isoformat(), "reason": self.reason,
                "previous": self.previous_id, "postings": self.postings, "changed": self.changed,
                "conform": str(self.conform), "excluded": str(self.excluded), "unclassified": str(self.unclassified)}


@dataclass(frozen=True)
class RunState:
    """How a school year's figures relate to its recorded runs.

    ``run``: the latest run (None: never recorded). ``frozen``: the year is closed and its
    figures come from ``run``. ``current``: a run exists and the rules applied today
    (pack, master data, overrides, postings) give exactly its classifications.
    ``changed``: postings whose classification today differs from ``run`` (or that it
    lacks); 0 when current.
    """

    run: Run | None
    frozen: bool
    current: bool
    changed: int


@dataclass(frozen=True)
class Classified:
    """A school year's expense postings with their classifications and the run state."""

    items: tuple[Evaluated, ...]
    state: RunState


def classified(session: Session, recipient: Recipient, school_year: SchoolYear,
               packs: tuple[RulePack, ...] | None = None, *, booked_until: date | None = None) -> Classified:
    """The classifications a school year's figures rest on.

    An open year: today's evaluation (``ledger.rules.evaluate.evaluate``). A closed year with a
    recorded run: that run's stored classifications, and ``state.current`` tells whether
    today's rules would agree (``run_state``). ``booked_until`` (a date) keeps entries up to
    that day and skips the comparison with the latest run (the forecast's partial view).
    """
    live = evaluate(session, recipient, school_year, packs or load_packs(), booked_until=booked_until)
    stored: list[list[Evaluated]] = []

    def changes(run: EvaluationRun) -> int:
        stored.append(stored_items(session, run))
        return count_changes(stored[0], live)

    state = run_state(session, recipient, school_year, booked_until=booked_until, postings=len(live),
                      changes=changes)
    return Classified(tuple(stored[0] if state.frozen else live), state)


def run_state(session: Session, recipient: Recipient, school_year: SchoolYear, *, booked_until: date | None,
              postings: int, changes: Callable[[EvaluationRun], int], has_runs: bool = True) -> RunState:
    """Which classification counts for a school year: the one place that decides it.

    The figures rest on the latest run's stored classifications when the year is closed
    (``state.frozen``), else on today's evaluation of ``postings`` postings. ``changes(run)``
    counts the postings today's rules classify differently from the latest run; it is called
    only when there is a run to compare with (not for ``booked_until``, a partial view).
    ``has_runs`` False: the caller knows the year has no run (``years_with_runs_of``), so none
    is looked up.
    """
    run = latest_run(session, recipient, school_year) if has_runs else None
    if booked_until is not None or run is None:
        return RunState(run and Run.of(run), False, False, postings if run is None else 0)
    changed = changes(run)
    frozen = str(school_year) in closed_years(session, recipient)
    return RunState(Run.of(run), frozen, changed == 0, changed)


def record_evaluation(session: Session, recipient: Recipient, school_year: SchoolYear, *, actor: str, now: datetime,
                      reason: str, packs: tuple[RulePack, ...] | None = None) -> tuple[EvaluationRun, bool]:
    """Record today's classification of ``school_year`` as a run, unless the latest run
    already holds exactly it under the same pack file.

    ``reason`` (German, required) says why: "Neubewertung nach Änderung des Regelwerks",
    "Bestätigung der Rückzahlung", … Returns (run, created): the new run, or the latest
    one and False when nothing changed. Raises LedgerError without a reason, RulePackError
    if no pack covers the year. Audited.
    """
    if not reason.strip():
        raise LedgerError("eine Bewertung braucht einen Anlass")
    packs = packs or load_packs()
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    lock_recipient(session, recipient)  # one run at a time per recipient, each against the one before
    live = evaluate(session, recipient, school_year, packs)
    previous = latest_run(session, recipient, school_year)
    changed = len(live)
    if previous is not None:
        changed = count_changes(stored_items(session, previous), live)
        if changed == 0 and previous.pack_digest == pack.digest:
            return previous, False
    run = EvaluationRun(
        recipient_id=recipient.id, school_year=str(school_year), pack_id=pack.id, pack_version=pack.version,
        pack_digest=pack.digest, created_by=actor, created_at=now, reason=reason.strip()[:500],
        previous_id=None if previous is None else previous.id, postings=len(live), changed=changed,
        conform_cents=_sum_cents(live, "conform"), excluded_cents=_sum_cents(live, "excluded"),
        unclassified_cents=_sum_cents(live, "unclassified"),
    )
    session.add(run)
    session.flush()
    session.add_all(StoredClassification(
        run_id=run.id, posting_id=item.posting_id, status=c.status, conform_cents=to_cents(c.conform),
        excluded_cents=to_cents(c.excluded), unclassified_cents=to_cents(c.unclassified), rule=c.rule,
        reason=c.reason[:2500], source=c.source[:500], review=None if c.review is None else c.review[:300],
        override_id=item.override_id,
    ) for item in live for c in [item.classification])
    session.flush()
    audit.record(session, actor=actor, action="evaluation", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "run": run.id, "pack": f"{pack.id} {pack.version}",
                          "digest": pack.digest, "postings": len(live), "changed": changed, "reason": run.reason})
    return run, True


def years_with_runs_of(session: Session, recipient_ids: list[int]) -> dict[int, set[str]]:
    """The school years (``"2023/24"``) with at least one evaluation run of each recipient of
    ``recipient_ids``, in one query, by recipient id; recipients without a run are missing."""
    years: dict[int, set[str]] = {}
    for recipient_id, year in session.execute(select(EvaluationRun.recipient_id, EvaluationRun.school_year).where(
            EvaluationRun.recipient_id.in_(recipient_ids)).distinct()):
        years.setdefault(recipient_id, set()).add(year)
    return years


def latest_run(session: Session, recipient: Recipient, school_year: SchoolYear) -> EvaluationRun | None:
    """The most recent evaluation run of ``recipient``'s ``school_year``, or None."""
    return session.scalar(
        select(EvaluationRun).where(EvaluationRun.recipient_id == recipient.id,
                                    EvaluationRun.school_year == str(school_year))
        .order_by(EvaluationRun.id.desc()).limit(1))


def list_runs(session: Session, recipient: Recipient, school_year: SchoolYear) -> list[Run]:
    """All evaluation runs of ``recipient``'s ``school_year``, oldest first."""
    return [Run.of(run) for run in session.scalars(
        select(EvaluationRun).where(EvaluationRun.recipient_id == recipient.id,
                                    EvaluationRun.school_year == str(school_year)).order_by(EvaluationRun.id))]


def stored_items(session: Session, run: EvaluationRun) -> list[Evaluated]:
    """The run's stored classifications as ``Evaluated`` items, in booking order."""
    rows = session.execute(
        select(StoredClassification, Posting.entry_id, JournalEntry.date, JournalEntry.voucher_number,
               JournalEntry.text, Account.number, Posting.amount_cents, Posting.category, Posting.cost_centre)
        .join(Posting, StoredClassification.posting_id == Posting.id)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
        .where(StoredClassification.run_id == run.id)
        .order_by(JournalEntry.date, JournalEntry.id, Posting.id)
    )
    return [Evaluated(
        stored.posting_id, entry_id, day, voucher, text, account, from_cents(cents), category, code,
        Classification(Status(stored.status), from_cents(stored.conform_cents), from_cents(stored.excluded_cents),
                       from_cents(stored.unclassified_cents), stored.rule, stored.reason, stored.source, run.pack_id,
                       run.pack_version, stored.review),
        None, stored.override_id,
    ) for stored, entry_id, day, voucher, text, account, cents, category, code in rows]


def _key(item: Evaluated) -> tuple:
    c = item.classification
    return (c.status, c.conform, c.excluded, c.unclassified, c.rule, c.reason, c.source, c.pack_id, c.pack_version,
            item.override_id)


def count_changes(stored: list[Evaluated], live: list[Evaluated]) -> int:
    """How many postings ``live`` classifies differently from ``stored`` (or only one has)."""
    before = {item.posting_id: _key(item) for item in stored}
    now = {item.posting_id: _key(item) for item in live}
    return sum(1 for pid in before.keys() | now.keys() if before.get(pid) != now.get(pid))


def _sum_cents(items: list[Evaluated], part: str) -> int:
    return to_cents(sum((getattr(item.classification, part) for item in items), ZERO))


"""A school year's classification totals, summed by the database (the repayment's fast path).

``compute_repayment`` needs sums per category and status, not every posting. Postings
the rules engine decides alike are summed together in SQL, over the covering index
``ix_postings_year_totals`` (migration 0009): the group is (category, cost centre, and
the booking date where ``ledger.classify`` can tell dates apart: for pass-through,
judged by the verification dates, and for a date outside the school year, rule 3).
Each group is classified once by ``ledger.classify``; a mixed pool's systemic share is
rounded half up per posting in integer SQL, as ``classify`` rounds each posting.
Reversals and postings with an active override are few and evaluated one by one
(``ledger.evaluate``), like every posting of a closed year's recorded run, whose stored
classifications are summed in SQL. The totals equal the sums over ``ledger.evaluate``
exactly; ``tests/test_year_totals.py`` checks that on random books.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ledger.classify import PostingFacts, classify
from ledger.evaluate import Evaluated, cost_centre_facts, evaluate
from ledger.evaluation_runs import Run, RunState, count_changes, latest_run, stored_items
from ledger.models import Account, JournalEntry, Posting, Recipient, StoredClassification
from ledger.money import from_cents, to_cents
from ledger.overrides import active_overrides
from ledger.periods import closed_years
from ledger.rules import RulePack, load_packs, pack_for
from ledger.schoolyear import SchoolYear

_FIELDS = ("amount", "conform", "excluded", "unclassified")


@dataclass(frozen=True)
class Totals:
    """Sums of a school year's expense postings in cents, by (category, status).

    ``cells[(category, status)]`` is (amount, conform, excluded, unclassified) in cents;
    ``category`` None for postings without one; ``status`` as in ``ledger.classify``.
    ``postings`` counts the postings summed.
    """

    cells: dict[tuple[str | None, str], tuple[int, int, int, int]]
    postings: int

    @classmethod
    def of_items(cls, items: Iterable[Evaluated]) -> "Totals":
        """The totals of classified postings (``ledger.evaluate`` or a stored run)."""
        builder = _Builder()
        for item in items:
            builder.add_item(item)
        return builder.totals()

    def sum(self, field: str, *, statuses: Iterable[str] | None = None, categories: Iterable[str] | None = None,
            skip_statuses: Iterable[str] = ()) -> Decimal:
        """EUR sum of ``field`` (amount, conform, excluded or unclassified) over the cells of
        ``statuses`` (all if None) and ``categories`` (all if None), minus ``skip_statuses``."""
        index = _FIELDS.index(field)
        statuses = None if statuses is None else set(statuses)
        categories = None if categories is None else set(categories)
        skip = set(skip_statuses)
        return from_cents(sum(values[index] for (category, status), values in self.cells.items()
                              if (statuses is None or status in statuses) and status not in skip
                              and (categories is None or category in categories)))

    def by_category(self) -> dict[str, Decimal]:
        """Net expense (EUR) per category, all statuses; postings without category left out."""
        amounts: dict[str, int] = {}
        for (category, _status), values in self.cells.items():
            if category is not None:
                amounts[category] = amounts.get(category, 0) + values[0]
        return {category: from_cents(cents) for category, cents in amounts.items()}


def year_totals(session: Session, recipient: Recipient, school_year: SchoolYear,
                packs: tuple[RulePack, ...] | None = None, *, booked_until: date | None = None
                ) -> tuple[Totals, RunState]:
    """The totals ``compute_repayment`` rests on, and the evaluation state, as
    ``ledger.evaluation_runs.classified`` would give them (a closed year: its latest run).

    ``booked_until`` (a date) counts only entries dated up to that day. Today's rules and
    the latest run count as agreeing when the totals per category and status, the pack
    file (SHA-256) and the overrides applied are the same; otherwise the postings are
    compared one by one to count the changes (so a changed reason text alone, e.g. a
    renamed school, is not counted here).
    Raises RulePackError if no pack covers the year.
    """
    packs = packs or load_packs()
    overrides = active_overrides(session, recipient, school_year)
    live = _live_totals(session, recipient, school_year, packs, overrides, booked_until)
    run = latest_run(session, recipient, school_year)
    if booked_until is not None or run is None:
        return live, RunState(run and Run.of(run), False, False, live.postings if run is None else 0)
    stored = _run_totals(session, run.id)
    changed = 0
    if (stored != live or run.pack_digest != pack_for(school_year, packs).digest
            or _run_overrides(session, run.id) != {posting_id: o.id for posting_id, o in overrides.items()}):
        changed = count_changes(stored_items(session, run), evaluate(session, recipient, school_year, packs))
    frozen = str(school_year) in closed_years(session, recipient)
    return (stored if frozen else live), RunState(Run.of(run), frozen, changed == 0, changed)


def _live_totals(session: Session, recipient: Recipient, school_year: SchoolYear, packs: tuple[RulePack, ...],
                 overrides: dict, booked_until: date | None) -> Totals:
    """Today's totals; ``overrides``: the year's active overrides by posting id."""
    pack = pack_for(school_year, packs)
    centres = cost_centre_facts(session, recipient)
    expense = select(Account.id).where(Account.recipient_id == recipient.id, Account.type == "expense")
    # every reversal entry (the few there are, by the unique index on reverses_id); the
    # postings are this recipient's already through their accounts
    reversals = select(JournalEntry.id).where(JournalEntry.reverses_id.is_not(None))
    overridden = list(overrides)
    scope = [Posting.account_id.in_(expense), Posting.school_year == str(school_year)]
    if booked_until is not None:
        scope.append(Posting.date <= booked_until)
    special = list(session.scalars(select(Posting.id).where(*scope, Posting.entry_id.in_(reversals))))
    special += overridden
    common = [*scope, Posting.entry_id.not_in(reversals)]
    if overridden:
        common.append(Posting.id.not_in(overridden))
    first, last = school_year.first_day, school_year.last_day
    day_key = case((or_(Posting.category == "pass_through", Posting.date < first, Posting.date > last), Posting.date),
                   else_=None)
    builder = _Builder()
    groups = session.execute(
        select(Posting.category, Posting.cost_centre, day_key, func.min(Posting.date), func.sum(Posting.amount_cents),
               func.count()).where(*common).group_by(Posting.category, Posting.cost_centre, day_key))
    for category, code, key, some_day, cents, count in groups:
        facts = PostingFacts(from_cents(cents), key or some_day, school_year, category, code)
        c = classify(facts, centres.get(code) if code else None, pack)
        if c.status == "split":
            share = centres[code].pool.systemic_share / 100
            in_group = [Posting.category == category, Posting.cost_centre == code,
                        Posting.date == key if key is not None else and_(Posting.date >= first, Posting.date <= last)]
            conform = _split_cents(session, [*common, *in_group], share)
            builder.add(category, c.status, int(cents), conform, int(cents) - conform, 0, count)
        else:
            builder.add(category, c.status, int(cents), to_cents(c.conform), to_cents(c.excluded),
                        to_cents(c.unclassified), count)
    if special:
        for item in evaluate(session, recipient, school_year, packs, booked_until=booked_until, posting_ids=special):
            builder.add_item(item)
    return builder.totals()


def _split_cents(session: Session, where: list, share: Decimal) -> int:
    """Σ over the postings matching ``where`` of amount × ``share``, each rounded half up
    (away from zero) to whole cents: ``ledger.classify``'s per-posting split, in integers."""
    p, q = share.as_integer_ratio()
    cents = Posting.amount_cents
    rounded = case((cents >= 0, (2 * cents * p + q) // (2 * q)), else_=-((-2 * cents * p + q) // (2 * q)))
    return int(session.scalar(select(func.coalesce(func.sum(rounded), 0)).where(*where)))


def _run_overrides(session: Session, run_id: int) -> dict[int, int]:
    """The overrides a run applied: posting id → override id."""
    return dict(session.execute(select(StoredClassification.posting_id, StoredClassification.override_id).where(
        StoredClassification.run_id == run_id, StoredClassification.override_id.is_not(None))).all())


def _run_totals(session: Session, run_id: int) -> Totals:
    """A recorded run's stored classifications, summed by (category, status)."""
    builder = _Builder()
    for category, status, amount, conform, excluded, unclassified, count in session.execute(
            select(Posting.category, StoredClassification.status, func.sum(Posting.amount_cents),
                   func.sum(StoredClassification.conform_cents), func.sum(StoredClassification.excluded_cents),
                   func.sum(StoredClassification.unclassified_cents), func.count())
            .join(Posting, Posting.id == StoredClassification.posting_id)
            .where(StoredClassification.run_id == run_id)
            .group_by(Posting.category, StoredClassification.status)):
        builder.add(category, status, int(amount), int(conform), int(excluded), int(unclassified), count)
    return builder.totals()


class _Builder:
    def __init__(self) -> None:
        self.cells: dict[tuple[str | None, str], list[int]] = {}
        self.postings = 0

    def add(self, category: str | None, status: str, amount: int, conform: int, excluded: int, unclassified: int,
            count: int = 1) -> None:
        cell = self.cells.setdefault((category, status), [0, 0, 0, 0])
        for index, value in enumerate((amount, conform, excluded, unclassified)):
            cell[index] += value
        self.postings += count

    def add_item(self, item: Evaluated) -> None:
        c = item.classification
        self.add(item.category, c.status, to_cents(item.amount), to_cents(c.conform), to_cents(c.excluded),
                 to_cents(c.unclassified))

    def totals(self) -> Totals:
        return Totals({key: tuple(values) for key, values in self.cells.items()}, self.postings)

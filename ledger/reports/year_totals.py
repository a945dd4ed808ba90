"""A school year's classification totals, summed by the database (the repayment's fast path).

``compute_repayment`` needs sums per category and status, not every posting. Postings
the rules engine decides alike are summed together: the group is (category, cost centre),
read from the running totals kept with the postings (``ledger.core.running_totals``,
migration 0027; with ``booked_until`` summed in SQL over the covering index
``ix_postings_year_totals`` instead), split further by booking date, from the postings, only
where ``ledger.rules.classify`` can tell its dates apart (a verification of a pass-through's
municipality within the group's dates, or dates outside the school year, rule 3).
Each group is classified once by ``ledger.rules.classify``; a mixed pool's systemic share is
rounded half up per posting in integer SQL, as ``classify`` rounds each posting.
Reversals and postings with an active override are few and evaluated one by one
(``ledger.rules.evaluate``), like every posting of a closed year's recorded run, whose stored
classifications are summed in SQL. The totals equal the sums over ``ledger.rules.evaluate``
exactly; ``tests/test_year_totals.py`` checks that on random books.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, null, select
from sqlalchemy.orm import Session

from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import (
    Account,
    AccountYearTotal,
    EvaluationRun,
    JournalEntry,
    Override,
    Posting,
    Recipient,
    StoredClassification,
)
from ledger.core.money import from_cents, to_cents
from ledger.core.schoolyear import SchoolYear
from ledger.reports.totals import Totals, TotalsBuilder
from ledger.rules.classify import (
    CostCentreFacts,
    PostingFacts,
    classify,
    systemic_cents_sql,
)
from ledger.rules.evaluate import cost_centre_facts, evaluate
from ledger.rules.evaluation_runs import (
    RunState,
    count_changes,
    run_state,
    stored_items,
    years_with_runs_of,
)
from ledger.rules.overrides import active_overrides, active_overrides_of
from ledger.rules.packs import RulePack, load_packs, pack_for
from ledger.rules.status import Status


def year_totals(session: Session, recipient: Recipient, school_year: SchoolYear,
                packs: tuple[RulePack, ...] | None = None, *, booked_until: date | None = None,
                centres: dict[str, CostCentreFacts] | None = None,
                known: "RecipientYears | None" = None) -> tuple[Totals, RunState]:
    """The totals ``compute_repayment`` rests on, and the evaluation state, as
    ``ledger.rules.evaluation_runs.classified`` would give them (a closed year: its latest run).

    ``booked_until`` (a date) counts only entries dated up to that day. ``centres``: the
    recipient's cost centres (``ledger.rules.evaluate.cost_centre_facts``), loaded here if None.
    ``known``: the recipient's years read at once (``RecipientYears``; ignored with ``booked_until``).
    Today's rules and the latest run count as agreeing when the totals per category and
    status, the pack file (SHA-256) and the overrides applied are the same; otherwise the
    postings are compared one by one to count the changes (so a changed reason text alone,
    e.g. a renamed school, is not counted here).
    Raises RulePackError if no pack covers the year.
    """
    packs = packs or load_packs()
    year = str(school_year)
    known = None if booked_until is not None else known
    overrides = (active_overrides(session, recipient, school_year) if known is None
                 else known.overrides.get(year, {}))
    centres = cost_centre_facts(session, recipient) if centres is None else centres
    kept = None if known is None or known.kept is None else known.kept.get(year, ({}, False))
    live = _live_totals(session, recipient, school_year, packs, overrides, booked_until, centres, kept)
    stored: list[Totals] = []

    def changes(run: EvaluationRun) -> int:
        stored.append(_run_totals(session, run.id))
        if (stored[0] == live and run.pack_digest == pack_for(INKLUSIONSPAUSCHALE, school_year, packs).digest
                and _run_overrides(session, run.id) == {posting_id: o.id for posting_id, o in overrides.items()}):
            return 0
        return count_changes(stored_items(session, run), evaluate(session, recipient, school_year, packs))

    state = run_state(session, recipient, school_year, booked_until=booked_until, postings=live.postings,
                      changes=changes, has_runs=known is None or year in known.runs)
    return (stored[0] if state.frozen else live), state


@dataclass(frozen=True)
class RecipientYears:
    """What ``year_totals`` reads of each school year, read for all of a recipient's years at
    once (``compute_many``: three queries for all recipients instead of three per year): the running totals'
    groups and whether reversal postings exist (``_kept_groups``; None: read per year when
    needed), the active overrides by posting id, and the years with an evaluation run; each
    by school year (``"2023/24"``)."""

    kept: dict[str, tuple["Groups", bool]] | None
    overrides: dict[str, dict[int, Override]]
    runs: set[str]

    @classmethod
    def load_of(cls, session: Session, recipient_ids: list[int], *,
                running_totals: bool = True) -> dict[int, "RecipientYears"]:
        """The facts of every school year of each recipient of ``recipient_ids``, by recipient
        id (every id is in the result): three queries however many recipients; two without
        the ``running_totals``' groups (``kept`` None), which are the most of what is read
        (summing a recipient's running totals of ten years: about 12 ms at 1 000 000 postings)."""
        kept = _kept_groups(session, recipient_ids, None) if running_totals else {}
        overrides = active_overrides_of(session, recipient_ids)
        runs = years_with_runs_of(session, recipient_ids)
        return {rid: cls(kept.get(rid), overrides.get(rid, {}), runs.get(rid, set())) for rid in recipient_ids}


def _live_totals(session: Session, recipient: Recipient, school_year: SchoolYear, packs: tuple[RulePack, ...],
                 overrides: dict, booked_until: date | None, centres: dict[str, CostCentreFacts],
                 kept: "tuple[Groups, bool] | None" = None) -> Totals:
    """Today's totals; ``overrides``: the year's active overrides by posting id;
    ``centres``: the recipient's cost centres by code. Without ``booked_until`` the groups
    come from the running totals (``_kept_groups``), otherwise from the postings."""
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    if booked_until is None:
        if kept is None:
            kept = _kept_groups(session, [recipient.id], school_year)[recipient.id][str(school_year)]
        kept, reversals_kept = kept
        if not (kept or reversals_kept or overrides):
            return TotalsBuilder().totals()  # no expense posting in the year
    scope = list(_year_scope(recipient.id, str(school_year)))
    if booked_until is not None:
        kept = None
        scope.append(Posting.date <= booked_until)
    reversals = _reversal_postings()
    reversed_here = ([] if kept is not None and not reversals_kept
                     else list(session.scalars(select(Posting.id).where(*scope, Posting.id.in_(reversals)))))
    special = reversed_here + list(overrides)
    common = list(scope)  # the specials are left out by posting id, which the index holds on SQLite (the rowid)
    if reversed_here:
        common.append(Posting.id.not_in(reversals))
    if overrides:
        common.append(Posting.id.not_in(list(overrides)))
    builder = TotalsBuilder()
    split = _split_column(centres)
    if kept is None:
        groups = _groups(session, common, split)
    else:
        groups = _without_overridden(session, kept, scope, list(overrides))
        _add_split(session, groups, common, split, centres)
    _add_groups(session, builder, groups, common, split, school_year, pack, centres, recipient.kind)
    if special:
        for item in evaluate(session, recipient, school_year, packs, booked_until=booked_until, posting_ids=special):
            builder.add_item(item)
    return builder.totals()


@functools.lru_cache(maxsize=1024)
def _year_scope(recipient_id: int, school_year: str) -> tuple:
    """The conditions on ``Posting`` selecting the expense postings of a recipient's school
    year (``"2023/24"``); built once per pair (an expression costs more to build than the
    overview spends on most years, which need none of it)."""
    expense = select(Account.id).where(Account.recipient_id == recipient_id, Account.type == "expense")
    return Posting.account_id.in_(expense), Posting.school_year == school_year


@functools.cache
def _reversal_postings():
    """The ids of postings of reversal entries (the few there are, by the unique index on
    ``reverses_id``), as a subquery; built once."""
    return select(Posting.id).where(Posting.entry_id.in_(
        select(JournalEntry.id).where(JournalEntry.reverses_id.is_not(None))))


Groups = dict[tuple[str | None, str | None], tuple[int, int, date, date, int | None]]


def _kept_groups(session: Session, recipient_ids: list[int],
                 school_year: SchoolYear | None) -> dict[int, dict[str, tuple[Groups, bool]]]:
    """The expense postings of entries that are no reversals, by recipient (every id of
    ``recipient_ids`` is in the result), school year and (category, cost centre code), from
    the running totals (``ledger.core.running_totals``): (sum of cents, count, first date,
    last date, None), and whether the year has postings of reversal entries; of
    ``school_year`` only (then the year is always in the result) or of every year (None)."""
    found: dict[int, dict[str, tuple[Groups, bool]]] = {
        rid: {} if school_year is None else {str(school_year): ({}, False)} for rid in recipient_ids}
    expense = select(Account.id).where(Account.recipient_id.in_(recipient_ids), Account.type == "expense")
    where = [AccountYearTotal.recipient_id.in_(recipient_ids), AccountYearTotal.account_id.in_(expense)]
    if school_year is not None:
        where.append(AccountYearTotal.school_year == str(school_year))
    for rid, year, category, code, reversal, cents, count, first_day, last_day in session.execute(
            select(AccountYearTotal.recipient_id, AccountYearTotal.school_year, AccountYearTotal.category,
                   AccountYearTotal.cost_centre, AccountYearTotal.reversal, func.sum(AccountYearTotal.amount_cents),
                   func.sum(AccountYearTotal.postings), func.min(AccountYearTotal.first_day),
                   func.max(AccountYearTotal.last_day))
            .where(*where)
            .group_by(AccountYearTotal.recipient_id, AccountYearTotal.school_year, AccountYearTotal.category,
                      AccountYearTotal.cost_centre, AccountYearTotal.reversal)):
        years = found[rid]
        groups, reversals = years.get(year, ({}, False))
        if reversal:
            years[year] = (groups, True)
            continue
        groups[(category or None, code or None)] = (int(cents), int(count), _as_date(first_day),
                                                     _as_date(last_day), None)
        years[year] = (groups, reversals)
    return found


def _without_overridden(session: Session, groups: Groups, scope: list, overridden: list[int]) -> Groups:
    """A copy of ``groups`` less the postings ``overridden`` (by id) of entries that are no reversals
    (those are in the groups; their first and last dates stay, a wider range only makes
    ``_dates_matter`` look at the days)."""
    groups = dict(groups)  # a copy: the caller's may be kept for other uses (``RecipientYears``)
    if not overridden:
        return groups
    for category, code, cents in session.execute(
            select(Posting.category, Posting.cost_centre, Posting.amount_cents)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(*scope, Posting.id.in_(overridden), JournalEntry.reverses_id.is_(None))):
        key = (category or None, code or None)
        total, count, first_day, last_day, _split = groups[key]
        if count == 1:
            del groups[key]
        else:
            groups[key] = (total - cents, count - 1, first_day, last_day, None)
    return groups


def _add_split(session: Session, groups: Groups, common: list, split, centres: dict[str, CostCentreFacts]) -> None:
    """Fill in the per-posting split sum (``_split_column``) of the groups with a category whose
    cost centre has a systemic share: rounded per posting, so summed from those postings only."""
    codes = sorted({code for _category, code in groups if code is not None and code in centres
                    and centres[code].pool is not None and centres[code].pool.systemic_share is not None})
    # Postings without a category are unclassified whatever their cost centre: no split. Naming
    # the categories lets ix_postings_year_totals read only these groups' postings (1,4 → 0,3 ms).
    categories = sorted({category for category, code in groups if code in codes and category is not None})
    if not categories:
        return
    for category, code, split_cents in session.execute(
            select(Posting.category, Posting.cost_centre, split)
            .where(*common, Posting.category.in_(categories), Posting.cost_centre.in_(codes))
            .group_by(Posting.category, Posting.cost_centre)):
        if (category, code) in groups and split_cents is not None:
            groups[(category, code)] = (*groups[(category, code)][:4], int(split_cents))


def _as_date(value) -> date:
    """A date as the database returns a MIN/MAX of a date column (text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _add_groups(session: Session, builder: "TotalsBuilder", groups: Groups, common: list, split,
                school_year: SchoolYear, pack: RulePack, centres: dict[str, CostCentreFacts],
                recipient_kind: str) -> None:
    """Classify the postings matching ``common`` group by group (``groups``: ``_groups`` or
    ``_kept_groups``), by day where the date can change the decision (``_dates_matter``,
    then from the postings), and add them to ``builder``."""
    for (category, code), (cents, count, first_day, last_day, split_cents) in groups.items():
        centre = centres.get(code) if code else None
        if not _dates_matter(pack.kind_of(category), centre, first_day, last_day, school_year):
            facts = PostingFacts(from_cents(cents), first_day, school_year, category, code, recipient_kind)
            _add_group(builder, facts, centre, pack, count, split_cents)
            continue
        for day, day_cents, day_count, day_split in session.execute(
                select(Posting.date, func.sum(Posting.amount_cents), func.count(), split)
                .where(*common, Posting.category == category, Posting.cost_centre == code)
                .group_by(Posting.date)):
            facts = PostingFacts(from_cents(day_cents), day, school_year, category, code, recipient_kind)
            _add_group(builder, facts, centre, pack, day_count, day_split)


def _groups(session: Session, where: list, split) -> dict[tuple[str | None, str | None],
                                                          tuple[int, int, date, date, int | None]]:
    """The postings matching ``where`` by (category, cost centre code): (sum of cents, count,
    first date, last date, sum of the column ``split``). Summed per account in the order
    of ``ix_postings_year_totals`` (an index-only scan without sorting), then merged across
    accounts here."""
    groups: dict[tuple[str | None, str | None], tuple[int, int, date, date, int | None]] = {}
    for category, code, cents, count, first_day, last_day, split_cents in session.execute(
            select(Posting.category, Posting.cost_centre, func.sum(Posting.amount_cents), func.count(),
                   func.min(Posting.date), func.max(Posting.date), split)
            .where(*where).group_by(Posting.account_id, Posting.category, Posting.cost_centre)):
        known = groups.get((category, code))
        if known is not None:
            cents, count = cents + known[0], count + known[1]
            first_day, last_day = min(first_day, known[2]), max(last_day, known[3])
            split_cents = None if split_cents is None else split_cents + known[4]
        groups[(category, code)] = (int(cents), count, first_day, last_day,
                                    None if split_cents is None else int(split_cents))
    return groups


def _dates_matter(kind: str | None, centre: CostCentreFacts | None, first_day: date, last_day: date,
                  school_year: SchoolYear) -> bool:
    """Whether ``ledger.rules.classify`` may judge postings of one category (of rule ``kind``,
    ``RulePack.kind_of``) and cost centre dated ``first_day`` … ``last_day`` differently by
    their date: when some lie outside the school year (rule 3), for a category of the kind
    pool personnel when some lie outside the pool's term, or for a category of the kind
    pass-through when a verification of the municipality falls after the first day and on or
    before the last (verified on or before the booking date or not).
    Otherwise one classification of the group's sum is the sum of the postings'."""
    if first_day < school_year.first_day or last_day > school_year.last_day:
        return True
    pool = centre.pool if centre is not None and kind == "pool_personnel" else None
    if pool is not None and not (pool.runs_on(first_day) and pool.runs_on(last_day)):
        return True
    town = centre.municipality if centre is not None and kind == "pass_through" else None
    return town is not None and any(first_day < day <= last_day for day in town.verified_on)


def _add_group(builder: "TotalsBuilder", facts: PostingFacts, centre: CostCentreFacts | None, pack: RulePack,
               count: int, split_cents: int | None) -> None:
    """Classify the sum ``facts`` of ``count`` postings (alike for ``ledger.rules.classify``) and
    add it to ``builder``; a mixed pool's share is ``split_cents``, summed per posting
    (``_split_column``)."""
    c = classify(facts, centre, pack)
    cents = to_cents(facts.amount)
    if c.status == Status.SPLIT:
        builder.add(facts.category, c.status, cents, split_cents, cents - split_cents, 0, count)
    else:
        builder.add(facts.category, c.status, cents, to_cents(c.conform), to_cents(c.excluded),
                    to_cents(c.unclassified), count)


def _split_column(centres: dict[str, CostCentreFacts]):
    """The SQL sum over postings of their cost centre's pool's systemic part
    (``ledger.rules.classify.systemic_cents_sql``: the per-posting split's rounding).
    NULL for postings of cost centres without a share (and if none has one)."""
    codes: dict[Decimal, list[str]] = {}
    for code, centre in centres.items():
        if centre.pool is not None and centre.pool.systemic_share is not None:
            codes.setdefault(centre.pool.systemic_share, []).append(code)
    return _split_sum(tuple(sorted((share, tuple(sorted(same))) for share, same in codes.items())))


@functools.lru_cache(maxsize=64)
def _split_sum(shares: tuple[tuple[Decimal, tuple[str, ...]], ...]):
    """``_split_column`` of the cost centre codes per systemic share (built once per set:
    building the expression costs more than the query it is part of)."""
    if not shares:
        return null()
    return func.sum(case(*((Posting.cost_centre.in_(same), systemic_cents_sql(Posting.amount_cents, share))
                           for share, same in shares)))


def _run_overrides(session: Session, run_id: int) -> dict[int, int]:
    """The overrides a run applied: posting id → override id."""
    return dict(session.execute(select(StoredClassification.posting_id, StoredClassification.override_id).where(
        StoredClassification.run_id == run_id, StoredClassification.override_id.is_not(None))).all())


def _run_totals(session: Session, run_id: int) -> Totals:
    """A recorded run's stored classifications, summed by (category, status)."""
    builder = TotalsBuilder()
    for category, status, amount, conform, excluded, unclassified, count in session.execute(
            select(Posting.category, StoredClassification.status, func.sum(Posting.amount_cents),
                   func.sum(StoredClassification.conform_cents), func.sum(StoredClassification.excluded_cents),
                   func.sum(StoredClassification.unclassified_cents), func.count())
            .join(Posting, Posting.id == StoredClassification.posting_id)
            .where(StoredClassification.run_id == run_id)
            .group_by(Posting.category, StoredClassification.status)):
        builder.add(category, status, int(amount), int(conform), int(excluded), int(unclassified), count)
    return builder.totals()

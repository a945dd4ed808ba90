"""Running the rules engine over the books: facts from the database, the review queue.

``evaluate`` loads a school year's expense postings with the master data their cost
centres point to and classifies each with ``ledger.rules.classify`` under the pack in force.
Officers' overrides (``ledger.rules.overrides``) replace the engine's result for their posting.
``review_queue`` keeps the postings that cannot be decided yet (missing category, unknown
cost centre, pool without financing basis, …). Recorded runs: ``ledger.rules.evaluation_runs``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import (
    Account,
    CostCentre,
    JournalEntry,
    Municipality,
    Override,
    PassThroughVerification,
    Pool,
    Posting,
    Recipient,
    School,
    pool_schools,
)
from ledger.core.money import ZERO, format_plain, from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.rules.classify import (
    Classification,
    CostCentreFacts,
    MunicipalityFacts,
    PoolFacts,
    PostingFacts,
    SchoolFacts,
    classify,
)
from ledger.rules.overrides import active_overrides
from ledger.rules.packs import RulePack, load_packs, pack_for
from ledger.rules.status import Status


@dataclass(frozen=True)
class Evaluated:
    """One expense posting (ids, date, voucher, text, account, EUR amount, category, cost centre)
    and its effective ``classification``: the officer's override where one applies
    (``override_id``), else the rules engine's (``engine``, kept for comparison)."""

    posting_id: int
    entry_id: int
    day: date
    voucher_number: str
    text: str
    account: str
    amount: Decimal
    category: str | None
    cost_centre: str | None
    classification: Classification
    engine: Classification | None = None
    override_id: int | None = None

    def as_json(self) -> dict:
        """A JSON-ready dict, the one shape of a posting in ``inkl review --json``, ``inkl
        classification --json`` and the API's review queue: amounts as strings with two
        decimals, the date ISO, ids of rule, category, status and rule pack (never labels);
        ``override`` the id of the officer's override that decides it, or None."""
        c = self.classification
        return {"posting_id": self.posting_id, "entry_id": self.entry_id, "date": self.day.isoformat(),
                "voucher_number": self.voucher_number, "text": self.text, "account": self.account,
                "amount": format_plain(self.amount), "category": self.category, "cost_centre": self.cost_centre,
                "status": c.status, "conform": format_plain(c.conform), "excluded": format_plain(c.excluded),
                "unclassified": format_plain(c.unclassified), "rule": c.rule, "reason": c.reason, "source": c.source,
                "rule_pack": {"id": c.pack_id, "version": c.pack_version}, "review": c.review,
                "override": self.override_id}


def evaluate(session: Session, recipient: Recipient, school_year: SchoolYear,
             packs: tuple[RulePack, ...] | None = None, *, booked_until: date | None = None,
             entry_id: int | None = None, posting_ids: Collection[int] | None = None) -> list[Evaluated]:
    """Classify every expense posting of ``recipient`` in ``school_year``, in booking order.

    The year is judged by the pack in force for it (``ledger.rules.packs.pack_for``); active
    overrides (``ledger.rules.overrides``) replace the engine's result. A reversal is judged
    like the posting it reverses (its date, its override, negated), so the two cancel.
    ``booked_until`` (a date) keeps only entries dated up to that day; ``entry_id`` only
    that journal entry's postings (the entry page); ``posting_ids`` only those postings.
    """
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs or load_packs())
    centres = cost_centre_facts(session, recipient)
    overrides = active_overrides(session, recipient, school_year)
    query = (
        select(Posting.id, JournalEntry.id, JournalEntry.date, JournalEntry.voucher_number, JournalEntry.text,
               Account.number, Posting.amount_cents, Posting.category, Posting.cost_centre, JournalEntry.reverses_id)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.recipient_id == recipient.id, Account.type == "expense",
               Posting.school_year == str(school_year))
        .order_by(JournalEntry.date, JournalEntry.id, Posting.id)
    )
    if booked_until is not None:
        query = query.where(JournalEntry.date <= booked_until)
    if entry_id is not None:
        query = query.where(JournalEntry.id == entry_id)
    if posting_ids is not None:
        query = query.where(Posting.id.in_(posting_ids))
    rows = session.execute(query).all()
    originals = _reversed_postings(session, [row for row in rows if row[9] is not None])
    evaluated = []
    decided: dict[PostingFacts, Classification] = {}  # equal facts, equal decision: decide once
    for posting_id, entry_id, day, voucher, text, account, cents, category, code, reverses in rows:
        judged_day, override_key = originals.get(posting_id, (day, posting_id))
        facts = PostingFacts(from_cents(cents), judged_day, school_year, category, code, recipient.kind)
        engine = decided.get(facts)
        if engine is None:
            engine = decided[facts] = classify(facts, centres.get(code) if code else None, pack)
        override = overrides.get(override_key)
        effective = engine if override is None else _overridden(engine, override, facts.amount, pack, category,
                                                                negate=override_key != posting_id)
        evaluated.append(Evaluated(posting_id, entry_id, day, voucher, text, account, facts.amount, category, code,
                                   effective, engine, None if override is None else override.id))
    return evaluated


def review_queue(session: Session, recipient: Recipient, school_year: SchoolYear,
                 packs: tuple[RulePack, ...] | None = None) -> list[Evaluated]:
    """The postings whose classification names something an officer must still supply."""
    return [item for item in evaluate(session, recipient, school_year, packs) if item.classification.review]


def _reversed_postings(session: Session, reversal_rows) -> dict[int, tuple[date, int]]:
    """For each reversal posting: the reversed entry's date and the id of the posting it
    mirrors (reversals copy their original's lines in order, ``ledger.core.posting.reverse_entry``)."""
    entry_ids = {row[9] for row in reversal_rows}
    if not entry_ids:
        return {}
    lines: dict[int, list[int]] = {}
    days: dict[int, date] = {}
    for entry_id, day, posting_id in session.execute(
            select(JournalEntry.id, JournalEntry.date, Posting.id).join(Posting, Posting.entry_id == JournalEntry.id)
            .where(JournalEntry.id.in_(entry_ids)).order_by(Posting.id)):
        lines.setdefault(entry_id, []).append(posting_id)
        days[entry_id] = day
    mine: dict[int, list[int]] = {}
    for entry_id, reversal_ids in session.execute(
            select(JournalEntry.reverses_id, Posting.id).join(Posting, Posting.entry_id == JournalEntry.id)
            .where(JournalEntry.reverses_id.in_(entry_ids)).order_by(Posting.id)):
        mine.setdefault(entry_id, []).append(reversal_ids)
    return {reversal: (days[entry_id], original)
            for entry_id, reversals in mine.items() for reversal, original in zip(reversals, lines[entry_id])}


def _overridden(engine: Classification, override: Override, amount: Decimal, pack: RulePack, category: str | None,
                *, negate: bool) -> Classification:
    """The officer's override as the effective classification (overhead stays under the cap)."""
    conform = from_cents(-override.conform_cents if negate else override.conform_cents)
    status = Status(override.status)
    if conform and category and pack.has_category(category) and pack.category(category).status == Status.CAPPED:
        status = Status.CAPPED
    reason = (f"Abweichende Einstufung Nr. {override.id} ({Status(override.status).label}) von "
              f"{override.created_by} am {override.created_at:%d.%m.%Y}: {override.justification}")
    return Classification(status, conform, amount - conform, ZERO, "override", reason,
                          f"Begründung der abweichenden Einstufung Nr. {override.id}", engine.pack_id,
                          engine.pack_version)


def cost_centre_facts(session: Session, recipient: Recipient) -> dict[str, CostCentreFacts]:
    """Every cost centre of ``recipient`` with the master data it points to, by code."""
    return cost_centre_facts_of(session, [recipient.id]).get(recipient.id, {})


def cost_centre_facts_of(session: Session, recipient_ids: list[int]) -> dict[int, dict[str, CostCentreFacts]]:
    """``cost_centre_facts`` of each recipient of ``recipient_ids``: recipient id → code →
    facts; recipients without cost centres are missing.

    Read as plain rows, not ORM objects (every dashboard and repayment computation calls
    this): the cost centres joined to their school, pool and municipality, then the pools'
    schools (by school number) and the municipalities' verification dates (oldest first),
    each only if some cost centre needs them; three queries however many recipients.
    """
    rows = session.execute(
        select(CostCentre.recipient_id, CostCentre.code, CostCentre.project, CostCentre.pool_id,
               CostCentre.municipality_id, School.school_number, School.name, School.gl_school, Pool.key,
               Pool.financing_basis, Pool.systemic_share, Pool.period_start, Pool.period_end, Municipality.name,
               Municipality.gl_bearer)
        .outerjoin(School, CostCentre.school_id == School.id)
        .outerjoin(Pool, CostCentre.pool_id == Pool.id)
        .outerjoin(Municipality, CostCentre.municipality_id == Municipality.id)
        .where(CostCentre.recipient_id.in_(recipient_ids))).all()
    members = _pool_schools(session, {row.pool_id for row in rows if row.pool_id is not None})
    verified = _verification_dates(session, {row.municipality_id for row in rows if row.municipality_id is not None})
    facts: dict[int, dict[str, CostCentreFacts]] = {}
    for (recipient_id, code, project, pool_id, municipality_id, number, school_name, gl_school, pool_key, basis,
         share, pool_start, pool_end, town, gl_bearer) in rows:
        facts.setdefault(recipient_id, {})[code] = CostCentreFacts(
            code,
            school=None if number is None else SchoolFacts(number, school_name, gl_school),
            pool=None if pool_id is None else PoolFacts(pool_key, basis, share, tuple(members.get(pool_id, ())),
                                                        pool_start, pool_end),
            municipality=None if municipality_id is None else MunicipalityFacts(
                town, gl_bearer, tuple(verified.get(municipality_id, ()))),
            project=project,
        )
    return facts


def _pool_schools(session: Session, pool_ids: set[int]) -> dict[int, list[SchoolFacts]]:
    """The schools of each pool of ``pool_ids``, by school number."""
    members: dict[int, list[SchoolFacts]] = {}
    if pool_ids:
        for pool_id, number, name, gl_school in session.execute(
                select(pool_schools.c.pool_id, School.school_number, School.name, School.gl_school)
                .join(School, pool_schools.c.school_id == School.id)
                .where(pool_schools.c.pool_id.in_(pool_ids)).order_by(School.school_number)):
            members.setdefault(pool_id, []).append(SchoolFacts(number, name, gl_school))
    return members


def _verification_dates(session: Session, municipality_ids: set[int]) -> dict[int, list[date]]:
    """The dates each municipality of ``municipality_ids`` was verified on, oldest first."""
    dates: dict[int, list[date]] = {}
    if municipality_ids:
        for municipality_id, day in session.execute(
                select(PassThroughVerification.municipality_id, PassThroughVerification.verified_on)
                .where(PassThroughVerification.municipality_id.in_(municipality_ids))
                .order_by(PassThroughVerification.verified_on)):
            dates.setdefault(municipality_id, []).append(day)
    return dates


def pool_facts(pool: Pool) -> PoolFacts:
    """A pool as the rules engine sees it (key, financing basis, systemic share, schools, term)."""
    return PoolFacts(pool.key, pool.financing_basis, pool.systemic_share, tuple(_school(s) for s in pool.schools),
                     pool.period_start, pool.period_end)


def _school(school: School) -> SchoolFacts:
    return SchoolFacts(school.school_number, school.name, school.gl_school)

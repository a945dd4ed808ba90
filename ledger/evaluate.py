"""Running the rules engine over the books: facts from the database, the review queue.

``evaluate`` loads a school year's expense postings with the master data their cost
centres point to and classifies each with ``ledger.classify`` under the pack in force.
``review_queue`` keeps the postings that cannot be decided yet (missing category, unknown
cost centre, pool without financing basis, …). The repayment still sums the postings'
categories; storing classifications, overrides and re-evaluation records comes next.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ledger.classify import (Classification, CostCentreFacts, MunicipalityFacts, PoolFacts, PostingFacts,
                             SchoolFacts, classify)
from ledger.models import Account, CostCentre, JournalEntry, Municipality, Pool, Posting, Recipient, School
from ledger.money import from_cents
from ledger.rules import RulePack, load_packs, pack_for
from ledger.schoolyear import SchoolYear


@dataclass(frozen=True)
class Evaluated:
    """One expense posting (ids, date, voucher, text, account, EUR amount, category, cost centre)
    and the engine's classification of it."""

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


def evaluate(session: Session, recipient: Recipient, school_year: SchoolYear,
             packs: tuple[RulePack, ...] | None = None) -> list[Evaluated]:
    """Classify every expense posting of ``recipient`` in ``school_year``, in booking order."""
    pack = pack_for(school_year, packs or load_packs())
    centres = cost_centre_facts(session, recipient)
    rows = session.execute(
        select(Posting.id, JournalEntry.id, JournalEntry.date, JournalEntry.voucher_number, JournalEntry.text,
               Account.number, Posting.amount_cents, Posting.category, Posting.cost_centre)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.recipient_id == recipient.id, Account.type == "expense",
               Posting.school_year == str(school_year))
        .order_by(JournalEntry.date, JournalEntry.id, Posting.id)
    )
    evaluated = []
    for posting_id, entry_id, day, voucher, text, account, cents, category, code in rows:
        facts = PostingFacts(from_cents(cents), day, school_year, category, code)
        evaluated.append(Evaluated(posting_id, entry_id, day, voucher, text, account, facts.amount, category, code,
                                   classify(facts, centres.get(code) if code else None, pack)))
    return evaluated


def review_queue(session: Session, recipient: Recipient, school_year: SchoolYear,
                 packs: tuple[RulePack, ...] | None = None) -> list[Evaluated]:
    """The postings whose classification names something an officer must still supply."""
    return [item for item in evaluate(session, recipient, school_year, packs) if item.classification.review]


def cost_centre_facts(session: Session, recipient: Recipient) -> dict[str, CostCentreFacts]:
    """Every cost centre of ``recipient`` with the master data it points to, by code."""
    centres = session.scalars(
        select(CostCentre).where(CostCentre.recipient_id == recipient.id).options(
            selectinload(CostCentre.school), selectinload(CostCentre.pool).selectinload(Pool.schools),
            selectinload(CostCentre.municipality).selectinload(Municipality.verifications))
    )
    return {c.code: CostCentreFacts(
        c.code,
        school=None if c.school is None else _school(c.school),
        pool=None if c.pool is None else PoolFacts(c.pool.key, c.pool.financing_basis, c.pool.systemic_share,
                                                   tuple(_school(s) for s in c.pool.schools)),
        municipality=None if c.municipality is None else MunicipalityFacts(
            c.municipality.name, c.municipality.gl_bearer, tuple(v.verified_on for v in c.municipality.verifications)),
        project=c.project,
    ) for c in centres}


def _school(school: School) -> SchoolFacts:
    return SchoolFacts(school.school_number, school.name, school.gl_school)

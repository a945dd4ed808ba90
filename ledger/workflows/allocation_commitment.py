"""The commitment (Mittelbindung) of an allocation plan's ceilings in the grantor's books, its
consumption by accepted claims, and the release of the rest at the end of the claim window.

Source: "Bereitstellung von Inklusionshelfern in den allgemeinen Schulen im Kreis Mettmann –
Rahmenbedingungen", Nr. 2.2 (the amounts of Anlage 1 are maxima: what the Kreis binds),
Nr. 4.1 (claims until 15.11.2014) and Nr. 4.4 („Nicht beanspruchte / abgerufene Mittel
verbleiben im Kreishaushalt. Eine Weitergabe der Mittel an andere kreisangehörige Städte ist …
nicht möglich.“).

Accounts: a pair of memo accounts (Vormerkkonten, off balance) in the grantor's chart, added
on first use: COMMITTED, the open commitment (Obligo, debit balance) and COMMITTED_CONTRA, its
counter account (credit balance). Every entry touching one touches the other by the same
amount, so the pair always sums to 0,00 EUR: it never changes the result, the bank or a
liability, it only shows how much of the plan is still bound.

- commit (:func:`commit_plan`): debit COMMITTED, credit COMMITTED_CONTRA by the sum of the
  ceilings; if claims were accepted before, the same entry consumes their total at once;
- each accepted claim (``ledger.workflows.allocation.add_claim``): debit COMMITTED_CONTRA,
  credit COMMITTED by the accepted amount (:func:`consumption_lines`), while the plan is
  committed and not released; the claim's expense and liability are booked as before;
- release (:func:`release_plan`), only after the claim window: debit COMMITTED_CONTRA, credit
  COMMITTED by what is still bound (ceilings − accepted). The open commitment is then 0,00 EUR;
  the released money stays with the grantor (nothing is booked to any recipient).

Committing or releasing twice is refused (German message); the records are append-only
(``allocation_commitments``, migration 0022).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import AllocationClaim, AllocationCommitment, Recipient
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import add_account, find_account, get_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.allocation import compute_allocation
from ledger.rules.packs import RulePack

#: The memo accounts of a commitment: (number, German name, type). Class 0 numbers are unused by
#: the ledger's standard chart; asset/liability keep debit and credit balances readable.
COMMITTED = ("0910", "Mittelbindung Inklusionshilfe (Obligo, Vormerkkonto)", "asset")
COMMITTED_CONTRA = ("0920", "Gegenkonto Mittelbindung Inklusionshilfe (Vormerkkonto)", "liability")


def commitment(session: Session, plan_key: str, kind: str) -> AllocationCommitment | None:
    """The plan's commitment record of ``kind`` (``"commit"`` or ``"release"``), or None."""
    return session.scalar(select(AllocationCommitment).where(AllocationCommitment.plan_key == plan_key,
                                                             AllocationCommitment.kind == kind))


def _account(session: Session, recipient: Recipient, spec: tuple[str, str, str], *, actor: str, now: datetime):
    number, name, type_ = spec
    return find_account(session, recipient, number) or add_account(session, recipient, number, name, type_,
                                                                   actor=actor, now=now)


def consumption_lines(session: Session, plan_key: str, grantor: Recipient, amount: Decimal, year: SchoolYear, *,
                      actor: str, now: datetime) -> list[PostingLine]:
    """The two posting lines that consume ``amount`` (EUR > 0) of the plan's commitment (debit
    COMMITTED_CONTRA, credit COMMITTED), or none if the plan is not committed or already released."""
    if commitment(session, plan_key, "commit") is None or commitment(session, plan_key, "release") is not None:
        return []
    return [PostingLine(_account(session, grantor, COMMITTED_CONTRA, actor=actor, now=now), amount, year),
            PostingLine(_account(session, grantor, COMMITTED, actor=actor, now=now), -amount, year)]


def _accepted_total(session: Session, plan_key: str) -> Decimal:
    return from_cents(session.scalar(select(func.coalesce(func.sum(AllocationClaim.accepted_cents), 0))
                                     .where(AllocationClaim.plan_key == plan_key)))


def commit_plan(session: Session, plan_key: str, day: date, *, actor: str, now: datetime,
                packs: tuple[RulePack, ...] | None = None) -> AllocationCommitment:
    """Book the commitment of all ceilings of plan ``plan_key`` on ``day`` in the grantor's books
    (see the module docstring). The caller commits.

    Raises:
        NoRulePack: no pack has the plan.
        NotFound: the grantor is not in the ledger.
        LedgerError: the plan is committed already, or ``day`` is after the claim window.
    """
    allocation = compute_allocation(plan_key, packs)
    plan, rule = allocation.plan, allocation.pack.allocation
    if commitment(session, plan_key, "commit") is not None:
        raise LedgerError(f"Die Mittel des Verteilungsplans „{plan.title}“ sind bereits gebunden; "
                          "eine zweite Mittelbindung ist nicht möglich")
    if day > rule.claims_until:
        raise LedgerError(f"Mittelbindung am {day:%d.%m.%Y} liegt nach dem Ende der Abruffrist "
                          f"({rule.claims_until:%d.%m.%Y}, {rule.sources['claims_source']})")
    grantor = get_recipient(session, plan.grantor_key)
    total = allocation.sums["amount_period"]
    already = _accepted_total(session, plan_key)
    committed = _account(session, grantor, COMMITTED, actor=actor, now=now)
    contra = _account(session, grantor, COMMITTED_CONTRA, actor=actor, now=now)
    year = plan.school_year
    lines = [PostingLine(committed, total, year), PostingLine(contra, -total, year)]
    if already > 0:
        lines += [PostingLine(contra, already, year), PostingLine(committed, -already, year)]
    entry = post_entry(session, grantor, day=day, voucher_number=f"MB-{plan_key}"[:60],
                       text=f"Mittelbindung {plan.title}: Höchstbeträge nach Anlage 1 "
                            f"({format_german(total)} EUR)"[:500],
                       lines=lines, kind="manual", created_by=actor, now=now)
    record = AllocationCommitment(plan_key=plan_key, kind="commit", date=day, amount_cents=checked_cents(total),
                                  entry_id=entry.id, created_by=actor, created_at=now)
    session.add(record)
    session.flush()
    audit.record(session, actor=actor, action="allocation_commit", now=now, recipient=grantor,
                 details={"plan": plan.title, "date": day.isoformat(), "amount": str(total), "entry": entry.id})
    return record


def release_plan(session: Session, plan_key: str, day: date, *, actor: str, now: datetime,
                 packs: tuple[RulePack, ...] | None = None) -> AllocationCommitment:
    """Release what is still bound of plan ``plan_key`` on ``day`` (after the claim window):
    it stays with the grantor (Rahmenbedingungen Nr. 4.4). Books no entry if nothing is left.
    The caller commits.

    Raises:
        NoRulePack: no pack has the plan.
        LedgerError: the plan is not committed, already released, or ``day`` is not after the
            claim window.
    """
    allocation = compute_allocation(plan_key, packs)
    plan, rule = allocation.plan, allocation.pack.allocation
    bound = commitment(session, plan_key, "commit")
    if bound is None:
        raise LedgerError(f"Die Mittel des Verteilungsplans „{plan.title}“ sind nicht gebunden; "
                          "zuerst die Mittelbindung buchen")
    if commitment(session, plan_key, "release") is not None:
        raise LedgerError(f"Der Rest des Verteilungsplans „{plan.title}“ ist bereits freigegeben")
    if day <= rule.claims_until:
        raise LedgerError(f"Freigabe erst nach dem Ende der Abruffrist am {rule.claims_until:%d.%m.%Y} möglich "
                          f"({rule.sources['claims_source']})")
    grantor = get_recipient(session, plan.grantor_key)
    rest = from_cents(bound.amount_cents) - _accepted_total(session, plan_key)
    entry = None
    if rest > 0:
        year = plan.school_year
        entry = post_entry(
            session, grantor, day=day, voucher_number=f"MF-{plan_key}"[:60],
            text=f"Freigabe nicht abgerufener Mittel {plan.title}: verbleiben beim {plan.grantor_name}"[:500],
            lines=[PostingLine(_account(session, grantor, COMMITTED_CONTRA, actor=actor, now=now), rest, year),
                   PostingLine(_account(session, grantor, COMMITTED, actor=actor, now=now), -rest, year)],
            kind="manual", created_by=actor, now=now)
    record = AllocationCommitment(plan_key=plan_key, kind="release", date=day, amount_cents=checked_cents(rest),
                                  entry_id=None if entry is None else entry.id, created_by=actor, created_at=now)
    session.add(record)
    session.flush()
    audit.record(session, actor=actor, action="allocation_release", now=now, recipient=grantor,
                 details={"plan": plan.title, "date": day.isoformat(), "amount": str(rest),
                          "entry": None if entry is None else entry.id})
    return record

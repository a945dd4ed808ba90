"""Claims (Mittelabruf) against a formula allocation plan: checked by the pack's rules, recorded
as evidence and booked in the grantor's books.

Rules (``[allocation]`` of the plan's pack; seed 003_dcbc53400bdc01b8.txt, "Bereitstellung von
Inklusionshelfern in den allgemeinen Schulen im Kreis Mettmann – Rahmenbedingungen"):

- a claim is possible only from ``claims_from`` to ``claims_until`` (Nr. 4.1: from the start of
  the 2014 summer holidays to 15.11.2014, both inclusive); outside, all of it is refused;
- only personnel costs: material costs are refused (Nr. 4.2);
- at most ``amount_per_helper_period`` per deployed helper (Nr. 4.3: 5.000 EUR), the excess of a
  helper's costs is refused;
- at most the recipient's ceiling (its row's ``amount_period`` of Anlage 1, Nr. 2.2: the amounts
  are maxima that never grow), over all its claims; what exceeds it is refused. Unclaimed money
  stays with the grantor (Nr. 4.4): there is no way to move a ceiling to another recipient;
- the recipient's binding declaration (Anlage 2, Nr. 4.2/4.3) is the evidence: its reference is
  required and recorded. That helpers work only at mainstream schools and that no pupil is
  counted twice against integration aid (Nr. 3) is part of that declaration; the ledger records
  no pupil data.

The accepted amount is booked in the grantor's books (kind ``manual``, the journal's kind for
entries made in the ledger itself): debit the expense account CLAIM_EXPENSE, credit the
liability account CLAIM_LIABILITY (both added to the grantor's chart on first use). Its payment
to the recipient (:func:`pay_claim`) debits the liability and credits the grantor's bank account.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import AllocationClaim, AllocationClaimLine, AllocationPayment, JournalEntry
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import add_account, find_account, get_recipient, role_account
from ledger.core.schoolyear import SchoolYear
from ledger.reports.allocation import accepted_cents, compute_allocation
from ledger.rules.packs import RulePack

#: The grantor's accounts for accepted claims: (number, German name, type).
CLAIM_EXPENSE = ("5318", "Zuweisungen Inklusionshilfe an kreisangehörige Städte (Mittelabruf)", "expense")
CLAIM_LIABILITY = ("3520", "Verbindlichkeiten aus Mittelabrufen der Inklusionshilfe", "liability")


@dataclass(frozen=True)
class LineDecision:
    """The decision on one line of a claim: ``kind`` (``"helper"`` or ``"material"``), the claimed
    ``amount`` and the ``accepted`` part (EUR, Decimal), ``reasons`` (German, with their source)
    why less was accepted (empty if all of it was)."""

    kind: str
    amount: Decimal
    accepted: Decimal
    reasons: tuple[str, ...] = ()

    @property
    def refused(self) -> Decimal:
        """The refused part in EUR."""
        return self.amount - self.accepted


def judge_claim(pack: RulePack, ceiling: Decimal, already_accepted: Decimal, claim_date: date,
                helper_costs: list[Decimal], material_costs: Decimal | None = None) -> list[LineDecision]:
    """Judge a claim by the rules of ``pack.allocation`` (see the module docstring).

    ``ceiling``: the recipient's maximum for the plan's period (EUR); ``already_accepted``: what
    its earlier claims had accepted. ``helper_costs``: one amount per deployed helper (EUR > 0).
    Returns one LineDecision per helper, in order, then one for the material costs if given.
    Pure: reads and writes nothing.
    """
    rule = pack.allocation
    source = rule.sources
    lines: list[LineDecision] = []
    in_window = rule.claims_from <= claim_date <= rule.claims_until
    window_reason = (f"Abruf am {claim_date:%d.%m.%Y} außerhalb der Abruffrist vom {rule.claims_from:%d.%m.%Y} "
                     f"bis {rule.claims_until:%d.%m.%Y} ({source['claims_source']})")
    left = max(ceiling - already_accepted, Decimal(0))
    for cost in helper_costs:
        if not in_window:
            lines.append(LineDecision("helper", cost, Decimal(0), (window_reason,)))
            continue
        reasons = []
        accepted = cost
        if accepted > rule.amount_per_helper_period:
            accepted = rule.amount_per_helper_period
            reasons.append(f"höchstens {format_german(rule.amount_per_helper_period)} EUR je eingesetztem "
                           f"Inklusionshelfer ({source['per_helper_source']})")
        if accepted > left:
            accepted = left
            reasons.append(f"Höchstbetrag von {format_german(ceiling)} EUR nach Anlage 1 erreicht "
                           f"({source['ceiling_source']})")
        left -= accepted
        lines.append(LineDecision("helper", cost, accepted, tuple(reasons)))
    if material_costs is not None:
        material = pack.category("material_costs") if pack.has_category("material_costs") else None
        why = material.source if material is not None else source["declaration_source"]
        lines.append(LineDecision("material", material_costs, Decimal(0),
                                  (f"Sachkosten werden nicht erstattet ({why})",)))
    return lines


def add_claim(session: Session, plan_key: str, recipient_key: str, claim_date: date, helper_costs: list[Decimal],
              declaration: str, *, material_costs: Decimal | None = None, actor: str, now: datetime,
              packs: tuple[RulePack, ...] | None = None) -> AllocationClaim:
    """Check, record and book a claim of ``recipient_key`` against plan ``plan_key``.

    ``helper_costs``: the personnel costs of each deployed helper (EUR, each > 0, at least one
    or a material amount); ``material_costs``: claimed material costs (refused); ``declaration``:
    the reference of the binding declaration (Anlage 2). Records an AllocationClaim with its
    lines (append-only) and, if anything is accepted, a journal entry in the grantor's books.
    The caller commits.

    Raises:
        NoRulePack: no pack has the plan.
        NotFound: the recipient or the grantor is not in the ledger.
        LedgerError: the recipient is not in the plan, no declaration, no or non-positive amounts.
    """
    allocation = compute_allocation(plan_key, packs)
    pack, plan = allocation.pack, allocation.plan
    try:
        ceiling = allocation.row(recipient_key).amount_period
    except KeyError:
        raise LedgerError(f"{recipient_key!r} ist kein Empfänger des Verteilungsplans „{plan.title}“") from None
    declaration = declaration.strip()
    if not declaration:
        raise LedgerError("die verbindliche Erklärung des Schulträgers (Anlage 2) ist anzugeben")
    if not helper_costs and material_costs is None:
        raise LedgerError("mindestens die Personalkosten eines eingesetzten Inklusionshelfers angeben")
    for amount in [*helper_costs, *([] if material_costs is None else [material_costs])]:
        checked_cents(amount)
        if amount <= 0:
            raise LedgerError(f"Betrag {format_german(amount)} EUR: nur Beträge größer 0 sind zulässig")
    recipient = get_recipient(session, recipient_key)
    grantor = get_recipient(session, plan.grantor_key)
    already = from_cents(accepted_cents(session, plan_key, recipient.id))
    decisions = judge_claim(pack, ceiling, already, claim_date, helper_costs, material_costs)
    accepted = sum((d.accepted for d in decisions), Decimal(0))
    claimed = sum((d.amount for d in decisions), Decimal(0))
    entry = None
    number = 1 + session.scalar(select(func.count()).select_from(AllocationClaim).where(
        AllocationClaim.plan_key == plan_key, AllocationClaim.recipient_id == recipient.id))
    if accepted > 0:
        expense = _account(session, grantor, CLAIM_EXPENSE, actor=actor, now=now)
        liability = _account(session, grantor, CLAIM_LIABILITY, actor=actor, now=now)
        entry = post_entry(
            session, grantor, day=claim_date, voucher_number=f"MA-{plan_key}-{recipient.key}-{number}"[:60],
            text=f"Mittelabruf {recipient.name}, {plan.period}: {len(helper_costs)} Inklusionshelfer "
                 f"(Erklärung {declaration})"[:500],
            lines=[PostingLine(expense, accepted, plan.school_year), PostingLine(liability, -accepted, plan.school_year)],
            kind="manual", created_by=actor, now=now)
    claim = AllocationClaim(
        plan_key=plan_key, pack_id=pack.id, pack_version=pack.version, recipient_id=recipient.id,
        claim_date=claim_date, declaration=declaration, claimed_cents=checked_cents(claimed),
        accepted_cents=checked_cents(accepted), refused_cents=checked_cents(claimed - accepted),
        entry_id=None if entry is None else entry.id, created_by=actor, created_at=now)
    claim.lines = [AllocationClaimLine(position=index, kind=d.kind, amount_cents=checked_cents(d.amount),
                                       accepted_cents=checked_cents(d.accepted),
                                       reason="; ".join(d.reasons)[:500] or None)
                   for index, d in enumerate(decisions, start=1)]
    session.add(claim)
    session.flush()
    audit.record(session, actor=actor, action="allocation_claim_add", now=now, recipient=recipient,
                 details={"plan": plan.title, "claim_id": claim.id, "date": claim_date.isoformat(),
                          "claimed": str(claimed), "accepted": str(accepted), "declaration": declaration})
    return claim


def _account(session: Session, recipient, spec: tuple[str, str, str], *, actor: str, now: datetime):
    """The recipient's account of ``spec`` (number, name, type), added on first use."""
    number, name, type_ = spec
    return find_account(session, recipient, number) or add_account(session, recipient, number, name, type_,
                                                                   actor=actor, now=now)


def pay_claim(session: Session, claim_id: int, day: date, *, actor: str, now: datetime) -> AllocationPayment:
    """Book the payment of claim ``claim_id``'s accepted amount to its recipient on ``day``, in
    the grantor's books (debit CLAIM_LIABILITY, credit the bank account), and record it.
    The caller commits.

    Raises:
        NotFound: no such claim.
        LedgerError: nothing was accepted, the claim is paid already, or ``day`` is before the claim.
    """
    claim = session.get(AllocationClaim, claim_id)
    if claim is None:
        raise NotFound(f"Mittelabruf Nr. {claim_id} nicht gefunden")
    if claim.accepted_cents == 0:
        raise LedgerError(f"Mittelabruf Nr. {claim_id}: nichts anerkannt, nichts auszuzahlen")
    if session.scalar(select(AllocationPayment.id).where(AllocationPayment.claim_id == claim_id)) is not None:
        raise LedgerError(f"Mittelabruf Nr. {claim_id} ist bereits ausgezahlt")
    if day < claim.claim_date:
        raise LedgerError(f"Auszahlung am {day:%d.%m.%Y} liegt vor dem Mittelabruf vom {claim.claim_date:%d.%m.%Y}")
    entry = session.get(JournalEntry, claim.entry_id)
    grantor = entry.recipient
    amount = from_cents(claim.accepted_cents)
    year = SchoolYear.parse(entry.postings[0].school_year)
    liability = _account(session, grantor, CLAIM_LIABILITY, actor=actor, now=now)
    payment_entry = post_entry(
        session, grantor, day=day, voucher_number=f"AZ-{entry.voucher_number}"[:60],
        text=f"Auszahlung Mittelabruf Nr. {claim.id} an {claim.recipient.name}",
        lines=[PostingLine(liability, amount, year), PostingLine(role_account(session, grantor, "bank"), -amount, year)],
        kind="manual", created_by=actor, now=now)
    payment = AllocationPayment(claim_id=claim.id, date=day, entry_id=payment_entry.id, created_by=actor,
                                created_at=now)
    session.add(payment)
    session.flush()
    audit.record(session, actor=actor, action="allocation_claim_pay", now=now, recipient=claim.recipient,
                 details={"claim_id": claim.id, "date": day.isoformat(), "amount": str(amount),
                          "entry": payment_entry.id})
    return payment

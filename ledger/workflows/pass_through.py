"""Claims of member municipalities against a Kreis's pass-through plan (Weiterleitung nach
Verteilungsschlüssel): checked, recorded and, for the accepted part, booked as the Kreis's
pass-through in its Inklusionspauschale books.

The plan (``ledger.rules.pass_through_plan``) and its shares (``ledger.reports.pass_through``)
are the same allocation machinery as the Kreis Mettmann's formula plan: a grantor, recipients
with a key figure, a formula, ceilings, and claims checked against them. Rules:

- only a Kreis passes money through (Hinweise zur Inklusionspauschale, Teil II); the plan's
  grantor must be a recipient of kind ``kreis``, the claimant one of its municipalities in
  master data and in the plan;
- claims only from ``claims_from`` to ``claims_until`` (the plan's window); outside, all of it
  is refused;
- the municipality must bear schools of Gemeinsames Lernen and the Kreis must have verified
  its purpose-conform projects on or before the claim (Hinweise, Teil II); else all is refused;
- at most the municipality's share over all its claims; the excess is refused. Unclaimed
  shares stay with the Kreis, nothing moves to another municipality.

The accepted amount is booked at once as the payment to the municipality (kind ``manual``):
debit the Kreis's pass-through expense account (the account whose default category is
``pass_through``, 5314 in the standard chart) with category ``pass_through`` and the cost centre
of the municipality (master data: a cost centre with its ``municipality_id``), credit the bank
account. The classification (``ledger.rules.classify``) then shows it as a verified pass-through.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import Account, CostCentre, Municipality, PassThroughClaim
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.posting import PostingLine, lock_recipient, post_entry
from ledger.core.recipients import get_recipient, role_account
from ledger.reports.pass_through import accepted_cents, pass_through_shares
from ledger.rules.pass_through_plan import PassThroughPlan

#: Where pass-through is allowed and on which conditions.
SOURCE = "Hinweise zur Inklusionspauschale, Teil II"


def judge_pass_through(plan: PassThroughPlan, municipality: Municipality, share: Decimal, already: Decimal,
                       claim_date: date, amount: Decimal) -> tuple[Decimal, str | None]:
    """(accepted EUR, German reason of any refusal or None) for a claim of ``amount`` by
    ``municipality`` with ``share`` (EUR), of which ``already`` was accepted before. Pure."""
    if not plan.claims_from <= claim_date <= plan.claims_until:
        return Decimal(0), (f"Abruf am {claim_date:%d.%m.%Y} außerhalb der Abruffrist vom "
                            f"{plan.claims_from:%d.%m.%Y} bis {plan.claims_until:%d.%m.%Y} ({plan.title})")
    if not municipality.gl_bearer:
        return Decimal(0), f"{municipality.name} ist nicht Träger von Schulen des Gemeinsamen Lernens ({SOURCE})"
    if not any(v.verified_on <= claim_date for v in municipality.verifications):
        return Decimal(0), (f"Für {municipality.name} ist bis {claim_date:%d.%m.%Y} keine Vergewisserung über "
                            f"zweckentsprechende Projekte dokumentiert ({SOURCE})")
    left = max(share - already, Decimal(0))
    if amount > left:
        return left, (f"Anteil von {format_german(share)} EUR nach dem Verteilungsschlüssel erreicht; nicht "
                      "abgerufene Anteile verbleiben beim Kreis und gehen an keine andere Gemeinde")
    return amount, None


def add_pass_through_claim(session: Session, plan: PassThroughPlan, municipality_name: str, claim_date: date,
                           amount: Decimal, reference: str, *, actor: str, now: datetime) -> PassThroughClaim:
    """Check, record and book a claim of ``municipality_name`` against ``plan`` (see the module
    docstring). The caller commits.

    Raises:
        NotFound: the plan's grantor is not in the ledger.
        LedgerError: the grantor is no Kreis, the municipality is not in its master data or not
            in the plan, no reference, a non-positive amount; for an accepted amount also no
            pass-through account or no cost centre of the municipality.
    """
    grantor = get_recipient(session, plan.grantor_key)
    if grantor.kind != "kreis":
        raise LedgerError(f"Nur Kreise leiten Mittel an kreisangehörige Gemeinden weiter ({SOURCE})")
    names = [m.name for m in plan.municipalities]
    if municipality_name not in names:
        raise LedgerError(f"{municipality_name!r} ist keine Gemeinde des Verteilungsplans „{plan.title}“")
    municipality = session.scalar(select(Municipality).where(Municipality.recipient_id == grantor.id,
                                                             Municipality.name == municipality_name))
    if municipality is None:
        raise LedgerError(f"{municipality_name} ist in den Stammdaten von {grantor.name} nicht verzeichnet")
    reference = reference.strip()
    if not reference:
        raise LedgerError("die Fundstelle des Mittelabrufs der Gemeinde ist anzugeben")
    checked_cents(amount)
    if amount <= 0:
        raise LedgerError(f"Betrag {format_german(amount)} EUR: nur Beträge größer 0 sind zulässig")
    lock_recipient(session, grantor)
    share = pass_through_shares(plan)[names.index(municipality_name)].share
    already = from_cents(accepted_cents(session, plan.key, municipality))
    accepted, reason = judge_pass_through(plan, municipality, share, already, claim_date, amount)
    entry = None
    if accepted > 0:
        number = 1 + session.scalar(select(func.count()).select_from(PassThroughClaim).where(
            PassThroughClaim.plan_key == plan.key))
        entry = post_entry(
            session, grantor, day=claim_date, voucher_number=f"WL-{plan.key}-{number}"[:60],
            text=f"Weiterleitung an {municipality.name} nach Verteilungsschlüssel ({plan.title}; Abruf {reference})"[:500],
            lines=[PostingLine(_pass_through_account(session, grantor), accepted, plan.school_year, "pass_through",
                               _cost_centre(session, grantor, municipality)),
                   PostingLine(role_account(session, grantor, "bank"), -accepted, plan.school_year)],
            kind="manual", created_by=actor, now=now)
    claim = PassThroughClaim(plan_key=plan.key, recipient_id=grantor.id, municipality_id=municipality.id,
                             claim_date=claim_date, reference=reference, claimed_cents=checked_cents(amount),
                             accepted_cents=checked_cents(accepted), refused_cents=checked_cents(amount - accepted),
                             reason=reason, entry_id=None if entry is None else entry.id, created_by=actor,
                             created_at=now)
    session.add(claim)
    session.flush()
    audit.record(session, actor=actor, action="pass_through_claim_add", now=now, recipient=grantor,
                 details={"plan": plan.title, "claim_id": claim.id, "date": claim_date.isoformat(),
                          "claimed": str(amount), "accepted": str(accepted), "reference": reference})
    return claim


def _pass_through_account(session: Session, grantor) -> Account:
    account = session.scalar(select(Account).where(Account.recipient_id == grantor.id, Account.type == "expense",
                                                   Account.category == "pass_through").order_by(Account.number))
    if account is None:
        raise LedgerError(f"{grantor.name} hat kein Aufwandskonto für Weiterleitungen an Gemeinden")
    return account


def _cost_centre(session: Session, grantor, municipality: Municipality) -> str:
    code = session.scalar(select(CostCentre.code).where(CostCentre.recipient_id == grantor.id,
                                                        CostCentre.municipality_id == municipality.id)
                          .order_by(CostCentre.code))
    if code is None:
        raise LedgerError(f"Für {municipality.name} ist keine Kostenstelle angelegt (Stammdaten)")
    return code

"""A pass-through plan's shares (Weiterleitung nach Verteilungsschlüssel) and the claims of
its municipalities against them.

Formula (``ledger.rules.pass_through_plan``, method ``pro_rata_pupils``): municipality i gets
amount × pupils_i ÷ Σ pupils, in whole cents; the cents left by cutting each share down go one
each to the largest remainders (Hare/Niemeyer largest-remainder method; ties by the plan's
order), so the shares add up to the amount exactly.

Worked example (the demo plan of Kreis Musterhausen, fictional): 60.000,00 EUR, Stadt Lindental
1.234 pupils, Gemeinde Auenbach 567 (together 1.801): 6.000.000 ct × 1.234 ÷ 1.801 =
4.111.049,42 ct → 4.111.049, remainder 0,42; × 567 ÷ 1.801 = 1.888.950,58 → 1.888.950, remainder
0,58; one cent is left and goes to Auenbach (0,58 > 0,42): 41.110,49 EUR and 18.889,51 EUR.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.models import Municipality, PassThroughClaim, Recipient
from ledger.core.money import format_plain, from_cents
from ledger.rules.pass_through_plan import PassThroughPlan


@dataclass(frozen=True)
class ShareRow:
    """One municipality's ``name``, ``pupils`` and ``share`` (EUR, Decimal, the most it may claim)."""

    name: str
    pupils: int
    share: Decimal

    def as_json(self) -> dict:
        """``{"municipality", "pupils", "share"}``, the share as a string with two decimals."""
        return {"municipality": self.name, "pupils": self.pupils, "share": format_plain(self.share)}


def pass_through_shares(plan: PassThroughPlan) -> list[ShareRow]:
    """The plan's shares in its order (see the module docstring); they add up to ``plan.amount``."""
    total_cents = int(plan.amount * 100)
    pupils = sum(m.pupils for m in plan.municipalities)
    exact = [(total_cents * m.pupils) // pupils for m in plan.municipalities]
    remainders = [(total_cents * m.pupils) % pupils for m in plan.municipalities]
    left = total_cents - sum(exact)
    order = sorted(range(len(exact)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        exact[i] += 1
    return [ShareRow(m.name, m.pupils, from_cents(cents)) for m, cents in zip(plan.municipalities, exact)]


def accepted_cents(session: Session, plan_key: str, municipality: Municipality) -> int:
    """The accepted cents of all claims of ``municipality`` against plan ``plan_key``."""
    return session.scalar(select(func.coalesce(func.sum(PassThroughClaim.accepted_cents), 0)).where(
        PassThroughClaim.plan_key == plan_key, PassThroughClaim.municipality_id == municipality.id))


@dataclass(frozen=True)
class ShareClaims:
    """A municipality's ``row`` (ShareRow) with the sums of its claims (EUR): ``claimed``,
    ``accepted`` (booked as pass-through), ``refused``, and ``rest`` (share − accepted: stays
    with the Kreis if unclaimed)."""

    row: ShareRow
    claimed: Decimal
    accepted: Decimal
    refused: Decimal

    @property
    def rest(self) -> Decimal:
        """The share not (yet) passed through, EUR."""
        return self.row.share - self.accepted

    def as_json(self) -> dict:
        """ShareRow.as_json with ``claimed``, ``accepted``, ``refused``, ``rest`` (strings, two decimals)."""
        return {**self.row.as_json(), **{key: format_plain(getattr(self, key))
                                         for key in ("claimed", "accepted", "refused", "rest")}}


def pass_through_overview(session: Session, plan: PassThroughPlan) -> list[ShareClaims]:
    """Each municipality of the plan with its share and the sums of its claims, in the plan's
    order (all claims 0 if the Kreis or the municipality is not in the ledger)."""
    kreis = session.scalar(select(Recipient).where(Recipient.key == plan.grantor_key))
    result = []
    for row in pass_through_shares(plan):
        sums = (0, 0, 0)
        if kreis is not None:
            sums = session.execute(
                select(func.coalesce(func.sum(PassThroughClaim.claimed_cents), 0),
                       func.coalesce(func.sum(PassThroughClaim.accepted_cents), 0),
                       func.coalesce(func.sum(PassThroughClaim.refused_cents), 0))
                .join(Municipality, Municipality.id == PassThroughClaim.municipality_id)
                .where(PassThroughClaim.plan_key == plan.key, PassThroughClaim.recipient_id == kreis.id,
                       Municipality.name == row.name)).one()
        result.append(ShareClaims(row, *(from_cents(cents) for cents in sums)))
    return result


def plan_claims(session: Session, plan: PassThroughPlan) -> list[PassThroughClaim]:
    """The claims against ``plan`` in the books of its Kreis, oldest first (none if the Kreis is
    not in the ledger); each with its ``municipality``, cents and ``reason``."""
    kreis = session.scalar(select(Recipient).where(Recipient.key == plan.grantor_key))
    if kreis is None:
        return []
    return list(session.scalars(select(PassThroughClaim).where(
        PassThroughClaim.plan_key == plan.key, PassThroughClaim.recipient_id == kreis.id).order_by(PassThroughClaim.id)))

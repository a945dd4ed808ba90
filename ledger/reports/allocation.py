"""Formula allocation: how much each recipient of an allocation plan may claim at most.

The formula and its roundings are data of the programme's rule pack (``[allocation]``,
``ledger.rules.packs.AllocationRule``); the plan (grantor, period, recipients with their pupil
counts) is pack data too (``[[allocation.plans]]``). Nothing here is specific to one Kreis.

Worked example (Anlage 1 zu den Rahmenbedingungen
„Bereitstellung von Inklusionshelfern in den allgemeinen Schulen im Kreis Mettmann“): Erkrath,
1.574 pupils × 1,5 % = 23,61 → 24 children (kaufmännisch gerundet); 24 ÷ 5 = 4,8 → 5 helpers;
5 × 10.000 EUR = 50.000 EUR per school year, 5 × 5.000 EUR = 25.000 EUR for the 2nd half-year.

The source table's sum row is computed on the total for the 1,5 % column (17.082 × 1,5 % =
256,23 → 256), while its rows add up to 257; :class:`Allocation` reports such differences
(``differences``) rather than hiding them. The amounts of the rows are the ceilings (Anlage 1
amounts are "Höchstbeträge", Rahmenbedingungen Nr. 2.2).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.models import AllocationClaim, AllocationCommitment, AllocationPayment, Recipient
from ledger.core.money import format_plain, from_cents
from ledger.rules.packs import AllocationPlan, AllocationRule, RulePack, allocation_plan

#: The rounding names of a pack (ledger.rules.packs.ALLOCATION_ROUNDINGS) → decimal rounding modes.
_ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN}
#: The columns of an allocation table, in the source table's order.
COLUMNS = ("pupils", "children", "helpers", "amount_year", "amount_period")
#: German column titles (as the source table names them, shortened).
COLUMN_TITLES = {
    "pupils": "Grundschüler",
    "children": "Kinder mit Unterstützungsbedarf",
    "helpers": "Inklusionshelfer",
    "amount_year": "Bedarf je Schuljahr (EUR)",
    "amount_period": "Mittel für den Zeitraum (EUR)",
}


def _whole(value: Decimal, rounding: str) -> int:
    """``value`` rounded to a whole number by the pack's rounding name (``"half_up"``, ``"down"``)."""
    return int(value.quantize(Decimal(1), rounding=_ROUNDING_MODES[rounding]))


@dataclass(frozen=True)
class AllocationRow:
    """One row: ``recipient`` key, German ``name``, ``pupils``, ``children`` (pupils × share,
    rounded), ``helpers`` (children ÷ children per helper, rounded), ``amount_year`` and
    ``amount_period`` (EUR, Decimal; the period's amount is the recipient's ceiling)."""

    recipient: str
    name: str
    pupils: int
    children: int
    helpers: int
    amount_year: Decimal
    amount_period: Decimal

    def value(self, column: str) -> int | Decimal:
        """The value of a column of COLUMNS."""
        return getattr(self, column)

    def as_json(self) -> dict:
        """``{"recipient", "pupils", "children", "helpers", "amount_year", "amount_period"}``;
        amounts as strings with two decimals (``"50000.00"``)."""
        return {"recipient": self.recipient, "pupils": self.pupils, "children": self.children,
                "helpers": self.helpers, "amount_year": format_plain(self.amount_year),
                "amount_period": format_plain(self.amount_period)}


@dataclass(frozen=True)
class Difference:
    """A column where the source table's printed sum (``table``) differs from the sum of its rows
    (``rows``); ``on_total``: the formula applied to the total pupils (how the table computes
    that sum, if it equals ``table``)."""

    column: str
    table: int | Decimal
    rows: int | Decimal
    on_total: int | Decimal

    def as_json(self) -> dict:
        """The difference with amounts as strings with two decimals."""
        def plain(value):
            return format_plain(value) if isinstance(value, Decimal) else value
        return {"column": self.column, "table": plain(self.table), "rows": plain(self.rows),
                "on_total": plain(self.on_total)}


@dataclass(frozen=True)
class Allocation:
    """The computed plan: ``rows`` in the plan's order, ``sums`` (the sums of the rows, keys
    COLUMNS), ``on_total`` (the formula applied to the total pupils), ``differences`` between
    the source table's printed sum row and ``sums`` (empty if the plan records no sum row or
    they agree), and the ``pack`` and ``plan`` it comes from."""

    pack: RulePack
    plan: AllocationPlan
    rows: tuple[AllocationRow, ...]
    sums: dict
    on_total: dict
    differences: tuple[Difference, ...]

    def row(self, recipient: str) -> AllocationRow:
        """The row of the recipient key. Raises KeyError if it is not in the plan."""
        for row in self.rows:
            if row.recipient == recipient:
                return row
        raise KeyError(recipient)

    def as_json(self) -> dict:
        """``{"plan", "grantor", "period", "rows": [...], "sums": {...}, "on_total": {...},
        "table_sums": {...} | None, "differences": [...]}``; ``rows`` as AllocationRow.as_json,
        sums with the same keys (amounts as strings with two decimals)."""
        def plain(values: dict) -> dict:
            return {key: format_plain(value) if isinstance(value, Decimal) else value for key, value in values.items()}
        return {
            "plan": self.plan.key, "grantor": self.plan.grantor_key, "period": self.plan.period,
            "rows": [row.as_json() for row in self.rows], "sums": plain(self.sums),
            "on_total": plain(self.on_total), "table_sums": plain(self.plan.table_sums) or None,
            "differences": [difference.as_json() for difference in self.differences],
        }


def formula_row(rule: AllocationRule, recipient: str, name: str, pupils: int,
                helpers_rounding: str | None = None) -> AllocationRow:
    """One row of the formula for ``pupils`` (a whole number ≥ 0); each step rounds as the pack
    says (``helpers_rounding`` overrides the helpers' step, e.g. the pack's
    ``helpers_rounding_alternative``). Amounts are whole multiples of the per-helper amounts."""
    children = _whole(Decimal(pupils) * rule.share, rule.children_rounding)
    helpers = _whole(Decimal(children) / Decimal(rule.children_per_helper), helpers_rounding or rule.helpers_rounding)
    return AllocationRow(recipient=recipient, name=name, pupils=pupils, children=children, helpers=helpers,
                         amount_year=helpers * rule.amount_per_helper_year,
                         amount_period=helpers * rule.amount_per_helper_period)


def compute_allocation(plan_key: str, packs: tuple[RulePack, ...] | None = None, *,
                       helpers_rounding: str | None = None) -> Allocation:
    """Compute the plan ``plan_key`` (``"mettmann-2014"``) by its pack's formula.

    ``packs`` defaults to the repository's rule packs. ``helpers_rounding`` (``"half_up"`` or
    ``"down"``) replaces the pack's rounding of the helpers' step, to show another reading.
    Raises NoRulePack (German message) if no pack has the plan.
    """
    pack, plan = allocation_plan(plan_key, packs)
    rule = pack.allocation
    rows = tuple(formula_row(rule, r.key, r.name, r.pupils, helpers_rounding) for r in plan.recipients)
    sums = {column: sum((row.value(column) for row in rows), Decimal(0) if column.startswith("amount") else 0)
            for column in COLUMNS}
    total = formula_row(rule, plan.grantor_key, plan.grantor_name, sums["pupils"], helpers_rounding)
    on_total = {column: total.value(column) for column in COLUMNS}
    differences = tuple(
        Difference(column=column, table=plan.table_sums[column], rows=sums[column], on_total=on_total[column])
        for column in COLUMNS if column in plan.table_sums and plan.table_sums[column] != sums[column]
    )
    return Allocation(pack=pack, plan=plan, rows=rows, sums=sums, on_total=on_total, differences=differences)


def accepted_cents(session: Session, plan_key: str, recipient_id: int) -> int:
    """The accepted cents of all claims of the recipient (by id) against the plan ``plan_key``."""
    return session.scalar(select(func.coalesce(func.sum(AllocationClaim.accepted_cents), 0)).where(
        AllocationClaim.plan_key == plan_key, AllocationClaim.recipient_id == recipient_id))


@dataclass(frozen=True)
class RecipientClaims:
    """The claims of one recipient against a plan: ``recipient`` key, ``name``, ``ceiling``
    (its row's amount for the period, EUR), ``accepted`` (EUR, all its claims), ``rest``
    (ceiling − accepted: stays with the grantor if unclaimed, Rahmenbedingungen Nr. 4.4) and its
    ``claims`` (AllocationClaim rows, oldest first). ``claimed``, ``refused`` and ``paid``: the
    sums of its claims (EUR); ``committed``: its ceiling once the plan is committed, else 0;
    ``released``: its rest once the plan's rest is released, else 0."""

    recipient: str
    name: str
    ceiling: Decimal
    accepted: Decimal
    rest: Decimal
    claims: tuple[AllocationClaim, ...]
    claimed: Decimal = Decimal("0.00")
    refused: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")
    committed: Decimal = Decimal("0.00")
    released: Decimal = Decimal("0.00")

    def as_json(self) -> dict:
        """``{"recipient", "ceiling", "accepted", "rest", "claimed", "refused", "paid",
        "committed", "released", "claims": [{"id", "date", "declaration", "claimed", "accepted",
        "refused", "refusals": [{"line", "kind", "amount", "refused", "reason"}], "helpers":
        [...]}]}``; amounts as strings with two decimals."""
        return {
            "recipient": self.recipient, "ceiling": format_plain(self.ceiling),
            "accepted": format_plain(self.accepted), "rest": format_plain(self.rest),
            "claimed": format_plain(self.claimed), "refused": format_plain(self.refused),
            "paid": format_plain(self.paid), "committed": format_plain(self.committed),
            "released": format_plain(self.released),
            "claims": [claim_json(claim) for claim in self.claims],
        }


def plan_commitments(session: Session, plan_key: str) -> dict[str, AllocationCommitment]:
    """The plan's commitment records by kind (``"commit"``, ``"release"``; absent if not booked)."""
    return {row.kind: row for row in session.scalars(
        select(AllocationCommitment).where(AllocationCommitment.plan_key == plan_key))}


def claim_json(claim: AllocationClaim) -> dict:
    """One claim as JSON (see RecipientClaims.as_json); ``entry_id``: its journal entry or None;
    ``paid_on``: the day its accepted amount was paid (ISO date) or None."""
    session = Session.object_session(claim)
    paid_on = None if session is None else session.scalar(
        select(AllocationPayment.date).where(AllocationPayment.claim_id == claim.id))
    return {
        "paid_on": None if paid_on is None else paid_on.isoformat(),
        "id": claim.id, "date": claim.claim_date.isoformat(), "declaration": claim.declaration,
        "claimed": format_plain(from_cents(claim.claimed_cents)),
        "accepted": format_plain(from_cents(claim.accepted_cents)),
        "refused": format_plain(from_cents(claim.refused_cents)), "entry_id": claim.entry_id,
        "refusals": [{"line": line.position, "kind": line.kind, "amount": format_plain(from_cents(line.amount_cents)),
                      "refused": format_plain(from_cents(line.amount_cents - line.accepted_cents)),
                      "reason": line.reason} for line in claim.lines if line.accepted_cents < line.amount_cents],
        "helpers": [{"line": line.position, "amount": format_plain(from_cents(line.amount_cents)),
                     "accepted": format_plain(from_cents(line.accepted_cents)),
                     "school": None if line.school is None else line.school.school_number,
                     "mainstream_basis": line.mainstream_basis,
                     "cases": [case.case_ref for case in line.cases]}
                    for line in claim.lines if line.kind == "helper"],
    }


def claims_overview(session: Session, plan_key: str, recipient_key: str | None = None,
                    packs: tuple[RulePack, ...] | None = None) -> list[RecipientClaims]:
    """Each recipient of the plan (or only ``recipient_key``) with its ceiling, accepted total,
    rest and claims, in the plan's order. Recipients not yet in the ledger show no claims.
    Raises NoRulePack for an unknown plan, KeyError for a recipient not in the plan."""
    allocation = compute_allocation(plan_key, packs)
    rows = [allocation.row(recipient_key)] if recipient_key else list(allocation.rows)
    kinds = plan_commitments(session, plan_key)
    result = []
    for row in rows:
        recipient = session.scalar(select(Recipient).where(Recipient.key == row.recipient))
        claims = () if recipient is None else tuple(session.scalars(
            select(AllocationClaim).where(AllocationClaim.plan_key == plan_key,
                                          AllocationClaim.recipient_id == recipient.id).order_by(AllocationClaim.id)))
        accepted = from_cents(sum(claim.accepted_cents for claim in claims))
        paid = paid_claim_ids(session, claims)
        result.append(RecipientClaims(
            recipient=row.recipient, name=row.name, ceiling=row.amount_period, accepted=accepted,
            rest=row.amount_period - accepted, claims=claims,
            claimed=from_cents(sum(claim.claimed_cents for claim in claims)),
            refused=from_cents(sum(claim.refused_cents for claim in claims)),
            paid=from_cents(sum(claim.accepted_cents for claim in claims if claim.id in paid)),
            committed=row.amount_period if "commit" in kinds else Decimal("0.00"),
            released=row.amount_period - accepted if "release" in kinds else Decimal("0.00")))
    return result


def paid_claim_ids(session: Session, claims) -> set[int]:
    """The ids of those of ``claims`` (AllocationClaim rows) whose accepted amount was paid."""
    ids = [claim.id for claim in claims]
    if not ids:
        return set()
    return set(session.scalars(select(AllocationPayment.claim_id).where(AllocationPayment.claim_id.in_(ids))))

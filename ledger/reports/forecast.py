"""Forecast of a school year's repayment from actuals and open commitments.

Why: the repayment is due by 1 April of the budget year after the payout, which can fall
before the school year ends on 31 July (DOMAIN.md "Repayment"; seed 002_17056edfca8550ce.txt,
Hinweise Teil II). So the recipient has to estimate, before the year is over, how much of the
grant it will use purpose-conformly: what is booked up to ``as_of`` (``compute_repayment`` with
``booked_until``; entries dated later are left out, so they are not counted twice) plus what
its commitments (pool contracts and other contracts, ``models.Commitment``) will still cost
until the end of the school year.

Conventions (all amounts EUR, ``Decimal`` with two places; no floats anywhere):

- **Open months.** A commitment still costs the months whose *first day* lies
  after ``as_of``, on or after the commitment's start date, on or after 1 August of the
  school year, and on or before the earlier of the commitment's end date and 31 July of
  the school year. A month that has already begun on ``as_of`` (including ``as_of`` being
  its first day) counts as booked: its cost is assumed to be in the actuals. A commitment
  starting mid-month starts counting with the next month; one ending mid-month counts its
  last month in full. Open amount = monthly amount × open months (exact, no rounding).
- **Classification.** Actuals are classified per posting by the rules engine and the
  officers' overrides (``compute_repayment``). A commitment's open amount is classified by
  the same engine (``ledger.rules.classify``) as one expense of its category and pool, dated the
  last day of the school year, under the rule pack in force for the year: a pool contract
  is conform only for a systemic pool at GL schools (mixed: its systemic share), and a
  pool-personnel commitment without a pool cannot be judged (unclassified).
- **Overhead cap.** The actuals and the classified open commitments are added up and judged
  by the repayment kernel (``ledger.reports.settlement.judge_use``): projected cap = the
  pack's overhead rule applied to projected pool personnel (rate × base, rounded half up to
  cents). Packs without an overhead rule have no cap (``projected_overhead_cap`` None).
- **Grant basis.** Projected repayment = max(grant basis − projected permitted, 0), where the
  grant basis is the larger of the grant received (payouts booked) and the grant assessed
  (Festsetzungsbescheid). The assessed amount is the larger one only while payouts are
  still outstanding; the Land will pay them, and they are repayable to the extent they are
  not used, so the forecast counts them (``grant_basis_source`` says which was used).
- **Unclassified** spending, actual or committed, stays unclassified: not purpose-conform.
- **Agreements.** The projection is computed under the rules; a settlement agreement that
  covers the year is only named (``agreement_reference``), not applied.
- **Deadline.** ``due_date`` is ``actuals.due_date`` (1 April after the first payout, moved to
  the next working day); ``days_until_due`` = due date − ``as_of`` in calendar days
  (negative once passed), None without a payout.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import Commitment, Pool, Recipient
from ledger.core.money import ZERO, format_german, format_plain, from_cents, to_cents
from ledger.core.schoolyear import SchoolYear
from ledger.core.wording import counted
from ledger.reports.repayment import compute_repayment
from ledger.reports.settlement import RepaymentResult, judge_use
from ledger.reports.totals import Totals, TotalsBuilder
from ledger.rules.classify import (
    Classification,
    CostCentreFacts,
    PostingFacts,
    classify,
)
from ledger.rules.evaluate import pool_facts
from ledger.rules.evaluation_runs import Classified, RunState
from ledger.rules.packs import RulePack, load_packs, pack_for

#: Warn ``overhead_near_cap`` when projected overhead reaches this share of the projected cap.
NEAR_CAP_SHARE = Decimal("0.90")
#: Warn ``deadline_soon`` when the deadline is at most this many days after ``as_of``.
DEADLINE_WARNING_DAYS = 60


@dataclass(frozen=True)
class OpenCommitment:
    """What one commitment still costs in the school year: ``months`` open months (see the
    module docstring) × its monthly amount = ``amount`` EUR, in ``category``, and how the
    rules engine judges that amount (``classification``)."""

    reference: str
    category: str
    months: int
    monthly_amount: Decimal
    amount: Decimal
    classification: Classification


@dataclass(frozen=True)
class ForecastCategory:
    """One category: ``actual`` (booked) + ``committed`` (open commitments) = ``projected``, EUR,
    gross (before the rules engine's decision per posting or pool).

    ``status`` is the rule pack's: ``permitted``, ``capped`` or ``excluded``.
    """

    category: str
    label: str
    status: str
    actual: Decimal
    committed: Decimal
    projected: Decimal


@dataclass(frozen=True)
class Forecast:
    """The projected outcome of ``recipient_key``'s ``school_year`` as of ``as_of``. EUR throughout.

    - ``actuals``: the ``RepaymentResult`` of the entries dated up to ``as_of``.
    - ``open_commitments``: commitments with at least one open month, by reference.
    - ``committed``: sum of their amounts.
    - ``by_category``: actual, committed and projected per category, in rule-pack order.
    - ``projected_pool_personnel``: base of the overhead cap: the conform part of the pack's
      base categories, actual and committed.
    - ``projected_overhead`` (conform overhead before the cap), ``projected_overhead_cap``
      (None without overhead rule), ``projected_overhead_excess`` = max(overhead − cap, 0).
    - ``projected_permitted`` = conform spending + overhead up to the projected cap.
    - ``projected_excluded``: excluded parts, actual and committed.
    - ``unclassified``: spending the rules cannot decide yet, actual and committed.
    - ``grant_basis`` and ``grant_basis_source`` (``"received"`` or ``"assessed"``).
    - ``projected_repayment`` = max(grant basis − projected permitted, 0).
    - ``due_date``, ``days_until_due``: see the module docstring.
    - ``warnings``: ``(code, German text)`` pairs; codes ``overhead_near_cap``,
      ``overhead_above_cap``, ``deadline_soon``, ``deadline_passed``, ``excluded_spending``,
      ``unclassified``.
    - ``projected_totals``: the classified spending the projection rests on (actuals plus the
      classified open commitments), for settling it by payout (``ledger.reports.notification``).
    """

    recipient_key: str
    school_year: str
    as_of: date
    rule_pack_id: str
    rule_pack_version: str
    actuals: RepaymentResult
    open_commitments: tuple[OpenCommitment, ...]
    committed: Decimal
    by_category: tuple[ForecastCategory, ...]
    projected_pool_personnel: Decimal
    projected_overhead: Decimal
    projected_overhead_cap: Decimal | None
    projected_overhead_excess: Decimal
    projected_permitted: Decimal
    projected_excluded: Decimal
    unclassified: Decimal
    grant_assessed: Decimal | None
    grant_received: Decimal
    grant_basis: Decimal
    grant_basis_source: str
    projected_repayment: Decimal
    agreement_reference: str | None
    due_date: date | None
    days_until_due: int | None
    warnings: tuple[tuple[str, str], ...]
    projected_totals: Totals | None = None

    def as_json(self) -> dict:
        """A JSON-ready dict: amounts as strings with two decimals (``"45154.33"``), dates ISO."""
        def money(value: Decimal | None) -> str | None:
            return None if value is None else format_plain(value)

        a = self.actuals
        return {
            "recipient": self.recipient_key,
            "school_year": self.school_year,
            "as_of": self.as_of.isoformat(),
            "rule_pack": {"id": self.rule_pack_id, "version": self.rule_pack_version},
            "actual": {
                "permitted": money(a.permitted), "pool_personnel": money(a.pool_personnel),
                "overhead": money(a.overhead_charged), "overhead_cap": money(a.overhead_cap),
                "excluded": money(a.excluded), "unclassified": money(a.unclassified),
                "repayment_due": money(a.repayment_due),
            },
            "open_commitments": [
                {"reference": c.reference, "category": c.category, "months": c.months,
                 "monthly_amount": money(c.monthly_amount), "amount": money(c.amount),
                 "status": c.classification.status, "conform": money(c.classification.conform),
                 "reason": c.classification.reason}
                for c in self.open_commitments],
            "committed": money(self.committed),
            "by_category": [
                {"category": c.category, "label": c.label, "status": c.status, "actual": money(c.actual),
                 "committed": money(c.committed), "projected": money(c.projected)}
                for c in self.by_category],
            "projected": {
                "pool_personnel": money(self.projected_pool_personnel),
                "overhead": money(self.projected_overhead),
                "overhead_cap": money(self.projected_overhead_cap),
                "overhead_excess": money(self.projected_overhead_excess),
                "permitted": money(self.projected_permitted),
                "excluded": money(self.projected_excluded),
                "unclassified": money(self.unclassified),
                "repayment": money(self.projected_repayment),
            },
            "grant": {"assessed": money(self.grant_assessed), "received": money(self.grant_received),
                      "basis": money(self.grant_basis), "basis_source": self.grant_basis_source},
            "agreement_reference": self.agreement_reference,
            "due_date": None if self.due_date is None else self.due_date.isoformat(),
            "days_until_due": self.days_until_due,
            "warnings": [{"code": code, "text": text} for code, text in self.warnings],
        }


def open_months(start: date, end: date, school_year: SchoolYear, as_of: date) -> int:
    """Number of months of a commitment running ``start``–``end`` still open on ``as_of``.

    Counts the months whose first day d satisfies: d > as_of, d ≥ start, d ≥ 1 August and
    d ≤ min(end, 31 July) of ``school_year``. E.g. 01.08.2023–31.07.2024 on 15.02.2024:
    March to July = 5 (February has begun, so it counts as booked).
    """
    lower = max(_next_first(as_of, strictly_after=True), _next_first(start, strictly_after=False),
                school_year.first_day)
    upper = min(end, school_year.last_day)
    if lower > upper:
        return 0
    return (upper.year * 12 + upper.month) - (lower.year * 12 + lower.month) + 1


def forecast(session: Session, recipient: Recipient, school_year: SchoolYear, *, as_of: date,
             packs: tuple[RulePack, ...] | None = None, basis: Classified | None = None) -> Forecast:
    """Project ``recipient``'s ``school_year`` from its actuals and open commitments as of ``as_of``.

    See the module docstring for the conventions. ``basis``: the year's classified postings
    if the caller has them (``ledger.rules.evaluation_runs.classified``, today's rules: an
    open year), so that they are not classified again; the actuals are those dated up to
    ``as_of``. Raises RulePackError if no rule pack covers the year. A category the pack
    does not know is unclassified, not an error.
    """
    packs = packs or load_packs()
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    if basis is not None:
        booked = tuple(item for item in basis.items if item.day <= as_of)
        run = basis.state.run
        basis = Classified(booked, RunState(run, False, False, len(booked) if run is None else 0))
    actuals = compute_repayment(session, recipient, school_year, packs, booked_until=as_of, basis=basis)

    commitments = session.scalars(
        select(Commitment).where(Commitment.recipient_id == recipient.id).order_by(Commitment.reference)
        .options(selectinload(Commitment.pool).selectinload(Pool.schools)))
    open_items = []
    for c in commitments:
        months = open_months(c.start_date, c.end_date, school_year, as_of)
        if months:
            monthly = from_cents(c.monthly_cents)
            open_items.append(OpenCommitment(c.reference, c.category, months, monthly, monthly * months,
                                             _classify_commitment(c, monthly * months, school_year, pack,
                                                                  recipient.kind)))
    committed_by: dict[str, Decimal] = {}
    committed = TotalsBuilder()
    for item in open_items:
        committed_by[item.category] = committed_by.get(item.category, ZERO) + item.amount
        committed.add_classification(item.category, to_cents(item.amount), item.classification)

    actual_by = {c.category: c.amount for c in actuals.by_category}
    by_category = tuple(
        ForecastCategory(c.id, c.label, c.status, actual_by.get(c.id, ZERO), committed_by.get(c.id, ZERO),
                         actual_by.get(c.id, ZERO) + committed_by.get(c.id, ZERO))
        for c in pack.categories if c.id in actual_by or c.id in committed_by
    )

    projected_totals = actuals.totals + committed.totals()
    projected = judge_use(projected_totals, pack)
    pool, overhead, cap = projected.pool_personnel, projected.overhead_charged, projected.overhead_cap
    excess, permitted = projected.overhead_excess, projected.permitted
    committed_excluded = sum((item.classification.excluded for item in open_items), ZERO)
    excluded, unclassified = projected.excluded, projected.unclassified

    assessed, received = actuals.grant_assessed, actuals.grant_received
    if assessed is not None and assessed > received:
        grant_basis, source = assessed, "assessed"
    else:
        grant_basis, source = received, "received"
    repayment = max(grant_basis - permitted, ZERO)
    days = None if actuals.due_date is None else (actuals.due_date - as_of).days

    warnings = []
    if cap is not None and overhead > 0:
        if overhead > cap:
            warnings.append(("overhead_above_cap",
                             f"Der voraussichtliche Overhead von {format_german(overhead)} EUR übersteigt die "
                             f"voraussichtliche Obergrenze von {format_german(cap)} EUR "
                             f"({_percent(pack.overhead.rate)} % von {format_german(pool)} EUR Pool-Personalkosten) "
                             f"um {format_german(excess)} EUR; dieser Betrag ist nicht zweckentsprechend."))
        elif overhead >= cap * NEAR_CAP_SHARE:
            warnings.append(("overhead_near_cap",
                             f"Der voraussichtliche Overhead von {format_german(overhead)} EUR erreicht mindestens "
                             f"{_percent(NEAR_CAP_SHARE)} % der voraussichtlichen Obergrenze von "
                             f"{format_german(cap)} EUR ({_percent(pack.overhead.rate)} % von "
                             f"{format_german(pool)} EUR Pool-Personalkosten)."))
    if days is not None and repayment > 0:
        if 0 <= days <= DEADLINE_WARNING_DAYS:
            warnings.append(("deadline_soon",
                             f"Die Rückzahlungsfrist endet am {actuals.due_date:%d.%m.%Y} (in {counted(days, 'Tag', 'Tagen')}); "
                             f"voraussichtliche Rückzahlung {format_german(repayment)} EUR. Mitteilung an das "
                             f"Ministerium und Rückzahlung vorbereiten."))
        elif days < 0:
            warnings.append(("deadline_passed",
                             f"Die Rückzahlungsfrist ist am {actuals.due_date:%d.%m.%Y} abgelaufen (vor "
                             f"{counted(-days, 'Tag', 'Tagen')}); voraussichtliche Rückzahlung {format_german(repayment)} EUR."))
    if actuals.excluded > 0 or committed_excluded > 0:
        warnings.append(("excluded_spending",
                         f"Ausgaben für ausgeschlossene Zwecke: gebucht {format_german(actuals.excluded)} EUR, "
                         f"verpflichtet {format_german(committed_excluded)} EUR; sie sind nicht "
                         f"zweckentsprechend."))
    if unclassified > 0:
        warnings.append(("unclassified",
                         f"{format_german(unclassified)} EUR Aufwand (gebucht oder verpflichtet) sind noch nicht "
                         f"eingestuft (siehe Prüfliste) und gelten bis dahin als nicht zweckentsprechend."))

    return Forecast(
        recipient_key=recipient.key, school_year=str(school_year), as_of=as_of,
        rule_pack_id=pack.id, rule_pack_version=pack.version, actuals=actuals,
        open_commitments=tuple(open_items), committed=sum((i.amount for i in open_items), ZERO),
        by_category=by_category, projected_pool_personnel=pool, projected_overhead=overhead,
        projected_overhead_cap=cap, projected_overhead_excess=excess, projected_permitted=permitted,
        projected_excluded=excluded, unclassified=unclassified, grant_assessed=assessed,
        grant_received=received, grant_basis=grant_basis, grant_basis_source=source, projected_repayment=repayment,
        agreement_reference=None if actuals.agreement is None else actuals.agreement.reference,
        due_date=actuals.due_date, days_until_due=days, warnings=tuple(warnings), projected_totals=projected_totals,
    )


def _classify_commitment(commitment: Commitment, amount: Decimal, school_year: SchoolYear,
                         pack: RulePack, recipient_kind: str) -> Classification:
    """The rules engine's decision on a commitment's open ``amount`` (EUR), as if it were
    one expense of its category and pool booked on the school year's last day."""
    centre = None if commitment.pool is None else CostCentreFacts(
        f"Pool {commitment.pool.key}", pool=pool_facts(commitment.pool))
    facts = PostingFacts(amount, school_year.last_day, school_year, commitment.category, None, recipient_kind)
    return classify(facts, centre, pack)


def _next_first(day: date, *, strictly_after: bool) -> date:
    """The first day of a month that is after ``day`` (``strictly_after``) or on/after it."""
    if day.day == 1 and not strictly_after:
        return day
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _percent(share: Decimal) -> str:
    """``Decimal("0.15")`` → ``"15"``, ``Decimal("0.125")`` → ``"12,5"``."""
    return f"{(share * 100).normalize():f}".replace(".", ",")

"""The repayment kernel: a school year's settlement from its classified totals.

A pure function over values, no database: the year's spending summed by category and
status (``ledger.reports.totals.Totals``), the rule pack in force and the year's facts of
the books (``YearBook``: grant, payouts, agreement, confirmed obligation, payments). The
repayment (``ledger.reports.repayment``), the forecast, the dashboard and the statement all
rest on it, so each rule below lives here and nowhere else:

- **Purpose-conform use** (``judge_use``): the conform parts of the classified spending, with
  the capped category (overhead) counted only up to the pack's cap, ``OverheadRule.cap`` of the
  conform spending in the cap's base categories (seed 002_17056edfca8550ce.txt, Hinweise
  Teil IV, 6. Spiegelstrich: 15 % of the personnel costs spent in the pool model).
- **Where the money went**: total spending (net expense of the year, every category and
  postings without one) = purpose-conform use + excluded + unclassified + overhead above the
  cap, and = the category rows (``by_category``) + the spending without a pack category
  (``uncategorised``); the grant received less total spending is the unspent grant.
- **Repayment due**: grant received − purpose-conform use, not below zero (Vereinbarung § 4
  Abs. 2; Hinweise Teil II). What decides instead, first match: the **notice of the Land** in
  force (Rückforderungs-/Erstattungsbescheid, ``NoticeTerms``, the latest neither replaced by
  an amending notice nor withdrawn, ``ledger.core.notices``: its amount, due date, interest start
  and rate, or no interest where it waives it, § 49a Abs. 3 VwVfG NRW; it beats an agreement
  too); a **settlement agreement in force** (Vereinbarung §§ 1, 2, 9: its agreed repayment,
  whether or not the payouts are booked, else grant received − the amount deemed conform, or
  nothing where the Land waives). An agreement not (yet) in force is shown but changes nothing.
- **One due date where a notice or an agreement sets it** (``_single_due``): the whole amount
  is due on that date, as one tranche (``Tranche.basis`` ``"notice"`` or ``"agreement"``,
  without a payout), instead of one deadline per payout. An agreement's payment date is moved
  under § 193 BGB (the rule covers days set by contract: "an einem bestimmten Tage … eine
  Leistung zu bewirken"); a notice's due date under § 31 Abs. 3 VwVfG NRW, the same shift for
  time limits set by an authority. Interest on an agreement runs from the day after its
  (moved) payment date at the pack's rate; on a notice from its interest start at its rate.
- **Each payout has its own deadline** (``Tranche``): "bis zum 1. April des auf die Auszahlung
  folgenden Haushaltsjahres" (Vereinbarung § 4 Abs. 2), moved under § 193 BGB
  (``ledger.rules.deadline``). Spending uses the payouts in payout order, so the unspent rest
  belongs to the latest ones; repayments settle the earliest deadline first.
- **Years before 2021/22** (a pack without ``[deadline]``, the statute's): nothing is owed
  automatically; only a settlement agreement (or a notice of the Land) makes a repayment due
  (Vereinbarung § 4 Abs. 1: the 1 April rule applies "ab dem Schuljahr 2021/2022").
- **Late-payment interest** per tranche from its own deadline, or as the notice or agreement sets it (§ 49a Abs. 3 VwVfG NRW, the
  pack's ``[interest]``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from ledger.core.agreements import IN_FORCE, StatusStep
from ledger.core.errors import LedgerError
from ledger.core.money import ZERO, format_plain
from ledger.core.schoolyear import SchoolYear
from ledger.reports.totals import Totals
from ledger.rules.deadline import next_working_day, repayment_due_date
from ledger.rules.evaluation_runs import RunState
from ledger.rules.interest import (
    InterestError,
    InterestResult,
    late_interest,
    rates_cover_until,
)
from ledger.rules.packs import BaseRate, InterestRule, RulePack
from ledger.rules.status import Status


@dataclass(frozen=True)
class CategoryAmount:
    """Net expense of one category in a school year (EUR).

    ``status`` is the rule pack's status: ``permitted``, ``capped`` or ``excluded``.
    """

    category: str
    label: str
    status: str
    amount: Decimal


@dataclass(frozen=True)
class AgreementFigures:
    """A settlement agreement's figures for one school year (EUR).

    Either ``waived`` (the Land waives its claim: nothing to repay) or
    ``deemed_conform`` (the amount agreed as purpose-conform), never both.
    ``repayment_due`` is what the agreement leaves to repay: its agreed repayment
    (``agreed_repayment``, Vereinbarung § 1 Abs. 2) where it fixes one, else grant received −
    deemed conform, zero where waived. ``payment_date`` and ``payment_reference`` as agreed
    (§ 3); ``status`` a key of ``ledger.core.agreements.STATUSES`` and ``effective_date``
    (§ 9), the latest step of ``history`` (the status events, oldest first). Only an agreement
    ``in_force`` decides the result.
    """

    deemed_conform: Decimal | None
    waived: bool
    reference: str
    repayment_due: Decimal
    agreed_repayment: Decimal | None = None
    payment_date: date | None = None
    payment_reference: str | None = None
    status: str = IN_FORCE
    effective_date: date | None = None
    history: tuple[StatusStep, ...] = ()

    @property
    def in_force(self) -> bool:
        """Whether the agreement is in force (Vereinbarung § 9) and so decides the figures."""
        return self.status == IN_FORCE


@dataclass(frozen=True)
class NoticeTerms:
    """A notice of the Land for the school year (Rückforderungs-/Erstattungsbescheid), which
    decides the repayment: ``notice_date``, ``reference`` (Aktenzeichen), ``amount`` (EUR)
    due on ``due_date``; interest from ``interest_start`` (the first interest day) at
    ``interest_points`` percentage points above the base rate, both None where the notice
    waives interest (``interest_waived``, § 49a Abs. 3 Satz 2 VwVfG NRW). ``replaces``: the
    Aktenzeichen and date of the earlier notice this amending notice (Änderungsbescheid)
    replaced, None for a first notice."""

    notice_date: date
    reference: str
    amount: Decimal
    due_date: date
    interest_start: date | None
    interest_points: Decimal | None
    interest_waived: bool
    replaces: tuple[str, date] | None = None

    def as_json(self) -> dict:
        """A JSON-ready dict (the ``notice`` of ``RepaymentResult.as_json``): amount as a string with
        two decimals, dates ISO, interest points as a decimal string."""
        return {"notice_date": self.notice_date.isoformat(), "reference": self.reference,
                "amount": format_plain(self.amount), "due_date": self.due_date.isoformat(),
                "interest_start": _iso(self.interest_start),
                "interest_points": None if self.interest_points is None else f"{self.interest_points:f}",
                "interest_waived": self.interest_waived,
                "replaces": None if self.replaces is None else {"reference": self.replaces[0],
                                                                "notice_date": self.replaces[1].isoformat()}}


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_plain(value)


@dataclass(frozen=True)
class Tranche:
    """One payout's part of the repayment (EUR): the payout (``payout_date``, ``payout``), the
    unspent part of it to repay (``due``), what of the repayments paid settled it (``paid``),
    ``outstanding`` = due − paid, and its own deadline: ``nominal_due_date`` (1 April of the
    budget year after the payout) and ``due_date`` (moved under § 193 BGB); both None where
    the pack sets no deadline.

    ``basis`` is ``"payout"`` for such a tranche. Where a notice (``"notice"``) or an agreement
    in force (``"agreement"``) sets the due date, the result has one tranche for the whole
    amount, without a payout (``payout_date`` and ``payout`` None), with that date as
    ``nominal_due_date`` and the date moved to the next working day as ``due_date``."""

    payout_date: date | None
    payout: Decimal | None
    due: Decimal
    paid: Decimal
    outstanding: Decimal
    nominal_due_date: date | None
    due_date: date | None
    basis: str = "payout"


@dataclass(frozen=True)
class RepaymentResult:
    """The outcome of one recipient's school year. All amounts EUR, ``Decimal`` with two places.

    - ``grant_received``: sum of payouts booked for the school year.
    - ``by_category``: net expense per category (all statuses), in rule-pack order.
    - ``uncategorised_open`` and ``uncategorised_decided``: net expense of postings without a
      category of the pack (none given, or one the pack does not know): the part still
      unclassified (the review queue's), and the part an officer's overrides decided (conform
      and excluded); ``uncategorised`` is their sum.
    - ``total_spending``: net expense of the school year, all postings = sum of ``by_category``
      + ``uncategorised`` = permitted + excluded + unclassified + overhead excess.
      ``unspent_grant`` = grant received − total spending (negative: more spent than received).
    - ``permitted``: purpose-conform spending as the rules engine (``ledger.rules.classify``) and
      the officers' overrides decide it per posting, with overhead only up to the cap.
    - ``pool_personnel``: the conform part of the cap's base categories (pool personnel of
      systemic pools; individual-entitlement shares do not raise the cap).
    - ``overhead_charged``, ``overhead_cap`` (None where the pack has no overhead rule),
      ``overhead_rate`` (the pack's rate, e.g. ``Decimal("0.15")``, or None),
      ``overhead_excess`` = max(overhead charged − cap, 0).
    - ``excluded``: the excluded parts (excluded categories, non-GL schools, individual
      entitlements, unverified pass-through, postings outside the school year).
    - ``unclassified``: spending the rules cannot decide yet (the review queue); not
      conform until an officer supplies what is missing.
    - ``evaluation``: the recorded evaluation run behind the figures and whether today's
      rules agree with it (``ledger.rules.evaluation_runs.RunState``).
    - ``computed_repayment_due`` = max(grant received − permitted, 0).
    - ``repayment_due``: the notice's amount where the Land issued one (``notice``), else the
      agreement's where one in force covers the year, else the computed figure; zero without
      notice or agreement in force where the pack sets no deadline (years before 2021/22).
      ``decided_by`` says which. ``agreement`` is shown whatever its status.
    - ``already_repaid``: repayments paid to the Landeskasse; ``outstanding`` =
      repayment due − already repaid (negative means overpaid).
    - ``confirmed_obligation``: repayment obligation booked as a liability (``inkl repayment
      confirm``), zero if not yet confirmed.
    - ``tranches``: the repayment by payout, each with its own deadline (``Tranche``),
      oldest first; their ``due`` add up to ``repayment_due``.
    - ``nominal_due_date`` and ``due_date``: those of the earliest tranche still open, else
      of the first tranche (1 April of the budget year after its payout, and moved to the
      next working day under § 193 BGB). None without payout or without a deadline rule.
    - ``interest``: interest on late repayment (§ 49a Abs. 3 VwVfG NRW, the pack's
      ``[interest]``), per tranche from its own due date: one ``InterestResult`` per part of a
      payment made after it, and one for each tranche's amount still outstanding up to
      ``interest_as_of``: the ``as_of`` day of the computation, or the last day the
      base-rate table covers if that is earlier.
    - ``totals``: the classified spending the figures rest on (``ledger.reports.totals``).
    """

    recipient_key: str
    school_year: str
    rule_pack_id: str
    rule_pack_version: str
    grant_assessed: Decimal | None
    grant_received: Decimal
    by_category: tuple[CategoryAmount, ...]
    permitted: Decimal
    pool_personnel: Decimal
    overhead_charged: Decimal
    overhead_cap: Decimal | None
    overhead_rate: Decimal | None
    overhead_excess: Decimal
    excluded: Decimal
    unclassified: Decimal
    computed_repayment_due: Decimal
    agreement: AgreementFigures | None
    repayment_due: Decimal
    confirmed_obligation: Decimal
    already_repaid: Decimal
    outstanding: Decimal
    nominal_due_date: date | None
    due_date: date | None
    evaluation: RunState | None = None
    interest: tuple[InterestResult, ...] = ()
    interest_as_of: date | None = None
    totals: Totals | None = None
    tranches: tuple[Tranche, ...] = ()
    total_spending: Decimal = ZERO
    uncategorised_open: Decimal = ZERO
    uncategorised_decided: Decimal = ZERO

    @property
    def uncategorised(self) -> Decimal:
        """Net expense of postings without a pack category in EUR (open + decided)."""
        return self.uncategorised_open + self.uncategorised_decided

    @property
    def unspent_grant(self) -> Decimal:
        """Grant received − total spending in EUR; negative where more was spent than received."""
        return self.grant_received - self.total_spending
    notice: NoticeTerms | None = None

    @property
    def decided_by(self) -> str:
        """What decides ``repayment_due``: ``"notice"``, ``"agreement"`` (in force) or ``"computation"``."""
        if self.notice is not None:
            return "notice"
        if self.agreement is not None and self.agreement.in_force:
            return "agreement"
        return "computation"

    def payment_reference(self, standard: str) -> str:
        """The Verwendungszweck of the repayment, as the statement and the SEPA transfer name it:
        the agreement's agreed reference where an agreement in force decides and fixes one
        (Vereinbarung § 3), else ``standard`` (the rule pack's, ``Landeskasse.reference_for``),
        followed by the notice's Aktenzeichen where a notice decides, e.g. ``"Rückzahlung
        Inklusionspauschale 2023/24 Kreis Testland, Bescheid Az. 48.01-2023/24"``, so that the
        Landeskasse can match the payment to its claim."""
        if self.decided_by == "agreement" and self.agreement.payment_reference:
            return self.agreement.payment_reference
        if self.decided_by == "notice":
            return f"{standard}, Bescheid Az. {self.notice.reference}"
        return standard

    @property
    def late_interest(self) -> Decimal:
        """Interest on late repayment in EUR (sum of ``interest``, each rounded half up to cents)."""
        return sum((i.interest for i in self.interest), ZERO)

    def as_json(self) -> dict:
        """A JSON-ready dict, the one shape of ``inkl repayments --json`` and the API's repayments:
        amounts as strings with two decimals (``"45154.33"``), dates ISO, ids of rule pack,
        categories and statuses (never labels); ``agreement`` and ``notice`` None where the year
        has none."""
        money = format_plain
        agreement = self.agreement
        return {
            "recipient": self.recipient_key,
            "school_year": self.school_year,
            "rule_pack": {"id": self.rule_pack_id, "version": self.rule_pack_version},
            "grant_assessed": _money(self.grant_assessed),
            "grant_received": money(self.grant_received),
            "permitted": money(self.permitted),
            "by_category": [{"category": c.category, "status": c.status, "amount": money(c.amount)}
                            for c in self.by_category],
            "pool_personnel": money(self.pool_personnel),
            "overhead_charged": money(self.overhead_charged),
            "overhead_cap": _money(self.overhead_cap),
            "overhead_excess": money(self.overhead_excess),
            "excluded": money(self.excluded),
            "unclassified": money(self.unclassified),
            "uncategorised_open": money(self.uncategorised_open),
            "uncategorised_decided": money(self.uncategorised_decided),
            "total_spending": money(self.total_spending),
            "unspent_grant": money(self.unspent_grant),
            "computed_repayment_due": money(self.computed_repayment_due),
            "repayment_due": money(self.repayment_due),
            "confirmed_obligation": money(self.confirmed_obligation),
            "already_repaid": money(self.already_repaid),
            "outstanding": money(self.outstanding),
            "late_interest": money(self.late_interest),
            "interest_as_of": _iso(self.interest_as_of),
            "interest": [{"principal": money(i.principal), "from": i.due_date.isoformat(), "to": i.end_date.isoformat(),
                          "days": i.days, "amount": money(i.interest),
                          "rates": [f"{p.applied_rate:f}" for p in i.periods]} for i in self.interest],
            "nominal_due_date": _iso(self.nominal_due_date),
            "due_date": _iso(self.due_date),
            "decided_by": self.decided_by,
            "due_dates": [{"basis": t.basis, "payout_date": _iso(t.payout_date), "payout": _money(t.payout),
                           "due": money(t.due), "paid": money(t.paid), "outstanding": money(t.outstanding),
                           "nominal_due_date": _iso(t.nominal_due_date), "due_date": _iso(t.due_date)}
                          for t in self.tranches],
            "agreement": None if agreement is None else {
                "waived": agreement.waived,
                "deemed_conform": _money(agreement.deemed_conform),
                "repayment_due": money(agreement.repayment_due),
                "reference": agreement.reference,
                "agreed_repayment": _money(agreement.agreed_repayment),
                "payment_date": _iso(agreement.payment_date),
                "payment_reference": agreement.payment_reference,
                "status": agreement.status,
                "effective_date": _iso(agreement.effective_date),
                "status_history": [{"status": step.status, "effective_date": _iso(step.effective_date),
                                    "recorded_at": step.recorded_at.isoformat()} for step in agreement.history],
            },
            "notice": None if self.notice is None else self.notice.as_json(),
        }


@dataclass(frozen=True)
class AgreementTerms:
    """A settlement agreement as recorded for a school year: ``deemed_conform`` (EUR, the amount
    agreed as purpose-conform, or None) or ``waived`` (the Land waives its claim), and its
    ``reference``; ``repayment`` (EUR, the agreed repayment, None where the agreement fixes
    none), ``payment_date``, ``payment_reference``, ``status``, ``effective_date`` and the status
    ``history`` (see ``AgreementFigures``)."""

    deemed_conform: Decimal | None
    waived: bool
    reference: str
    repayment: Decimal | None = None
    payment_date: date | None = None
    payment_reference: str | None = None
    status: str = IN_FORCE
    effective_date: date | None = None
    history: tuple[StatusStep, ...] = ()


@dataclass(frozen=True)
class YearBook:
    """What a school year's settlement needs of the books besides the spending (EUR).

    - ``grant_assessed``: the Festsetzungsbescheid's amount, None without a grant recorded.
    - ``payouts``: the grant's payouts, (date, EUR), oldest first.
    - ``received``: the grant received (the grant revenue account's credit balance).
    - ``agreement``: the settlement agreement covering the year, if any, whatever its status.
    - ``confirmed``: the repayment obligation booked (``ledger.workflows.repayment``).
    - ``repaid``: repayments paid to the Landeskasse (confirmed − open liability).
    - ``payments``: the repayments paid and not reversed, (date, EUR), oldest first.
    - ``notice``: the Land's notice in force for the year, if any (an amending notice replaces
      an earlier one; a withdrawn notice is none).
    """

    grant_assessed: Decimal | None
    payouts: tuple[tuple[date, Decimal], ...]
    received: Decimal
    agreement: AgreementTerms | None
    confirmed: Decimal
    repaid: Decimal
    payments: tuple[tuple[date, Decimal], ...]
    notice: NoticeTerms | None = None


@dataclass(frozen=True)
class Use:
    """How a school year's spending counts (EUR), ``judge_use``'s result.

    - ``by_category``: net expense per pack category (all statuses), in pack order;
      ``uncategorised_open`` / ``uncategorised_decided``: net expense of postings without a pack
      category, unclassified / decided by overrides; ``total_spending``: net expense of all postings.
    - ``permitted``: purpose-conform spending, overhead only up to the cap.
    - ``pool_personnel``: the cap's base: the conform part of the cap's base categories, or
      all their spending, as the pack's ``[overhead] base`` says.
    - ``overhead_charged``: conform spending of the capped category before the cap;
      ``overhead_cap`` (None where the pack has no cap), ``overhead_rate`` (e.g. 0.15, or
      None); ``overhead_excess`` = max(overhead charged − cap, 0).
    - ``excluded``, ``unclassified``: the excluded and the not yet decided parts.
    """

    by_category: tuple["CategoryAmount", ...]
    uncategorised_open: Decimal
    uncategorised_decided: Decimal
    total_spending: Decimal
    permitted: Decimal
    pool_personnel: Decimal
    overhead_charged: Decimal
    overhead_cap: Decimal | None
    overhead_rate: Decimal | None
    overhead_excess: Decimal
    excluded: Decimal
    unclassified: Decimal


def judge_use(totals: Totals, pack: RulePack) -> Use:
    """How ``totals`` count under ``pack``: the one place the overhead cap is applied.

    Raises LedgerError if the pack has capped categories but no cap (``load_pack`` refuses
    such a pack; this guards hand-built packs).
    """
    capped = totals.sum("conform", statuses=(Status.CAPPED,))
    permitted = totals.sum("conform", skip_statuses=(Status.CAPPED,))
    pool, cap, excess = ZERO, None, ZERO
    if pack.overhead is not None:
        measure = "conform" if pack.overhead.base == "conform" else "amount"
        pool = totals.sum(measure, categories=pack.overhead.base_categories)
        cap = pack.overhead.cap(pool)
        excess = max(capped - cap, ZERO)
        permitted += min(capped, cap)
    elif capped:
        raise LedgerError(f"Regelwerk {pack.id} hat gedeckelte Kategorien, aber keine Obergrenze")
    uncategorised = totals.without_categories(c.id for c in pack.categories)
    return Use(by_category=_by_category(totals, pack), uncategorised_open=uncategorised.sum("unclassified"),
               uncategorised_decided=uncategorised.sum("conform") + uncategorised.sum("excluded"),
               total_spending=totals.sum("amount"),
               permitted=permitted, pool_personnel=pool,
               overhead_charged=capped, overhead_cap=cap,
               overhead_rate=None if pack.overhead is None else pack.overhead.rate, overhead_excess=excess,
               excluded=totals.sum("excluded"), unclassified=totals.sum("unclassified"))


def settle(recipient_key: str, school_year: SchoolYear, pack: RulePack, totals: Totals, book: YearBook, *,
           as_of: date | None = None, evaluation: RunState | None = None) -> RepaymentResult:
    """The settlement of one recipient's school year (see the module docstring).

    ``as_of`` (a date) adds the interest accrued on an overdue outstanding amount up to
    that day; ``evaluation`` is the run state the totals rest on, passed through. Raises
    LedgerError if the pack has capped categories without a cap, or if the base-rate table
    does not reach the day of a late payment.
    """
    use = judge_use(totals, pack)
    computed_due = max(book.received - use.permitted, ZERO)
    figures = _agreement_figures(book.agreement, book.received)
    term = None
    if book.notice is not None:
        due, term = book.notice.amount, _notice_term(book.notice, pack)
    elif figures is not None and figures.in_force:
        due, term = figures.repayment_due, _agreement_term(figures, pack)
    else:
        due = computed_due if pack.deadline is not None else ZERO
    if term is None:
        tranches, interest = _tranches(book, due, pack, school_year, as_of)
    else:
        tranches, interest = _single_due(book, due, term, school_year, as_of)
    first = next((t for t in tranches if t.outstanding > 0), tranches[0] if tranches else None)
    return RepaymentResult(
        recipient_key=recipient_key, school_year=str(school_year), rule_pack_id=pack.id,
        rule_pack_version=pack.version, grant_assessed=book.grant_assessed, grant_received=book.received,
        **vars(use),  # every figure of the use, under the same names
        computed_repayment_due=computed_due, agreement=figures, repayment_due=due,
        confirmed_obligation=book.confirmed, already_repaid=book.repaid, outstanding=due - book.repaid,
        nominal_due_date=None if first is None else first.nominal_due_date,
        due_date=None if first is None else first.due_date, evaluation=evaluation, totals=totals,
        tranches=tranches, notice=book.notice, **interest,
    )


@dataclass(frozen=True)
class _DueTerm:
    """A single due date set by a notice or an agreement (``basis``): ``nominal`` as written,
    ``due`` moved to the next working day; interest days are the days after ``interest_base``
    (EUR at ``rule``'s rate), none where ``rule`` is None."""

    basis: str
    nominal: date
    due: date
    interest_base: date | None
    rule: InterestRule | None


def _working_day(day: date, pack: RulePack) -> date:
    """``day`` moved to the next working day at the place of payment (§ 193 BGB, § 31 Abs. 3
    VwVfG NRW): the holiday calendar of the pack (``[holidays]``, NRW for the Landeskasse
    Düsseldorf in the shipped packs), also in years the pack sets no deadline."""
    return next_working_day(day, pack.holidays.country, pack.holidays.subdivision)


def _agreement_term(figures: AgreementFigures, pack: RulePack) -> _DueTerm | None:
    """The agreement's payment date (Vereinbarung § 3) as the one due date, moved under § 193
    BGB; interest at the pack's rate from the day after it. None without a payment date (then
    the payouts' deadlines apply to the agreed amount, as before the date was recorded)."""
    if figures.payment_date is None:
        return None
    due = _working_day(figures.payment_date, pack)
    return _DueTerm("agreement", figures.payment_date, due, due, pack.interest)


def _notice_term(notice: NoticeTerms, pack: RulePack) -> _DueTerm:
    """The notice's due date (moved under § 31 Abs. 3 VwVfG NRW) as the one due date; interest
    from the notice's interest start at its rate above the base rate, none where it waives
    interest or the pack has no base-rate table."""
    rule = None
    if not notice.interest_waived and pack.interest is not None:
        rule = replace(pack.interest, surcharge_percentage_points=notice.interest_points)
    base = None if notice.interest_start is None else notice.interest_start - timedelta(days=1)
    return _DueTerm("notice", notice.due_date, _working_day(notice.due_date, pack), base, rule)


def _single_due(book: YearBook, due: Decimal, term: _DueTerm, school_year: SchoolYear,
                as_of: date | None) -> tuple[tuple[Tranche, ...], dict]:
    """The repayment ``due`` (EUR) as one tranche due on ``term``'s date, and the result's
    ``interest`` fields: each part of a payment (``book.payments``, oldest first) made after
    the interest base bears interest up to its day, the amount still outstanding up to
    ``as_of``. Payments not attributable by date (or an overpayment) count as paid."""
    late: list[tuple[date, date, Decimal]] = []
    rest = due
    for day, amount in book.payments:
        part = min(amount, rest)
        if part > 0:
            rest -= part
            if term.interest_base is not None and day > term.interest_base:
                late.append((term.interest_base, day, part))
    tranche = Tranche(None, None, due, book.repaid, due - book.repaid, term.nominal, term.due, term.basis)
    open_ = [] if term.interest_base is None else [(term.interest_base, tranche.outstanding)]
    return (tranche,), _interest(late, open_, term.rule, school_year, as_of)


def _tranches(book: YearBook, due: Decimal, pack: RulePack, school_year: SchoolYear,
              as_of: date | None) -> tuple[tuple[Tranche, ...], dict]:
    """The repayment ``due`` (EUR) by payout, and the result's ``interest`` fields.

    Spending uses the payouts in payout order, so ``due`` is taken from the latest payout
    backwards (at most each payout's amount; a rest beyond all payouts stays with the
    latest). The repayments paid (``book.payments``, oldest first) settle the tranches in
    order of their deadlines; a part paid after its tranche's due date bears interest from
    that date, and what is still outstanding accrues until ``as_of``.
    """
    parts = [ZERO] * len(book.payouts)
    rest = due
    for index in range(len(book.payouts) - 1, -1, -1):
        parts[index] = min(book.payouts[index][1], rest)
        rest -= parts[index]
    if parts and rest > 0:
        parts[-1] += rest
    dates = [repayment_due_date(day, pack.deadline) if pack.deadline is not None else (None, None)
             for day, _amount in book.payouts]
    paid = [ZERO] * len(parts)
    late: list[tuple[int, date, Decimal]] = []   # (tranche, day, part of a payment made after its due date)
    index = 0
    for day, amount in book.payments:
        while amount > 0 and index < len(parts):
            part = min(amount, parts[index] - paid[index])
            if part > 0:
                paid[index] += part
                amount -= part
                if dates[index][1] is not None and day > dates[index][1]:
                    late.append((index, day, part))
            if paid[index] == parts[index]:
                index += 1
    if parts:
        paid[-1] += book.repaid - sum(paid, ZERO)  # payments not attributable by date (or an overpayment)
    tranches = tuple(Tranche(day, amount, part, settled, part - settled, nominal, effective)
                     for (day, amount), part, settled, (nominal, effective) in zip(book.payouts, parts, paid, dates))
    return tranches, _interest([(tranches[index].due_date, day, amount) for index, day, amount in late],
                               [(t.due_date, t.outstanding) for t in tranches if t.due_date is not None],
                               pack.interest, school_year, as_of)


def _interest(late: list[tuple[date, date, Decimal]], open_: list[tuple[date, Decimal]],
              rule: InterestRule | None, school_year: SchoolYear, as_of: date | None) -> dict:
    """``interest`` and ``interest_as_of`` for the result, at ``rule``'s rate (none without a
    rule): interest on each part of a payment made late (``late``: interest base — the day
    after which interest runs, a tranche's due date —, payment day, EUR), and on each amount
    still outstanding (``open_``: interest base, EUR) from its base until ``as_of`` (at most
    to the last day the base-rate table covers, so that a missing new base rate never stops
    a statement).

    Interest is linear in the principal, so the sum over payments equals interest on the
    declining balance. Raises LedgerError if a late payment lies beyond the table.
    """
    if rule is None:
        return {}
    accruing = [(base, amount) for base, amount in open_ if amount > 0 and as_of is not None and as_of > base]
    if not late and not accruing:
        return {}
    rates = _base_rates(rule)
    accrue_until = min(as_of, rates_cover_until(rates)) if accruing else None
    owed = late + [(base, accrue_until, amount) for base, amount in accruing]
    try:
        results = tuple(late_interest(amount, base, day, rule, rates) for base, day, amount in owed)
    except InterestError as exc:
        raise LedgerError(f"Verzugszinsen {school_year}: {exc}") from exc
    return {"interest": results, "interest_as_of": accrue_until}


def _base_rates(rule: InterestRule) -> tuple[BaseRate, ...]:
    """``rule.load_rates()``, read and validated again only when the table file changes (its
    modification time or size), not on every repayment computed (every dashboard shown)."""
    try:
        stat = rule.base_rate_path.stat()
    except OSError:
        return rule.load_rates()  # raises RulePackError naming the file
    return _rates_of_file(rule, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _rates_of_file(rule: InterestRule, _mtime_ns: int, _size: int) -> tuple[BaseRate, ...]:
    return rule.load_rates()


def _agreement_figures(agreement: AgreementTerms | None, received: Decimal) -> AgreementFigures | None:
    """What a settlement agreement leaves to repay of ``received`` EUR (Vereinbarung §§ 1, 2):
    its agreed repayment where it fixes one, whatever is booked, else received − deemed
    conform; nothing where the Land waives."""
    if agreement is None:
        return None
    if agreement.waived:
        due = ZERO
    elif agreement.repayment is not None:
        due = agreement.repayment
    else:
        due = max(received - agreement.deemed_conform, ZERO)
    return AgreementFigures(agreement.deemed_conform, agreement.waived, agreement.reference, due,
                            agreed_repayment=agreement.repayment, payment_date=agreement.payment_date,
                            payment_reference=agreement.payment_reference, status=agreement.status,
                            effective_date=agreement.effective_date, history=agreement.history)


def _by_category(totals: Totals, pack: RulePack) -> tuple[CategoryAmount, ...]:
    """Net expense per pack category (all statuses), in pack order; categories without
    spending are left out, postings without a pack category are ``Use.uncategorised_*``."""
    amounts = totals.by_category()
    return tuple(CategoryAmount(c.id, c.label, c.status, amounts[c.id])
                 for c in pack.categories if amounts.get(c.id))



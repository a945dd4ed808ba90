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
  Abs. 2; Hinweise Teil II); a settlement agreement covering the year decides instead
  (Vereinbarung §§ 1, 2: the Land waives, or an agreed purpose-conform amount).
- **Each payout has its own deadline** (``Tranche``): "bis zum 1. April des auf die Auszahlung
  folgenden Haushaltsjahres" (Vereinbarung § 4 Abs. 2), moved under § 193 BGB
  (``ledger.rules.deadline``). Spending uses the payouts in payout order, so the unspent rest
  belongs to the latest ones; repayments settle the earliest deadline first.
- **Years before 2021/22** (a pack without ``[deadline]``, the statute's): nothing is owed
  automatically; only a settlement agreement (or a notice of the Land) makes a repayment due
  (Vereinbarung § 4 Abs. 1: the 1 April rule applies "ab dem Schuljahr 2021/2022").
- **Late-payment interest** per tranche from its own deadline (§ 49a Abs. 3 VwVfG NRW, the
  pack's ``[interest]``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from ledger.core.errors import LedgerError
from ledger.core.money import ZERO
from ledger.core.schoolyear import SchoolYear
from ledger.reports.totals import Totals
from ledger.rules.deadline import repayment_due_date
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
    ``repayment_due`` is what the agreement leaves to repay.
    """

    deemed_conform: Decimal | None
    waived: bool
    reference: str
    repayment_due: Decimal


@dataclass(frozen=True)
class Tranche:
    """One payout's part of the repayment (EUR): the payout (``payout_date``, ``payout``), the
    unspent part of it to repay (``due``), what of the repayments paid settled it (``paid``),
    ``outstanding`` = due − paid, and its own deadline: ``nominal_due_date`` (1 April of the
    budget year after the payout) and ``due_date`` (moved under § 193 BGB); both None where
    the pack sets no deadline."""

    payout_date: date
    payout: Decimal
    due: Decimal
    paid: Decimal
    outstanding: Decimal
    nominal_due_date: date | None
    due_date: date | None


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
    - ``repayment_due``: the computed figure, or the agreement's where one covers the year;
      zero without an agreement where the pack sets no deadline (years before 2021/22).
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

    @property
    def late_interest(self) -> Decimal:
        """Interest on late repayment in EUR (sum of ``interest``, each rounded half up to cents)."""
        return sum((i.interest for i in self.interest), ZERO)


@dataclass(frozen=True)
class AgreementTerms:
    """A settlement agreement as recorded for a school year: ``deemed_conform`` (EUR, the amount
    agreed as purpose-conform, or None) or ``waived`` (the Land waives its claim), and its
    ``reference``."""

    deemed_conform: Decimal | None
    waived: bool
    reference: str


@dataclass(frozen=True)
class YearBook:
    """What a school year's settlement needs of the books besides the spending (EUR).

    - ``grant_assessed``: the Festsetzungsbescheid's amount, None without a grant recorded.
    - ``payouts``: the grant's payouts, (date, EUR), oldest first.
    - ``received``: the grant received (the grant revenue account's credit balance).
    - ``agreement``: the settlement agreement covering the year, if any.
    - ``confirmed``: the repayment obligation booked (``ledger.workflows.repayment``).
    - ``repaid``: repayments paid to the Landeskasse (confirmed − open liability).
    - ``payments``: the repayments paid and not reversed, (date, EUR), oldest first.
    """

    grant_assessed: Decimal | None
    payouts: tuple[tuple[date, Decimal], ...]
    received: Decimal
    agreement: AgreementTerms | None
    confirmed: Decimal
    repaid: Decimal
    payments: tuple[tuple[date, Decimal], ...]


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
    if figures is not None:
        due = figures.repayment_due
    else:
        due = computed_due if pack.deadline is not None else ZERO
    tranches, interest = _tranches(book, due, pack, school_year, as_of)
    first = next((t for t in tranches if t.outstanding > 0), tranches[0] if tranches else None)
    return RepaymentResult(
        recipient_key=recipient_key, school_year=str(school_year), rule_pack_id=pack.id,
        rule_pack_version=pack.version, grant_assessed=book.grant_assessed, grant_received=book.received,
        by_category=use.by_category, permitted=use.permitted, pool_personnel=use.pool_personnel,
        overhead_charged=use.overhead_charged, overhead_cap=use.overhead_cap, overhead_rate=use.overhead_rate,
        overhead_excess=use.overhead_excess, excluded=use.excluded, unclassified=use.unclassified,
        computed_repayment_due=computed_due, agreement=figures, repayment_due=due,
        confirmed_obligation=book.confirmed, already_repaid=book.repaid, outstanding=due - book.repaid,
        nominal_due_date=None if first is None else first.nominal_due_date,
        due_date=None if first is None else first.due_date, evaluation=evaluation, totals=totals,
        total_spending=use.total_spending, uncategorised_open=use.uncategorised_open,
        uncategorised_decided=use.uncategorised_decided, tranches=tranches, **interest,
    )


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
    return tranches, _late_interest(tranches, late, school_year, pack, as_of)


def _late_interest(tranches: tuple[Tranche, ...], late: list[tuple[int, date, Decimal]], school_year: SchoolYear,
                   pack: RulePack, as_of: date | None) -> dict:
    """``interest`` and ``interest_as_of`` for the result: interest on each part of a payment
    made after its tranche's due date (``late``: tranche index, payment day, EUR), and on
    each tranche's outstanding amount from its due date until ``as_of`` (at most to the last
    day the base-rate table covers, so that a missing new base rate never stops a statement).

    Interest is linear in the principal, so the sum over payments equals interest on the
    declining balance. Raises LedgerError if a late payment lies beyond the table.
    """
    if pack.interest is None:
        return {}
    accruing = [t for t in tranches if t.due_date is not None and t.outstanding > 0
                and as_of is not None and as_of > t.due_date]
    if not late and not accruing:
        return {}
    rates = _base_rates(pack.interest)
    accrue_until = min(as_of, rates_cover_until(rates)) if accruing else None
    owed = [(tranches[index].due_date, day, amount) for index, day, amount in late]
    owed += [(t.due_date, accrue_until, t.outstanding) for t in accruing]
    try:
        results = tuple(late_interest(amount, due_date, day, pack.interest, rates) for due_date, day, amount in owed)
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
    """What a settlement agreement leaves to repay of ``received`` EUR (Vereinbarung §§ 1, 2)."""
    if agreement is None:
        return None
    if agreement.waived:
        return AgreementFigures(None, True, agreement.reference, ZERO)
    deemed = agreement.deemed_conform
    return AgreementFigures(deemed, False, agreement.reference, max(received - deemed, ZERO))


def _by_category(totals: Totals, pack: RulePack) -> tuple[CategoryAmount, ...]:
    """Net expense per pack category (all statuses), in pack order; categories without
    spending are left out, postings without a pack category are ``Use.uncategorised_*``."""
    amounts = totals.by_category()
    return tuple(CategoryAmount(c.id, c.label, c.status, amounts[c.id])
                 for c in pack.categories if amounts.get(c.id))



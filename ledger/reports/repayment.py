"""Repayment per recipient and school year: what the grant may keep and what goes back.

Source: seed 002_17056edfca8550ce.txt § 4 (2) and Hinweise part II (repay by 1 April of
the budget year after the payout), Hinweise part IV (overhead capped at 15 % of pool
personnel costs), § 1 and § 2 of the Vereinbarung (agreed figures override the result).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import (
    Account,
    Agreement,
    Grant,
    JournalEntry,
    Posting,
    Recipient,
)
from ledger.core.money import ZERO, from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.reports.year_totals import Totals, year_totals
from ledger.rules.classify import CostCentreFacts
from ledger.rules.deadline import repayment_due_date
from ledger.rules.evaluate import cost_centre_facts
from ledger.rules.evaluation_runs import Classified, RunState
from ledger.rules.interest import (
    InterestError,
    InterestResult,
    late_interest,
    rates_cover_until,
)
from ledger.rules.packs import BaseRate, InterestRule, RulePack, load_packs, pack_for


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
class RepaymentResult:
    """The outcome of one recipient's school year. All amounts EUR, ``Decimal`` with two places.

    - ``grant_received``: sum of payouts booked for the school year.
    - ``by_category``: net expense per category (all statuses), in rule-pack order.
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
    - ``repayment_due``: the computed figure, or the agreement's where one covers the year.
    - ``already_repaid``: repayments paid to the Landeskasse; ``outstanding`` =
      repayment due − already repaid (negative means overpaid).
    - ``confirmed_obligation``: repayment obligation booked as a liability (``inkl repayment
      confirm``), zero if not yet confirmed.
    - ``nominal_due_date``: 1 April of the budget year after the (first) payout;
      ``due_date``: moved to the next working day under § 193 BGB. None without payout.
    - ``interest``: interest on late repayment (§ 49a Abs. 3 VwVfG NRW, the pack's
      ``[interest]``): one ``InterestResult`` per payment made after ``due_date``, and one
      for the amount still outstanding up to ``interest_as_of``: the ``as_of`` day of the
      computation, or the last day the base-rate table covers if that is earlier.
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

    @property
    def late_interest(self) -> Decimal:
        """Interest on late repayment in EUR (sum of ``interest``, each rounded half up to cents)."""
        return sum((i.interest for i in self.interest), ZERO)


def compute_repayment(
    session: Session, recipient: Recipient, school_year: SchoolYear,
    packs: tuple[RulePack, ...] | None = None, *, as_of: date | None = None, booked_until: date | None = None,
    basis: Classified | None = None,
) -> RepaymentResult:
    """Compute the repayment of ``recipient`` for ``school_year`` from the journal.

    Each expense posting is classified by the rules engine under the rule pack in force
    for the year (``ledger.rules.packs.pack_for``), or by an officer's override; a closed year
    keeps the classification of its latest recorded run (``ledger.rules.evaluation_runs``).
    Sums are exact Decimal EUR. ``as_of`` (a date) adds the
    interest accrued on an overdue outstanding amount up to that day; ``booked_until``
    (a date) counts only entries dated up to that day (the forecast's actuals). ``basis``:
    the year's classifications if the caller already has them (``classified`` with the
    same ``booked_until``), so they are not computed twice; without it the sums come
    from ``ledger.reports.year_totals`` (summed by the database, the same figures). Raises
    RulePackError if no pack covers the year, LedgerError if the base-rate table does not
    reach a day interest is due for.
    """
    packs = packs or load_packs()
    book = _Book.load(session, recipient, booked_until, [school_year])
    return _compute(session, recipient, school_year, packs, book, as_of=as_of, booked_until=booked_until,
                    basis=basis)


def _compute(session: Session, recipient: Recipient, school_year: SchoolYear, packs: tuple[RulePack, ...],
             book: "_Book", *, as_of: date | None, booked_until: date | None = None, basis: Classified | None = None,
             centres: dict[str, CostCentreFacts] | None = None) -> RepaymentResult:
    """``compute_repayment`` with the year's grant, agreement, role balances and payments
    taken from ``book`` (loaded with the same ``booked_until``) and the recipient's cost
    centres (``ledger.rules.evaluate.cost_centre_facts``) from ``centres`` if given."""
    year = str(school_year)
    agreement = book.agreements.get(year)
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    grant = book.grants.get(year)
    if basis is None:
        totals, state = year_totals(session, recipient, school_year, packs, booked_until=booked_until,
                                    centres=centres)
    else:
        totals, state = Totals.of_items(basis.items), basis.state
    roles = book.roles.get(year, {})

    by_category = _by_category(totals, pack)
    permitted = totals.sum("conform", skip_statuses=("capped",))
    capped = totals.sum("conform", statuses=("capped",))
    excluded = totals.sum("excluded")
    unclassified = totals.sum("unclassified")
    pool = ZERO
    cap = None
    excess = ZERO
    if pack.overhead is not None:
        pool = totals.sum("conform", categories=pack.overhead.base_categories)
        cap = pack.overhead.cap(pool)
        excess = max(capped - cap, ZERO)
        permitted += min(capped, cap)
    elif capped:
        raise LedgerError(f"Regelwerk {pack.id} hat gedeckelte Kategorien, aber keine Obergrenze")

    received = -from_cents(roles.get("grant_revenue", 0))
    computed_due = max(received - permitted, ZERO)
    figures = _agreement_figures(agreement, received)
    due = computed_due if figures is None else figures.repayment_due
    confirmed = from_cents(roles.get("repayment_charge", 0))
    repaid = confirmed + from_cents(roles.get("repayment_liability", 0))
    nominal = effective = None
    first_payout = grant.payouts[0].date if grant is not None and grant.payouts else None
    if first_payout is not None:
        nominal, effective = repayment_due_date(first_payout, pack.deadline)
    return RepaymentResult(
        recipient_key=recipient.key, school_year=year,
        rule_pack_id=pack.id, rule_pack_version=pack.version,
        grant_assessed=None if grant is None else from_cents(grant.assessed_cents),
        grant_received=received, by_category=by_category, permitted=permitted, pool_personnel=pool,
        overhead_charged=capped, overhead_cap=cap,
        overhead_rate=None if pack.overhead is None else pack.overhead.rate, overhead_excess=excess, excluded=excluded,
        unclassified=unclassified, computed_repayment_due=computed_due,
        agreement=figures, repayment_due=due, confirmed_obligation=confirmed,
        already_repaid=repaid, outstanding=due - repaid, nominal_due_date=nominal, due_date=effective,
        evaluation=state,
        **_late_interest(book.payments.get(year, []), school_year, pack, effective, due - repaid, as_of),
    )


@dataclass(frozen=True)
class _Book:
    """What ``compute_repayment`` reads of a recipient's school years besides the expense
    totals, each by school year (``"2023/24"``); years without any are missing.

    - ``grants``: the grant, its payouts loaded (ordered by date).
    - ``agreements``: the agreement.
    - ``roles``: balance in cents per role of ``_ROLES`` (postings dated up to
      ``booked_until`` if given); roles without postings are missing.
    - ``payments``: repayments paid to the Landeskasse and not reversed: (date, EUR),
      oldest first, whatever ``booked_until``.
    """

    grants: dict[str, Grant]
    agreements: dict[str, Agreement]
    roles: dict[str, dict[str, int]]
    payments: dict[str, list[tuple[date, Decimal]]]

    @classmethod
    def load(cls, session: Session, recipient: Recipient, booked_until: date | None,
             school_years: list[SchoolYear] | None = None) -> "_Book":
        """The book of ``recipient``'s ``school_years`` (all if None): five queries (six
        with repayment postings), however many years."""
        years = None if school_years is None else [str(y) for y in school_years]

        def of_years(column):
            return [column.in_(years)] if years is not None else []

        grants = session.scalars(select(Grant).options(selectinload(Grant.payouts)).where(
            Grant.recipient_id == recipient.id, *of_years(Grant.school_year)))
        agreements = session.scalars(select(Agreement).where(
            Agreement.recipient_id == recipient.id, *of_years(Agreement.school_year)))
        return cls({g.school_year: g for g in grants}, {a.school_year: a for a in agreements},
                   _role_sums(session, recipient, of_years(Posting.school_year), booked_until),
                   _payments(session, recipient, of_years(Posting.school_year)))


def school_years(session: Session, recipient: Recipient) -> list[SchoolYear]:
    """The school years with a grant, an agreement or postings for ``recipient``, oldest first.

    The posting years come from ``_posting_years``: a few index look-ups per account,
    however long the journal is.
    """
    years = set(session.scalars(select(Grant.school_year).where(Grant.recipient_id == recipient.id)))
    years |= set(session.scalars(select(Agreement.school_year).where(Agreement.recipient_id == recipient.id)))
    years |= _posting_years(session, recipient)
    return sorted(SchoolYear.parse(y) for y in years)


def _posting_years(session: Session, recipient: Recipient) -> set[str]:
    """The distinct ``Posting.school_year`` values (``"2023/24"``) on ``recipient``'s accounts.

    A loose index scan in one recursive query: per account, the smallest school year, then
    the smallest one after it, and so on, each one look-up in the index on (account,
    school year), so the cost grows with accounts × years, not with postings. (The
    database refuses postings on another recipient's accounts, so these are exactly the
    years of the recipient's entries.)
    """
    def next_year(account_id, after=None):
        query = select(func.min(Posting.school_year)).where(Posting.account_id == account_id)
        if after is not None:
            query = query.where(Posting.school_year > after)
        return query.scalar_subquery()

    walk = select(Account.id.label("account_id"), next_year(Account.id).label("year")).where(
        Account.recipient_id == recipient.id).cte("year_walk", recursive=True)
    walk = walk.union_all(select(walk.c.account_id, next_year(walk.c.account_id, walk.c.year))
                          .where(walk.c.year.is_not(None)))
    return set(session.scalars(select(walk.c.year).where(walk.c.year.is_not(None)).distinct()))


def compute_all(session: Session, recipient: Recipient, packs: tuple[RulePack, ...] | None = None, *,
                as_of: date | None = None) -> list[RepaymentResult]:
    """``compute_repayment`` for every school year of ``recipient`` (``school_years``),
    oldest first; the cost-centre master data, grants, agreements, role balances and
    payments are loaded once for all years (``_Book``)."""
    packs = packs or load_packs()
    centres = cost_centre_facts(session, recipient)
    book = _Book.load(session, recipient, None)
    return [_compute(session, recipient, year, packs, book, as_of=as_of, centres=centres)
            for year in school_years(session, recipient)]


def _late_interest(payments: list[tuple[date, Decimal]], school_year: SchoolYear, pack: RulePack,
                   due_date: date | None, outstanding: Decimal, as_of: date | None) -> dict:
    """``interest`` and ``interest_as_of`` for the result: interest on each repayment of
    ``payments`` (date, EUR) paid after ``due_date``, and on ``outstanding`` until ``as_of``
    (at most to the last day the base-rate table covers, so that a missing new base rate
    never stops a statement).

    Interest is linear in the principal, so the sum over payments equals interest on the
    declining balance. Raises LedgerError if a late payment lies beyond the table.
    """
    if pack.interest is None or due_date is None:
        return {}
    late = [(day, amount) for day, amount in payments if day > due_date]
    accrues = as_of is not None and outstanding > 0 and as_of > due_date
    if not late and not accrues:
        return {}
    rates = _base_rates(pack.interest)
    accrue_until = min(as_of, rates_cover_until(rates)) if accrues else None
    if accrue_until is not None:
        late.append((accrue_until, outstanding))
    try:
        results = tuple(late_interest(amount, due_date, day, pack.interest, rates) for day, amount in late)
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


def _payments(session: Session, recipient: Recipient, where: list) -> dict[str, list[tuple[date, Decimal]]]:
    """Repayments paid to the Landeskasse and not reversed, by school year: (date, EUR),
    oldest first; ``where``: further conditions on ``Posting``.

    Read from the postings of the repayment-liability account (few), then which of their
    entries are payments not reversed, in a second query: joined in one, PostgreSQL's
    planner, expecting about as many postings per account as any, scans the whole journal
    for the entries of that kind instead (70 ms at 500 000 entries).
    """
    liability = select(Account.id).where(Account.recipient_id == recipient.id, Account.role == "repayment_liability")
    rows = session.execute(
        select(Posting.school_year, Posting.date, Posting.amount_cents, Posting.entry_id)
        .where(Posting.account_id.in_(liability), *where)
        .order_by(Posting.date, Posting.entry_id)
    ).all()
    if not rows:
        return {}
    reversed_ids = select(JournalEntry.reverses_id).where(JournalEntry.reverses_id.is_not(None))
    paid = set(session.scalars(select(JournalEntry.id).where(
        JournalEntry.id.in_({entry_id for *_rest, entry_id in rows}), JournalEntry.kind == "repayment_payment",
        JournalEntry.id.not_in(reversed_ids))))
    payments: dict[str, list[tuple[date, Decimal]]] = {}
    for year, day, cents, entry_id in rows:
        if entry_id in paid:
            payments.setdefault(year, []).append((day, from_cents(cents)))
    return payments


def _agreement_figures(agreement: Agreement | None, received: Decimal) -> AgreementFigures | None:
    if agreement is None:
        return None
    if agreement.waived:
        return AgreementFigures(None, True, agreement.reference, ZERO)
    deemed = from_cents(agreement.deemed_conform_cents)
    return AgreementFigures(deemed, False, agreement.reference, max(received - deemed, ZERO))


def _by_category(totals: Totals, pack: RulePack) -> tuple[CategoryAmount, ...]:
    """Net expense per pack category (all statuses), in pack order; unknown or missing
    categories are left out (they are unclassified)."""
    amounts = totals.by_category()
    return tuple(CategoryAmount(c.id, c.label, c.status, amounts[c.id])
                 for c in pack.categories if amounts.get(c.id))


#: The account roles whose balances ``compute_repayment`` reads (not the bank, which every
#: expense touches).
_ROLES = ("grant_revenue", "repayment_charge", "repayment_liability")


def _role_sums(session: Session, recipient: Recipient, where: list,
               booked_until: date | None) -> dict[str, dict[str, int]]:
    """Balance in cents per school year and role of ``_ROLES`` (postings dated up to
    ``booked_until`` if given; ``where``: further conditions on ``Posting``); roles
    without postings are missing."""
    query = (
        select(Posting.school_year, Account.role, func.sum(Posting.amount_cents))
        .join(Account, Posting.account_id == Account.id)
        .where(Account.recipient_id == recipient.id, Account.role.in_(_ROLES), *where)
        .group_by(Posting.school_year, Account.role)
    )
    if booked_until is not None:
        query = query.where(Posting.date <= booked_until)
    sums: dict[str, dict[str, int]] = {}
    for year, role, cents in session.execute(query):
        sums.setdefault(year, {})[role] = int(cents)
    return sums

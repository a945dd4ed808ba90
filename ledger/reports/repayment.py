"""Repayment per recipient and school year, from the books: what the grant may keep and what
goes back.

This module reads what a school year's settlement needs (the classified totals from
``ledger.reports.year_totals`` or given classifications, the grant and its payouts, the
agreement, the role accounts' balances, the repayments paid) and hands it to the repayment
kernel, ``ledger.reports.settlement.settle``, where the rules are applied. Source: seed
002_17056edfca8550ce.txt § 4 (2) and Hinweise part II (repay by 1 April of the budget year
after the payout), Hinweise part IV (overhead capped at 15 % of pool personnel costs), § 1
and § 2 of the Vereinbarung (agreed figures override the result).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ledger.core.agreements import IN_FORCE, StatusStep, steps_of
from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import (
    Account,
    AccountYearTotal,
    Agreement,
    AgreementStatusEvent,
    Grant,
    JournalEntry,
    Notice,
    NoticeWithdrawal,
    Posting,
    Recipient,
)
from ledger.core.notices import history_of, in_force_of
from ledger.core.money import from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.reports.settlement import (
    AgreementTerms,
    NoticeTerms,
    RepaymentResult,
    YearBook,
    settle,
)
from ledger.reports.totals import Totals
from ledger.reports.year_totals import RecipientYears, year_totals
from ledger.rules.classify import CostCentreFacts
from ledger.rules.evaluate import cost_centre_facts
from ledger.rules.evaluation_runs import Classified
from ledger.rules.packs import RulePack, RulePackError, load_packs, pack_for


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


def year_book(session: Session, recipient: Recipient, school_year: SchoolYear, *,
              booked_until: date | None = None) -> YearBook:
    """What the repayment kernel needs of ``recipient``'s ``school_year`` besides the spending
    (``ledger.reports.settlement.YearBook``: grant, payouts, agreement, notice, role balances of
    the postings dated up to ``booked_until`` if given, repayments paid), as ``compute_repayment``
    reads it; for settling other totals of the year, such as the forecast's projected ones."""
    return _Book.load(session, recipient, booked_until, [school_year]).year(school_year)


def _compute(session: Session, recipient: Recipient, school_year: SchoolYear, packs: tuple[RulePack, ...],
             book: "_Book", *, as_of: date | None, booked_until: date | None = None, basis: Classified | None = None,
             centres: dict[str, CostCentreFacts] | None = None,
             known: RecipientYears | None = None) -> RepaymentResult:
    """``compute_repayment`` with the year's grant, agreement, role balances and payments
    taken from ``book`` (loaded with the same ``booked_until``) and the recipient's cost
    centres (``ledger.rules.evaluate.cost_centre_facts``) from ``centres`` if given."""
    if basis is None:
        totals, state = year_totals(session, recipient, school_year, packs, booked_until=booked_until,
                                    centres=centres, known=known)
    else:
        totals, state = Totals.of_items(basis.items), basis.state
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    return settle(recipient.key, school_year, pack, totals, book.year(school_year), as_of=as_of, evaluation=state)


@dataclass(frozen=True)
class _Book:
    """What ``compute_repayment`` reads of a recipient's school years besides the expense
    totals, each by school year (``"2023/24"``); years without any are missing.

    - ``grants``: the grant, its payouts loaded (ordered by date).
    - ``agreements``: the agreement and its status history (oldest first, never empty).
    - ``notices``: the Land's notice in force (Rückforderungs-/Erstattungsbescheid: neither
      replaced by an amending notice nor withdrawn) and the notice it replaced, if any.
    - ``roles``: balance in cents per role of ``_ROLES`` (postings dated up to
      ``booked_until`` if given); roles without postings are missing.
    - ``payments``: repayments paid to the Landeskasse and not reversed: (date, EUR),
      oldest first, whatever ``booked_until``.
    """

    grants: dict[str, Grant]
    agreements: dict[str, tuple[Agreement, tuple[StatusStep, ...]]]
    notices: dict[str, tuple[Notice, Notice | None]]
    roles: dict[str, dict[str, int]]
    payments: dict[str, list[tuple[date, Decimal]]]

    def year(self, school_year: SchoolYear) -> YearBook:
        """The settlement's facts of one school year."""
        year = str(school_year)
        grant = self.grants.get(year)
        agreement = self.agreements.get(year)
        roles = self.roles.get(year, {})
        confirmed = from_cents(roles.get("repayment_charge", 0))
        return YearBook(
            grant_assessed=None if grant is None else from_cents(grant.assessed_cents),
            payouts=() if grant is None else tuple((p.date, from_cents(p.amount_cents)) for p in grant.payouts),
            received=-from_cents(roles.get("grant_revenue", 0)),
            agreement=None if agreement is None else _agreement_terms(*agreement),
            confirmed=confirmed,
            repaid=confirmed + from_cents(roles.get("repayment_liability", 0)),
            payments=tuple(self.payments.get(year, ())),
            notice=None if year not in self.notices else _notice_terms(*self.notices[year]),
        )

    @classmethod
    def load(cls, session: Session, recipient: Recipient, booked_until: date | None,
             school_years: list[SchoolYear] | None = None) -> "_Book":
        """The book of ``recipient``'s ``school_years`` (all if None): eight queries (nine
        with repayment postings), however many years."""
        years = None if school_years is None else [str(y) for y in school_years]

        def of_years(column):
            return [column.in_(years)] if years is not None else []

        grants = session.scalars(select(Grant).options(selectinload(Grant.payouts)).where(
            Grant.recipient_id == recipient.id, Grant.programme == INKLUSIONSPAUSCHALE, *of_years(Grant.school_year)))
        return cls({g.school_year: g for g in grants}, _agreements(session, recipient, of_years),
                   _notices_in_force(session, recipient, of_years),
                   _role_sums(session, recipient, of_years(Posting.school_year), booked_until),
                   _payments(session, recipient, of_years(Posting.school_year)))


def _agreements(session: Session, recipient: Recipient, of_years) -> dict[str, tuple[Agreement, tuple[StatusStep, ...]]]:
    """``recipient``'s agreements of the years ``of_years`` selects, each with its status
    history (Vereinbarung § 9, append-only events, oldest first), by school year."""
    agreements = list(session.scalars(select(Agreement).where(
        Agreement.recipient_id == recipient.id, *of_years(Agreement.school_year))))
    events: dict[int, list[AgreementStatusEvent]] = {}
    if agreements:
        for event in session.scalars(select(AgreementStatusEvent).where(AgreementStatusEvent.agreement_id.in_(
                [a.id for a in agreements])).order_by(AgreementStatusEvent.id)):
            events.setdefault(event.agreement_id, []).append(event)
    return {a.school_year: (a, steps_of(events.get(a.id, ()))) for a in agreements}


def _notices_in_force(session: Session, recipient: Recipient, of_years) -> dict[str, tuple[Notice, Notice | None]]:
    """The notice in force of each of ``recipient``'s years ``of_years`` selects (neither
    replaced nor withdrawn, ``ledger.core.notices``) with the notice it replaced, if any."""
    notices = list(session.scalars(select(Notice).where(
        Notice.recipient_id == recipient.id, *of_years(Notice.school_year))))
    if not notices:
        return {}
    withdrawals = {w.notice_id: w for w in session.scalars(select(NoticeWithdrawal).where(
        NoticeWithdrawal.notice_id.in_([n.id for n in notices])))}
    by_year: dict[str, list[Notice]] = {}
    for notice in notices:
        by_year.setdefault(notice.school_year, []).append(notice)
    by_id = {n.id: n for n in notices}
    found = {year: in_force_of(history_of(year_notices, withdrawals)) for year, year_notices in by_year.items()}
    return {year: (n, by_id.get(n.replaces_id)) for year, n in found.items() if n is not None}


def _agreement_terms(agreement: Agreement, history: tuple[StatusStep, ...]) -> AgreementTerms:
    """The kernel's value of a recorded agreement (cents → EUR) with its status history; the
    current status is the latest step (``in_force`` without any, as before migration 0015)."""
    cents = agreement.deemed_conform_cents
    current = history[-1] if history else None
    return AgreementTerms(
        None if cents is None else from_cents(cents), agreement.waived, agreement.reference,
        repayment=None if agreement.repayment_cents is None else from_cents(agreement.repayment_cents),
        payment_date=agreement.payment_date, payment_reference=agreement.payment_reference,
        status=IN_FORCE if current is None else current.status,
        effective_date=None if current is None else current.effective_date, history=history)


def _notice_terms(notice: Notice, replaced: Notice | None) -> NoticeTerms:
    """The kernel's value of a recorded notice (cents → EUR, hundredths of a point → points),
    with the Aktenzeichen and date of the notice it replaced (an amending notice)."""
    points = None if notice.interest_rate_bp is None else Decimal(notice.interest_rate_bp) / 100
    return NoticeTerms(notice.notice_date, notice.reference, from_cents(notice.amount_cents), notice.due_date,
                       notice.interest_start, points, notice.interest_waived,
                       replaces=None if replaced is None else (replaced.reference, replaced.notice_date))


def school_years(session: Session, recipient: Recipient) -> list[SchoolYear]:
    """The school years with a grant, an agreement, a notice or postings for ``recipient``,
    oldest first.

    The posting years come from ``_posting_years`` (the running totals).
    """
    years = set(session.scalars(select(Grant.school_year).where(
        Grant.recipient_id == recipient.id, Grant.programme == INKLUSIONSPAUSCHALE)))
    years |= set(session.scalars(select(Agreement.school_year).where(Agreement.recipient_id == recipient.id)))
    years |= set(session.scalars(select(Notice.school_year).where(Notice.recipient_id == recipient.id)))
    years |= _posting_years(session, recipient)
    return sorted(SchoolYear.parse(y) for y in years)


def _posting_years(session: Session, recipient: Recipient) -> set[str]:
    """The distinct ``Posting.school_year`` values (``"2023/24"``) on ``recipient``'s accounts,
    from the running totals kept with the postings (``ledger.core.running_totals``; one index
    range of ``ix_account_year_totals_recipient``, however long the journal is)."""
    return set(session.scalars(select(AccountYearTotal.school_year).where(
        AccountYearTotal.recipient_id == recipient.id).distinct()))


@dataclass(frozen=True)
class YearError:
    """A school year whose figures cannot be computed: ``school_year`` (``"2012/13"``, as in
    ``RepaymentResult``) and the German ``message`` of the LedgerError that stopped it (e.g.
    no rule pack in force for it)."""

    school_year: str
    message: str

    def as_json(self) -> dict:
        """``{"school_year": "2012/13", "error": "…"}``: the year's place in ``inkl repayments --json``
        and the API's repayments."""
        return {"school_year": self.school_year, "error": self.message}

    @classmethod
    def of(cls, school_year: SchoolYear, error: LedgerError) -> "YearError":
        """The year's error from the LedgerError raised (a rule pack's without its file)."""
        return cls(str(school_year), error.message if isinstance(error, RulePackError) else str(error))


def compute_all(session: Session, recipient: Recipient, packs: tuple[RulePack, ...] | None = None, *,
                as_of: date | None = None) -> list[RepaymentResult | YearError]:
    """``compute_repayment`` for every school year of ``recipient`` (``school_years``),
    oldest first; the cost-centre master data, grants, agreements, role balances and
    payments (``_Book``) and the running totals, overrides and evaluation runs
    (``ledger.reports.year_totals.RecipientYears``) are loaded once for all years.

    A year whose computation raises LedgerError (no rule pack in force for it, a base
    rate missing for its interest) is a ``YearError`` in its place: one year's error
    never stops the other years' figures.
    """
    packs = packs or load_packs()
    centres = cost_centre_facts(session, recipient)
    book = _Book.load(session, recipient, None)
    known = RecipientYears.load(session, recipient)
    results: list[RepaymentResult | YearError] = []
    for year in school_years(session, recipient):
        try:
            results.append(_compute(session, recipient, year, packs, book, as_of=as_of, centres=centres,
                                    known=known))
        except LedgerError as exc:
            results.append(YearError.of(year, exc))
    return results


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

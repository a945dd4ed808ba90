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

from sqlalchemy import func, select, union
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
from ledger.rules.evaluate import cost_centre_facts_of
from ledger.rules.evaluation_runs import Classified
from ledger.rules.packs import RulePack, RulePackError, load_packs, pack_for


def compute_repayment(
    session: Session, recipient: Recipient, school_year: SchoolYear,
    packs: tuple[RulePack, ...] | None = None, *, as_of: date | None = None, booked_until: date | None = None,
    basis: Classified | None = None, inputs: "RepaymentInputs | None" = None,
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
    from ``ledger.reports.year_totals`` (summed by the database, the same figures).
    ``inputs``: what the computation reads of the recipient besides the year's postings, read
    earlier for all its school years (``RepaymentInputs.load``, not with ``booked_until``); the
    same figures. Raises RulePackError if no pack covers the year, LedgerError if the base-rate
    table does not reach a day interest is due for, ValueError for ``inputs`` with ``booked_until``.
    """
    packs = packs or load_packs()
    if inputs is None:
        book = _Book.load(session, recipient, booked_until, [school_year]).year(school_year)
        return _compute(session, recipient, school_year, packs, book, as_of=as_of, booked_until=booked_until,
                        basis=basis)
    if booked_until is not None:
        raise ValueError("the inputs read for all school years count every entry, not those up to a day")
    return _compute(session, recipient, school_year, packs, inputs.year(school_year), as_of=as_of, basis=basis,
                    centres=inputs.centres, known=inputs.known)


@dataclass(frozen=True)
class RepaymentInputs:
    """What ``compute_repayment`` reads of a recipient besides a school year's postings, read
    for all its school years at once (as ``compute_many`` reads them): the settlement's facts
    (``YearBook``) by school year (``"2023/24"``; years with none of them are missing), the
    cost centres (``CostCentreFacts`` by code) and the overrides and evaluation runs
    (``RecipientYears``; the running totals, the most to read, are read per year when a year
    is computed). Values, not tied to a session: a server process
    keeps them while the books are unchanged and computes each year's repayment from them
    (``compute_repayment(…, inputs=…)``)."""

    books: dict[str, YearBook]
    centres: dict[str, CostCentreFacts]
    known: RecipientYears

    @classmethod
    def load(cls, session: Session, recipient: Recipient) -> "RepaymentInputs":
        """The inputs of every school year of ``recipient``: about a dozen queries, however many years."""
        book = _Book.load(session, recipient, None)
        years = set(book.grants) | set(book.agreements) | set(book.notices) | set(book.roles) | set(book.payments)
        return cls(books={year: book.year(SchoolYear.parse(year)) for year in years},
                   centres=cost_centre_facts_of(session, [recipient.id]).get(recipient.id, {}),
                   known=RecipientYears.load_of(session, [recipient.id], running_totals=False)[recipient.id])

    def year(self, school_year: SchoolYear) -> YearBook:
        """The settlement's facts of ``school_year`` (those of a year without a grant, agreement,
        notice, role posting or payment where none is recorded)."""
        found = self.books.get(str(school_year))
        return found if found is not None else _Book({}, {}, {}, {}, {}).year(school_year)


def year_book(session: Session, recipient: Recipient, school_year: SchoolYear, *,
              booked_until: date | None = None) -> YearBook:
    """What the repayment kernel needs of ``recipient``'s ``school_year`` besides the spending
    (``ledger.reports.settlement.YearBook``: grant, payouts, agreement, notice, role balances of
    the postings dated up to ``booked_until`` if given, repayments paid), as ``compute_repayment``
    reads it; for settling other totals of the year, such as the forecast's projected ones."""
    return _Book.load(session, recipient, booked_until, [school_year]).year(school_year)


def _compute(session: Session, recipient: Recipient, school_year: SchoolYear, packs: tuple[RulePack, ...],
             book: YearBook, *, as_of: date | None, booked_until: date | None = None, basis: Classified | None = None,
             centres: dict[str, CostCentreFacts] | None = None,
             known: RecipientYears | None = None) -> RepaymentResult:
    """``compute_repayment`` with the year's grant, agreement, role balances and payments
    taken from ``book`` (read with the same ``booked_until``) and the recipient's cost
    centres (``ledger.rules.evaluate.cost_centre_facts``) from ``centres`` if given."""
    if basis is None:
        totals, state = year_totals(session, recipient, school_year, packs, booked_until=booked_until,
                                    centres=centres, known=known)
    else:
        totals, state = Totals.of_items(basis.items), basis.state
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    return settle(recipient.key, school_year, pack, totals, book, as_of=as_of, evaluation=state)


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
        """The book of ``recipient``'s ``school_years`` (all if None)."""
        return cls.load_of(session, [recipient.id], booked_until, school_years)[recipient.id]

    @classmethod
    def load_of(cls, session: Session, recipient_ids: list[int], booked_until: date | None,
                school_years: list[SchoolYear] | None = None) -> dict[int, "_Book"]:
        """The book of ``school_years`` (all if None) of each recipient of ``recipient_ids``,
        by recipient id (every id is in the result): nine queries (ten with repayment
        postings), however many recipients and years."""
        years = None if school_years is None else [str(y) for y in school_years]

        def of_years(column):
            return [column.in_(years)] if years is not None else []

        grants: dict[int, dict[str, Grant]] = {}
        for grant in session.scalars(select(Grant).options(selectinload(Grant.payouts)).where(
                Grant.recipient_id.in_(recipient_ids), Grant.programme == INKLUSIONSPAUSCHALE,
                *of_years(Grant.school_year))):
            grants.setdefault(grant.recipient_id, {})[grant.school_year] = grant
        agreements = _agreements(session, recipient_ids, of_years)
        notices = _notices_in_force(session, recipient_ids, of_years)
        roles = _role_sums(session, recipient_ids, years, booked_until)
        payments = _payments(session, recipient_ids, of_years(Posting.school_year))
        return {rid: cls(grants.get(rid, {}), agreements.get(rid, {}), notices.get(rid, {}), roles.get(rid, {}),
                         payments.get(rid, {})) for rid in recipient_ids}


def _agreements(session: Session, recipient_ids: list[int],
                of_years) -> dict[int, dict[str, tuple[Agreement, tuple[StatusStep, ...]]]]:
    """The agreements of ``recipient_ids`` of the years ``of_years`` selects, each with its
    status history (Vereinbarung § 9, append-only events, oldest first), by recipient id and
    school year."""
    agreements = list(session.scalars(select(Agreement).where(
        Agreement.recipient_id.in_(recipient_ids), *of_years(Agreement.school_year))))
    events: dict[int, list[AgreementStatusEvent]] = {}
    if agreements:
        for event in session.scalars(select(AgreementStatusEvent).where(AgreementStatusEvent.agreement_id.in_(
                [a.id for a in agreements])).order_by(AgreementStatusEvent.id)):
            events.setdefault(event.agreement_id, []).append(event)
    found: dict[int, dict[str, tuple[Agreement, tuple[StatusStep, ...]]]] = {}
    for agreement in agreements:
        found.setdefault(agreement.recipient_id, {})[agreement.school_year] = (
            agreement, steps_of(events.get(agreement.id, ())))
    return found


def _notices_in_force(session: Session, recipient_ids: list[int],
                      of_years) -> dict[int, dict[str, tuple[Notice, Notice | None]]]:
    """The notice in force of each year ``of_years`` selects of each recipient of
    ``recipient_ids`` (neither replaced nor withdrawn, ``ledger.core.notices``) with the
    notice it replaced, if any, by recipient id and school year."""
    notices = list(session.scalars(select(Notice).where(
        Notice.recipient_id.in_(recipient_ids), *of_years(Notice.school_year))))
    if not notices:
        return {}
    withdrawals = {w.notice_id: w for w in session.scalars(select(NoticeWithdrawal).where(
        NoticeWithdrawal.notice_id.in_([n.id for n in notices])))}
    by_year: dict[tuple[int, str], list[Notice]] = {}
    for notice in notices:
        by_year.setdefault((notice.recipient_id, notice.school_year), []).append(notice)
    by_id = {n.id: n for n in notices}
    found: dict[int, dict[str, tuple[Notice, Notice | None]]] = {}
    for (rid, year), year_notices in by_year.items():
        notice = in_force_of(history_of(year_notices, withdrawals))
        if notice is not None:
            found.setdefault(rid, {})[year] = (notice, by_id.get(notice.replaces_id))
    return found


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
    oldest first."""
    return school_years_of(session, [recipient.id]).get(recipient.id, [])


def school_years_of(session: Session, recipient_ids: list[int]) -> dict[int, list[SchoolYear]]:
    """``school_years`` of each recipient of ``recipient_ids`` in one query: recipient id →
    school years, oldest first; recipients without any are missing.

    The posting years come from the running totals kept with the postings
    (``ledger.core.running_totals``) by ``_posting_years``: one index seek per school year,
    however many totals a year holds (reading them all took 1 ms a recipient at 1 000 000
    postings, 10 000 totals each).
    """
    years: dict[int, set[str]] = {}
    for rid, year in session.execute(union(
        select(Grant.recipient_id, Grant.school_year).where(
            Grant.recipient_id.in_(recipient_ids), Grant.programme == INKLUSIONSPAUSCHALE),
        select(Agreement.recipient_id, Agreement.school_year).where(Agreement.recipient_id.in_(recipient_ids)),
        select(Notice.recipient_id, Notice.school_year).where(Notice.recipient_id.in_(recipient_ids)),
        _posting_years(recipient_ids),
    )):
        years.setdefault(rid, set()).add(year)
    return {rid: sorted(SchoolYear.parse(y) for y in found) for rid, found in years.items()}


def _posting_years(recipient_ids: list[int]):
    """The query of (recipient id, school year) of the running totals of ``recipient_ids``: a
    loose index scan of ``ix_account_year_totals_recipient`` (recipient, school year), each
    step the least school year after the one before."""
    totals = AccountYearTotal
    first = select(func.min(totals.school_year)).where(totals.recipient_id == Recipient.id).scalar_subquery()
    steps = select(Recipient.id.label("recipient_id"), first.label("school_year")).where(
        Recipient.id.in_(recipient_ids)).cte("posting_years", recursive=True)
    following = select(func.min(totals.school_year)).where(
        totals.recipient_id == steps.c.recipient_id, totals.school_year > steps.c.school_year).scalar_subquery()
    steps = steps.union_all(select(steps.c.recipient_id, following).where(steps.c.school_year.is_not(None)))
    return select(steps.c.recipient_id, steps.c.school_year).where(steps.c.school_year.is_not(None))


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
    oldest first: ``compute_many`` of the one recipient.

    A year whose computation raises LedgerError (no rule pack in force for it, a base
    rate missing for its interest) is a ``YearError`` in its place: one year's error
    never stops the other years' figures.
    """
    return compute_many(session, [recipient], packs, as_of=as_of)[recipient.id]


def compute_many(session: Session, recipients: list[Recipient], packs: tuple[RulePack, ...] | None = None, *,
                 as_of: date | None = None) -> dict[int, list[RepaymentResult | YearError]]:
    """``compute_all`` of each of ``recipients``, by recipient id (every recipient is in the
    result, those without school years with an empty list).

    The cost-centre master data, grants, agreements, role balances and payments (``_Book``),
    the running totals, overrides and evaluation runs (``ledger.reports.year_totals.RecipientYears``)
    and the school years are read once for all recipients and years (about twenty queries,
    however many recipients); only a year whose figures need the postings themselves (a
    mixed pool's split, dates that decide) reads them on its own. The figures are ``compute_all``'s, recipient by recipient.
    """
    packs = packs or load_packs()
    ids = [recipient.id for recipient in recipients]
    centres = cost_centre_facts_of(session, ids)
    books = _Book.load_of(session, ids, None)
    known = RecipientYears.load_of(session, ids)
    years = school_years_of(session, ids)
    results: dict[int, list[RepaymentResult | YearError]] = {}
    for recipient in recipients:
        results[recipient.id] = []
        for year in years.get(recipient.id, []):
            try:
                results[recipient.id].append(_compute(
                    session, recipient, year, packs, books[recipient.id].year(year), as_of=as_of,
                    centres=centres.get(recipient.id, {}), known=known[recipient.id]))
            except LedgerError as exc:
                results[recipient.id].append(YearError.of(year, exc))
    return results


def _payments(session: Session, recipient_ids: list[int],
              where: list) -> dict[int, dict[str, list[tuple[date, Decimal]]]]:
    """Repayments paid to the Landeskasse and not reversed, by recipient id and school year:
    (date, EUR), oldest first; ``where``: further conditions on ``Posting``.

    Read from the postings of the repayment-liability accounts (few), then which of their
    entries are payments not reversed, in a second query: joined in one, PostgreSQL's
    planner, expecting about as many postings per account as any, scans the whole journal
    for the entries of that kind instead (70 ms at 500 000 entries).
    """
    liability = dict(session.execute(select(Account.id, Account.recipient_id).where(
        Account.recipient_id.in_(recipient_ids), Account.role == "repayment_liability")).all())
    if not liability:
        return {}
    rows = session.execute(
        select(Posting.account_id, Posting.school_year, Posting.date, Posting.amount_cents, Posting.entry_id)
        .where(Posting.account_id.in_(list(liability)), *where)
        .order_by(Posting.date, Posting.entry_id)
    ).all()
    if not rows:
        return {}
    reversed_ids = select(JournalEntry.reverses_id).where(JournalEntry.reverses_id.is_not(None))
    paid = set(session.scalars(select(JournalEntry.id).where(
        JournalEntry.id.in_({entry_id for *_rest, entry_id in rows}), JournalEntry.kind == "repayment_payment",
        JournalEntry.id.not_in(reversed_ids))))
    payments: dict[int, dict[str, list[tuple[date, Decimal]]]] = {}
    for account_id, year, day, cents, entry_id in rows:
        if entry_id in paid:
            payments.setdefault(liability[account_id], {}).setdefault(year, []).append((day, from_cents(cents)))
    return payments


#: The account roles whose balances ``compute_repayment`` reads (not the bank, which every
#: expense touches).
_ROLES = ("grant_revenue", "repayment_charge", "repayment_liability")


def _role_sums(session: Session, recipient_ids: list[int], years: list[str] | None,
               booked_until: date | None) -> dict[int, dict[str, dict[str, int]]]:
    """Balance in cents by recipient id, school year and role of ``_ROLES`` (of the school
    years ``years``, all if None; postings dated up to ``booked_until`` if given); roles
    without postings are missing.

    Without ``booked_until`` summed from the running totals kept with the postings
    (``ledger.core.running_totals``; on PostgreSQL the sum over the postings of 53
    recipients took 59 ms of the Land's overview at 1 000 000 postings), with it from the
    postings."""
    if booked_until is None:
        source, amount = AccountYearTotal, AccountYearTotal.amount_cents
        where = [AccountYearTotal.recipient_id.in_(recipient_ids)]
    else:
        source, amount = Posting, Posting.amount_cents
        where = [Posting.date <= booked_until]
    if years is not None:
        where.append(source.school_year.in_(years))
    query = (
        select(Account.recipient_id, source.school_year, Account.role, func.sum(amount))
        .join(Account, source.account_id == Account.id)
        .where(Account.recipient_id.in_(recipient_ids), Account.role.in_(_ROLES), *where)
        .group_by(Account.recipient_id, source.school_year, Account.role)
    )
    sums: dict[int, dict[str, dict[str, int]]] = {}
    for rid, year, role, cents in session.execute(query):
        sums.setdefault(rid, {}).setdefault(year, {})[role] = int(cents)
    return sums

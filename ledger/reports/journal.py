"""Reading the journal: filtered, paginated listing of one recipient's entries.

The web UI's journal pages call these functions; they only read. Filtering, counting
and paging happen in SQL, so a long journal is never loaded into memory. Amounts
returned are EUR (``Decimal`` with two places), computed from integer cents.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased, selectinload

from ledger.core.chain import chain_head
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import Account, JournalDayTotal, JournalEntry, Posting, Recipient
from ledger.core.money import from_cents, to_cents
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.rules.packs import UNCLASSIFIED_LABEL, RulePack, RulePackError, pack_for
from ledger.rules.packs import category_label as any_pack_label

#: ``category`` filter value for expense postings without a category (not yet classified).
UNCLASSIFIED = "none"


@dataclass(frozen=True)
class CategoryRef:
    """A posting's category: rule-pack ``id`` (None: unclassified) and its German ``label``."""

    id: str | None
    label: str


#: ``state`` filter values: entries neither reversed nor reversals, reversed entries, reversals.
STATES = ("active", "reversed", "reversal")


def list_entries(
    session: Session,
    recipient: Recipient,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    category: str | None = None,
    account_number: str | None = None,
    school_year: SchoolYear | None = None,
    search: str | None = None,
    cost_centre: str | None = None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[JournalEntry], int]:
    """One page of ``recipient``'s journal entries and the number of all matching entries.

    Args:
        date_from, date_to: booking dates, both inclusive; None = open.
        category: a rule-pack category id (entries with an expense posting in that
            category) or ``UNCLASSIFIED`` (``"none"``: entries with an expense posting
            without a category); None = any.
        account_number: entries with a posting on the recipient's account with this
            number (``"5291"``); None = any.
        school_year: entries with a posting of that school year; combined with
            ``category``, the categorised expense posting must be of that year.
        search: text the voucher number or the booking text contains (case-insensitive,
            taken literally: ``%`` and ``_`` are no wildcards); None = any.
        cost_centre: entries with a posting on that cost centre (code, exact); None = any.
        amount_min, amount_max: the entry's amount (EUR, the sum of its debits), both
            inclusive; None = open.
        state: one of ``STATES``; None = any.
        limit, offset: the page, in entries (``limit`` ≥ 1, ``offset`` ≥ 0).
    Returns:
        ``(entries, total)``: the entries of the page in booking order (date, then id),
        each with its postings and their accounts loaded; ``total`` counts every
        matching entry regardless of ``limit``/``offset``.
    Raises:
        ValueError: ``limit`` < 1 or ``offset`` < 0, an unknown ``state``.
    """
    window = _window(session, recipient, limit, offset, dict(
        date_from=date_from, date_to=date_to, category=category, account_number=account_number,
        school_year=school_year, search=search, cost_centre=cost_centre, amount_min=amount_min,
        amount_max=amount_max, state=state))
    if window.where is None:
        return [], window.total
    _load_accounts(recipient)
    entries = session.scalars(
        select(JournalEntry).where(window.where).order_by(JournalEntry.date, JournalEntry.id)
        .limit(limit).offset(window.offset).options(selectinload(JournalEntry.postings)))
    return list(entries), window.total


def _load_accounts(recipient: Recipient) -> None:
    """Load ``recipient``'s accounts into its session (once per session; the journal page has
    them already): every posting's account is one of them (the database refuses another
    recipient's), so ``Posting.account`` is then found in the session without a query."""
    recipient.accounts


def journal_sum(session: Session, recipient: Recipient, **filters) -> Decimal:
    """The sum (EUR) of the signed amounts (``signed_amount``) of every entry ``list_entries``
    finds with the same ``filters`` (its keyword arguments except ``limit``/``offset``): a
    reversed entry and its reversal add up to zero. Filtered by a school year and dates only,
    it is the sum of the journal's kept day totals (``_year_days``)."""
    if _only_year(**filters):
        days = _year_days(session, recipient, filters["school_year"], filters.get("date_from"), filters.get("date_to"))
        return from_cents(sum(cents for _day, _count, cents in days))
    sign = case((JournalEntry.reverses_id.is_not(None), -1), else_=1)
    where = _conditions(recipient, **filters)
    debits = (select(func.coalesce(func.sum(Posting.amount_cents), 0))
              .where(Posting.entry_id == JournalEntry.id, Posting.amount_cents > 0).scalar_subquery())
    return from_cents(session.scalar(select(func.coalesce(func.sum(sign * debits), 0)).where(where)) or 0)


@dataclass(frozen=True)
class JournalLine:
    """A journal entry as the journal's list shows it: ``id``, booking ``date``,
    ``voucher_number``, ``text``, ``kind``, ``reverses_id``; ``amount``: its signed amount
    (EUR, ``signed_amount``); ``categories``: its expense postings' distinct categories in
    posting order, labelled by ``category_label``; ``reversed_by``: the id of the entry reversing it,
    or None."""

    id: int
    date: date
    voucher_number: str
    text: str
    kind: str
    reverses_id: int | None
    amount: Decimal
    categories: tuple[CategoryRef, ...]
    reversed_by: int | None


@dataclass(frozen=True)
class JournalPage:
    """A page of the journal: its ``lines`` (``JournalLine``, in booking order), the number of
    all matching entries (``total``) and, if asked for, the sum of their signed amounts
    (``amount``, EUR, ``journal_sum``; else None)."""

    lines: list[JournalLine]
    total: int
    amount: Decimal | None


def journal_page(session: Session, recipient: Recipient, packs: tuple[RulePack, ...], *, limit: int = 50,
                 offset: int = 0, with_sum: bool = False, **filters) -> JournalPage:
    """The page ``list_entries`` finds with ``filters`` (its keyword arguments), read as plain
    rows (two statements: the entries with the ids of their reversals, their postings with the
    accounts' types), and with ``with_sum`` the filters' ``journal_sum`` (filtered by a school year
    and dates only, from the same reading of the kept day totals). Category labels come from
    ``packs`` (``category_label``). Raises ValueError as ``list_entries``."""
    window = _window(session, recipient, limit, offset, filters)
    amount = None
    if with_sum:
        amount = (from_cents(sum(cents for _day, _count, cents in window.days)) if window.days is not None
                  else journal_sum(session, recipient, **filters))
    if window.where is None:
        return JournalPage([], window.total, amount)
    reversal = aliased(JournalEntry)
    reversed_by = select(reversal.id).where(reversal.reverses_id == JournalEntry.id).scalar_subquery()
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.date, JournalEntry.voucher_number, JournalEntry.text,
               JournalEntry.kind, JournalEntry.reverses_id, reversed_by.label("reversed_by"))
        .where(window.where).order_by(JournalEntry.date, JournalEntry.id).limit(limit).offset(window.offset)).all()
    return JournalPage(_lines(session, rows, packs), window.total, amount)


def _lines(session: Session, rows: list, packs: tuple[RulePack, ...]) -> list[JournalLine]:
    """``JournalLine``s of the entries' ``rows`` (id, date, voucher number, text, kind, reverses_id,
    reversed_by)."""
    ids = [row.id for row in rows]
    debits: dict[int, int] = dict.fromkeys(ids, 0)
    categories: dict[int, dict[str | None, CategoryRef]] = {entry_id: {} for entry_id in ids}
    labels: dict[tuple[str | None, str], str] = {}
    for entry_id, cents, category, school_year, account_type in session.execute(
            select(Posting.entry_id, Posting.amount_cents, Posting.category, Posting.school_year, Account.type)
            .join(Account, Posting.account_id == Account.id)
            .where(Posting.entry_id.in_(ids)).order_by(Posting.entry_id, Posting.id)):
        if cents > 0:
            debits[entry_id] += cents
        seen = categories[entry_id]
        if account_type == "expense" and category not in seen:
            if (category, school_year) not in labels:
                labels[category, school_year] = category_label(category, school_year, packs)
            seen[category] = CategoryRef(category, labels[category, school_year])
    return [JournalLine(row.id, row.date, row.voucher_number, row.text, row.kind, row.reverses_id,
                        from_cents(-debits[row.id] if row.reverses_id is not None else debits[row.id]),
                        tuple(categories[row.id].values()), row.reversed_by)
            for row in rows]


@dataclass(frozen=True)
class _Window:
    """Where a page of ``list_entries`` lies: the entries' condition (``where``; None when the
    page lies past the last entry), the ``offset`` within them, the number of all matching
    entries (``total``) and, for a school year and dates only, the kept day totals read
    (``days``: day, entries, signed cents), else None."""

    where: object
    offset: int
    total: int
    days: list[tuple[date, int, int]] | None


def _window(session: Session, recipient: Recipient, limit: int, offset: int, filters: dict) -> _Window:
    """The ``_Window`` of the page ``limit``/``offset`` of the entries ``filters`` find.

    Filtered by a school year and dates only, the journal's day totals kept with the entries
    (``ledger.core.running_totals``) give the number of entries and the days the page's
    entries lie on; the entries of those days (``ix_journal_entries_recipient_date_id``) with a
    posting of the year give the page. Counting and sorting the whole year's entries took
    15 ms of a page at 12 500 entries a year, reading the year's postings of the page's days
    7 ms; now only the page's days are read. Unfiltered, the hash chain counts the entries
    (``_whole_journal_window``). Other filters count in SQL.
    Raises ValueError for ``limit`` < 1 or ``offset`` < 0, an unknown ``state``."""
    if limit < 1 or offset < 0:
        raise ValueError("limit must be ≥ 1 and offset ≥ 0")
    if _unfiltered(**filters):
        return _whole_journal_window(session, recipient, offset)
    if not _only_year(**filters):
        where = _conditions(recipient, **filters)
        total = session.scalar(select(func.count(JournalEntry.id)).where(where)) or 0
        return _Window(where, offset, int(total), None)
    year = filters["school_year"]
    days = _year_days(session, recipient, year, filters.get("date_from"), filters.get("date_to"))
    total = sum(count for _day, count, _cents in days)
    page = _page_days(days, limit, offset)
    if page is None:
        return _Window(None, 0, total, days)
    first, last, skip = page
    return _Window(_conditions(recipient, date_from=first, date_to=last, school_year=year), skip, total, days)


def _whole_journal_window(session: Session, recipient: Recipient, offset: int) -> _Window:
    """The ``_Window`` of the page at ``offset`` of all of ``recipient``'s entries: their number
    is the chain head's ``seq`` (the hash chain numbers a recipient's entries 1, 2, … without a
    gap; ``ledger.core.chain``), and the page begins at the entry found by walking
    ``ix_journal_entries_recipient_date_id`` from the nearer end, the index alone. Counting
    and sorting every entry instead took 22 ms for the first page and 130–180 ms for the last
    ones at 125 000 entries on PostgreSQL."""
    total = chain_head(session, recipient).seq
    if offset >= total:
        return _Window(None, 0, total, None)
    mine = JournalEntry.recipient_id == recipient.id
    if offset < total - offset:
        order, skip = (JournalEntry.date, JournalEntry.id), offset
    else:
        order, skip = (JournalEntry.date.desc(), JournalEntry.id.desc()), total - 1 - offset
    first = session.execute(select(JournalEntry.date, JournalEntry.id).where(mine).order_by(*order)
                            .offset(skip).limit(1)).first()
    if first is None:    # fewer entries than the chain counts: ``inkl verify`` reports the gap
        return _Window(None, 0, total, None)
    return _Window(and_(mine, tuple_(JournalEntry.date, JournalEntry.id) >= tuple_(first.date, first.id)), 0, total,
                   None)


def _unfiltered(*, search: str | None = None, **others) -> bool:
    """Whether ``list_entries``' filters select nothing: every entry of the recipient."""
    return not search and all(value is None for value in others.values())


def _only_year(*, school_year: SchoolYear | None = None, category: str | None = None,
               account_number: str | None = None, search: str | None = None, cost_centre: str | None = None,
               amount_min: Decimal | None = None, amount_max: Decimal | None = None, state: str | None = None,
               date_from: date | None = None, date_to: date | None = None) -> bool:
    """Whether ``list_entries``' filters are a school year and at most booking dates
    (``date_from``, ``date_to``, either way): then the journal's kept day totals count them
    (``_year_page``). An unknown filter name raises TypeError."""
    return school_year is not None and category is None and account_number is None and not search \
        and cost_centre is None and amount_min is None and amount_max is None and state is None


def _conditions(recipient: Recipient, *, date_from: date | None = None, date_to: date | None = None,
                category: str | None = None, account_number: str | None = None,
                school_year: SchoolYear | None = None, search: str | None = None, cost_centre: str | None = None,
                amount_min: Decimal | None = None, amount_max: Decimal | None = None, state: str | None = None):
    """The SQL condition on JournalEntry of ``list_entries``' filters."""
    conditions = [JournalEntry.recipient_id == recipient.id]
    if date_from is not None:
        conditions.append(JournalEntry.date >= date_from)
    if date_to is not None:
        conditions.append(JournalEntry.date <= date_to)
    in_year = [] if school_year is None else [Posting.school_year == str(school_year)]
    if category is not None:
        matches = Posting.category.is_(None) if category == UNCLASSIFIED else Posting.category == category
        conditions.append(_with_posting(recipient, Account.type == "expense", matches, *in_year))
    elif school_year is not None:
        conditions.append(exists(select(Posting.id).where(Posting.entry_id == JournalEntry.id, *in_year)))
    if account_number is not None:
        conditions.append(_with_posting(recipient, Account.number == account_number))
    if cost_centre is not None:
        conditions.append(exists(select(Posting.id).where(Posting.entry_id == JournalEntry.id,
                                                          Posting.cost_centre == cost_centre)))
    if amount_min is not None or amount_max is not None:
        debits = (select(func.sum(Posting.amount_cents))
                  .where(Posting.entry_id == JournalEntry.id, Posting.amount_cents > 0).scalar_subquery())
        if amount_min is not None:
            conditions.append(debits >= to_cents(amount_min))
        if amount_max is not None:
            conditions.append(debits <= to_cents(amount_max))
    if state is not None:
        conditions.append(_state_condition(state))
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(JournalEntry.voucher_number.ilike(pattern, escape="\\"),
                              JournalEntry.text.ilike(pattern, escape="\\")))
    return and_(*conditions)


def _with_posting(recipient: Recipient, *conditions):
    """The condition "the entry has a posting on one of ``recipient``'s accounts meeting
    ``conditions``" (on Posting and Account), as the set of those postings' entries, read once
    through the postings' indexes. A correlated ``EXISTS`` per entry was answered by probing
    every entry of the recipient, and on SQLite, for an account, by reading all of the
    account's postings for each entry (minutes at 1 000 000 postings)."""
    return JournalEntry.id.in_(select(Posting.entry_id).join(Account, Posting.account_id == Account.id)
                               .where(Account.recipient_id == recipient.id, *conditions))


def _state_condition(state: str):
    """The condition of a ``STATES`` value. Raises ValueError for another."""
    reversal = aliased(JournalEntry)
    reversed_ = exists(select(reversal.id).where(reversal.reverses_id == JournalEntry.id))
    if state == "active":
        return and_(JournalEntry.reverses_id.is_(None), ~reversed_)
    if state == "reversed":
        return reversed_
    if state == "reversal":
        return JournalEntry.reverses_id.is_not(None)
    raise ValueError(f"unknown state {state!r}")


def _year_days(session: Session, recipient: Recipient, school_year: SchoolYear, date_from: date | None,
               date_to: date | None) -> list[tuple[date, int, int]]:
    """The kept journal day totals of ``recipient``'s ``school_year`` from ``date_from`` to
    ``date_to`` (both inclusive, None = open), in date order: (day, entries, signed cents)."""
    where = [JournalDayTotal.recipient_id == recipient.id, JournalDayTotal.school_year == str(school_year)]
    if date_from is not None:
        where.append(JournalDayTotal.day >= date_from)
    if date_to is not None:
        where.append(JournalDayTotal.day <= date_to)
    return [(day, int(count), int(cents)) for day, count, cents in session.execute(
        select(JournalDayTotal.day, JournalDayTotal.entries, JournalDayTotal.signed_cents)
        .where(*where).order_by(JournalDayTotal.day))]


def _page_days(days: list[tuple[date, int, int]], limit: int, offset: int) -> tuple[date, date, int] | None:
    """The first and last day holding the entries ``offset`` … ``offset + limit - 1`` of
    ``days`` (day, entries, …) and how many of the first day's entries come before the page;
    None if the page lies past the last entry."""
    before, first, skip = 0, None, 0
    for day, count, _cents in days:
        if first is None and before + count > offset:
            first, skip = day, offset - before
        before += count
        if first is not None and before >= offset + limit:
            return first, day, skip
    return None if first is None else (first, days[-1][0], skip)


def entry_amount(entry: JournalEntry) -> Decimal:
    """The entry's amount in EUR: the sum of its debits (equal to the sum of its credits)."""
    return from_cents(sum(p.amount_cents for p in entry.postings if p.amount_cents > 0))


def signed_amount(entry: JournalEntry) -> Decimal:
    """The entry's amount in EUR with its sign: negative for a reversal (Storno), which cancels
    the entry it reverses; else ``entry_amount``."""
    amount = entry_amount(entry)
    return -amount if entry.reverses_id is not None else amount


def category_label(category: str | None, school_year: str, packs: tuple[RulePack, ...]) -> str:
    """German label of ``category`` in the rule pack judging ``school_year`` (``"2023/24"``).

    ``"nicht klassifiziert"`` for None; where no pack covers the year or the pack lacks the
    category, its label in the newest pack that has it (``ledger.rules.packs.category_label``),
    and only an id no pack knows stays as entered.
    """
    if category is None:
        return UNCLASSIFIED_LABEL
    try:
        pack = pack_for(INKLUSIONSPAUSCHALE, SchoolYear.parse(school_year), packs)
    except (RulePackError, SchoolYearError):
        return any_pack_label(category, packs)
    return pack.category(category).label if pack.has_category(category) else any_pack_label(category, packs)


def category_choices(packs: tuple[RulePack, ...]) -> list[CategoryRef]:
    """Every category id of ``packs`` once, labelled by the newest pack defining it.

    Order: the newest pack's order, then categories only older packs know.
    """
    choices: dict[str, CategoryRef] = {}
    for pack in sorted(packs, key=lambda p: p.valid_from, reverse=True):
        for category in pack.categories:
            choices.setdefault(category.id, CategoryRef(category.id, category.label))
    return list(choices.values())

"""The journal's school-year filter (``ledger.reports.journal``): its count, pages and signed
sum, read from the kept day totals, equal what every entry of the journal gives, whatever
mix of entries with postings in two school years, reversals and date limits came before."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.models import JournalEntry
from ledger.core.posting import PostingLine, post_entry, reverse_entry
from ledger.core.recipients import add_recipient, find_account
from ledger.core.schoolyear import SchoolYear
from ledger.reports.journal import UNCLASSIFIED, journal_page, journal_sum, list_entries, signed_amount
from ledger.rules.packs import load_packs
from tests.conftest import NOW

_keys = itertools.count()
YEARS = [SchoolYear(2022), SchoolYear(2023), SchoolYear(2024)]
FIRST_DAY = date(2023, 6, 1)
PACKS = load_packs()

entries = st.lists(st.tuples(
    st.integers(0, 480),                          # days after 01.06.2023
    st.sampled_from(YEARS),                       # the school year of the (first) pair of lines
    st.one_of(st.none(), st.sampled_from(YEARS)),  # a second pair of lines in this school year
    st.integers(1, 500_000), st.integers(1, 500_000),
), min_size=1, max_size=25)
reversals = st.lists(st.tuples(st.integers(0, 24), st.integers(0, 480)), max_size=5)
limits = st.tuples(st.sampled_from(YEARS), st.one_of(st.none(), st.integers(0, 480)),
                   st.one_of(st.none(), st.integers(0, 480)), st.integers(1, 4))


def _journal(session, data, undo):
    """A new Kreis with ``data``'s entries (expense 5291 against the bank 1810, a second pair of
    lines on 5292 where given) and reversals of some of them on other days."""
    kreis = add_recipient(session, f"j{next(_keys)}", "Kreis Journal", "kreis", actor="t", now=NOW)
    expense, training, bank = (find_account(session, kreis, n) for n in ("5291", "5292", "1810"))
    booked = []
    for i, (offset, year, second, cents, more) in enumerate(data):
        amount = Decimal(cents).scaleb(-2)
        lines = [PostingLine(expense, amount, year), PostingLine(bank, -amount, year)]
        if second is not None:
            other = Decimal(more).scaleb(-2)
            lines += [PostingLine(training, other, second), PostingLine(bank, -other, second)]
        booked.append(post_entry(session, kreis, day=FIRST_DAY + timedelta(days=offset), voucher_number=f"B-{i}",
                                 text=f"Buchung {i}", lines=lines, kind="manual", created_by="t", now=NOW))
    for index, offset in undo:
        entry = booked[index % len(booked)]
        if not session.scalar(sa.select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)):
            reverse_entry(session, entry, day=FIRST_DAY + timedelta(days=offset), reason="Fehlbuchung",
                          created_by="t", now=NOW)
    session.commit()
    return kreis


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=entries, undo=reversals, filters=st.lists(limits, min_size=1, max_size=4))
def test_year_pages_count_and_sum_equal_every_entrys(session, data, undo, filters):
    kreis = _journal(session, data, undo)
    everything = session.scalars(sa.select(JournalEntry).where(JournalEntry.recipient_id == kreis.id)).all()
    for year, start, end, limit in filters:
        date_from = None if start is None else FIRST_DAY + timedelta(days=start)
        date_to = None if end is None else FIRST_DAY + timedelta(days=end)
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        wanted = sorted((e for e in everything if any(p.school_year == str(year) for p in e.postings)
                         and (date_from is None or e.date >= date_from) and (date_to is None or e.date <= date_to)),
                        key=lambda e: (e.date, e.id))
        chosen = {"school_year": year, "date_from": date_from, "date_to": date_to}
        pages, lines = [], []
        for offset in range(0, len(wanted) + limit, limit):
            page, total = list_entries(session, kreis, **chosen, limit=limit, offset=offset)
            assert total == len(wanted)
            pages += [entry.id for entry in page]
            listed = journal_page(session, kreis, PACKS, **chosen, limit=limit, offset=offset, with_sum=offset == 0)
            assert listed.total == len(wanted) and (listed.amount is None) == (offset > 0)
            lines += listed.lines
        assert pages == [entry.id for entry in wanted]
        reversed_by = {e.reverses_id: e.id for e in everything if e.reverses_id is not None}
        assert [(line.id, line.amount, line.reversed_by) for line in lines] == [
            (e.id, signed_amount(e), reversed_by.get(e.id)) for e in wanted]
        assert all([category.id for category in line.categories] == [None] for line in lines)
        amount = sum((signed_amount(e) for e in wanted), Decimal("0.00"))
        assert journal_sum(session, kreis, **chosen) == amount
        assert journal_page(session, kreis, PACKS, **chosen, limit=limit, with_sum=True).amount == amount


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=entries, undo=reversals, limit=st.integers(1, 7))
def test_pages_of_the_whole_journal_list_every_entry_once_in_booking_order(session, data, undo, limit):
    """Unfiltered, the journal counts a recipient's entries by its hash chain and finds each
    page from the nearer end of the entries' index: the pages, front to back, are every entry
    of the recipient (entries of one day across a page's edge included), in booking order."""
    kreis = _journal(session, data, undo)
    everything = session.scalars(sa.select(JournalEntry).where(JournalEntry.recipient_id == kreis.id)).all()
    wanted = [entry.id for entry in sorted(everything, key=lambda e: (e.date, e.id))]
    pages, lines = [], []
    for offset in range(0, len(wanted) + limit, limit):
        page, total = list_entries(session, kreis, limit=limit, offset=offset)
        listed = journal_page(session, kreis, PACKS, limit=limit, offset=offset)
        assert total == listed.total == len(wanted)
        pages += [entry.id for entry in page]
        lines += [line.id for line in listed.lines]
    assert pages == lines == wanted


def test_the_whole_journal_is_paged_from_its_nearer_end(session, kreis):
    """Five entries, three of them on one day, in pages of two: the third page (the fifth
    entry) is found from the end, the first two pages from the front."""
    expense, bank = (find_account(session, kreis, n) for n in ("5291", "1810"))
    days = [date(2024, 3, 4), date(2024, 3, 1), date(2024, 3, 4), date(2024, 3, 2), date(2024, 3, 4)]
    ids = [post_entry(session, kreis, day=day, voucher_number=f"V-{i}", text="Buchung",
                      lines=[PostingLine(expense, Decimal("10.00"), SchoolYear(2023)),
                             PostingLine(bank, Decimal("-10.00"), SchoolYear(2023))],
                      kind="manual", created_by="t", now=NOW).id for i, day in enumerate(days)]
    session.commit()
    in_order = [ids[1], ids[3], ids[0], ids[2], ids[4]]
    assert [[line.id for line in journal_page(session, kreis, PACKS, limit=2, offset=offset).lines]
            for offset in (0, 2, 4, 6)] == [in_order[0:2], in_order[2:4], in_order[4:], []]
    assert journal_page(session, kreis, PACKS, limit=2, offset=6).total == 5


def _sqlite_steps(session, run) -> int:
    """Thousands of SQLite virtual machine instructions ``run()`` executes on ``session``'s connection."""
    raw = session.connection().connection.driver_connection
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    raw.set_progress_handler(count, 1000)
    try:
        run()
    finally:
        raw.set_progress_handler(None, 1000)
    return steps[0]


def test_the_account_filter_reads_the_accounts_postings_once(tmp_path):
    """SQLite answered the account filter, a correlated subquery, by reading all of the account's
    postings for every entry of the journal: at 125 050 entries (1 000 000 postings) a page
    filtered by an account did not come back within minutes. Now the account's entries are
    read once: four times the entries cost about four times SQLite's work, not sixteen."""
    from ledger.core import db

    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with db.session_scope(engine, write=True) as session:
        kreis = add_recipient(session, "konto", "Kreis Konto", "kreis", actor="t", now=NOW)
        expense, bank = (find_account(session, kreis, n) for n in ("5291", "1810"))

        def book(count: int) -> None:
            for i in range(count):
                post_entry(session, kreis, day=FIRST_DAY + timedelta(days=i % 300), voucher_number=f"K-{i}",
                           text="Buchung", lines=[PostingLine(expense, Decimal("1.00"), YEARS[1]),
                                                  PostingLine(bank, Decimal("-1.00"), YEARS[1])],
                           kind="manual", created_by="t", now=NOW)

        def filtered() -> None:
            assert journal_page(session, kreis, PACKS, account_number="5291", with_sum=True).total == booked

        booked = 100
        book(booked)
        small = _sqlite_steps(session, filtered)
        booked = 400
        book(300)
        large = _sqlite_steps(session, filtered)
    engine.dispose()
    assert large < 8 * small, (small, large)


CATEGORIES = [None, "pool_personnel", "training"]
categorised = st.lists(st.tuples(
    st.integers(0, 480), st.sampled_from(YEARS), st.sampled_from(CATEGORIES),
    st.one_of(st.none(), st.tuples(st.sampled_from(YEARS), st.sampled_from(CATEGORIES))),  # a line on 5292
), min_size=1, max_size=20)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=categorised, category=st.sampled_from([UNCLASSIFIED, "pool_personnel", "training"]),
       year=st.one_of(st.none(), st.sampled_from(YEARS)))
def test_the_category_filter_finds_the_entries_with_such_an_expense_posting(session, data, category, year):
    """The category filter (with a school year or without) lists, counts and sums exactly the
    entries with an expense posting of that category (``"none"``: without one) in that year,
    whatever other recipients book."""
    kreis = add_recipient(session, f"c{next(_keys)}", "Kreis Kategorie", "kreis", actor="t", now=NOW)
    expense, training, bank = (find_account(session, kreis, n) for n in ("5291", "5292", "1810"))
    for i, (offset, first_year, first_category, second) in enumerate(data):
        lines = [PostingLine(expense, Decimal("10.00"), first_year, first_category),
                 PostingLine(bank, Decimal("-10.00"), first_year)]
        if second is not None:
            lines += [PostingLine(training, Decimal("2.50"), second[0], second[1]),
                      PostingLine(bank, Decimal("-2.50"), second[0])]
        post_entry(session, kreis, day=FIRST_DAY + timedelta(days=offset), voucher_number=f"C-{i}", text="Buchung",
                   lines=lines, kind="manual", created_by="t", now=NOW)
    session.commit()
    everything = session.scalars(sa.select(JournalEntry).where(JournalEntry.recipient_id == kreis.id)).all()
    wanted = sorted((e for e in everything if any(
        p.account.type == "expense" and p.category == (None if category == UNCLASSIFIED else category)
        and (year is None or p.school_year == str(year)) for p in e.postings)), key=lambda e: (e.date, e.id))
    page, total = list_entries(session, kreis, category=category, school_year=year, limit=100)
    assert total == len(wanted) and [e.id for e in page] == [e.id for e in wanted]
    listed = journal_page(session, kreis, PACKS, category=category, school_year=year, limit=100, with_sum=True)
    assert [line.id for line in listed.lines] == [e.id for e in wanted]
    assert listed.amount == sum((signed_amount(e) for e in wanted), Decimal("0.00"))

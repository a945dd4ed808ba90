"""One bad row must never break the books: the limit of one amount (``MAX_AMOUNT``) at every
entry point, no sum that can overflow, and one school year's error only in that year.

Source: issue 14, "One bad row must never break the books": an amount of
92.233.720.368.547.758,07 EUR (2^63 − 1 cents) was imported without complaint, after which the
sums overflowed on SQLite and the repayment dropped to 0,00 on PostgreSQL.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.core.agreements import add_agreement
from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import JournalEntry
from ledger.core.money import (
    MAX_AMOUNT,
    MAX_CENTS,
    AmountError,
    AmountTooLarge,
    checked_cents,
    format_german,
    from_cents,
    parse_amount,
    parse_decimal,
    parse_german,
    parse_german_cents,
)
from ledger.core.posting import PostingLine, account_balance, post_entry
from ledger.core.recipients import add_recipient, find_account
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import YearError, compute_all
from ledger.reports.year_totals import year_totals
from ledger.workflows.masterdata import import_master_data
from tests.conftest import NOW, add_web_user, import_bytes, logged_in
from tests.test_web_imports import _text, _upload, olga, users  # noqa: F401 (fixtures)
from tests.test_web_journal import _entries, _entry_form
from tests.test_web_review import BASE, JUSTIFICATION, _override, _pid, books, officer  # noqa: F401 (fixtures)

SY = SchoolYear(2023)
#: 2^63 − 1 cents: the amount of the issue, the largest a 64-bit integer column holds.
INT64_MAX = 2**63 - 1
OVERFLOW_TEXT = "92.233.720.368.547.758,07"
TOO_LARGE = ["1.000.000.000,00", "-1.000.000.000,00", "1.000.000.000,01", OVERFLOW_TEXT, "9" * 5000, "1000000000"]
#: The most postings one recipient's books could plausibly ever hold: a Kreis books a few
#: thousand a year; 10 million are 30 school years of over 300.000 postings each.
POSTINGS_BOUND = 10_000_000
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"


# --- the limit and the parsers ------------------------------------------------------------


def test_the_limit_is_one_billion_euros_minus_a_cent():
    assert MAX_AMOUNT == Decimal("999999999.99") and MAX_CENTS == 99_999_999_999
    assert parse_german("999.999.999,99") == parse_amount("999999999.99") == MAX_AMOUNT
    assert parse_german_cents("-999.999.999,99") == -MAX_CENTS


@pytest.mark.parametrize("text", [t for t in TOO_LARGE if "," in t])
def test_every_parser_refuses_a_larger_amount_naming_it_and_the_limit(text):
    for parse in (parse_german, parse_german_cents, parse_amount):
        with pytest.raises(AmountTooLarge) as refused:
            parse(text)
        assert "übersteigt den Höchstbetrag von 999.999.999,99 EUR" in str(refused.value)
        assert text[:30] in str(refused.value)


@pytest.mark.parametrize("text", ["1000000000", "1e30", "-1000000000.00", "9" * 5000])
def test_plain_notation_is_limited_too(text):
    with pytest.raises(AmountTooLarge):
        parse_decimal(text)


@given(st.text(alphabet="0123456789.,-eE+ ", max_size=40))
@example("1E1000000")  # beyond Decimal's exponent range: abs() would raise decimal.Overflow
def test_property_no_accepted_text_exceeds_the_limit(text):
    """Whatever text a parser accepts is at most ``MAX_AMOUNT`` either way; anything else is an
    AmountError (never another exception, never a silently rounded value)."""
    for parse in (parse_german, parse_amount):
        try:
            value = parse(text)
        except AmountError:
            continue
        assert abs(value) <= MAX_AMOUNT
    try:
        cents = parse_german_cents(text)
    except AmountError:
        return
    assert abs(cents) <= MAX_CENTS and from_cents(cents) == parse_german(text)


@given(st.integers(min_value=-10**20, max_value=10**20))
def test_property_a_german_amount_is_accepted_exactly_up_to_the_limit(cents):
    text = format_german(Decimal(cents).scaleb(-2))
    if abs(cents) <= MAX_CENTS:
        assert parse_german_cents(text) == cents
    else:
        with pytest.raises(AmountTooLarge):
            parse_german_cents(text)


def test_the_core_refuses_what_no_parser_would_give_it():
    assert checked_cents(Decimal("-999999999.99")) == -MAX_CENTS
    for amount in (Decimal("1000000000.00"), Decimal("1e30"), Decimal(INT64_MAX) / 100):
        with pytest.raises(AmountTooLarge, match="übersteigt den Höchstbetrag"):
            checked_cents(amount)
    with pytest.raises(AmountError):
        checked_cents(Decimal("Infinity"))


# --- no sum can overflow -------------------------------------------------------------------


def test_the_largest_possible_sum_fits_in_64_bits_with_margin():
    """Every sum the ledger computes (a year's total, an account's balance, a trial balance)
    adds postings of one recipient; at most ``POSTINGS_BOUND`` postings of the maximum size,
    all of one sign, stay below 2^63 − 1 cents by a factor of more than 9."""
    largest = POSTINGS_BOUND * MAX_CENTS
    assert largest < INT64_MAX
    assert INT64_MAX // largest >= 9
    assert INT64_MAX // MAX_CENTS == 92_233_720  # amounts of the maximum size before any sum could overflow


def test_the_database_sums_the_bound_exactly(engine):
    """``SUM`` over BIGINT of ``POSTINGS_BOUND`` maximum amounts: PostgreSQL's numeric result and
    SQLite's integer (which raises on overflow) come back exact."""
    if engine.dialect.name == "postgresql":
        query = "SELECT SUM(CAST(:cents AS BIGINT)) FROM generate_series(1, :count)"
    else:
        query = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
                 "SELECT SUM(CAST(:cents AS BIGINT)) FROM n")
    with engine.connect() as connection:
        total = connection.scalar(sa.text(query), {"cents": MAX_CENTS, "count": POSTINGS_BOUND})
    assert int(total) == total == POSTINGS_BOUND * MAX_CENTS


_examples = iter(range(10**6))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=1, max_value=25), sign=st.sampled_from([1, -1]))
def test_property_the_ledgers_sums_of_maximum_postings_are_exact(session, count, sign):
    """``count`` entries of the maximum amount on one expense account: its balance and the
    year's totals (summed by the database) are the exact multiple."""
    recipient = add_recipient(session, f"max{next(_examples)}", "Kreis Maximal", "kreis", actor="test", now=NOW)
    expense, bank = find_account(session, recipient, "5292"), find_account(session, recipient, "1810")
    for number in range(count):
        post_entry(session, recipient, day=date(2023, 11, 2), voucher_number=f"M-{number}", text="Höchstbetrag",
                   lines=[PostingLine(expense, sign * MAX_AMOUNT, SY, "training"),
                          PostingLine(bank, -sign * MAX_AMOUNT, SY)],
                   kind="manual", created_by="test", now=NOW)
    session.commit()
    assert account_balance(session, expense, SY) == sign * count * MAX_AMOUNT
    totals, _state = year_totals(session, recipient, SY)
    assert totals.sum("amount") == sign * count * MAX_AMOUNT


# --- every entry point refuses a larger amount ---------------------------------------------


def test_the_import_names_line_and_column_and_books_nothing(session, kreis):
    data = (HEADER + "02.11.2023;B-1;Workshop;5292;1810;1.250,00;;;\n"
            + f"03.11.2023;B-2;Tippfehler;5292;1810;{OVERFLOW_TEXT};;;\n"
            + f"04.11.2023;B-3;noch größer;5292;1810;{'9' * 5000},00;;;\n").encode()
    for dry_run in (True, False):
        summary = import_bytes(session, kreis, data, "export.csv", created_by="test", now=NOW, dry_run=dry_run)
        assert not summary.ok
        assert [(e.line, e.column) for e in summary.errors] == [(3, "Betrag"), (4, "Betrag")]
        assert "übersteigt den Höchstbetrag von 999.999.999,99 EUR" in summary.errors[0].message
        session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 0


def test_the_webs_dry_run_reports_it(olga, session):  # noqa: F811
    response = _upload(olga, (HEADER + f"03.11.2023;B-2;Tippfehler;5292;1810;{OVERFLOW_TEXT};;;\n").encode())
    assert response.status_code == 200
    text = _text(response)
    assert "Die Datei ist fehlerfrei" not in text and "Jetzt buchen" not in text
    assert "Betrag" in text and "übersteigt den Höchstbetrag von 999.999.999,99 EUR" in text


def test_the_cli_refuses_with_exit_code_1(cli, kreis):
    for args in (("grant", "add", "--recipient", "testland", "--school-year", "2023/24", "--amount", OVERFLOW_TEXT),
                 ("agreement", "add", "--recipient", "testland", "--school-year", "2020/21",
                  "--deemed-conform", "1000000000")):
        failed = cli(*args, expect=1)
        assert failed.stdout == ""
        assert failed.stderr.startswith("Fehler: --")
        assert "übersteigt den Höchstbetrag von 999.999.999,99 EUR" in failed.stderr
    cli("grant", "add", "--recipient", "testland", "--school-year", "2023/24", "--amount", "750.000,00")
    payout = cli("grant", "payout", "--recipient", "testland", "--school-year", "2023/24", "--amount",
                 "1.000.000.000,00", "--date", "2023-10-16", expect=1)
    assert "Fehler: --amount: Betrag '1.000.000.000,00' übersteigt" in payout.stderr
    pay = cli("repayment", "pay", "--recipient", "testland", "--school-year", "2023/24", "--amount",
              "1.000.000.000,00", "--date", "2024-03-20", expect=1)
    assert "übersteigt den Höchstbetrag" in pay.stderr
    override = cli("override", "add", "--recipient", "testland", "--posting", "1", "--status", "split",
                   "--conform", OVERFLOW_TEXT, "--justification", "x" * 30, expect=1)
    assert "Fehler: --conform: Betrag" in override.stderr and "übersteigt" in override.stderr


def test_the_core_functions_refuse_it(session, kreis):
    huge = Decimal("1000000000.00")
    with pytest.raises(AmountTooLarge):
        add_grant(session, kreis, SY, huge, actor="test", now=NOW)
    grant = add_grant(session, kreis, SY, Decimal("750000.00"), actor="test", now=NOW)
    with pytest.raises(AmountTooLarge):
        add_payout(session, grant, date(2023, 10, 16), Decimal(INT64_MAX), created_by="test", now=NOW)
    with pytest.raises(AmountTooLarge):
        add_agreement(session, kreis, SchoolYear(2020), deemed_conform=huge, created_by="test", now=NOW)
    expense, bank = find_account(session, kreis, "5292"), find_account(session, kreis, "1810")
    with pytest.raises(LedgerError, match="übersteigt den Höchstbetrag"):
        post_entry(session, kreis, day=date(2023, 11, 2), voucher_number="M-1", text="zu groß",
                   lines=[PostingLine(expense, huge, SY), PostingLine(bank, -huge, SY)],
                   kind="manual", created_by="test", now=NOW)


def test_the_manual_entry_form_shows_it_without_error_500(anna, session):  # noqa: F811
    response = anna.post("/r/testland/journal/neu", data=_entry_form(
        anna, [("5292", OVERFLOW_TEXT, "", "training"), ("1810", "", OVERFLOW_TEXT, "")]))
    assert response.status_code == 400
    assert "übersteigt den Höchstbetrag von 999.999.999,99 EUR" in response.get_data(as_text=True)
    assert _entries(session) == 0


def test_the_override_form_shows_it_without_error_500(officer, session):  # noqa: F811
    answer = _override(officer, _pid(session, "P-H"), status="split", conform=OVERFLOW_TEXT,
                       justification=JUSTIFICATION)
    assert answer.status_code == 422
    assert "übersteigt den Höchstbetrag von 999.999.999,99 EUR" in answer.get_data(as_text=True)


def test_master_data_import_names_line_and_column(session, kreis):
    data = ("Referenz;Beschreibung;Kategorie;Monatsbetrag;Beginn;Ende\n"
            f"V-1;Poolvertrag;pool_personnel;{OVERFLOW_TEXT};01.08.2023;31.07.2024\n").encode()
    summary = import_master_data(session, kreis, "commitment", data, "vertraege.csv", actor="test", now=NOW)
    assert [(e.line, e.column) for e in summary.errors] == [(2, "Monatsbetrag")]
    assert "übersteigt den Höchstbetrag von 999.999.999,99 EUR" in summary.errors[0].message


# --- one school year's error stays in that year --------------------------------------------


@pytest.fixture
def broken_year(session, kreis):
    """Kreis Testland with a good year (2023/24: grant, payout, a workshop) and an expense in
    2012/13, a year no rule pack covers (the packs begin with 2014/15)."""
    grant = add_grant(session, kreis, SY, Decimal("10000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("10000.00"), created_by="test", now=NOW)
    expense, bank = find_account(session, kreis, "5292"), find_account(session, kreis, "1810")
    for day, year, amount in ((date(2012, 11, 2), SchoolYear(2012), "100.00"), (date(2023, 11, 2), SY, "1250.00")):
        post_entry(session, kreis, day=day, voucher_number=f"W-{year.start_year}", text="Workshop",
                   lines=[PostingLine(expense, Decimal(amount), year, "training"),
                          PostingLine(bank, -Decimal(amount), year)],
                   kind="manual", created_by="test", now=NOW)
    session.commit()
    return kreis


def test_compute_all_reports_the_broken_year_and_computes_the_others(session, broken_year):
    old, good = compute_all(session, broken_year)
    assert isinstance(old, YearError) and old.school_year == "2012/13"
    assert old.message.startswith("kein Regelwerk gilt für das Schuljahr 2012/13")
    assert good.school_year == "2023/24" and good.repayment_due == Decimal("8750.00")


def test_the_cli_lists_every_year_and_exits_with_1(cli, broken_year):
    result = cli("repayments", "--recipient", "testland", "--json", expect=1)
    old, good = json.loads(result.stdout)
    assert old == {"school_year": "2012/13", "error": old["error"]}
    assert old["error"].startswith("kein Regelwerk gilt für das Schuljahr 2012/13")
    assert (good["school_year"], good["repayment_due"]) == ("2023/24", "8750.00")
    assert result.stderr.startswith("Fehler: Schuljahr 2012/13: kein Regelwerk")
    text = cli("repayments", "--recipient", "testland", expect=1)
    assert text.stdout.startswith("2023/24: erhalten 10.000,00") and "2012/13" in text.stderr


def test_the_dashboard_of_the_broken_year_shows_the_error_and_the_other_years(app, session, broken_year):
    add_web_user(session, "anna", "officer", recipients=[broken_year])
    client = logged_in(app, "anna")
    broken = client.get("/r/testland/2012/")
    page = broken.get_data(as_text=True)
    assert broken.status_code == 200
    assert "Die Zahlen des Schuljahres 2012/13 können nicht berechnet werden" in page
    assert 'href="/r/testland/2023/"' in page
    assert client.get("/r/testland/2023/").status_code == 200
    assert client.get("/").status_code == 200

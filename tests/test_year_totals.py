"""The repayment's totals summed by the database equal the sums over every posting's classification."""
import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.models import JournalEntry, Posting
from ledger.core.posting import reverse_entry
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import add_user
from ledger.core.grants import add_grant, add_payout
from ledger.core.money import from_cents
from ledger.reports.repayment import RepaymentInputs, compute_all, compute_many, compute_repayment
from ledger.reports.totals import Totals
from ledger.reports.year_totals import year_totals
from ledger.rules.evaluate import evaluate
from ledger.rules.evaluation_runs import classified, record_evaluation
from ledger.rules.overrides import add_override
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from ledger.workflows.masterdata import add
from tests.conftest import NOW, add_master_data, import_bytes

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
YEAR = SchoolYear(2023)
CATEGORIES = ["", "pool_personnel", "overhead", "training", "pass_through", "individual_claim_sgb_viii"]
CENTRES = ["", "POOL-A", "POOL-M", "WL-BEISPIELHEIM", "WL-SPAET", "UNBEKANNT"]
JUSTIFICATION = "Prüfung der Belege ergab eine andere Einstufung"
_keys = itertools.count()

rows = st.lists(st.tuples(
    st.integers(-40, 405),                      # days after 01.08.2023: some before and after the school year
    st.sampled_from(CATEGORIES), st.sampled_from(CENTRES),
    st.integers(1, 10_000_000),                 # cents
    st.sampled_from(["5291", "5292", "1810"]),  # an expense account, or a refund (the bank debited)
), min_size=1, max_size=30)


def books(session, data, reversals, overrides):
    """A new recipient with the worked examples' master data plus a mixed pool (62,5 %) and
    a municipality verified within the school year (WL-SPAET, 15.11.2023), the rows
    imported (Schuljahr 2023/24 whatever the date), some entries reversed and some
    postings overridden."""
    kreis = add_recipient(session, f"k{next(_keys)}", "Kreis Zufall", "kreis", actor="t", now=NOW)
    add_master_data(session, kreis)
    add(session, kreis, "pool", {"Kennung": "POOL-M", "Name": "Pool gemischt", "Träger": "Träger A",
                                 "Schulen": "100001", "Beginn": "01.08.2014", "Ende": "31.07.2030",
                                 "Finanzierungsgrundlage": "mixed", "Systemischer Anteil": "62,5"}, actor="t", now=NOW)
    add(session, kreis, "costcentre", {"Kostenstelle": "POOL-M", "Schule": "", "Pool": "POOL-M", "Gemeinde": "",
                                       "Projekt": ""}, actor="t", now=NOW)
    add(session, kreis, "municipality", {"Name": "Stadt Spät", "Träger von GL-Schulen": "ja",
                                         "Geprüft am": "15.11.2023", "Nachweis": "Az. 40/2023-9",
                                         "Geprüft von": "Schulamt"}, actor="t", now=NOW)
    add(session, kreis, "costcentre", {"Kostenstelle": "WL-SPAET", "Schule": "", "Pool": "", "Gemeinde": "Stadt Spät",
                                       "Projekt": ""}, actor="t", now=NOW)
    lines = []
    for i, (offset, category, centre, cents, account) in enumerate(data):
        day = date(2023, 8, 1) + timedelta(days=offset)
        debit, credit = (account, "1810") if account != "1810" else ("1810", "5291")
        lines.append(f"{day:%d.%m.%Y};V-{i};Zeile {i};{debit};{credit};{cents // 100},{cents % 100:02d};{centre};"
                     f"{category if debit != '1810' else ''};2023/24\n")
    summary = import_bytes(session, kreis, (HEADER + "".join(lines)).encode(), "zufall.csv", created_by="t", now=NOW)
    assert summary.ok, summary.errors
    entries = session.scalars(sa.select(JournalEntry).where(JournalEntry.recipient_id == kreis.id)
                              .order_by(JournalEntry.id)).all()
    officer = add_user(session, f"o{next(_keys)}", "officer", actor="t", now=NOW)
    for index in {i % len(entries) for i in overrides}:
        expense = [p for p in entries[index].postings if p.account.type == "expense"][0]
        add_override(session, kreis, expense.id, status="excluded", user=officer, justification=JUSTIFICATION, now=NOW)
    for index in reversals:
        entry = entries[index % len(entries)]
        if not session.scalar(sa.select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)):
            reverse_entry(session, entry, day=date(2024, 3, 1), reason="Fehlbuchung", created_by="t", now=NOW)
    session.commit()
    return kreis


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, reversals=st.lists(st.integers(0, 29), max_size=4), overrides=st.sets(st.integers(0, 29), max_size=3))
def test_totals_equal_the_sum_of_every_postings_classification(session, data, reversals, overrides):
    kreis = books(session, data, reversals, overrides)
    fast, state = year_totals(session, kreis, YEAR)
    assert fast == Totals.of_items(evaluate(session, kreis, YEAR))
    assert state.changed == fast.postings and state.run is None
    until = date(2024, 1, 31)
    assert year_totals(session, kreis, YEAR, booked_until=until)[0] == Totals.of_items(
        evaluate(session, kreis, YEAR, booked_until=until))
    assert compute_repayment(session, kreis, YEAR) == compute_repayment(
        session, kreis, YEAR, basis=classified(session, kreis, YEAR))


recipient_books = st.tuples(rows, st.lists(st.integers(0, 29), max_size=2), st.sets(st.integers(0, 29), max_size=2),
                            st.integers(1, 50_000_000), st.booleans())


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recipients=st.lists(recipient_books, min_size=2, max_size=3))
def test_recipients_read_together_keep_each_their_own_figures(session, recipients):
    """The Land's overview reads every recipient's grants, payouts, agreements, role balances,
    payments, totals, overrides and runs in one query each (``compute_many``); each recipient's
    figures equal those read for it alone, year by year as ``compute_repayment`` reads them,
    and those computed from the recipient's ``RepaymentInputs`` read for all its years.
    Each Kreis has its own grant paid out on 30.11.2023 and, where something is due, a
    confirmed obligation (an evaluation run) half paid on 3 May 2024."""
    kreise = []
    for data, reversals, overrides, grant_cents, pay in recipients:
        kreis = books(session, data, reversals, overrides)
        grant = add_grant(session, kreis, YEAR, from_cents(grant_cents), notice_date=date(2023, 10, 20),
                          actor="t", now=NOW)
        add_payout(session, grant, date(2023, 11, 30), from_cents(grant_cents), created_by="t", now=NOW)
        due = compute_repayment(session, kreis, YEAR).repayment_due
        if pay and due >= Decimal("0.02"):
            confirm_repayment(session, kreis, YEAR, day=date(2024, 3, 1), created_by="t", now=NOW)
            pay_repayment(session, kreis, YEAR, (due / 2).quantize(Decimal("0.01")), day=date(2024, 5, 3),
                          created_by="t", now=NOW)
        session.commit()
        kreise.append(kreis)
    as_of = date(2025, 6, 30)
    together = compute_many(session, kreise, as_of=as_of)
    assert set(together) == {kreis.id for kreis in kreise}
    for kreis in kreise:
        assert together[kreis.id] == compute_all(session, kreis, as_of=as_of)
        assert together[kreis.id] == [compute_repayment(session, kreis, YEAR, as_of=as_of)]
        inputs = RepaymentInputs.load(session, kreis)  # what a server process keeps (the dashboard)
        assert together[kreis.id] == [compute_repayment(session, kreis, YEAR, as_of=as_of, inputs=inputs)]


def test_a_mixed_pool_is_rounded_per_posting_not_on_the_sum(session):
    """Three postings of 0,01 EUR in a 62,5 % pool: each rounds to 0,01 conform (0,00625 → 0,01),
    so 0,03 in all; rounding the sum (0,01875) would give 0,02."""
    kreis = books(session, [(10, "pool_personnel", "POOL-M", 1, "5291")] * 3, [], set())
    totals, _state = year_totals(session, kreis, YEAR)
    assert totals.cells[("pool_personnel", "split")] == (3, 3, 0, 0)


def test_a_recorded_run_is_unchanged_until_the_books_change(session):
    kreis = books(session, [(10, "pool_personnel", "POOL-A", 100_00, "5291"), (20, "", "", 5_00, "5292")], [], set())
    officer = add_user(session, "run-officer", "officer", actor="t", now=NOW)
    record_evaluation(session, kreis, YEAR, actor=officer.username, now=NOW, reason="Bestätigung der Rückzahlung")
    session.commit()
    assert year_totals(session, kreis, YEAR)[1].changed == 0
    posting = session.scalar(sa.select(Posting.id).join(JournalEntry).where(
        JournalEntry.recipient_id == kreis.id, JournalEntry.voucher_number == "V-1", Posting.amount_cents > 0))
    add_override(session, kreis, posting, status="permitted", user=officer, justification=JUSTIFICATION, now=NOW)
    session.commit()
    totals, state = year_totals(session, kreis, YEAR)
    assert (state.changed, state.current) == (1, False)
    assert totals.sum("conform") == Decimal("105.00")


def test_pass_through_is_split_by_the_verification_within_the_year(session):
    """Pass-through to a municipality verified on 15.11.2023: the postings before are
    excluded, those from that day on permitted, though they share category and cost centre."""
    rows = [(offset, "pass_through", "WL-SPAET", 100_000 + offset, "5292") for offset in (10, 105, 106, 200)]
    kreis = books(session, rows, reversals=[], overrides=set())
    fast, _state = year_totals(session, kreis, YEAR)
    assert fast == Totals.of_items(evaluate(session, kreis, YEAR))
    assert fast.sum("excluded") == Decimal("2001.15") and fast.sum("conform") == Decimal("2003.06")


def test_the_verification_split_follows_the_categorys_kind_not_its_id(session):
    """A category of another id whose kind is pass-through (``training`` made one here) is
    split by the municipality's verification like ``pass_through``; the totals still equal
    the sum over every posting's classification."""
    from dataclasses import replace

    from ledger.rules.packs import load_packs

    packs = tuple(replace(pack, categories=tuple(replace(c, kind="pass_through") if c.id == "training" else c
                                                 for c in pack.categories)) for pack in load_packs())
    rows = [(offset, "training", "WL-SPAET", 100_000 + offset, "5292") for offset in (10, 105, 106, 200)]
    kreis = books(session, rows, reversals=[], overrides=set())
    fast, _state = year_totals(session, kreis, YEAR, packs)
    assert fast == Totals.of_items(evaluate(session, kreis, YEAR, packs))
    assert fast.sum("excluded") == Decimal("2001.15") and fast.sum("conform") == Decimal("2003.06")


def test_inputs_read_for_all_school_years_are_not_cut_at_a_day(session):
    """``RepaymentInputs`` count every entry: a forecast's actuals up to a day cannot use them."""
    kreis = books(session, [(10, "pool_personnel", "POOL-A", 100_00, "5291")], [], set())
    with pytest.raises(ValueError):
        compute_repayment(session, kreis, YEAR, booked_until=date(2024, 1, 31),
                          inputs=RepaymentInputs.load(session, kreis))

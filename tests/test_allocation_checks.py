"""Claims of plan mettmann-2014: mainstream schools, no pupil counted twice, the commitment.

Source: "Bereitstellung von Inklusionshelfern in den allgemeinen Schulen im Kreis Mettmann –
Rahmenbedingungen": Nr. 3, 1st indent („Inklusionshelfer können ausschließlich an allgemeinen
Schulen eingesetzt werden“), Nr. 3, 3rd indent (helpers subordinate to integration aid under
SGB VIII and XII, „nicht zu einer Mehrfachberücksichtigung einzelner Schülerinnen und Schüler“),
Nr. 2.2 (the Anlage 1 amounts are maxima), Nr. 4.1 (claims until 15.11.2014), Nr. 4.4 („Nicht
beanspruchte / abgerufene Mittel verbleiben im Kreishaushalt. Eine Weitergabe der Mittel an
andere kreisangehörige Städte ist … nicht möglich.“). Anlage 1: the ceilings add up to
250.000 € for the 2nd half-year (Haan 15.000 €, Wülfrath 10.000 €, Erkrath 25.000 €).
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger.core.chain import verify_chain
from ledger.core.errors import LedgerError
from ledger.core.models import (
    Account,
    AllocationClaim,
    AllocationClaimCase,
    AllocationCommitment,
    JournalEntry,
    Posting,
)
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import add_recipient, find_account, get_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.allocation import claims_overview
from ledger.rules.packs import allocation_plan
from ledger.workflows.allocation import CASE_REF_PATTERN, add_claim
from ledger.workflows.allocation_commitment import commit_plan, release_plan
from ledger.workflows.masterdata import add as add_master
from tests.test_allocation_claims import _page_text, _pdf_text

NOW = datetime(2026, 12, 7, 9, 0)
PLAN = "mettmann-2014"
OPEN = date(2014, 7, 7)        # first day of the NRW summer holidays 2014 (Nr. 4.1)
LAST = date(2014, 11, 15)      # last day to claim (Nr. 4.1)
TOTAL = Decimal("250000.00")   # Anlage 1, "Mittel für das 2. Schulhalbjahr 2013/2014", Summe


@pytest.fixture
def cities(session):
    """The Kreis Mettmann, its ten cities, and schools of Haan: a Grundschule, a Förderschule,
    a "Förderschule Lernen"; and a Grundschule of Hilden."""
    _pack, plan = allocation_plan(PLAN)
    add_recipient(session, plan.grantor_key, plan.grantor_name, "kreis", actor="test", now=NOW)
    for recipient in plan.recipients:
        add_recipient(session, recipient.key, recipient.name, "stadt", actor="test", now=NOW)
    haan, hilden = get_recipient(session, "haan"), get_recipient(session, "hilden")
    for city, number, name, form in ((haan, "160001", "GGS Am Park", "Grundschule"),
                                     (haan, "160002", "Förderschule Am Bach", "Förderschule"),
                                     (haan, "160003", "Schule am Wald", "förderschule Lernen"),
                                     (hilden, "170001", "GGS Hilden-Süd", "Grundschule")):
        add_master(session, city, "school", {"Schulnummer": number, "Name": name, "Schulträger": f"Stadt {city.name}",
                                            "Schulform": form, "GL-Schule": "ja"}, actor="test", now=NOW)
    session.commit()
    return plan


def _claim(session, city, day, *costs, schools=None, cases=None, material=None):
    claim = add_claim(session, PLAN, city, day, [Decimal(c) for c in costs], "Anlage 2 vom 07.07.2014",
                      material_costs=None if material is None else Decimal(material), schools=schools, cases=cases,
                      actor="test", now=NOW)
    session.commit()
    return claim


# --- Nr. 3, 1st indent: mainstream schools only ---------------------------------------------


def test_a_helper_at_a_grundschule_is_accepted_and_the_school_recorded(session, cities):
    claim = _claim(session, "haan", OPEN, "5000.00", schools=["160001"])
    line = claim.lines[0]
    assert (line.accepted_cents, line.school.school_number, line.mainstream_basis) == (500000, "160001", "master_data")


@pytest.mark.parametrize("number", ["160002", "160003"])
def test_a_helper_at_a_foerderschule_is_refused_citing_nr_3(session, cities, number):
    """"Förderschule" and "förderschule Lernen" (case-insensitive) are not mainstream schools."""
    claim = _claim(session, "haan", OPEN, "5000.00", "1000.00", schools=[number, "160001"])
    refused, accepted = claim.lines
    assert (refused.accepted_cents, accepted.accepted_cents) == (0, 100000)
    assert "keine allgemeine Schule" in refused.reason and "Rahmenbedingungen Nr. 3" in refused.reason
    assert claim.accepted_cents == 100000 and claim.refused_cents == 500000


def test_without_a_school_the_declaration_covers_it_and_the_line_says_so(session, cities):
    claim = _claim(session, "haan", OPEN, "100.00", "200.00", schools=["160001"], material="5.00")
    assert [line.mainstream_basis for line in claim.lines] == ["master_data", "declaration", None]
    assert [line.school_id is None for line in claim.lines] == [False, True, True]


@pytest.mark.parametrize("schools,message", [
    (["170001"], "nicht verzeichnet"),          # a school of Hilden, not of Haan
    (["999999"], "nicht verzeichnet"),
    (["160001", "160001"], "mehr Angaben als Inklusionshelfer"),
])
def test_a_school_outside_the_citys_master_data_refuses_the_whole_claim(session, cities, schools, message):
    with pytest.raises(LedgerError, match=message):
        add_claim(session, PLAN, "haan", OPEN, [Decimal("100.00")], "E", schools=schools, actor="test", now=NOW)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AllocationClaim)) == 0


# --- Nr. 3, 3rd indent: no pupil counted twice --------------------------------------------


@pytest.mark.parametrize("ref,ok", [
    ("2023-017", True), ("HI-2014-03", True), ("7", True), ("A" * 39 + "1", True),
    ("A" * 40 + "1", False),                 # 41 characters
    ("Mustermann", False),                   # no digit: could be a name
    ("Max Muster 1", False),                 # a space
    ("-2014", False), ("Lea_1", False), ("", False),
])
def test_case_reference_pattern_boundaries(ref, ok):
    assert bool(CASE_REF_PATTERN.fullmatch(ref)) is ok


def test_a_name_as_case_reference_refuses_the_claim(session, cities):
    with pytest.raises(LedgerError, match="kein pseudonymes Fallzeichen"):
        add_claim(session, PLAN, "haan", OPEN, [Decimal("100.00")], "E", cases=[["Lea Beispiel"]], actor="test", now=NOW)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AllocationClaimCase)) == 0


def test_a_pupil_counted_in_another_citys_accepted_claim_is_refused(session, cities):
    first = _claim(session, "hilden", OPEN, "3000.00", cases=[["HI-2014-01", "HI-2014-02"]])
    assert first.accepted_cents == 300000
    second = _claim(session, "haan", OPEN, "2000.00", "1000.00", cases=[["hi-2014-02"], ["HA-2014-09"]])
    refused, accepted = second.lines
    assert refused.accepted_cents == 0 and accepted.accepted_cents == 100000
    assert "Fall hi-2014-02 wurde in einem früheren Mittelabruf dieses Plans bereits berücksichtigt" in refused.reason
    assert "Nr. 3" in refused.reason
    stored = sorted(session.scalars(select(AllocationClaimCase.case_ref)))
    assert stored == ["HA-2014-09", "HI-2014-01", "HI-2014-02", "hi-2014-02"]


def test_a_pupil_of_a_refused_line_is_not_counted(session, cities):
    """A line refused for the window counted nobody: the same case may be claimed in time."""
    late = _claim(session, "haan", date(2014, 11, 16), "100.00", cases=[["HA-1"]])
    assert late.accepted_cents == 0
    assert _claim(session, "haan", LAST, "100.00", cases=[["HA-1"]]).accepted_cents == 10000


def test_the_same_pupil_for_two_helpers_of_one_claim_is_refused_once(session, cities):
    claim = _claim(session, "haan", OPEN, "100.00", "200.00", cases=[["HA-7"], ["HA-7"]])
    assert [line.accepted_cents for line in claim.lines] == [10000, 0]
    assert "bereits einem anderen Inklusionshelfer zugeordnet" in claim.lines[1].reason


def _integration_aid_booking(session, recipient, text, category="individual_claim_sgb_viii"):
    from ledger.core.recipients import add_account
    expense = find_account(session, recipient, "5331") or add_account(
        session, recipient, "5331", "Eingliederungshilfe § 35a SGB VIII (Einzelfall)", "expense", actor="test", now=NOW)
    bank = find_account(session, recipient, "1810") or add_account(session, recipient, "1810", "Bank", "asset",
                                                                   actor="test", now=NOW)
    post_entry(session, recipient, day=date(2014, 3, 1), voucher_number="ER-1", text=text,
               lines=[PostingLine(expense, Decimal("900.00"), SchoolYear(2013), category),
                      PostingLine(bank, Decimal("-900.00"), SchoolYear(2013))],
               kind="manual", created_by="test", now=NOW)
    session.commit()


def test_a_pupil_with_individual_integration_aid_is_refused(session, cities):
    """§ 35a SGB VIII individual case booked in the Kreis's books as "Fall 2013-017": a helper
    claimed for that case is refused; case 2013-0170 (a longer reference) is not the same."""
    _integration_aid_booking(session, get_recipient(session, "kreis-mettmann"),
                             "Schulbegleitung Einzelfall § 35a SGB VIII, Fall 2013-017")
    claim = _claim(session, "haan", OPEN, "100.00", "100.00", cases=[["2013-017"], ["2013-0170"]])
    assert [line.accepted_cents for line in claim.lines] == [0, 10000]
    assert "erhält bereits Integrationshilfe im Einzelfall" in claim.lines[0].reason


def test_a_case_reference_in_another_category_does_not_count(session, cities):
    _integration_aid_booking(session, get_recipient(session, "haan"), "Fortbildung, Fall 2013-018",
                             category="training")
    assert _claim(session, "haan", OPEN, "100.00", cases=[["2013-018"]]).accepted_cents == 10000


# --- Nr. 2.2 / 4.4: commitment, consumption, release ---------------------------------------


def _balances(session, recipient_key):
    kreis = get_recipient(session, recipient_key)
    return dict(session.execute(select(Account.number, func.sum(Posting.amount_cents))
                                .join(Posting, Posting.account_id == Account.id)
                                .where(Account.recipient_id == kreis.id).group_by(Account.number)).all())


def test_commit_consume_release_and_the_rest_stays_with_the_kreis(session, cities):
    record = commit_plan(session, PLAN, date(2014, 7, 1), actor="test", now=NOW)
    session.commit()
    assert record.amount_cents == 25000000
    assert _balances(session, "kreis-mettmann") == {"0910": 25000000, "0920": -25000000}
    claim = _claim(session, "wuelfrath", OPEN, "5000.00", "5000.00", "5000.00")   # ceiling 10.000
    entry = session.get(JournalEntry, claim.entry_id)
    assert sorted((p.account.number, p.amount_cents) for p in entry.postings) == [
        ("0910", -1000000), ("0920", 1000000), ("3520", -1000000), ("5318", 1000000)]
    # the rest of Wülfrath's third helper is not moved to another city (Nr. 4.4)
    assert claim.refused_cents == 500000
    with pytest.raises(LedgerError, match="erst nach dem Ende der Abruffrist"):
        release_plan(session, PLAN, LAST, actor="test", now=NOW)
    session.rollback()
    released = release_plan(session, PLAN, LAST + timedelta(days=1), actor="test", now=NOW)
    session.commit()
    assert released.amount_cents == 24000000   # 250.000 − 10.000
    assert _balances(session, "kreis-mettmann")["0910"] == 0
    overview = {entry.recipient: entry for entry in claims_overview(session, PLAN)}
    assert (overview["wuelfrath"].committed, overview["wuelfrath"].released) == (Decimal("10000.00"), Decimal("0.00"))
    assert (overview["haan"].committed, overview["haan"].released) == (Decimal("15000.00"), Decimal("15000.00"))
    # nothing was booked in any city's books; money never moves between cities
    cities_ids = [get_recipient(session, r.key).id for r in cities.recipients]
    assert session.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.recipient_id.in_(cities_ids))) == 0
    # after the release no claim is possible any more, not even one dated inside the window
    with pytest.raises(LedgerError, match="bereits freigegeben; ein Mittelabruf ist nicht mehr möglich"):
        _claim(session, "haan", LAST, "100.00")
    session.rollback()
    assert verify_chain(session, get_recipient(session, "kreis-mettmann")).ok


def test_committing_or_releasing_twice_is_refused_in_german(session, cities):
    commit_plan(session, PLAN, date(2014, 7, 1), actor="test", now=NOW)
    session.commit()
    with pytest.raises(LedgerError, match="bereits gebunden; eine zweite Mittelbindung ist nicht möglich"):
        commit_plan(session, PLAN, date(2014, 7, 2), actor="test", now=NOW)
    session.rollback()
    release_plan(session, PLAN, date(2014, 11, 16), actor="test", now=NOW)
    session.commit()
    with pytest.raises(LedgerError, match="bereits freigegeben"):
        release_plan(session, PLAN, date(2014, 11, 17), actor="test", now=NOW)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AllocationCommitment)) == 2


def test_release_needs_a_commitment_and_commit_ends_with_the_window(session, cities):
    with pytest.raises(LedgerError, match="nicht gebunden"):
        release_plan(session, PLAN, date(2014, 11, 16), actor="test", now=NOW)
    session.rollback()
    with pytest.raises(LedgerError, match="nach dem Ende der Abruffrist"):
        commit_plan(session, PLAN, date(2014, 11, 16), actor="test", now=NOW)
    session.rollback()
    commit_plan(session, PLAN, LAST, actor="test", now=NOW)   # the last day of the window: possible
    session.commit()


def test_commit_after_claims_consumes_what_was_accepted_at_once(session, cities):
    _claim(session, "haan", OPEN, "4000.00")
    record = commit_plan(session, PLAN, date(2014, 7, 8), actor="test", now=NOW)
    session.commit()
    assert record.amount_cents == 25000000
    assert _balances(session, "kreis-mettmann")["0910"] == 25000000 - 400000


def test_commitments_are_append_only(session, cities):
    commit_plan(session, PLAN, date(2014, 7, 1), actor="test", now=NOW)
    session.commit()
    with pytest.raises(sa.exc.DBAPIError):
        session.execute(sa.update(AllocationCommitment).values(amount_cents=0))
    session.rollback()


def test_cli_commit_release_and_claim_with_school_and_cases(cli, session, cities):
    data = json.loads(cli("allocation", "commit", "--plan", PLAN, "--date", "2014-07-01", "--json").stdout)
    assert (data["kind"], data["amount"]) == ("commit", "250000.00")
    again = cli("allocation", "commit", "--plan", PLAN, "--date", "2014-07-02", expect=1)
    assert "eine zweite Mittelbindung ist nicht möglich" in again.stderr
    claim = json.loads(cli("claim", "add", "--plan", PLAN, "--recipient", "haan", "--date", "2014-07-07",
                           "--helper-cost", "5000", "--helper-cost", "3000", "--helper-cost", "1000",
                           "--school", "160001", "--school", "160002",
                           "--case", "HA-1,HA-2", "--case", "", "--case", "HA-2",
                           "--declaration", "Anlage 2 Haan", "--json").stdout)
    assert (claim["claimed"], claim["accepted"], claim["refused"]) == ("9000.00", "5000.00", "4000.00")
    assert [(r["line"], "Nr. 3" in r["reason"]) for r in claim["refusals"]] == [(2, True), (3, True)]
    assert [(h["school"], h["mainstream_basis"], h["cases"]) for h in claim["helpers"]] == [
        ("160001", "master_data", ["HA-1", "HA-2"]), ("160002", "master_data", []), (None, "declaration", ["HA-2"])]
    name = cli("claim", "add", "--plan", PLAN, "--recipient", "haan", "--date", "2014-07-07",
               "--helper-cost", "100", "--case", "Lea Beispiel", "--declaration", "E", expect=1)
    assert "kein pseudonymes Fallzeichen" in name.stderr
    released = json.loads(cli("allocation", "release", "--plan", PLAN, "--date", "2014-11-16", "--json").stdout)
    assert released["amount"] == "245000.00"   # 250.000 − 5.000
    listed = json.loads(cli("claims", "--plan", PLAN, "--recipient", "haan", "--json").stdout)[0]
    assert (listed["ceiling"], listed["accepted"], listed["refused"], listed["committed"], listed["released"],
            listed["rest"]) == ("15000.00", "5000.00", "4000.00", "15000.00", "10000.00", "10000.00")


# --- statements and the invariants over random claim sequences ------------------------------

_CITY = st.sampled_from(["haan", "wuelfrath", "erkrath", "hilden"])
_DAY = st.sampled_from([date(2014, 7, 6), OPEN, date(2014, 9, 1), LAST, date(2014, 11, 16)])
_COST = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("7000.00"), places=2)
_CLAIM = st.tuples(_CITY, _DAY, st.lists(_COST, min_size=1, max_size=4),
                   st.one_of(st.none(), st.sampled_from(["160001", "160002"])))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=st.lists(_CLAIM, min_size=1, max_size=8), commit_first=st.booleans())
def test_property_totals_add_up_over_random_claim_sequences(session, cities, claims, commit_first):
    """Per city accepted ≤ ceiling (Nr. 2.2); sum of accepted + left with the Kreis = 250.000 €
    (Anlage 1, Nr. 4.4); the statement's columns are the sums of the claims; the commitment is
    fully consumed or released and the memo pair sums to 0. Rolled back after each example."""
    try:
        if commit_first:
            commit_plan(session, PLAN, date(2014, 7, 1), actor="test", now=NOW)
        for city, day, costs, school in claims:
            add_claim(session, PLAN, city, day, costs, "E", schools=[school] if school and city == "haan" else None,
                      actor="test", now=NOW)
        if not commit_first:
            commit_plan(session, PLAN, LAST, actor="test", now=NOW)
        release_plan(session, PLAN, date(2014, 11, 16), actor="test", now=NOW)
        session.flush()
        overview = claims_overview(session, PLAN)
        for entry in overview:
            assert Decimal(0) <= entry.accepted <= entry.ceiling
            assert entry.claimed == entry.accepted + entry.refused
            assert entry.claimed == sum((Decimal(line.amount_cents) / 100 for c in entry.claims for line in c.lines),
                                        Decimal(0))
            assert entry.committed == entry.accepted + entry.released
        accepted = sum((e.accepted for e in overview), Decimal(0))
        left = sum((e.rest for e in overview), Decimal(0))
        assert accepted + left == TOTAL
        assert sum((e.released for e in overview), Decimal(0)) == left
        db_accepted = session.scalar(select(func.coalesce(func.sum(AllocationClaim.accepted_cents), 0)))
        assert Decimal(db_accepted) / 100 == accepted
        balances = _balances(session, "kreis-mettmann")
        assert balances.get("0910", 0) == 0 and balances.get("0920", 0) == 0
        assert balances.get("5318", 0) == db_accepted
    finally:
        session.rollback()


def test_statements_show_commitment_and_release(cli, session, cities, tmp_path):
    commit_plan(session, PLAN, date(2014, 7, 1), actor="test", now=NOW)
    session.commit()
    _claim(session, "haan", OPEN, "5000.00", "2000.00", schools=[None, "160002"])
    release_plan(session, PLAN, date(2014, 11, 16), actor="test", now=NOW)
    session.commit()
    city_pdf, kreis_pdf = tmp_path / "haan.pdf", tmp_path / "kreis.pdf"
    cli("claims", "--plan", PLAN, "--recipient", "haan", "--pdf", city_pdf)
    cli("claims", "--plan", PLAN, "--pdf", kreis_pdf)
    city = _pdf_text(city_pdf.read_bytes())
    # Haan: ceiling 15.000, committed 15.000, consumed 5.000, released 10.000, still bound 0
    assert "Haan 15.000,00 EUR 5.000,00 EUR 10.000,00 EUR 0,00 EUR" in city
    assert "keine allgemeine Schule" in city
    kreis = _pdf_text(kreis_pdf.read_bytes())
    assert "Summe 250.000,00 EUR 5.000,00 EUR 245.000,00 EUR 0,00 EUR" in kreis
    assert "Summe 250.000,00 EUR 7.000,00 EUR 5.000,00 EUR 2.000,00 EUR 0,00 EUR 245.000,00 EUR" in kreis


# --- web ------------------------------------------------------------------------------------


def test_plan_page_commit_button_for_the_kreis_officer_only(app, session, cities):
    from tests.conftest import add_web_user, csrf_token, internal_terms, logged_in

    kreis = get_recipient(session, "kreis-mettmann")
    add_web_user(session, "mara", "officer", recipients=[kreis])
    add_web_user(session, "aldo", "auditor", recipients=[kreis])
    mara, aldo = logged_in(app, "mara"), logged_in(app, "aldo")
    assert "Höchstbeträge binden" not in _page_text(aldo.get("/verteilung/mettmann-2014"))
    refused = aldo.post("/verteilung/mettmann-2014/mittelbindung",
                        data={"day": "01.07.2014", "csrf_token": csrf_token(aldo, "/verteilung/mettmann-2014")})
    assert refused.status_code == 403   # the auditor only reads
    page = mara.get("/verteilung/mettmann-2014")
    text = _page_text(page)
    assert "Höchstbeträge binden (Mittelbindung)" in text and "noch nicht gebunden" in text
    assert 'aria-current="page">Verteilungspläne' in page.get_data(as_text=True)
    token = csrf_token(mara, "/verteilung/mettmann-2014")
    response = mara.post("/verteilung/mettmann-2014/mittelbindung", data={"day": "01.07.2014", "csrf_token": token})
    assert response.status_code == 302
    text = _page_text(mara.get("/verteilung/mettmann-2014"))
    assert "Gebunden am 01.07.2014: 250.000,00 €" in text and "Nicht abgerufene Mittel freigeben" in text
    assert "Haan 15.000,00 € 0,00 € 0,00 € 15.000,00 €" in text
    refused = mara.post("/verteilung/mettmann-2014/freigabe", data={"day": "15.11.2014", "csrf_token": token})
    assert refused.status_code == 422 and "erst nach dem Ende der Abruffrist" in _page_text(refused)
    assert internal_terms(text) == []
    index = _page_text(mara.get("/verteilung/"))
    assert "Inklusionshilfe Kreis Mettmann, 2. Schulhalbjahr 2013/2014 (Mittelgeber: Kreis Mettmann)" in index


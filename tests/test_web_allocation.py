"""Allocation plans in the web UI: the claim form of plan mettmann-2014 (Mittelabruf erfassen),
the payment of an accepted claim, and the pass-through plan of the demo Kreis Musterhausen.

Sources of the figures: "Bereitstellung von Inklusionshelfern in den allgemeinen Schulen im Kreis
Mettmann – Rahmenbedingungen" Nr. 3 (only mainstream schools, no pupil counted twice), Nr. 4.1
(claims from 07.07.2014, the start of the NRW summer holidays, to 15.11.2014), Nr. 4.2 (no
material costs), Nr. 4.3 (at most 5.000 € per helper); Anlage 1: Wülfrath 678 pupils → 2 helpers
→ ceiling 10.000 €, Haan 15.000 €. The pass-through shares (41.110,49 € and 18.889,51 €) are
computed by hand in tests/test_pass_through_allocation.py; Stadt Lindental is verified on
12.09.2023, Gemeinde Auenbach bears no GL schools (demo master data).
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from inkl.demo import DEMO_DIR, _load_master_data
from ledger.core.models import AllocationClaim, AllocationPayment, AuditEvent, JournalEntry, PassThroughClaim
from ledger.core.recipients import add_recipient, get_recipient
from ledger.workflows.allocation import add_claim
from tests.conftest import NOW, add_web_user, csrf_token, internal_terms, logged_in
from tests.test_allocation_checks import cities  # noqa: F401  (fixture: Kreis Mettmann, cities, Haan's schools)
from tests.test_allocation_claims import _page_text

PLAN_URL = "/verteilung/mettmann-2014"
PASS_URL = "/verteilung/weiterleitung/musterhausen-weiterleitung-2023"


@pytest.fixture
def officer(app, session, cities):  # noqa: F811
    """A client logged in as ``mara``, officer of Kreis Mettmann; ``aldo`` is its auditor."""
    kreis = get_recipient(session, "kreis-mettmann")
    add_web_user(session, "mara", "officer", recipients=[kreis])
    add_web_user(session, "aldo", "auditor", recipients=[kreis])
    return logged_in(app, "mara")


def _claim(client, **fields):
    data = {"csrf_token": csrf_token(client, PLAN_URL), "abruf-rows": "3", "abruf-recipient": "wuelfrath",
            "abruf-claim_date": "01.08.2014", "abruf-declaration": "Erklärung Anlage 2 vom 01.08.2014"}
    data.update({f"abruf-{key}": value for key, value in fields.items()})
    return client.post(PLAN_URL + "/abruf", data=data)


def _count(session, model) -> int:
    session.rollback()   # a fresh transaction sees what the app committed
    return session.scalar(select(func.count()).select_from(model))


def test_an_accepted_claim_shows_its_decision_after_the_redirect(officer, session):
    page = _page_text(officer.get(PLAN_URL))
    assert "Mittelabruf erfassen" in page and "Inklusionshelfer 3" in page
    response = _claim(officer, cost_1="5.000,00", cost_2="4.000,00", cases_2="HI-2014-01, HI-2014-02")
    assert response.status_code == 302
    claim = session.scalar(select(AllocationClaim))
    assert response.headers["Location"].endswith(f"{PLAN_URL}?abruf={claim.id}#entscheidung")
    assert (claim.claimed_cents, claim.accepted_cents, claim.refused_cents) == (900000, 900000, 0)
    assert [case.case_ref for case in claim.lines[1].cases] == ["HI-2014-01", "HI-2014-02"]
    text = _page_text(officer.get(response.headers["Location"]))
    assert "Mittelabruf Wülfrath vom 01.08.2014 erfasst: beantragt 9.000,00 EUR, anerkannt 9.000,00 EUR" in text
    assert f"Entscheidung über den Mittelabruf Nr. {claim.id}" in text
    assert "2 Inklusionshelfer laut Erklärung HI-2014-01, HI-2014-02 4.000,00 € 4.000,00 € anerkannt" in text
    assert internal_terms(text) == []
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "allocation_claim_add"))
    assert event.actor == "mara"


def test_a_helper_above_5000_is_cut_with_the_reason_and_material_costs_are_refused(officer, session):
    response = _claim(officer, cost_1="5.000,01", material_costs="120,00")
    text = _page_text(officer.get(response.headers["Location"]))
    # Nr. 4.3: 5.000,01 → 5.000,00 accepted; Nr. 4.2: material costs refused
    assert "1 Inklusionshelfer laut Erklärung – 5.000,01 € 5.000,00 € gekürzt höchstens 5.000,00 EUR je eingesetztem" in text
    assert "Rahmenbedingungen Nr. 4.3" in text
    assert "2 Sachkosten – – 120,00 € 0,00 € abgelehnt Sachkosten werden nicht erstattet" in text
    claim = session.scalar(select(AllocationClaim))
    assert (claim.accepted_cents, claim.refused_cents) == (500000, 12001)


@pytest.mark.parametrize("day,accepted", [("06.07.2014", 0), ("07.07.2014", 100000), ("15.11.2014", 100000),
                                          ("16.11.2014", 0)])
def test_claim_window_at_its_boundaries(officer, session, day, accepted):
    response = _claim(officer, claim_date=day, cost_1="1.000,00")
    assert response.status_code == 302
    assert session.scalar(select(AllocationClaim.accepted_cents)) == accepted
    if not accepted:
        assert "außerhalb der Abruffrist vom 07.07.2014 bis 15.11.2014" in _page_text(officer.get(response.headers["Location"]))


def test_a_helper_at_a_foerderschule_is_refused_and_the_school_select_lists_the_city_s_schools(officer, session):
    page = officer.get(PLAN_URL).get_data(as_text=True)
    assert '<option value="160002">Haan: Förderschule Am Bach (160002)</option>' in page
    assert '<option selected value="">laut Erklärung (Anlage 2)</option>' in page
    response = _claim(officer, recipient="haan", cost_1="3.000,00", school_1="160002", cost_2="2.000,00",
                      school_2="160001")
    text = _page_text(officer.get(response.headers["Location"]))
    assert "1 Inklusionshelfer Förderschule Am Bach (160002) – 3.000,00 € 0,00 € abgelehnt Schule 160002" in text
    assert "keine allgemeine Schule" in text
    assert "2 Inklusionshelfer GGS Am Park (160001) – 2.000,00 € 2.000,00 € anerkannt" in text


def test_a_school_of_another_city_is_refused_at_the_form(officer, session):
    response = _claim(officer, recipient="wuelfrath", cost_1="3.000,00", school_1="160001")
    assert response.status_code == 422
    assert "Die Schule gehört nicht zur gewählten Stadt." in _page_text(response)
    assert _count(session, AllocationClaim) == 0


def test_a_case_counted_twice_is_refused(officer, session):
    add_claim(session, "mettmann-2014", "haan", date(2014, 7, 20), [Decimal("1000.00")],
              "Anlage 2", cases=[["HI-2014-07"]], actor="test", now=NOW)
    session.commit()
    response = _claim(officer, cost_1="2.000,00", cases_1="hi-2014-07")
    text = _page_text(officer.get(response.headers["Location"]))
    assert "abgelehnt Fall hi-2014-07 wurde in einem früheren Mittelabruf dieses Plans bereits berücksichtigt" in text
    assert "Rahmenbedingungen Nr. 3, 3. Spiegelstrich" in text


@pytest.mark.parametrize("fields,message", [
    ({"cost_1": ""}, "Personalkosten Inklusionshelfer 1 (EUR): Bitte die Personalkosten mindestens eines"),
    ({"cost_1": "1.000,00", "cases_1": "Max Muster"}, "ist kein pseudonymes Fallzeichen"),
    ({"cost_1": "abc"}, "Personalkosten Inklusionshelfer 1 (EUR): „abc“"),
    ({"cost_1": "1.000,00", "declaration": ""}, "Bitte die Fundstelle der Erklärung angeben."),
    ({"cost_1": "1.000,00", "claim_date": "31.02.2014"}, "Tag des Mittelabrufs: Bitte ein gültiges Datum"),
    ({"cost_1": "1.000,00", "recipient": ""}, "Stadt (Empfänger): Bitte die Stadt wählen."),
    ({"school_2": "", "cases_2": "HI-1", "cost_1": "1.000,00"}, "Bitte die Personalkosten dieses Inklusionshelfers"),
])
def test_a_refused_form_writes_nothing_and_shows_the_error_summary(officer, session, fields, message):
    response = _claim(officer, **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html and "error-summary.js" in html
    assert message in _page_text(response)
    assert _count(session, AllocationClaim) == 0 and _count(session, JournalEntry) == 0


def test_the_auditor_sees_no_form_and_gets_403(app, officer, session):
    aldo = logged_in(app, "aldo")
    text = _page_text(aldo.get(PLAN_URL))
    assert "Mittelabruf erfassen" not in text and "Höchstbeträge je Empfänger" in text
    token = csrf_token(aldo, PLAN_URL)
    assert aldo.post(PLAN_URL + "/abruf", data={"csrf_token": token, "abruf-recipient": "haan",
                                                "abruf-claim_date": "01.08.2014", "abruf-cost_1": "100,00",
                                                "abruf-declaration": "x"}).status_code == 403
    assert _count(session, AllocationClaim) == 0


def test_paying_an_accepted_claim(app, officer, session):
    _claim(officer, cost_1="4.000,00")
    claim = session.scalar(select(AllocationClaim))
    page = officer.get(PLAN_URL).get_data(as_text=True)
    assert f'action="{PLAN_URL}/abruf/{claim.id}/auszahlung"' in page
    token = csrf_token(officer, PLAN_URL)
    url = f"{PLAN_URL}/abruf/{claim.id}/auszahlung"
    early = officer.post(url, data={"csrf_token": token, f"zahlung-{claim.id}-day": "31.07.2014"})
    assert early.status_code == 422 and "liegt vor dem Mittelabruf vom 01.08.2014" in _page_text(early)
    assert _count(session, AllocationPayment) == 0
    aldo = logged_in(app, "aldo")
    assert aldo.post(url, data={"csrf_token": csrf_token(aldo, PLAN_URL),
                                f"zahlung-{claim.id}-day": "15.08.2014"}).status_code == 403
    done = officer.post(url, data={"csrf_token": token, f"zahlung-{claim.id}-day": "15.08.2014"})
    assert done.status_code == 302
    session.rollback()
    payment = session.scalar(select(AllocationPayment))
    assert payment.date == date(2014, 8, 15)
    entry = session.get(JournalEntry, payment.entry_id)
    assert sorted((p.account.number, p.amount_cents) for p in entry.postings) == [("1810", -400000), ("3520", 400000)]
    text = _page_text(officer.get(PLAN_URL))
    assert "ausgezahlt am 15.08.2014" in text
    assert session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "allocation_claim_pay")) == "mara"
    again = officer.post(url, data={"csrf_token": token, f"zahlung-{claim.id}-day": "16.08.2014"})
    assert again.status_code == 422 and "bereits ausgezahlt" in _page_text(again)


# --- pass-through ---------------------------------------------------------------------------


@pytest.fixture
def musterhausen(app, session):
    """Kreis Musterhausen with the demo's master data, its officer ``sina`` and auditor ``otto``;
    the app finds the demo's plan folder."""
    kreis = add_recipient(session, "musterhausen", "Kreis Musterhausen", "kreis", actor="test", now=NOW)
    list(_load_master_data(session, kreis, DEMO_DIR / "stammdaten", user="test", now=NOW))
    session.commit()
    add_web_user(session, "sina", "officer", recipients=[kreis])
    add_web_user(session, "otto", "auditor", recipients=[kreis])
    app.config["PASS_THROUGH_DIRS"] = (DEMO_DIR / "verteilung",)
    return kreis


def test_pass_through_plan_listed_with_its_shares(app, musterhausen):
    sina = logged_in(app, "sina")
    index = _page_text(sina.get("/verteilung/"))
    assert ("Weiterleitung der Inklusionspauschale an kreisangehörige Gemeinden, Schuljahr 2023/24 "
            "(Kreis: Kreis Musterhausen)") in index
    assert "Inklusionshilfe Kreis Mettmann" not in index        # Kreis Mettmann is not in the ledger
    assert 'href="/verteilung/"' in sina.get("/").get_data(as_text=True)   # the navigation shows the entry
    text = _page_text(sina.get(PASS_URL))
    assert "Stadt Lindental 1.234 41.110,49 € 0,00 € 0,00 € 0,00 € 41.110,49 €" in text
    assert "Gemeinde Auenbach 567 18.889,51 € 0,00 € 0,00 € 0,00 € 18.889,51 €" in text
    assert "Summe 1.801 60.000,00 €" in text
    assert "Hinweise zur Inklusionspauschale, Teil II" in text
    assert internal_terms(text) == []
    pdf = sina.get(PASS_URL + "/abrechnung.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    from tests.test_allocation_claims import _pdf_text
    assert "Stadt Lindental 1.234 41.110,49 EUR" in _pdf_text(pdf.data)
    assert sina.get("/verteilung/weiterleitung/unbekannt").status_code == 404


def test_pass_through_claim_by_the_form(app, session, musterhausen):
    sina = logged_in(app, "sina")
    token = csrf_token(sina, PASS_URL)
    data = {"csrf_token": token, "weiterleitung-municipality": "Stadt Lindental",
            "weiterleitung-claim_date": "28.09.2023", "weiterleitung-amount": "50.000,00",
            "weiterleitung-reference": "Abruf vom 28.09.2023"}
    response = sina.post(PASS_URL + "/abruf", data=data)
    assert response.status_code == 302
    claim = session.scalar(select(PassThroughClaim))
    # share 41.110,49 €: 41.110,49 passed through, 8.889,51 refused
    assert (claim.accepted_cents, claim.refused_cents) == (4111049, 888951)
    text = _page_text(sina.get(response.headers["Location"]))
    assert "als Weiterleitung gebucht 41.110,49 €, abgelehnt 8.889,51 €" in text
    assert "verbleiben beim Kreis und gehen an keine andere Gemeinde" in text
    assert "Stadt Lindental 1.234 41.110,49 € 50.000,00 € 41.110,49 € 8.889,51 € 0,00 €" in text
    refused = sina.post(PASS_URL + "/abruf", data={**data, "weiterleitung-amount": ""})
    assert refused.status_code == 422 and "Bitte den abgerufenen Betrag angeben." in _page_text(refused)
    assert _count(session, PassThroughClaim) == 1
    otto = logged_in(app, "otto")
    assert "Mittelabruf einer Gemeinde erfassen" not in _page_text(otto.get(PASS_URL))
    assert otto.post(PASS_URL + "/abruf", data={**data, "csrf_token": csrf_token(otto, PASS_URL)}).status_code == 403
    assert _count(session, PassThroughClaim) == 1


def test_an_invalid_plan_file_is_named_on_the_index_without_its_path(app, musterhausen, tmp_path):
    (tmp_path / "kaputt.toml").write_text('[plan]\nkey = "x"\n', encoding="utf-8")
    app.config["PASS_THROUGH_DIRS"] = (tmp_path,)
    text = _page_text(logged_in(app, "sina").get("/verteilung/"))
    assert "Ein Verteilungsplan für die Weiterleitung ist fehlerhaft" in text
    assert "kaputt.toml" not in text and not re.search(r"/tmp/", text)

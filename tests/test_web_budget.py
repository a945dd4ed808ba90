"""The provider budget page's forms and the deadlines on the dashboard (Modellprojekt zu ambulanten
Leistungen der Hilfen zur Erziehung, Abschnitte II.5 and II.6)."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ledger.core.models import AuditEvent, BudgetCase, BudgetHoursReport, BudgetRecord
from ledger.core.recipients import add_recipient
from tests.conftest import add_web_user, csrf_token, logged_in
from tests.test_budget import _agreement, _report

PAGE = "/r/bremerhaven/traegerbudgets"
SAVE = "/r/bremerhaven/traegerbudgets/bremerhaven-2025/"


def _officer(app, session):
    agreement = _agreement(session)
    add_web_user(session, "bea", "officer", recipients=[agreement.recipient])
    return agreement, logged_in(app, "bea")


def _post(client, form_name, agreement, **fields):
    data = {"csrf_token": csrf_token(client, PAGE)}
    data.update({f"{form_name}-{agreement.id}-{name}": value for name, value in fields.items()})
    return client.post(SAVE + form_name, data=data)


def test_an_officer_records_a_quarter_s_hours_audited_and_shown(app, session):
    agreement, client = _officer(app, session)
    response = _post(client, "stunden", agreement, quarter="2025-Q1", specialist="1.799,99", semi_professional="450")
    assert response.status_code == 302 and response.headers["Location"].endswith("#budget-bremerhaven-2025")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Stundenbericht gespeichert." in page
    row = re.search(r'<th scope="row">2025-Q1</th>(.*?)</tr>', page, re.S).group(1)
    assert "2.249,99" in row and "unterschritten" in row
    session.expire_all()
    assert session.scalar(sa.select(BudgetHoursReport.specialist_centihours)) == 179999
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "budget_hours"))
    assert audit.actor == "bea"


def test_a_refused_form_shows_the_reason_in_german_at_the_form(app, session):
    agreement, client = _officer(app, session)
    response = _post(client, "stunden", agreement, quarter="2025-Q5", specialist="1", semi_professional="1")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'class="error-summary" role="alert" tabindex="-1" id="stunden-\d+-fehler"[^>]*>\s*'
                     r'<h5 [^>]*>Stundenbericht nicht gespeichert: Ungültiges Quartal', page)
    assert 'aria-describedby="stunden-' in page
    response = _post(client, "stunden", agreement, quarter="2025-Q1", specialist="", semi_professional="1")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'aria-invalid="true"' in page
    assert "Bitte die Stunden der Fachkräfte angeben." in page
    assert session.scalar(sa.select(sa.func.count()).select_from(BudgetHoursReport)) == 0


def test_the_judgement_form_appears_after_the_trigger_and_leads_to_renegotiation(app, session):
    agreement, client = _officer(app, session)
    assert "Einschätzung zur Unterschreitung" not in client.get(PAGE).get_data(as_text=True)
    for quarter in ("2025-Q1", "2025-Q2", "2025-Q3"):
        _report(session, agreement, quarter, "2249.95")
    session.commit()
    page = client.get(PAGE).get_data(as_text=True)
    assert "Einschätzung zur Unterschreitung" in page and 'value="2025-Q3"' in page
    response = _post(client, "einschaetzung", agreement, quarter="2025-Q3", persists="ja",
                     reasoning="Zwei Stellen bleiben unbesetzt")
    assert response.status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "über eine Anpassung wird verhandelt" in page and "Zwei Stellen bleiben unbesetzt" in page
    missing = _post(client, "einschaetzung", agreement, quarter="2025-Q3", reasoning="x")
    assert missing.status_code == 400 and "Bitte ja oder nein wählen." in missing.get_data(as_text=True)


def test_cases_and_records_from_the_page_give_reminders_on_page_and_dashboard(app, session):
    """Meeting 02.03.2026: report due 19.01.2026 (six weeks before, Abschnitt II.6); today 20.01.2026: overdue."""
    agreement, client = _officer(app, session)
    app.config["TODAY"] = date(2026, 1, 20)
    assert _post(client, "fall", agreement, reference="2025-B07", start="01.09.2025").status_code == 302
    assert _post(client, "eintrag", agreement, case="2025-B07", kind="meeting", day="02.03.2026").status_code == 302
    assert _post(client, "eintrag", agreement, case="2025-B07", kind="action_plan", day="2025-10-10").status_code == 302
    refused = _post(client, "fall", agreement, reference="Max Mustermann", start="01.09.2025")
    assert refused.status_code == 400 and "pseudonym" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(sa.select(BudgetCase.reference)) == "2025-B07"
    assert sorted(session.scalars(sa.select(BudgetRecord.kind))) == ["action_plan", "meeting"]
    assert {a for a in session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "bea"))} == {
        "budget_case_add", "budget_record"}
    page = client.get(PAGE).get_data(as_text=True)
    assert "Überfällig</strong> (19.01.2026): Fall 2025-B07: Fallbericht bis 19.01.2026 (mindestens 6 Wochen vor dem " \
           "Hilfeplangespräch am 02.03.2026)" in page
    assert "Handlungsplan 10.10.2025" in page and "Abschnitt II.6" in page
    dashboard = client.get("/r/bremerhaven/", follow_redirects=True).get_data(as_text=True)
    assert "Fristen der Trägerbudgets" in dashboard
    assert "Fall 2025-B07: Fallbericht bis 19.01.2026" in dashboard and "Abschnitt II.6" in dashboard
    assert "Erster Bericht des Trägers" not in dashboard      # due 31.03.2026: not yet within 14 days
    app.config["TODAY"] = date(2026, 3, 17)
    dashboard = client.get("/r/bremerhaven/", follow_redirects=True).get_data(as_text=True)
    assert "Bald fällig</strong> (31.03.2026): Erster Bericht des Trägers bis 31.03.2026" in dashboard
    assert "Fall 2025-B07: Fallbericht bis 19.01.2026" not in dashboard    # the meeting is past
    assert "Überfällig</strong> (01.03.2026): Fall 2025-B07: Fallbericht bis 01.03.2026 (alle 6 Monate" in dashboard
    for internal in ("meeting_report", "case_report", "traegerbudget-bremerhaven", "overdue"):
        assert internal not in dashboard


def test_readers_see_no_forms_and_may_not_post_other_recipients_see_nothing(app, session):
    agreement = _agreement(session)
    add_web_user(session, "paul", "auditor", all_recipients=True)
    other = add_recipient(session, "andere", "Andere Stadt", "stadt", actor="t", now=agreement.created_at)
    add_web_user(session, "olga", "officer", recipients=[other])
    auditor = logged_in(app, "paul")
    page = auditor.get(PAGE).get_data(as_text=True)
    assert "Stundenbericht speichern" not in page and "Trägerbudgetvereinbarung" in page
    token = csrf_token(auditor, PAGE)
    assert auditor.post(SAVE + "stunden", data={"csrf_token": token}).status_code == 403
    stranger = logged_in(app, "olga")
    assert stranger.get(PAGE).status_code == 404
    assert stranger.post(SAVE + "stunden", data={"csrf_token": csrf_token(stranger, "/r/andere/traegerbudgets")}
                         ).status_code == 404


# --- pool contracts financed by a provider budget ------------------------------------------------


def test_a_kreis_sees_its_pool_contract_financed_by_its_provider_budget_with_the_hours(app, session):
    """Issue 16: a Kreis's Inklusionspauschale pool contract (a commitment) can be such a budget."""
    from ledger.core.recipients import add_recipient as add
    from ledger.workflows.budget import add_budget_agreement, add_hours_report
    from ledger.workflows.masterdata import MasterDataError, add as add_item, list_items
    from tests.conftest import NOW

    kreis = add(session, "kreis-nord", "Kreis Nord", "kreis", actor="t", now=NOW)
    agreement = add_budget_agreement(
        session, kreis, "pool-budget-2025", title="Trägerbudget Schulbegleitung Pool Nord", provider_name="Träger Nord",
        start=date(2025, 1, 1), end=date(2029, 12, 31), budget=Decimal("600000"),
        specialist_hours_year=Decimal("4000"),
        semi_professional_hours_year=Decimal("0"), reference="§ 3", created_by="t", now=NOW)
    add_hours_report(session, agreement, "2025-Q1", specialist="1100", semi_professional="0", created_by="t", now=NOW)
    add_item(session, kreis, "provider", {"Name": "Träger Nord"}, actor="t", now=NOW)
    add_item(session, kreis, "commitment", {"Referenz": "PV-2025", "Beschreibung": "Poolvertrag Schulbegleitung",
                                            "Kategorie": "pool_personnel", "Monatsbetrag": "10.000,00",
                                            "Beginn": "01.01.2025", "Ende": "31.12.2029",
                                            "Trägerbudget": "pool-budget-2025"}, actor="t", now=NOW)
    other = _agreement(session)   # Stadt Bremerhaven's budget: not the Kreis's
    with pytest.raises(MasterDataError) as refused:
        add_item(session, kreis, "commitment", {"Referenz": "PV-X", "Beschreibung": "x", "Kategorie": "pool_personnel",
                                                "Monatsbetrag": "1,00", "Beginn": "01.01.2025", "Ende": "31.12.2025",
                                                "Trägerbudget": other.key}, actor="t", now=NOW)
    assert [issue.column for issue in refused.value.issues] == ["Trägerbudget"]
    session.commit()
    assert list_items(session, kreis, "commitment")[0]["budget"] == "pool-budget-2025"
    add_web_user(session, "kai", "officer", recipients=[kreis])
    client = logged_in(app, "kai")
    masterdata = client.get("/r/kreis-nord/stammdaten").get_data(as_text=True)
    assert 'href="/r/kreis-nord/traegerbudgets#budget-pool-budget-2025">Trägerbudget Schulbegleitung Pool Nord</a>' \
        in masterdata
    page = client.get("/r/kreis-nord/traegerbudgets").get_data(as_text=True)
    assert "PV-2025: Poolvertrag Schulbegleitung" in page
    assert "Die erbrachten Stunden dieser Pool-Verträge sind die des Trägerbudgets: 1.100,00 Stunden" in page

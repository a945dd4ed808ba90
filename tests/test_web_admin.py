"""Administration pages: users (admins only) and the audit log, scoped like the books."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.core.grants import add_grant
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from tests.conftest import NOW, add_web_user, csrf_token, logged_in, login


def _rows(response) -> str:
    """The Protokoll's table body (the filter form lists every action and person)."""
    html = response.get_data(as_text=True)
    return html[html.index("<tbody>"):html.index("</tbody>")]


@pytest.fixture
def people(app, session, kreis):
    neighbour = add_recipient(session, "nachbar", "Kreis Nachbar", "kreis", actor="test", now=NOW)
    session.commit()
    add_web_user(session, "root", "admin")
    add_web_user(session, "anna", "officer", recipients=[kreis])
    add_web_user(session, "paul", "auditor", recipients=[kreis])
    return kreis, neighbour


def test_admin_creates_locks_and_resets_users(app, people):
    admin = logged_in(app, "root")
    page = admin.get("/admin/benutzer").get_data(as_text=True)
    assert "anna" in page and "Sachbearbeitung" in page and "testland" in page
    token = csrf_token(admin, "/admin/benutzer")
    created = admin.post("/admin/benutzer", data={"csrf_token": token, "username": "carla", "role": "officer",
                                                  "password": "Carlas-Passwort-2026", "recipients": ["nachbar"]})
    assert created.status_code == 302
    carla = logged_in(app, "carla", "Carlas-Passwort-2026")
    assert carla.get("/r/nachbar/journal").headers["Location"].endswith("/passwort")   # initial: change it first
    carla.post("/passwort", data={"csrf_token": csrf_token(carla, "/passwort"), "current": "Carlas-Passwort-2026",
                                  "new": "Carlas-eigenes-Passwort", "repeat": "Carlas-eigenes-Passwort"})
    assert carla.get("/r/nachbar/journal").status_code == 200 and carla.get("/r/testland/journal").status_code == 404
    short = admin.post("/admin/benutzer", data={"csrf_token": token, "username": "dora", "role": "officer",
                                                "password": "kurz"})
    assert short.status_code == 400 and "mindestens 12 Zeichen" in short.get_data(as_text=True)
    wrong = admin.post("/admin/benutzer", data={"csrf_token": token, "username": "emil", "role": "officer",
                                                "password": "Emils-Passwort-2026", "all_recipients": "y"})
    assert "nur für die Prüfung" in wrong.get_data(as_text=True)

    assert admin.post("/admin/benutzer/carla/sperren", data={"csrf_token": token, "active": "0"}).status_code == 302
    assert carla.get("/").status_code == 302                     # locked: the session no longer loads
    assert login(app.test_client(), "carla", "Carlas-eigenes-Passwort").status_code == 401
    admin.post("/admin/benutzer/carla/sperren", data={"csrf_token": token, "active": "1"})
    admin.post("/admin/benutzer/carla/passwort", data={"csrf_token": token, "password": "Neues-Carla-Passwort"})
    assert login(app.test_client(), "carla", "Neues-Carla-Passwort").status_code == 302
    assert admin.post("/admin/benutzer/carla/sperren", data={"active": "0"}).status_code == 400  # no CSRF token

    log = _rows(admin.get("/protokoll"))
    for action in ("Benutzer angelegt", "Benutzer gesperrt", "Benutzer entsperrt", "Passwort gesetzt"):
        assert action in log
    assert "root" in log and "carla" in log


def test_only_admins_manage_users(app, people):
    for username in ("anna", "paul"):
        client = logged_in(app, username)
        assert client.get("/admin/benutzer").status_code == 403
        token = csrf_token(client, "/")
        assert client.post("/admin/benutzer/anna/sperren", data={"csrf_token": token, "active": "0"}).status_code == 403
        assert "Benutzer</a>" not in client.get("/").get_data(as_text=True)


def test_the_audit_log_shows_only_readable_recipients(app, session, people):
    kreis, neighbour = people
    add_grant(session, kreis, SchoolYear(2023), Decimal("1000.00"), actor="anna", now=NOW)
    add_grant(session, neighbour, SchoolYear(2023), Decimal("2000.00"), actor="bernd", now=NOW)
    session.commit()
    auditor = logged_in(app, "paul")
    text = _rows(auditor.get("/protokoll"))
    assert "testland" in text and "nachbar" not in text and "Benutzer angelegt" not in text
    assert "bernd" not in auditor.get("/protokoll").get_data(as_text=True)   # nor in the person filter
    admin = logged_in(app, "root")
    text = _rows(admin.get("/protokoll"))
    assert "testland" in text and "nachbar" in text and "Benutzer angelegt" in text


def test_everyone_can_read_the_rule_packs_with_their_digest(app, people):
    from ledger.rules.packs import load_packs

    client = logged_in(app, "paul")
    text = client.get("/regelwerke").get_data(as_text=True)
    for pack in load_packs():
        assert pack.digest in text and pack.title in text and f"<dd>{pack.version}</dd>" in text
        assert pack.id not in text
    assert "15\u00a0% der Personalkosten (Personalkosten systemischer Pool-Modelle" in text
    assert "2014/15 bis 2020/21" in text and "2021/22 bis auf Weiteres" in text
    assert "Systemischer Pool an Schulen des Gemeinsamen Lernens" in text
    assert "pool.systemic" not in text and "pool_personnel" not in text


def test_the_audit_log_reads_in_german_and_filters(app, session, people):
    """Actions by their German names, details as labelled German fields (TT.MM.JJJJ, 1.234,56 €);
    filters by action, person, recipient and date (query parameters, kept by the pager)."""
    from datetime import date

    kreis, neighbour = people
    add_grant(session, kreis, SchoolYear(2023), Decimal("1234567.89"), actor="anna", now=NOW,
              notice_date=date(2023, 12, 4))
    add_grant(session, neighbour, SchoolYear(2023), Decimal("2000.00"), actor="bernd", now=NOW)
    session.commit()
    admin = logged_in(app, "root")
    text = _rows(admin.get("/protokoll"))
    assert "Zuwendung erfasst" in text and "grant_add" not in text
    assert "<dt>festgesetzter Betrag</dt> <dd>1.234.567,89 €</dd>" in text
    assert "<dt>Bescheid vom</dt> <dd>04.12.2023</dd>" in text and "<dt>Schuljahr</dt> <dd>2023/24</dd>" in text
    assert "{" not in text and "school_year" not in text and "2023-12-04" not in text

    by_person = _rows(admin.get("/protokoll?person=bernd"))
    assert "2.000,00 €" in by_person and "1.234.567,89 €" not in by_person
    by_recipient = _rows(admin.get("/protokoll?empfaenger=testland&aktion=grant_add"))
    assert "1.234.567,89 €" in by_recipient and "2.000,00 €" not in by_recipient
    assert "Benutzer angelegt" not in by_recipient
    by_action = _rows(admin.get("/protokoll?aktion=user_add"))
    assert "Benutzer angelegt" in by_action and "Zuwendung erfasst" not in by_action
    day = NOW.date()
    assert "Zuwendung erfasst" in _rows(admin.get(f"/protokoll?von={day:%d.%m.%Y}&bis={day:%Y-%m-%d}"))
    later = _rows(admin.get(f"/protokoll?von={date(day.year + 1, 1, 1):%Y-%m-%d}"))
    assert "Zuwendung erfasst" not in later and "Keine Einträge." in later
    wrong = admin.get("/protokoll?von=morgen")
    assert wrong.status_code == 400 and "„morgen“ ist kein Datum (TT.MM.JJJJ)." in wrong.get_data(as_text=True)
    page = admin.get("/protokoll?aktion=grant_add").get_data(as_text=True)
    assert '<option value="grant_add" selected>Zuwendung erfasst</option>' in page


def test_the_audit_log_shows_an_agreement_with_its_german_status(app, session, people):
    """An agreement's status (Vereinbarung Rhein-Sieg-Kreis, § 9) reads as "Stand der Vereinbarung:
    wirksam", not as a classification or a key."""
    from datetime import date

    from ledger.core.agreements import add_agreement

    kreis, _neighbour = people
    add_agreement(session, kreis, SchoolYear(2020), deemed_conform=Decimal("422362.00"), reference="Vereinbarung",
                  repayment=Decimal("469569.68"), status="in_force", effective_date=date(2022, 5, 1),
                  created_by="anna", now=NOW)
    session.commit()
    text = _rows(logged_in(app, "root").get("/protokoll?aktion=agreement_add"))
    assert "<dt>Stand der Vereinbarung</dt> <dd>wirksam</dd>" in text
    assert "in_force" not in text and "Einstufung" not in text

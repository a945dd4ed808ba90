"""Web UI of the classification: override one posting, withdraw, bulk override from the
review queue, record an evaluation run; who may do it (officer of the recipient only).

Books: the worked example of ``tests/test_classification_runs.py`` (Kreis Testland,
school year 2023/24, grant 150.000,00 EUR paid out, pools of every financing basis)
plus two postings on an unknown cost centre for the review queue:

    X-1  XYZ  pool_personnel  1.000,00  unclassified (Kostenstelle unbekannt)
    X-2  XYZ  pool_personnel    500,00  unclassified

    As booked: conform 125.187,50 (see the worked example), repayment 24.812,50.
    Pool H (individual_entitlements, 40.000,00) overridden as permitted: conform pool
    personnel 146.250,00, cap 15 % = 21.937,50 covers the 20.000,00 overhead, so
    conform 100.000,00 + 40.000,00 + 6.250,00 + 3.000,00 + 20.000,00 = 169.250,00 and
    repayment 0,00.
"""
from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from ledger.core.grants import add_grant, add_payout
from ledger.core.models import AuditEvent, EvaluationRun, Override, Posting
from ledger.core.recipients import add_recipient
from tests.conftest import NOW, add_web_user, csrf_token, import_bytes, logged_in
from tests.test_classification_runs import (
    HEADER,
    JUSTIFICATION,
    ROWS,
    SY,
    _master_data,
    _posting,
)

EXTRA = ("20.02.2024;X-1;Rechnung unbekannte Kostenstelle;5291;1810;1.000,00;XYZ;;\n"
         "21.02.2024;X-2;Noch eine unbekannte Kostenstelle;5291;1810;500,00;XYZ;;\n")
BASE = "/r/testland/2023"
WITHDRAWAL = "Bescheide für Pool H liegen doch vor; es bleibt bei der Einstufung des Regelwerks"


def _text(response) -> str:
    """The response's HTML with tags removed and whitespace collapsed (nbsp → space)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


def _count(session, model, *where) -> int:
    """Rows of ``model`` as the application committed them (a fresh read transaction)."""
    return _scalar(session, sa.select(sa.func.count()).select_from(model).where(*where))


def _scalar(session, query):
    """One value in a fresh read transaction, ended at once (SQLite: no stale snapshot)."""
    session.rollback()
    try:
        return session.scalar(query)
    finally:
        session.rollback()


def _pid(session, voucher: str) -> int:
    """The id of the expense posting of ``voucher``."""
    session.rollback()
    try:
        return _posting(session, voucher)
    finally:
        session.rollback()


def _today() -> str:
    return datetime.now().strftime("%d.%m.%Y")


@pytest.fixture
def books(session, kreis):
    _master_data(session, kreis)
    grant = add_grant(session, kreis, SY, D("150000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("150000.00"), created_by="test", now=NOW)
    assert import_bytes(session, kreis, (HEADER + ROWS + EXTRA).encode(), "2023-24.csv", created_by="test",
                        now=NOW).ok
    session.commit()
    return kreis


def _client(app, session, username: str, role: str, recipients=(), **kwargs):
    add_web_user(session, username, role, recipients=recipients, **kwargs)
    return logged_in(app, username)


@pytest.fixture
def officer(app, books, session):
    """Anna, the officer assigned to Kreis Testland; "today" is 1 March 2024."""
    app.config["TODAY"] = date(2024, 3, 1)
    return _client(app, session, "anna", "officer", [books])


def _post(client, path: str, data: dict, *, token_from: str | None = None):
    """POST ``data`` with the CSRF token of the page ``token_from`` (default: ``path``)."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from or path), **data})


def _override(client, posting_id: int, **data):
    return _post(client, f"{BASE}/einstufung/{posting_id}", data)


# ----------------------------------------------------------------- one posting


def test_officer_overrides_a_hannover_pool_posting(officer, session):
    before = _text(officer.get(f"{BASE}/"))
    assert "125.187,50" in before and "24.812,50" in before
    hannover = _pid(session, "P-H")

    page = officer.get(f"{BASE}/einstufung")
    assert f'href="{BASE}/einstufung/{hannover}"' in page.get_data(as_text=True)
    form = officer.get(f"{BASE}/einstufung/{hannover}")
    text = _text(form)
    assert form.status_code == 200
    assert "Beleg P-H abweichend einstufen" in text and "40.000,00 €" in text
    assert "Entscheidung des Regelwerks" in text and "Pool bündelt einzeln bewilligte Ansprüche" in text
    assert "pool.individual" not in text and "ausgeschlossen" in text
    assert "Individualansprüche" in text  # reason and source of the rule
    for label in ("zulässig", "ausgeschlossen", "teilweise zulässig", "Zulässiger Betrag in Euro", "Begründung"):
        assert label in text
    assert 'for="justification"' in form.get_data(as_text=True)

    done = _override(officer, hannover, status="permitted", justification=JUSTIFICATION)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{BASE}/einstufung")
    flashed = _text(officer.get(done.headers["Location"]))
    assert "Beleg P-H (Zeile" in flashed and "abweichend als „zulässig“ eingestuft (Nr. 1)" in flashed

    session.rollback()
    override = session.execute(sa.select(Override.posting_id, Override.status, Override.created_by,
                                         Override.justification, Override.created_at)).one()
    session.rollback()
    assert override[:4] == (hannover, "permitted", "anna", JUSTIFICATION) and override[4].microsecond == 0
    assert _count(session, AuditEvent, AuditEvent.action == "override_add") == 1

    after = _text(officer.get(f"{BASE}/"))
    assert "169.250,00" in after and "125.187,50" not in after and "24.812,50" not in after
    page = _text(officer.get(f"{BASE}/einstufung"))
    assert "abweichend, Nr. 1" in page
    assert f"1 P-H 40.000,00 € zulässig {JUSTIFICATION} anna, {_today()} gilt" in page
    # the form page of an overridden posting offers the withdrawal instead of a second override
    again = _text(officer.get(f"{BASE}/einstufung/{hannover}"))
    assert "bereits abweichend als „zulässig“ eingestuft (Nr. 1" in again and "zurücknehmen" in again
    assert 'name="justification"' not in officer.get(f"{BASE}/einstufung/{hannover}").get_data(as_text=True)


def test_too_short_justification_is_shown_and_nothing_written(officer, session):
    hannover = _pid(session, "P-H")
    answer = _override(officer, hannover, status="permitted", justification="  passt   so  ")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Die Begründung braucht mindestens 20 Zeichen (bisher 8)." in page
    assert 'aria-describedby="justification-hinweis justification-fehler"' in page and 'aria-invalid="true"' in page
    assert 'checked id="status-0"' in page  # the choice is kept
    assert "passt   so" in page  # what was typed is kept
    answer = _override(officer, hannover, justification=JUSTIFICATION)
    assert answer.status_code == 422 and "Bitte eine Einstufung wählen." in _text(answer)
    assert _count(session, Override) == 0
    assert _count(session, AuditEvent, AuditEvent.action == "override_add") == 0


def test_split_needs_a_conform_amount_within_the_posting(officer, session):
    hannover = _pid(session, "P-H")
    answer = _override(officer, hannover, status="split", conform="40.000,01", justification=JUSTIFICATION)
    text = _text(answer)
    assert answer.status_code == 422
    assert "Nicht gespeichert: Der zulässige Betrag 40.000,01 EUR muss zwischen 0 und 40.000,00 EUR liegen" in text
    assert 'role="alert" tabindex="-1" id="einstufung-fehler"' in answer.get_data(as_text=True)
    missing = _override(officer, hannover, status="split", conform=" ", justification=JUSTIFICATION)
    assert "Bei „teilweise zulässig“ bitte den zulässigen Betrag angeben." in _text(missing)
    invalid = _override(officer, hannover, status="split", conform="viel", justification=JUSTIFICATION)
    assert "„viel“ ist kein gültiger Betrag" in _text(invalid)
    assert _count(session, Override) == 0

    done = _override(officer, hannover, status="split", conform="30.000,00", justification=JUSTIFICATION)
    assert done.status_code == 302
    assert _scalar(session, sa.select(Override.conform_cents)) == 3_000_000
    assert "teilweise zulässig (30.000,00 €)" in _text(officer.get(f"{BASE}/einstufung"))


def test_unknown_posting_or_no_expense_is_404(officer, session):
    bank_line = _scalar(session, sa.select(Posting.id).where(Posting.amount_cents < 0).limit(1))
    for path in (f"{BASE}/einstufung/{bank_line}", f"{BASE}/einstufung/999999",
                 f"{BASE}/abweichung/999999/zuruecknehmen", f"/r/testland/2019/einstufung/{_pid(session, 'P-H')}"):
        assert officer.get(path).status_code == 404, path


# ----------------------------------------------------------------- withdrawal


def test_withdraw_restores_the_engine_decision(officer, session):
    hannover = _pid(session, "P-H")
    assert _override(officer, hannover, status="permitted", justification=JUSTIFICATION).status_code == 302
    override_id = _scalar(session, sa.select(Override.id))
    page = officer.get(f"{BASE}/einstufung").get_data(as_text=True)
    path = f"{BASE}/abweichung/{override_id}/zuruecknehmen"
    assert f'href="{path}"' in page

    form = _text(officer.get(path))
    assert "Abweichende Einstufung Nr. 1 zurücknehmen" in form and JUSTIFICATION in form
    short = _post(officer, path, {"justification": "nein"})
    assert short.status_code == 422 and "mindestens 20 Zeichen" in _text(short)
    assert _count(session, Override) == 1

    done = _post(officer, path, {"justification": WITHDRAWAL})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{BASE}/einstufung#abweichungen")
    assert "Abweichende Einstufung Nr. 1 (Beleg P-H) ist zurückgenommen" in _text(officer.get(f"{BASE}/einstufung"))
    assert _count(session, Override, Override.withdraws_id == override_id) == 1

    dashboard = _text(officer.get(f"{BASE}/"))
    assert "125.187,50" in dashboard and "24.812,50" in dashboard
    page = _text(officer.get(f"{BASE}/einstufung"))
    assert f"zurückgenommen am {_today()} von anna: {WITHDRAWAL}" in page
    assert "abweichend, Nr. 1" not in page
    # withdrawn once: no form any more; a second post is refused by the core
    assert "bereits zurückgenommen" in _text(officer.get(path))
    twice = _post(officer, path, {"justification": WITHDRAWAL}, token_from=f"{BASE}/einstufung")
    assert twice.status_code == 422 and "ist bereits zurückgenommen" in _text(twice)
    assert _count(session, Override) == 2
    # and the posting can be overridden anew
    assert _override(officer, hannover, status="excluded", justification=JUSTIFICATION).status_code == 302


# ----------------------------------------------------------------- evaluation runs


def test_record_evaluation_run(officer, session):
    page = _text(officer.get(f"{BASE}/einstufung"))
    assert "Noch keine Bewertungsläufe." in page and "Bewertungslauf aufzeichnen" in page
    path = f"{BASE}/bewertungslauf"
    empty = _post(officer, path, {"reason": "   "}, token_from=f"{BASE}/einstufung")
    assert empty.status_code == 422 and "Bitte den Anlass des Bewertungslaufs angeben." in _text(empty)
    assert 'aria-describedby="reason-hinweis reason-fehler"' in empty.get_data(as_text=True)
    assert _count(session, EvaluationRun) == 0

    done = _post(officer, path, {"reason": "Prüfung vor der Abrechnung"}, token_from=f"{BASE}/einstufung")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{BASE}/einstufung#bewertungslaeufe")
    page = _text(officer.get(f"{BASE}/einstufung"))
    assert ("Bewertungslauf Nr. 1 aufgezeichnet: 9 Buchungen, davon 9 gegenüber dem vorigen Lauf geändert "
            "(Regelwerk „Hinweise zur zweckentsprechenden Verwendung") in page
    assert "inklfoeg-nrw" not in page
    assert re.search(r"1 \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr anna „Hinweise zur zweckentsprechenden Verwendung der "
                     r"Inklusionspauschale gemäß § 2 Absatz 2 InklFöG“, Version \S+ [0-9a-f]{16}… "
                     r"Prüfung vor der Abrechnung 9 9 129\.250,00 € 50\.750,00 €", page), page
    assert "Letzter Bewertungslauf Nr. 1" in page and "entspricht der heutigen Einstufung" in page
    session.rollback()
    run = session.execute(sa.select(EvaluationRun.created_by, EvaluationRun.created_at)).one()
    session.rollback()
    assert run[0] == "anna" and run[1].microsecond == 0

    same = _post(officer, path, {"reason": "Noch einmal"}, token_from=f"{BASE}/einstufung")
    assert same.status_code == 302
    unchanged = _text(officer.get(f"{BASE}/einstufung"))
    assert "Unverändert gegenüber Bewertungslauf Nr. 1; nichts aufgezeichnet." in unchanged
    assert _count(session, EvaluationRun) == 1


# ----------------------------------------------------------------- bulk


def test_bulk_override_from_the_review_queue(officer, session):
    x1, x2 = _pid(session, "X-1"), _pid(session, "X-2")
    page = officer.get(f"{BASE}/pruefliste").get_data(as_text=True)
    for pid, voucher in ((x1, "X-1"), (x2, "X-2")):
        assert f'<input type="checkbox" name="posting" value="{pid}" id="waehlen-{pid}">' in page
        label = f'<label for="waehlen-{pid}" class="visually-hidden">Beleg {voucher} (Zeile {pid}) auswählen</label>'
        assert label in page
        assert f'href="{BASE}/einstufung/{pid}?von=pruefliste"' in page
    assert 'value="split"' not in page  # whole amounts only in bulk

    path = f"{BASE}/pruefliste/abweichend"
    none = _post(officer, path, {"status": "excluded", "justification": JUSTIFICATION}, token_from=f"{BASE}/pruefliste")
    assert none.status_code == 422 and "Bitte mindestens eine Buchung auswählen." in _text(none)
    short = _post(officer, path, {"posting": [str(x1), str(x2)], "status": "excluded", "justification": "kurz"},
                  token_from=f"{BASE}/pruefliste")
    assert short.status_code == 422 and "mindestens 20 Zeichen" in _text(short)
    kept = short.get_data(as_text=True)
    assert f'id="waehlen-{x1}" checked>' in kept and f'id="waehlen-{x2}" checked>' in kept  # the selection is kept
    assert _count(session, Override) == 0

    done = _post(officer, path, {"posting": [str(x1), str(x2)], "status": "excluded",
                                 "justification": "Rechnungen ohne Bezug zur Inklusion, Vermerk Az. 40/2024-7"},
                 token_from=f"{BASE}/pruefliste")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{BASE}/pruefliste")
    queue = _text(officer.get(f"{BASE}/pruefliste"))
    assert "2 Buchungen als „ausgeschlossen“ abweichend eingestuft (Nr. 1, 2)." in queue
    assert "Keine offenen Punkte" in queue
    session.rollback()
    rows = session.execute(sa.select(Override.posting_id, Override.status, Override.created_by)
                           .order_by(Override.id)).all()
    session.rollback()
    assert rows == [(x1, "excluded", "anna"), (x2, "excluded", "anna")]


def test_bulk_override_is_all_or_nothing(officer, session):
    x1, hannover = _pid(session, "X-1"), _pid(session, "P-H")
    assert _override(officer, hannover, status="permitted", justification=JUSTIFICATION).status_code == 302
    failed = _post(officer, f"{BASE}/pruefliste/abweichend",
                   {"posting": [str(x1), str(hannover)], "status": "permitted", "justification": JUSTIFICATION},
                   token_from=f"{BASE}/pruefliste")
    text = _text(failed)
    assert failed.status_code == 422
    assert (f"Nicht gespeichert: Beleg P-H (Zeile {hannover}): Buchungszeile {hannover} ist bereits abweichend "
            "eingestuft (Nr. 1); zuerst zurücknehmen. "
            "Keine der ausgewählten Buchungen wurde abweichend eingestuft.") in text
    assert _count(session, Override) == 1  # X-1 was rolled back with it
    unknown = _post(officer, f"{BASE}/pruefliste/abweichend",
                    {"posting": [str(x1), "999999"], "status": "permitted", "justification": JUSTIFICATION},
                    token_from=f"{BASE}/pruefliste")
    assert unknown.status_code == 422 and "Buchungszeile 999999 gibt es im Schuljahr 2023/24 nicht" in _text(unknown)
    assert _count(session, Override) == 1


def test_single_override_from_the_review_queue_returns_there(officer, session):
    x1 = _pid(session, "X-1")
    done = _post(officer, f"{BASE}/einstufung/{x1}?von=pruefliste",
                 {"status": "split", "conform": "250,00", "justification": JUSTIFICATION})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{BASE}/pruefliste")
    assert _scalar(session, sa.select(Override.conform_cents)) == 25_000


# ----------------------------------------------------------------- who may


def _write_posts(session) -> list[tuple[str, dict]]:
    hannover, x1 = _pid(session, "P-H"), _pid(session, "X-1")
    return [
        (f"{BASE}/einstufung/{hannover}", {"status": "permitted", "justification": JUSTIFICATION}),
        (f"{BASE}/abweichung/1/zuruecknehmen", {"justification": WITHDRAWAL}),
        (f"{BASE}/bewertungslauf", {"reason": "Prüfung"}),
        (f"{BASE}/pruefliste/abweichend",
         {"posting": [str(x1)], "status": "permitted", "justification": JUSTIFICATION}),
    ]


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_readers_see_no_forms_and_may_not_post(app, books, session, officer, role):
    hannover = _pid(session, "P-H")
    assert _override(officer, hannover, status="permitted", justification=JUSTIFICATION).status_code == 302
    reader = _client(app, session, f"leser-{role}", role, [books] if role == "auditor" else ())
    for page in (f"{BASE}/einstufung", f"{BASE}/pruefliste"):
        answer = reader.get(page)
        body = answer.get_data(as_text=True)
        assert answer.status_code == 200
        posting = re.findall(r'<form method="post"[^>]*>', body)  # the Einstufung's filters are a GET form
        assert posting == ['<form method="post" action="/abmelden">']  # only the log-out button
        assert "abweichend einstufen" not in body and "zurücknehmen" not in body and 'type="checkbox"' not in body
        assert "Bewertungslauf aufzeichnen" not in body
    assert JUSTIFICATION in _text(reader.get(f"{BASE}/einstufung"))  # but they read the overrides
    assert reader.get(f"{BASE}/einstufung/{hannover}").status_code == 403
    assert reader.get(f"{BASE}/abweichung/1/zuruecknehmen").status_code == 403
    for path, data in _write_posts(session):
        answer = _post(reader, path, data, token_from=f"{BASE}/einstufung")
        assert answer.status_code == 403, path
    assert _count(session, Override) == 1 and _count(session, EvaluationRun) == 0


def test_officer_of_another_kreis_gets_404(app, books, session):
    other = add_recipient(session, "nachbar", "Kreis Nachbar", "kreis", actor="test", now=NOW)
    session.commit()
    stranger = _client(app, session, "bernd", "officer", [other])
    hannover = _pid(session, "P-H")
    for page in (f"{BASE}/einstufung", f"{BASE}/pruefliste", f"{BASE}/einstufung/{hannover}",
                 f"{BASE}/abweichung/1/zuruecknehmen"):
        assert stranger.get(page).status_code == 404, page
    for path, data in _write_posts(session):
        assert _post(stranger, path, data, token_from="/passwort").status_code == 404, path
    assert _count(session, Override) == 0 and _count(session, EvaluationRun) == 0


def test_post_without_csrf_token_is_refused(officer, session):
    for path, data in _write_posts(session):
        assert officer.post(path, data=data).status_code == 400, path
        assert officer.post(path, data={**data, "csrf_token": "falsch"}).status_code == 400, path
    assert _count(session, Override) == 0 and _count(session, EvaluationRun) == 0

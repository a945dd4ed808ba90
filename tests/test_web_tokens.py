"""The page "Zugangstoken für Importskripte": a logged-in user creates a token (shown once), lists
and revokes their own tokens; CSRF on every form; another user's token cannot be revoked."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa

from ledger.core.models import ApiToken, AuditEvent
from ledger.core.tokens import hash_secret
from tests.conftest import add_web_user, csrf_token, internal_terms, logged_in

PAGE = "/zugangstoken"


def _text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def _secret(response) -> str:
    return re.search(r'id="token-secret" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_create_shows_the_secret_once_then_lists_and_revokes(app, session, kreis):
    add_web_user(session, "olga", "officer", recipients=[kreis])
    olga = logged_in(app, "olga")
    page = olga.get(PAGE)
    assert page.status_code == 200 and "Sie haben noch kein Zugangstoken" in _text(page)
    assert internal_terms(_text(page)) == []
    created = olga.post(PAGE, data={"csrf_token": csrf_token(olga, PAGE), "name": "Monatsimport",
                                    "expires_on": "2099-12-31"})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    secret = _secret(created)
    assert secret.startswith("inkl_") and "nur dieses eine Mal angezeigt" in _text(created)
    token = session.scalar(sa.select(ApiToken))
    assert token.token_hash == hash_secret(secret) and token.expires_on.isoformat() == "2099-12-31"

    listed = olga.get(PAGE)
    text = _text(listed)
    assert secret not in listed.get_data(as_text=True)                        # never shown again
    assert "Monatsimport" in text and f"{token.prefix}…" in text and "31.12.2099" in text and "nie" in text
    assert "gültig" in text

    form = f"{PAGE}/{token.id}/widerrufen"
    assert olga.post(form).status_code == 400                                  # no CSRF token
    revoked = olga.post(form, data={"csrf_token": csrf_token(olga, PAGE)}, follow_redirects=True)
    assert revoked.status_code == 200 and "ist widerrufen" in _text(revoked) and "widerrufen am" in _text(revoked)
    session.rollback()
    assert session.get(ApiToken, token.id).revoked_at is not None
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "olga")).all()
    assert actions == ["token_create", "token_revoke"]


def test_a_token_needs_a_name_and_a_valid_date(app, session, kreis):
    add_web_user(session, "olga", "officer", recipients=[kreis])
    olga = logged_in(app, "olga")
    empty = olga.post(PAGE, data={"csrf_token": csrf_token(olga, PAGE), "name": " "})
    assert empty.status_code == 422 and "Bitte dem Zugangstoken einen Namen geben." in _text(empty)
    bad_day = olga.post(PAGE, data={"csrf_token": csrf_token(olga, PAGE), "name": "x", "expires_on": "32.13.2027"})
    assert bad_day.status_code == 422 and "Bitte ein gültiges Datum angeben" in _text(bad_day)
    past = olga.post(PAGE, data={"csrf_token": csrf_token(olga, PAGE), "name": "x", "expires_on": "01.01.2020"})
    assert past.status_code == 422 and "liegt in der Vergangenheit" in _text(past)
    no_csrf = olga.post(PAGE, data={"name": "x"})
    assert no_csrf.status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_nobody_sees_or_revokes_another_user_s_tokens(app, session, kreis):
    add_web_user(session, "olga", "officer", recipients=[kreis])
    add_web_user(session, "paul", "auditor", all_recipients=True)
    olga = logged_in(app, "olga")
    olga.post(PAGE, data={"csrf_token": csrf_token(olga, PAGE), "name": "Olgas Skript"})
    token = session.scalar(sa.select(ApiToken))
    paul = logged_in(app, "paul")
    assert "Olgas Skript" not in _text(paul.get(PAGE))
    assert paul.post(f"{PAGE}/{token.id}/widerrufen", data={"csrf_token": csrf_token(paul, PAGE)}).status_code == 404
    session.rollback()
    assert session.get(ApiToken, token.id).revoked_at is None
    created = paul.post(PAGE, data={"csrf_token": csrf_token(paul, PAGE), "name": "Prüfskript"})  # auditors too
    assert created.status_code == 200 and _secret(created).startswith("inkl_")


def test_the_page_needs_a_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden")

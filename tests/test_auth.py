"""Log-in, sessions, CSRF, security headers, and who may see which recipient's books.

Two Kreise: Testland (officer "anna" works on it) and Nachbarkreis ("bernd" works on it).
Anna must not even learn that Nachbarkreis exists: its pages answer 404 like unknown ones.
"""
from __future__ import annotations

import pytest

from ledger.core.recipients import add_recipient
from ledger.core.users import get_user
from tests.conftest import NOW, PASSWORD, add_web_user, csrf_token, login

NEIGHBOUR_PAGES = ("/r/nachbar/", "/r/nachbar/2023/", "/r/nachbar/journal", "/r/nachbar/2023/einstufung",
                   "/r/nachbar/2023/pruefliste", "/r/nachbar/stammdaten", "/r/nachbar/2023/statement.pdf")


@pytest.fixture
def two_kreise(session, kreis):
    neighbour = add_recipient(session, "nachbar", "Kreis Nachbar", "kreis", actor="test", now=NOW)
    session.commit()
    add_web_user(session, "anna", "officer", recipients=[kreis])
    add_web_user(session, "bernd", "officer", recipients=[neighbour])
    return kreis, neighbour


def test_every_page_needs_a_log_in(client, two_kreise):
    response = client.get("/r/testland/2023/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden?next=")
    assert client.get("/anmelden").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(client, two_kreise):
    for username, password in (("anna", "falsch-falsch-falsch"), ("niemand", PASSWORD)):
        response = login(client, username, password)
        assert response.status_code == 401
        assert "Benutzername oder Passwort ist falsch." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_log_in_sets_a_safe_cookie_and_security_headers(app, two_kreise):
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    response = login(client, "anna")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    page = app.test_client().get("/anmelden")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert (page.headers["X-Frame-Options"], page.headers["X-Content-Type-Options"]) == ("DENY", "nosniff")
    assert page.headers["Cache-Control"] == "no-store"


def test_log_in_without_csrf_token_is_refused(client, two_kreise):
    response = client.post("/anmelden", data={"username": "anna", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_next_goes_back_to_the_page_but_never_off_site(client, two_kreise):
    token = csrf_token(client)
    response = client.post("/anmelden?next=/r/testland/journal",
                           data={"csrf_token": token, "username": "anna", "password": PASSWORD})
    assert response.headers["Location"] == "/r/testland/journal"
    client.post("/abmelden", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client)
    response = client.post("/anmelden?next=//evil.example/",
                           data={"csrf_token": token, "username": "anna", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_an_officer_never_sees_another_kreis(client, two_kreise):
    login(client, "anna")
    home = client.get("/").get_data(as_text=True)
    assert "Kreis Testland" in home and "Kreis Nachbar" not in home
    for path in NEIGHBOUR_PAGES:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "nachbar" in response.get_data(as_text=True) or path == "/r/nachbar/2023/statement.pdf"
    assert client.get("/r/testland/journal").status_code == 200
    unknown = client.get("/r/gibt-es-nicht/journal")
    assert unknown.status_code == 404 and "nicht gefunden" in unknown.get_data(as_text=True)


def test_auditors_read_what_they_are_given(client, session, two_kreise):
    kreis, _neighbour = two_kreise
    add_web_user(session, "pruefer", "auditor", recipients=[kreis])
    add_web_user(session, "landespruefer", "auditor", all_recipients=True)
    login(client, "pruefer")
    assert client.get("/r/testland/journal").status_code == 200
    assert client.get("/r/nachbar/journal").status_code == 404
    client.post("/abmelden", data={"csrf_token": csrf_token(client, "/")})
    login(client, "landespruefer")
    assert client.get("/r/nachbar/journal").status_code == 200
    assert "Kreis Nachbar" in client.get("/").get_data(as_text=True)


def test_log_out_needs_post_with_token(client, two_kreise):
    login(client, "anna")
    assert client.get("/abmelden").status_code == 405
    assert client.post("/abmelden").status_code == 400          # no CSRF token: stays logged in
    assert client.get("/").status_code == 200
    response = client.post("/abmelden", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_password_change_ends_other_sessions(app, session, two_kreise):
    first, second = app.test_client(), app.test_client()
    login(first, "anna")
    login(second, "anna")
    token = csrf_token(first, "/passwort")
    wrong = first.post("/passwort", data={"csrf_token": token, "current": "nicht-das-passwort",
                                          "new": "Neues-Passwort-2027", "repeat": "Neues-Passwort-2027"})
    assert "Das bisherige Passwort ist falsch." in wrong.get_data(as_text=True)
    short = first.post("/passwort", data={"csrf_token": token, "current": PASSWORD, "new": "kurz", "repeat": "kurz"})
    assert "mindestens 12 Zeichen" in short.get_data(as_text=True)
    done = first.post("/passwort", data={"csrf_token": token, "current": PASSWORD,
                                         "new": "Neues-Passwort-2027", "repeat": "Neues-Passwort-2027"})
    assert done.status_code == 302
    assert first.get("/").status_code == 200                    # this session goes on
    assert second.get("/").status_code == 302                   # the other one ended
    assert login(app.test_client(), "anna").status_code == 401
    assert login(app.test_client(), "anna", "Neues-Passwort-2027").status_code == 302


def test_an_inactive_account_cannot_log_in(client, session, two_kreise):
    get_user(session, "bernd").active = False
    session.commit()
    assert login(client, "bernd").status_code == 401


def test_log_in_is_rate_limited(client, two_kreise):
    statuses = [login(client, "anna", "falsches-passwort-1").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert login(client, "anna").status_code == 429             # even the right password waits


def test_users_through_the_cli(cli, client, kreis):
    cli("user", "add", "carla", "--role", "officer", "--recipient", "testland", "--password-stdin",
        input="Carlas-Passwort-2026\n")
    short = cli("user", "add", "dora", "--role", "officer", "--password-stdin", input="kurz\n", expect=1)
    assert "mindestens 12 Zeichen" in short.stderr
    assert "nur für die Prüfung" in cli("user", "add", "emil", "--role", "officer", "--all-recipients",
                                        "--no-password", expect=1).stderr
    assert login(client, "carla", "Carlas-Passwort-2026").status_code == 302
    # the administration's password is an initial one: nothing but its change and log-out is reachable
    forced = client.get("/r/testland/journal")
    assert forced.status_code == 302 and forced.headers["Location"].endswith("/passwort")
    assert "von der Administration vergeben" in client.get("/passwort").get_data(as_text=True)
    assert client.get("/land/").status_code == 302 and client.get("/").status_code == 302
    token = csrf_token(client, "/passwort")
    changed = client.post("/passwort", data={"csrf_token": token, "current": "Carlas-Passwort-2026",
                                             "new": "Carlas-eigenes-Passwort", "repeat": "Carlas-eigenes-Passwort"})
    assert changed.status_code == 302
    assert client.get("/r/testland/journal").status_code == 200
    cli("user", "password", "carla", "--password-stdin", input="Carlas-neues-Passwort\n")
    assert client.get("/").status_code == 302                   # the old session ended
    assert login(client, "carla", "Carlas-neues-Passwort").status_code == 302
    assert client.get("/r/testland/journal").headers["Location"].endswith("/passwort")   # a reset is initial too


def test_behind_a_trusted_proxy_the_rate_limit_counts_per_client(monkeypatch, database_url, engine, session, kreis):
    from webapp import create_app

    add_web_user(session, "anna", "officer", recipients=[kreis])
    monkeypatch.setenv("INKL_TRUSTED_PROXIES", "1")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False})
    client = app.test_client()
    for _ in range(10):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
        assert login(client, "anna", "falsches-passwort-1").status_code == 401
    assert login(client, "anna", "falsches-passwort-1").status_code == 429
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.8"          # another client behind the proxy
    assert login(client, "anna").status_code == 302


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\n/evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/ä/../evil", " /journal"])
def test_next_never_leads_off_site_nor_into_a_header_break(client, two_kreise, target):
    """Open redirect after log-in (issue 18): a browser drops tab and line breaks from a URL, so
    ``/<TAB>/evil.example`` would become ``//evil.example``; only same-site paths are followed."""
    response = client.post("/anmelden", query_string={"next": target},
                           data={"csrf_token": csrf_token(client), "username": "anna", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_unknown_name_takes_as_long_as_a_wrong_password(client, two_kreise):
    """No user enumeration by timing (issue 18): before, an unknown name answered in ~7 ms and a
    wrong password in ~240 ms (Argon2id). Now both verify a hash: the mean times of five tries
    each lie within a factor of two of each other."""
    import time

    def mean(name: str) -> float:
        started = time.perf_counter()
        for _ in range(5):
            assert login(client, name, "falsches-passwort-1").status_code == 401
        return (time.perf_counter() - started) / 5

    wrong, unknown = mean("anna"), mean("niemand")
    assert 0.5 < unknown / wrong < 2, (unknown, wrong)


def test_the_dummy_hash_costs_what_a_users_hash_costs():
    """The stored dummy hash of an unknown name has the parameters (time and memory cost,
    parallelism) of every new password hash, so verifying it takes as long."""
    from argon2 import extract_parameters

    from ledger.core.users import _DUMMY_HASH, _HASHER

    assert extract_parameters(_DUMMY_HASH) == extract_parameters(_HASHER.hash("ein Passwort"))


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "passwort1234", "Inklusionspauschale1", "anna12345678",
                                      "qwertzuiop123", "Musterhausen2026",
                                      "inklusion2026!"])   # zxcvbn score 2, one below MIN_STRENGTH
def test_common_and_context_passwords_are_refused(session, kreis, password):
    """OWASP ASVS 2.1.7 (issue 18): length alone is not enough; common passwords, words with digits,
    keyboard patterns and the user's name, recipient or the application's words are refused."""
    from ledger.core.errors import LedgerError
    from ledger.core.users import add_user

    musterhausen = add_recipient(session, "musterhausen", "Kreis Musterhausen", "kreis", actor="test", now=NOW)

    with pytest.raises(LedgerError, match="zu leicht zu erraten"):
        add_user(session, "anna", "officer", actor="test", now=NOW, password=password, recipients=(musterhausen,))


def test_a_passphrase_is_accepted(session, kreis):
    from ledger.core.users import add_user

    assert add_user(session, "anna", "officer", actor="test", now=NOW, password="Fichte Lampe Ozean 7").password_hash


def _copy_session_cookie(source, target) -> None:
    cookie = source.get_cookie("session")
    target.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")


def test_a_cookie_copied_before_log_out_opens_nothing_afterwards(app, two_kreise):
    """Sessions survived log-out for 31 days (issue 18): now the session ends in the database."""
    browser, thief = app.test_client(), app.test_client()
    login(browser, "anna")
    _copy_session_cookie(browser, thief)
    assert thief.get("/r/testland/journal").status_code == 200            # the copy works while logged in
    browser.post("/abmelden", data={"csrf_token": csrf_token(browser, "/")})
    assert thief.get("/r/testland/journal").status_code == 302            # and not after log-out


def test_sessions_end_when_idle_and_after_a_working_day_and_when_locked(app, session, two_kreise, monkeypatch):
    from datetime import datetime, timedelta

    import webapp.auth
    from ledger.core.sessions import IDLE, MAX_AGE
    from ledger.core.users import get_user, set_active

    start = datetime(2026, 12, 7, 8, 0, 0)
    clock = {"now": start}
    monkeypatch.setattr(webapp.auth, "timestamp", lambda: clock["now"])
    client = app.test_client()
    login(client, "anna")
    for minutes in range(0, 12 * 60, 29):                                # active all day, never idle 30 min
        clock["now"] = start + timedelta(minutes=minutes)
        assert client.get("/").status_code == 200, minutes
    clock["now"] = start + MAX_AGE + timedelta(seconds=1)
    assert client.get("/").status_code == 302                           # 12 hours after the log-in

    login(client, "anna")
    clock["now"] += IDLE
    assert client.get("/").status_code == 200                           # exactly 30 minutes idle: still open
    clock["now"] += IDLE + timedelta(seconds=1)
    assert client.get("/").status_code == 302                           # 30 minutes and a second

    login(client, "anna")
    set_active(session, get_user(session, "anna"), False, actor="root", now=clock["now"])
    session.commit()
    set_active(session, get_user(session, "anna"), True, actor="root", now=clock["now"])
    session.commit()
    assert client.get("/").status_code == 302                           # the lock ended the session for good


def test_a_session_of_an_account_locked_without_ending_it_opens_nothing(app, session, two_kreise):
    """The directory log-in locks an account whose groups no longer grant a role without
    ending its other sessions (``ledger.core.directory``): the account's state is checked on
    every request, so such a session is refused from the next request on."""
    from ledger.core.users import get_user

    client = app.test_client()
    login(client, "anna")
    assert client.get("/r/testland/journal").status_code == 200
    get_user(session, "anna").active = False
    session.commit()
    assert client.get("/r/testland/journal").status_code == 302

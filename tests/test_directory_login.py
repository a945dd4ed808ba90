"""Log-in with the municipality's directory, against a real OpenLDAP server (``tests.slapd``).

The directory's people and groups: dora is in the Sachbearbeitung group of Kreis Testland
(and the canteen group), pia in the Prüfung group (all recipients), fritz in both (the
officer's role wins, with the officer group's recipients only), otto only in the canteen
group, which grants no role here.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from tests import slapd

slapd.require_slapd()

from ledger.core import directory  # noqa: E402
from ledger.core.directory_config import load_directory_config  # noqa: E402
from ledger.core.models import AuditEvent, User  # noqa: E402
from tests.conftest import PASSWORD, add_web_user, login  # noqa: E402

WRONG = "Benutzername oder Passwort ist falsch."
NO_ROLE = "keiner Ihrer Gruppen ist hier eine Rolle zugeordnet"
UNAVAILABLE = "Das Verzeichnis für die Anmeldung ist gerade nicht erreichbar"


def directory_config(tmp_path: Path, monkeypatch, text: str):
    monkeypatch.setenv("INKL_TEST_LDAP_PASSWORD", slapd.SERVICE_PASSWORD)
    path = tmp_path / "inkl.toml"
    path.write_text(text, encoding="utf-8")
    return load_directory_config(path)


@pytest.fixture
def config(slapd_uri, tmp_path, monkeypatch):
    """Search-then-bind with the service account, groups from memberOf."""
    return directory_config(tmp_path, monkeypatch, slapd.config_toml(slapd_uri))


def directory_app(database_url, config):
    from webapp import create_app

    return create_app({"TESTING": True, "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False,
                       "DIRECTORY": config})


@pytest.fixture
def web(database_url, engine, config, kreis):
    """A test client of an app that logs in against the directory; Kreis Testland exists."""
    app = directory_app(database_url, config)
    yield app.test_client()
    app.extensions["inkl_jobs"].shutdown()


def users(session) -> dict[str, User]:
    session.expire_all()
    return {u.username: u for u in session.scalars(select(User))}


def audit_events(session, action: str) -> list[dict]:
    return [json.loads(e.details) for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                           .order_by(AuditEvent.seq))]


def test_a_directory_user_logs_in_with_the_role_and_recipients_of_their_group(web, session, engine):
    response = login(web, "dora", slapd.PASSWORDS["dora"])
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert web.get("/r/testland/journal").status_code == 200          # officer of Kreis Testland
    assert "dora (Sachbearbeitung)" in web.get("/").get_data(as_text=True)
    dora = users(session)["dora"]
    assert (dora.role, [r.key for r in dora.recipients], dora.all_recipients) == ("officer", ["testland"], False)
    assert dora.directory_dn == f"uid=dora,ou=personen,{slapd.SUFFIX}"
    with engine.connect() as conn:                                     # no password of a directory user is stored
        assert conn.execute(sa.text("SELECT password_hash FROM users WHERE username = 'dora'")).scalar_one() is None
    assert audit_events(session, "login_directory") == [
        {"username": "dora", "role": "officer", "recipients": ["testland"], "all_recipients": False}]
    page = web.get("/passwort").get_data(as_text=True)                 # the directory keeps the password
    assert "Dieses Passwort ändern Sie dort" in page and 'name="new"' not in page


def test_groups_of_several_roles_give_the_first_role_with_its_own_recipients(web, session):
    assert login(web, "pia", slapd.PASSWORDS["pia"]).status_code == 302
    assert login(web.application.test_client(), "fritz", slapd.PASSWORDS["fritz"]).status_code == 302
    found = users(session)
    assert (found["pia"].role, found["pia"].all_recipients, found["pia"].recipients) == ("auditor", True, [])
    assert (found["fritz"].role, found["fritz"].all_recipients) == ("officer", False)
    assert [r.key for r in found["fritz"].recipients] == ["testland"]


def test_wrong_password_and_unknown_user_are_refused_alike(web, session):
    for username, password in (("dora", "Falsches-Passwort-2026"), ("niemand", slapd.PASSWORDS["dora"]),
                               ("dora", slapd.PASSWORDS["pia"])):
        response = login(web, username, password)
        assert response.status_code == 401 and WRONG in response.get_data(as_text=True)
    assert web.get("/").status_code == 302
    assert users(session) == {}


def test_a_user_whose_groups_grant_no_role_is_refused_and_audited(web, session):
    response = login(web, "otto", slapd.PASSWORDS["otto"])
    assert response.status_code == 403
    assert NO_ROLE in response.get_data(as_text=True)
    assert web.get("/").status_code == 302
    assert users(session) == {}
    assert audit_events(session, "login_refused") == [{"username": "otto", "reason": "keine Rolle", "locked": False}]


def test_losing_the_role_locks_the_directory_account(database_url, engine, session, kreis, slapd_uri, tmp_path,
                                                     monkeypatch, config):
    """dora logs in, then the mapping no longer maps her group: refused, her account locked
    (its sessions and access tokens end); she stays locked until the administration unlocks."""
    first = directory_app(database_url, config).test_client()
    assert login(first, "dora", slapd.PASSWORDS["dora"]).status_code == 302
    only_auditors = slapd.config_toml(slapd_uri).split("[[directory.groups]]")
    changed = directory_config(tmp_path, monkeypatch, only_auditors[0] + "[[directory.groups]]" + only_auditors[2])
    again = directory_app(database_url, changed).test_client()
    assert login(again, "dora", slapd.PASSWORDS["dora"]).status_code == 403
    assert users(session)["dora"].active is False
    assert first.get("/").status_code == 302                          # the earlier session ended
    assert login(first, "dora", slapd.PASSWORDS["dora"]).status_code == 401   # locked, even with her group back
    assert audit_events(session, "login_refused")[-1]["locked"] is True


@pytest.mark.parametrize("username", ["*)(uid=*", "*", "dora)(objectClass=*", "dora*", "*)(|(uid=*"])
def test_ldap_filter_injection_in_the_user_name_is_refused(web, session, username):
    response = login(web, username, slapd.PASSWORDS["dora"])
    assert response.status_code == 401 and WRONG in response.get_data(as_text=True)
    assert users(session) == {}


def test_the_user_name_reaches_the_filter_only_escaped(config):
    assert directory.user_filter(config, "*)(uid=*") == r"(&(objectClass=inetOrgPerson)(uid=\2a\29\28uid=\2a))"
    with pytest.raises(directory.DirectoryRefused):
        directory.authenticate(config, "*)(uid=*", slapd.PASSWORDS["dora"])


def test_an_empty_password_is_refused_before_any_bind(slapd_uri, tmp_path, monkeypatch):
    """An empty password would be an unauthenticated bind, which the server accepts: refused
    before the directory is even contacted (here: it is down, and the answer is still "refused")."""
    down = directory_config(tmp_path, monkeypatch, slapd.config_toml(f"ldap://127.0.0.1:{slapd.free_port()}"))
    with pytest.raises(directory.DirectoryRefused):
        directory.authenticate(down, "dora", "")
    with pytest.raises(directory.DirectoryUnavailable):
        directory.authenticate(down, "dora", slapd.PASSWORDS["dora"])


def test_a_directory_that_is_down_gives_a_german_message(database_url, engine, kreis, tmp_path, monkeypatch):
    down = directory_config(tmp_path, monkeypatch, slapd.config_toml(f"ldap://127.0.0.1:{slapd.free_port()}"))
    client = directory_app(database_url, down).test_client()
    response = login(client, "dora", slapd.PASSWORDS["dora"])
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)


def test_local_accounts_log_in_first_and_never_fall_through_to_the_directory(web, session):
    add_web_user(session, "admin", "admin")
    add_web_user(session, "pia", "officer")                            # a local pia shadows the directory's
    assert login(web, "admin", PASSWORD).status_code == 302
    assert "admin (Administration)" in web.get("/").get_data(as_text=True)
    other = web.application.test_client()
    assert login(other, "pia", slapd.PASSWORDS["pia"]).status_code == 401
    assert users(session)["pia"].directory_dn is None


def test_a_local_account_without_password_is_not_taken_over_by_the_directory(web, session):
    from ledger.core.users import add_user
    from tests.conftest import NOW

    add_user(session, "dora", "auditor", actor="test", now=NOW)       # a command-line user without password
    session.commit()
    assert login(web, "dora", slapd.PASSWORDS["dora"]).status_code == 401
    dora = users(session)["dora"]
    assert (dora.role, dora.directory_dn) == ("auditor", None)


def test_dn_template_bind_with_groups_searched_by_member(database_url, engine, kreis, slapd_uri, tmp_path,
                                                         monkeypatch, session):
    config = directory_config(tmp_path, monkeypatch, slapd.config_toml(slapd_uri, bind="template",
                                                                        groups_from="member"))
    client = directory_app(database_url, config).test_client()
    assert login(client, "dora", slapd.PASSWORDS["dora"]).status_code == 302
    assert login(client.application.test_client(), "otto", slapd.PASSWORDS["otto"]).status_code == 403
    assert login(client.application.test_client(), "dora", "Falsches-Passwort-2026").status_code == 401
    assert [r.key for r in users(session)["dora"].recipients] == ["testland"]



def test_the_administration_sees_directory_accounts_and_sets_no_password_for_them(web, session, cli):
    add_web_user(session, "admin", "admin")
    assert login(web.application.test_client(), "dora", slapd.PASSWORDS["dora"]).status_code == 302
    assert login(web, "admin", PASSWORD).status_code == 302
    page = web.get("/admin/benutzer").get_data(as_text=True)
    assert "über das Verzeichnis" in page and "Neues Passwort für dora" not in page
    refused = cli("user", "password", "dora", "--password-stdin", input="Lokales-Passwort-2026\n", expect=1)
    assert "meldet sich über das Verzeichnis an" in refused.stderr
    assert users(session)["dora"].password_hash is None


def test_the_audit_log_shows_directory_log_ins_and_refusals_in_german(web, session):
    add_web_user(session, "admin", "admin")
    assert login(web.application.test_client(), "dora", slapd.PASSWORDS["dora"]).status_code == 302
    assert login(web.application.test_client(), "otto", slapd.PASSWORDS["otto"]).status_code == 403
    assert login(web, "admin", PASSWORD).status_code == 302
    page = web.get("/protokoll").get_data(as_text=True)
    assert "Anmeldung über das Verzeichnis" in page and "Anmeldung abgelehnt" in page
    assert "keine Rolle" in page and "Konto gesperrt" in page


@pytest.mark.parametrize("how", ["starttls", "ldaps"])
def test_tls_with_the_directorys_ca_and_never_without_it(database_url, engine, kreis, slapd_server, tmp_path,
                                                         monkeypatch, session, how):
    """StartTLS on ldap:// and ldaps:// verify the server's certificate against ``ca_file``;
    without that CA (the system's CAs do not know the test CA) the log-in cannot proceed."""
    uri = slapd_server.uri if how == "starttls" else slapd_server.ldaps_uri
    starttls = "starttls = true\n" if how == "starttls" else ""
    trusted = directory_config(tmp_path, monkeypatch, slapd.config_toml(
        uri, tls=f'{starttls}ca_file = "{slapd_server.ca_file}"'))
    assert directory.authenticate(trusted, "dora", slapd.PASSWORDS["dora"]).dn.startswith("uid=dora,")
    client = directory_app(database_url, trusted).test_client()
    assert login(client, "dora", slapd.PASSWORDS["dora"]).status_code == 302
    untrusted = directory_config(tmp_path, monkeypatch, slapd.config_toml(uri, tls=starttls))
    with pytest.raises(directory.DirectoryUnavailable):
        directory.authenticate(untrusted, "dora", slapd.PASSWORDS["dora"])
    response = login(directory_app(database_url, untrusted).test_client(), "dora", slapd.PASSWORDS["dora"])
    assert response.status_code == 503 and UNAVAILABLE in response.get_data(as_text=True)

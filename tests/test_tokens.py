"""Personal access tokens of the API (``ledger.core.tokens``) and ``inkl token``: the secret is shown
once and stored only as its SHA-256, revoked and expired tokens and locked users are refused,
creating and revoking are audited, and a user sees and revokes only their own tokens."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from ledger.core.audit import ACTION_LABELS, readable_details
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import ApiToken, AuditEvent
from ledger.core.tokens import (
    LAST_USED_RESOLUTION,
    SECRET_PREFIX,
    TokenRefused,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
    token_state,
)
from ledger.core.users import add_user, set_active
from tests.conftest import NOW


@pytest.fixture
def olga(session, kreis):
    user = add_user(session, "olga", "officer", actor="admin", now=NOW, recipients=(kreis,))
    session.commit()
    return user


def test_the_secret_is_returned_once_and_only_its_hash_is_stored(session, olga):
    new = create_token(session, olga, "  Monatsimport   Finanzverfahren ", actor="olga", now=NOW,
                       expires_on=date(2027, 12, 31))
    session.commit()
    secret = new.secret
    assert secret.startswith(SECRET_PREFIX) and len(secret) == len(SECRET_PREFIX) + 43   # 32 random bytes, base64url
    row = session.scalar(sa.select(ApiToken))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.prefix == secret[:12] and row.name == "Monatsimport Finanzverfahren"
    stored = " ".join(str(value) for value in session.execute(sa.select(ApiToken.__table__)).one())
    assert secret not in stored and secret[12:] not in stored
    other = create_token(session, olga, "zweites", actor="olga", now=NOW)
    assert other.secret != secret and other.token.token_hash != row.token_hash


def test_authenticate_finds_the_token_and_records_its_use_at_most_once_a_minute(session, olga):
    secret = create_token(session, olga, "skript", actor="olga", now=NOW).secret
    session.commit()
    token = authenticate(session, secret, now=NOW)
    assert token.user.username == "olga" and token.last_used_at == NOW
    later = NOW + LAST_USED_RESOLUTION - timedelta(seconds=1)
    assert authenticate(session, secret, now=later).last_used_at == NOW            # not written again so soon
    assert authenticate(session, secret, now=NOW + LAST_USED_RESOLUTION).last_used_at == NOW + LAST_USED_RESOLUTION
    untouched = authenticate(session, secret, now=NOW + timedelta(hours=1), touch=False)
    assert untouched.last_used_at == NOW + LAST_USED_RESOLUTION


@pytest.mark.parametrize("presented", ["", "inkl_", "inkl_" + "A" * 43, "x" * 10_000, None])
def test_unknown_or_malformed_secrets_are_refused(session, olga, presented):
    create_token(session, olga, "skript", actor="olga", now=NOW)
    with pytest.raises(TokenRefused, match="Zugangstoken"):
        authenticate(session, presented, now=NOW)


def test_a_revoked_token_is_refused_and_revoking_twice_is_an_error(session, olga):
    new = create_token(session, olga, "skript", actor="olga", now=NOW)
    revoke_token(session, olga, new.token.id, actor="olga", now=NOW + timedelta(hours=1))
    session.commit()
    with pytest.raises(TokenRefused, match="„skript“ wurde widerrufen"):
        authenticate(session, new.secret, now=NOW + timedelta(hours=2))
    with pytest.raises(LedgerError, match="bereits am 22.11.2026 um 11:00 Uhr widerrufen"):
        revoke_token(session, olga, new.token.id, actor="olga", now=NOW + timedelta(hours=3))
    assert session.get(ApiToken, new.token.id).revoked_at == NOW + timedelta(hours=1)
    assert token_state(new.token, NOW.date()) == "revoked"


def test_a_token_is_valid_through_its_expiry_day_inclusive(session, olga):
    new = create_token(session, olga, "befristet", actor="olga", now=NOW, expires_on=date(2026, 11, 30))
    assert authenticate(session, new.secret, now=datetime(2026, 11, 30, 23, 59)).id == new.token.id
    with pytest.raises(TokenRefused, match="seit dem 01.12.2026 abgelaufen"):
        authenticate(session, new.secret, now=datetime(2026, 12, 1, 0, 0))
    assert token_state(new.token, date(2026, 12, 1)) == "expired"
    with pytest.raises(LedgerError, match="liegt in der Vergangenheit"):
        create_token(session, olga, "zu spät", actor="olga", now=NOW, expires_on=date(2026, 11, 21))


def test_a_locked_user_s_token_is_refused_and_none_is_created_for_them(session, olga):
    secret = create_token(session, olga, "skript", actor="olga", now=NOW).secret
    set_active(session, olga, False, actor="admin", now=NOW)
    with pytest.raises(TokenRefused, match="olga ist gesperrt"):
        authenticate(session, secret, now=NOW)
    with pytest.raises(LedgerError, match="gesperrt"):
        create_token(session, olga, "noch eins", actor="admin", now=NOW)


@pytest.mark.parametrize("name, message", [("   ", "Namen geben"), ("x" * 101, "höchstens 100 Zeichen")])
def test_a_token_needs_a_name_of_at_most_100_characters(session, olga, name, message):
    with pytest.raises(LedgerError, match=message):
        create_token(session, olga, name, actor="olga", now=NOW)


def test_a_user_lists_and_revokes_only_their_own_tokens(session, olga, kreis):
    paul = add_user(session, "paul", "auditor", actor="admin", now=NOW, all_recipients=True)
    first = create_token(session, olga, "erstes", actor="olga", now=NOW).token
    second = create_token(session, olga, "zweites", actor="olga", now=NOW + timedelta(minutes=1)).token
    pauls = create_token(session, paul, "prüfung", actor="paul", now=NOW).token
    assert [t.name for t in list_tokens(session, olga)] == ["zweites", "erstes"]
    assert [t.id for t in list_tokens(session, paul)] == [pauls.id]
    with pytest.raises(NotFound):
        revoke_token(session, olga, pauls.id, actor="olga", now=NOW)
    assert pauls.revoked_at is None and first.revoked_at is None and second.revoked_at is None


def test_creating_and_revoking_are_audited_without_the_secret(session, olga):
    new = create_token(session, olga, "skript", actor="admin", now=NOW, expires_on=date(2027, 1, 31))
    revoke_token(session, olga, new.token.id, actor="olga", now=NOW + timedelta(minutes=5))
    session.commit()
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("token_%"))
                             .order_by(AuditEvent.seq)).all()
    assert [(e.action, e.actor) for e in events] == [("token_create", "admin"), ("token_revoke", "olga")]
    assert all(new.secret not in e.details and new.secret[12:] not in e.details for e in events)
    created = json.loads(events[0].details)
    assert created == {"username": "olga", "token": new.token.id, "name": "skript", "prefix": new.token.prefix,
                       "expires_on": "2027-01-31"}
    assert ACTION_LABELS["token_create"] == "Zugangstoken für Importskripte erstellt"
    assert ACTION_LABELS["token_revoke"] == "Zugangstoken für Importskripte widerrufen"
    assert ("gültig bis", "31.01.2027") in readable_details(events[0].details)
    assert ("Zugangstoken Nr.", str(new.token.id)) in readable_details(events[1].details)


def test_inkl_token_create_list_revoke(cli, session, kreis):
    cli("user", "add", "batch-import", "--role", "officer", "--recipient", "testland", "--no-password")
    created = cli("token", "create", "--user", "batch-import", "--name", "Monatsimport", "--expires", "31.12.2099")
    secret = created.stdout.strip()
    assert secret.startswith("inkl_") and "\n" not in secret                   # stdout: the secret alone
    assert "nur dieses eine Mal angezeigt" in created.stderr and "gültig bis 31.12.2099" in created.stderr
    as_json = json.loads(cli("token", "create", "--user", "batch-import", "--name", "Zweites", "--json").stdout)
    assert as_json["token"].startswith("inkl_") and as_json["state"] == "active" and as_json["expires_on"] is None
    listed = json.loads(cli("token", "list", "--user", "batch-import", "--json").stdout)
    assert [row["name"] for row in listed] == ["Zweites", "Monatsimport"]
    assert all("token" not in row for row in listed) and listed[1]["expires_on"] == "2099-12-31"
    assert listed[1]["prefix"] == secret[:12]
    text = cli("token", "list", "--user", "batch-import").stdout
    assert "Monatsimport" in text and "gültig" in text and "bis 31.12.2099" in text and secret not in text

    revoked = cli("token", "revoke", "--user", "batch-import", str(listed[1]["id"]))
    assert "„Monatsimport“ von batch-import widerrufen" in revoked.stdout
    again = cli("token", "revoke", "--user", "batch-import", str(listed[1]["id"]), expect=1)
    assert "Fehler: Zugangstoken" in again.stderr and "bereits" in again.stderr
    states = {row["name"]: row["state"] for row in json.loads(cli("token", "list", "--user", "batch-import",
                                                                   "--json").stdout)}
    assert states == {"Zweites": "active", "Monatsimport": "revoked"}
    with pytest.raises(TokenRefused):
        authenticate(session, secret, now=datetime.now())
    assert cli("token", "create", "--user", "niemand", "--name", "x", expect=1).stderr.startswith("Fehler: Benutzer")
    assert "TT.MM.JJJJ" in cli("token", "create", "--user", "batch-import", "--name", "x", "--expires", "morgen",
                               expect=2).stderr

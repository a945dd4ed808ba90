"""Personal access tokens of the JSON API (``/api/v1``) for import scripts.

A token acts for one user, with that user's role and recipients (``ledger.core.users.can_read``
and ``can_write`` decide, exactly as for the user's web log-in): an officer's token imports into
the officer's recipients, an auditor's token only reads. The secret is shown once, when the
token is created (``create_token`` returns it); the database keeps only its SHA-256
(``ApiToken.token_hash``, hex) and its first ``PREFIX_LENGTH`` characters (``prefix``), so a
list can tell tokens apart without revealing them. A secret is ``SECRET_PREFIX`` followed by
``secrets.token_urlsafe(SECRET_BYTES)`` (256 random bits): the prefix lets secret scanners and
people recognise an inkl token.

A token is never deleted: revoking it sets ``revoked_at`` once (``revoke_token``), and the audit
log names it by its id. ``authenticate`` finds a token by the hash of the presented secret (a
unique index; the stored hash is then compared in constant time) and refuses a revoked or
expired token and a locked user with ``TokenRefused`` (German message). It records
``last_used_at`` at most once per ``LAST_USED_RESOLUTION``, so reading the API does not take
the database's write lock on every request.

Creating and revoking are audited (``token_create``, ``token_revoke``), with the token's id, name
and prefix, never the secret.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import ApiToken, User

#: What every secret starts with.
SECRET_PREFIX = "inkl_"
#: Random bytes of a secret (``secrets.token_urlsafe``: 43 characters).
SECRET_BYTES = 32
#: Characters of the secret kept in ``ApiToken.prefix`` (the column's size).
PREFIX_LENGTH = 12
#: The longest name of a token (the column's size).
MAX_NAME = 100
#: A presented secret longer than this is refused without a database look-up.
MAX_SECRET = 200
#: ``last_used_at`` is updated when it is older than this (or unset).
LAST_USED_RESOLUTION = timedelta(minutes=1)

ACTIVE, REVOKED, EXPIRED = "active", "revoked", "expired"
#: German labels of a token's state (``token_state``).
STATE_LABELS = {ACTIVE: "gültig", REVOKED: "widerrufen", EXPIRED: "abgelaufen"}


class TokenRefused(LedgerError):
    """A presented secret that does not authenticate: unknown, revoked, expired, or its user locked."""


@dataclass(frozen=True)
class NewToken:
    """A token just created and its ``secret`` (str), which exists nowhere else: show it once."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    """SHA-256 of ``secret`` (UTF-8), as 64 lower-case hex digits: what ``ApiToken.token_hash`` holds."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User, name: str, *, actor: str, now: datetime,
                 expires_on: date | None = None) -> NewToken:
    """Create a token named ``name`` for ``user``, valid through ``expires_on`` (inclusive; None:
    until revoked). Returns it with its secret. Audited (``token_create``, without the secret).

    Raises LedgerError for an empty name or one over ``MAX_NAME`` characters, an expiry date
    before ``now``'s day, or a locked user.
    """
    name = " ".join((name or "").split())
    if not name:
        raise LedgerError("Bitte dem Zugangstoken einen Namen geben (z. B. wofür das Skript es nutzt)")
    if len(name) > MAX_NAME:
        raise LedgerError(f"Der Name des Zugangstokens ist zu lang (höchstens {MAX_NAME} Zeichen)")
    if expires_on is not None and expires_on < now.date():
        raise LedgerError(f"Das Ablaufdatum {expires_on:%d.%m.%Y} liegt in der Vergangenheit")
    if not user.active:
        raise LedgerError(f"Benutzer {user.username} ist gesperrt; für ihn wird kein Zugangstoken erstellt")
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_secret(secret), prefix=secret[:PREFIX_LENGTH],
                     created_at=now, expires_on=expires_on)
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action="token_create", now=now,
                 details={"username": user.username, "token": token.id, "name": name, "prefix": token.prefix,
                          "expires_on": None if expires_on is None else expires_on.isoformat()})
    return NewToken(token, secret)


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """``user``'s tokens, revoked and expired ones included, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def get_token(session: Session, user: User, token_id: int) -> ApiToken:
    """``user``'s token ``token_id``. Raises NotFound, also for another user's token."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"Zugangstoken Nr. {token_id} von {user.username} nicht gefunden")
    return token


def revoke_token(session: Session, user: User, token_id: int, *, actor: str, now: datetime) -> ApiToken:
    """Revoke ``user``'s token ``token_id`` now: it authenticates no more. Audited (``token_revoke``).

    Raises NotFound (not ``user``'s token) or LedgerError if it is revoked already (the first
    revocation's time stays).
    """
    token = get_token(session, user, token_id)
    if token.revoked_at is not None:
        raise LedgerError(f"Zugangstoken Nr. {token.id} „{token.name}“ wurde bereits am "
                          f"{token.revoked_at:%d.%m.%Y um %H:%M} Uhr widerrufen")
    token.revoked_at = now
    session.flush()
    audit.record(session, actor=actor, action="token_revoke", now=now,
                 details={"username": user.username, "token": token.id, "name": token.name, "prefix": token.prefix})
    return token


def token_state(token: ApiToken, today: date) -> str:
    """``REVOKED`` once revoked, ``EXPIRED`` after its ``expires_on`` day, else ``ACTIVE``."""
    if token.revoked_at is not None:
        return REVOKED
    if token.expires_on is not None and today > token.expires_on:
        return EXPIRED
    return ACTIVE


def authenticate(session: Session, secret: str, *, now: datetime, touch: bool = True) -> ApiToken:
    """The token whose secret is ``secret``, if it may act now; its ``user`` is loaded.

    Looks the token up by the SHA-256 of ``secret`` and compares the stored hash in constant
    time (``hmac.compare_digest``). With ``touch``, sets ``last_used_at`` to ``now`` when
    ``needs_touch`` (flushed; the caller commits); without, writes nothing. Raises
    TokenRefused (German) for an unknown secret, a revoked or expired token, or a locked user.
    """
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET:
        raise TokenRefused("Zugangstoken fehlt oder ist ungültig")
    digest = hash_secret(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise TokenRefused("Zugangstoken ist ungültig")
    state = token_state(token, now.date())
    if state == REVOKED:
        raise TokenRefused(f"Zugangstoken „{token.name}“ wurde widerrufen")
    if state == EXPIRED:
        raise TokenRefused(f"Zugangstoken „{token.name}“ ist seit dem {token.expires_on + timedelta(days=1):%d.%m.%Y} "
                           "abgelaufen")
    if not token.user.active:
        raise TokenRefused(f"Benutzer {token.user.username} ist gesperrt")
    if touch and needs_touch(token, now):
        token.last_used_at = now
        session.flush()
    return token


def needs_touch(token: ApiToken, now: datetime) -> bool:
    """Whether ``authenticate`` at ``now`` writes ``last_used_at``: it is unset or older than
    ``LAST_USED_RESOLUTION`` (so a caller that reads first opens a write transaction only then)."""
    return token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION

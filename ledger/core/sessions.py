"""Log-in sessions of the web UI, kept in the database so that they can end.

A session is a random token (``secrets.token_urlsafe``, 256 bits) handed to the browser inside
the signed session cookie; the database keeps only its SHA-256 (``LoginSession``). A session
ends at log-out, when the user's password is set or the account is locked (every session of
the user), after ``IDLE`` without a request and at the latest ``MAX_AGE`` after the log-in. A
cookie copied before any of these no longer opens anything (OWASP ASVS 3.3.1–3.3.4).

The database is written at log-in, log-out, a new password and a lock, never per request: the
time of the last request travels in the signed cookie (the web UI's), so that pages stay
readers while an import writes (SQLite has one writer at a time).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.core.models import LoginSession, User

#: A session ends after this long without a request (BSI IT-Grundschutz ORP.4: screens lock
#: after 15 minutes; a finance officer's form may take longer to fill in).
IDLE = timedelta(minutes=30)
#: A session ends this long after its log-in, however active (one working day).
MAX_AGE = timedelta(hours=12)


@dataclass(frozen=True)
class Started:
    """A new session: the ``token`` for the cookie (shown once, never stored) and its row."""

    token: str
    session: LoginSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(db: Session, user: User, *, now: datetime) -> Started:
    """Open a session for ``user`` at ``now``; the caller commits."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(user_id=user.id, token_sha256=_digest(token), created_at=now, last_seen_at=now)
    db.add(row)
    db.flush()
    return Started(token, row)


def find_session(db: Session, user_id: int, token: str) -> tuple[User, LoginSession] | None:
    """The user ``user_id`` and its session with ``token`` if that has not ended, else None;
    one query (every request of a logged-in user asks). Reads only."""
    found = db.execute(select(User, LoginSession).join(LoginSession, LoginSession.user_id == User.id)
                       .where(LoginSession.token_sha256 == _digest(token), User.id == user_id)).first()
    if found is None or found[1].ended_at is not None:
        return None
    return found[0], found[1]


def expired(row: LoginSession, last_request: datetime, now: datetime) -> bool:
    """Whether the session ``row``, last used at ``last_request``, was idle for longer than
    ``IDLE`` or began more than ``MAX_AGE`` before ``now``."""
    return now - last_request > IDLE or now - row.created_at > MAX_AGE


def end_session(db: Session, user_id: int, token: str, *, now: datetime, reason: str = "logout") -> None:
    """End the session of ``user_id`` with ``token`` (log-out); no-op if it ended already."""
    db.execute(update(LoginSession).where(LoginSession.token_sha256 == _digest(token),
                                          LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
               .values(ended_at=now, end_reason=reason))


def end_user_sessions(db: Session, user: User, *, now: datetime, reason: str) -> int:
    """End every live session of ``user`` (password set, account locked); the number ended."""
    result = db.execute(update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
                        .values(ended_at=now, end_reason=reason))
    return result.rowcount or 0

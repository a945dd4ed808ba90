"""Users and their roles: ``officer`` (keeps the books), ``auditor`` (reads), ``admin``.

Passwords and the web log-in come later; here a user is a name with a role, so that
the core can refuse what a role may not do (re-opening a closed school year needs an
admin) and the audit log names who did what.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import audit
from ledger.errors import LedgerError, NotFound
from ledger.models import User

ROLES = ("officer", "auditor", "admin")
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,80}$")


def add_user(session: Session, username: str, role: str, *, actor: str, now: datetime) -> User:
    """Create a user. Raises LedgerError for an invalid name or role, or a name taken."""
    if not _USERNAME.match(username):
        raise LedgerError(f"ungültiger Benutzername {username!r} (2–80 Zeichen aus A–Z, a–z, 0–9, . _ @ -)")
    if role not in ROLES:
        raise LedgerError(f"unbekannte Rolle {role!r}: erlaubt sind {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.username == username)):
        raise LedgerError(f"Benutzer {username!r} existiert bereits")
    user = User(username=username, role=role, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user_add", now=now, details={"username": username, "role": role})
    return user


def get_user(session: Session, username: str) -> User:
    """The user ``username``. Raises NotFound."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"Benutzer {username!r} nicht gefunden (anlegen mit 'inkl user add')")
    return user


def list_users(session: Session) -> list[User]:
    """All users, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def require_role(user: User, *roles: str) -> None:
    """Raise LedgerError unless ``user`` has one of ``roles``."""
    if user.role not in roles:
        raise LedgerError(f"{user.username} ({user.role}) darf das nicht; erforderlich: {' oder '.join(roles)}")

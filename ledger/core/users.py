"""Users, their roles, passwords and the recipients they may see.

Roles: ``officer`` reads and writes the books of the recipients assigned to them;
``auditor`` reads the assigned recipients (or all, with ``all_recipients``) and never
writes; ``ministry`` (the Land: Ministerium or Bezirksregierung) reads every recipient and the
overview across them (``ledger.reports.overview``) and never writes; ``admin`` manages users
and rule packs, re-opens closed years and may read every recipient. The core refuses what a role may not do (``require_role``) and the audit log
names who did what. Passwords are hashed with Argon2id (argon2-cffi); a password needs
at least ``MIN_PASSWORD`` characters and must not be easy to guess (``check_strength``:
zxcvbn's estimate, which knows common passwords, dictionary words, keyboard patterns and
dates, and is given the user's name and the application's own words; OWASP ASVS 2.1.7). Directory accounts (``User.directory_dn``) keep no
password; the directory checks it and sets their role (``ledger.core.directory``).
"""
from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import Recipient, User
from ledger.core.sessions import end_user_sessions

ROLES = ("officer", "auditor", "ministry", "admin")
ROLE_LABELS = {"officer": "Sachbearbeitung", "auditor": "Prüfung", "ministry": "Land (Ministerium, Bezirksregierung)",
               "admin": "Administration"}
MIN_PASSWORD = 12
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,80}$")
_HASHER = PasswordHasher()


def add_user(session: Session, username: str, role: str, *, actor: str, now: datetime, password: str | None = None,
             recipients: tuple[Recipient, ...] = (), all_recipients: bool = False,
             initial_password: bool = True) -> User:
    """Create a user, optionally with a password and the recipients they work on.

    ``all_recipients`` (auditors only) lets the user read every recipient. A ``password`` set
    by another person than the user is an initial password (``initial_password``, default):
    the user must change it at the first log-in (``User.password_change_required``); only the
    demo's log-ins are created without. Raises
    LedgerError for an invalid name or role, a name taken, a password that is too short,
    or ``all_recipients`` for another role than auditor. Audited (without the password).
    """
    if not valid_username(username):
        raise LedgerError(f"ungültiger Benutzername {username!r} (2–80 Zeichen aus A–Z, a–z, 0–9, . _ @ -)")
    if role not in ROLES:
        raise LedgerError(f"unbekannte Rolle {role!r}: erlaubt sind {', '.join(ROLES)}")
    if all_recipients and role != "auditor":
        raise LedgerError("Lesezugriff auf alle Empfänger gibt es nur für die Prüfung (auditor)")
    if session.scalar(select(User).where(User.username == username)):
        raise LedgerError(f"Benutzer {username!r} existiert bereits")
    user = User(username=username, role=role, created_at=now, all_recipients=all_recipients, active=True,
                password_hash=None if password is None else _hash(password, username, recipients),
                recipients=list(recipients),
                password_change_required=password is not None and initial_password and actor != username)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user_add", now=now,
                 details={"username": username, "role": role, "recipients": [r.key for r in recipients],
                          "all_recipients": all_recipients, "password_set": password is not None})
    return user


def valid_username(username: str) -> bool:
    """Whether ``username`` is a valid user name: 2–80 characters of A–Z, a–z, 0–9, ``. _ @ -``."""
    return bool(_USERNAME.match(username))


def set_password(session: Session, user: User, password: str, *, actor: str, now: datetime) -> None:
    """Replace ``user``'s password (hashed) and end all of ``user``'s log-in sessions. Set by another person (``actor``, e.g. a reset by
    the administration), it is an initial password the user must change at the next log-in;
    set by the user, that requirement ends. Raises LedgerError if it is too short or ``user``
    is a directory account (its password is the directory's and never stored here). Audited."""
    if user.directory_dn is not None:
        raise LedgerError(f"{user.username} meldet sich über das Verzeichnis an; das Passwort wird dort geändert")
    user.password_hash = _hash(password, user.username, user.recipients)
    user.password_change_required = actor != user.username
    end_user_sessions(session, user, now=now, reason="password")
    session.flush()
    audit.record(session, actor=actor, action="user_password", now=now, details={"username": user.username})


def set_active(session: Session, user: User, active: bool, *, actor: str, now: datetime) -> None:
    """Lock (``active=False``, ending all of ``user``'s log-in sessions) or unlock ``user``; a
    locked user cannot log in. Audited.
    Raises LedgerError if ``actor`` would lock themselves out."""
    if not active and user.username == actor:
        raise LedgerError("das eigene Konto kann nicht gesperrt werden")
    user.active = active
    if not active:
        end_user_sessions(session, user, now=now, reason="locked")
    session.flush()
    audit.record(session, actor=actor, action="user_unlock" if active else "user_lock", now=now,
                 details={"username": user.username})


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s password. False for a user without password or inactive,
    after the same time a wrong password takes (``spend_check_time``)."""
    if not user.active or not user.password_hash:
        spend_check_time(password)
        return False
    try:
        return _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def assign_recipient(session: Session, user: User, recipient: Recipient, *, actor: str, now: datetime) -> None:
    """Let ``user`` work on ``recipient`` (officers write, auditors read). Audited; no-op if assigned."""
    if recipient in user.recipients:
        return
    user.recipients.append(recipient)
    session.flush()
    audit.record(session, actor=actor, action="user_assign", now=now, recipient=recipient,
                 details={"username": user.username, "recipient": recipient.key})


def reads_all(user: User) -> bool:
    """Whether ``user`` may see every recipient's books: an admin, the Land (``ministry``), or an
    auditor with ``all_recipients``; False for a locked user."""
    return user.active and (user.role in ("admin", "ministry") or user.all_recipients)


def can_read(user: User, recipient: Recipient) -> bool:
    """Whether ``user`` may see ``recipient``'s books: assigned, or one who reads all (``reads_all``)."""
    return reads_recipient(user, recipient.id)


def reads_recipient(user: User, recipient_id: int) -> bool:
    """``can_read`` of the recipient with id ``recipient_id``."""
    return user.active and (reads_all(user) or any(assigned.id == recipient_id for assigned in user.recipients))


def can_write(user: User, recipient: Recipient) -> bool:
    """Whether ``user`` may write ``recipient``'s books: an active officer assigned to it."""
    return user.active and user.role == "officer" and recipient in user.recipients


def readable_recipients(session: Session, user: User) -> list[Recipient]:
    """The recipients ``user`` may see, by key."""
    if not user.active:
        return []
    if reads_all(user):
        return list(session.scalars(select(Recipient).order_by(Recipient.key)))
    return list(user.recipients)


def _hash(password: str, username: str, recipients=()) -> str:
    check_strength(password, username, [word for r in recipients for word in (r.key, *r.name.split())])
    return _HASHER.hash(password)


#: zxcvbn's score a password needs (0–4; 3: about 10^8 guesses, "safely unguessable" against
#: online attacks and moderately against an offline attack on a slow hash such as Argon2id).
MIN_STRENGTH = 3
#: Words of this application an attacker would try first; the user's name is added.
CONTEXT_WORDS = ("inklusionspauschale", "inklusion", "pauschale", "schulbegleitung", "schulassistenz",
                 "kreis", "stadt", "nrw", "passwort", "password", "kennwort", "ledger", "inkl")


def check_strength(password: str, username: str = "", words: list[str] = ()) -> None:
    """Raise LedgerError unless ``password`` has at least ``MIN_PASSWORD`` characters and a
    zxcvbn score of ``MIN_STRENGTH``, with ``CONTEXT_WORDS``, the user's name and ``words`` (the
    names of the user's recipients) as words an attacker knows (so ``passwort1234``,
    ``aaaaaaaaaaaa``, ``Inklusionspauschale1`` or ``Musterhausen2026`` fail)."""
    if len(password) < MIN_PASSWORD:
        raise LedgerError(f"das Passwort braucht mindestens {MIN_PASSWORD} Zeichen")
    from zxcvbn import zxcvbn  # here, not at the top: its word lists cost 13 MB in every process that imports users

    context = [*CONTEXT_WORDS, *(part for part in re.split(r"[._@-]", username.lower()) if part),
               *(word.lower() for word in words if len(word) > 2)]
    if zxcvbn(password[:100], user_inputs=context)["score"] < MIN_STRENGTH:
        raise LedgerError("das Passwort ist zu leicht zu erraten (ein häufiges Passwort, ein Wort mit Zahlen, ein "
                          "Muster oder der Benutzername); bitte ein längeres, weniger vorhersehbares wählen, "
                          "z. B. mehrere unzusammenhängende Wörter")


#: A hash to verify against when a user is unknown, so that a log-in takes as long for an
#: unknown name as for a wrong password (no user enumeration by timing). Stored, not computed
#: at import: Argon2id takes 64 MiB while hashing, which every process importing this module
#: (an import's peak memory among them) would pay. Its parameters are ``_HASHER``'s
#: (tests/test_auth.py checks that they stay so).
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$3W88tkZzJ6zTbNu8PBRmrA$1VVPV5KgBlNcKx+F2v1Fg3tcbGosEgfhuM2lpsoO7RE"


def spend_check_time(password: str) -> None:
    """Verify ``password`` against a dummy hash and discard the result: call it where a log-in
    fails before any password was verified (unknown user, locked or password-less account)."""
    try:
        _HASHER.verify(_DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


def get_user(session: Session, username: str) -> User:
    """The user ``username``. Raises NotFound."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"Benutzer {username!r} nicht gefunden (zuerst von der Administration anlegen lassen)")
    return user


def list_users(session: Session) -> list[User]:
    """All users, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def require_role(user: User, *roles: str) -> None:
    """Raise LedgerError unless ``user`` has one of ``roles``."""
    if user.role not in roles:
        raise LedgerError(f"{user.username} ({user.role}) darf das nicht; erforderlich: {' oder '.join(roles)}")

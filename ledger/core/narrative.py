"""The Sachbericht of a school year: the officer's account in words of what the grant was used for.

ANBest-G NRW, Nachweis der Verwendung: the proof of use consists of the numerical
statement and a Sachbericht. It is stored in versions (``narrative_reports``, append-only,
migration 0014): every save that changes the text is a new version with who wrote it and
when; the latest version is the Sachbericht, the earlier ones stay so an auditor can see
how it came about. The statement (``ledger.reports.statement``) prints the latest one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import NarrativeVersion, Recipient, User
from ledger.core.periods import closed_years
from ledger.core.posting import lock_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import require_role

@dataclass(frozen=True)
class NarrativeReport:
    """The Sachbericht of a school year as the officer wrote it (ANBest-G NRW, Nachweis der Verwendung: what was
    done with the grant, in words): the text, who wrote it and when (naive local time)."""

    text: str
    written_by: str
    written_at: datetime


#: The longest Sachbericht accepted, in characters (about eight pages of the statement).
MAX_LENGTH = 20_000
#: Control characters allowed in the text: line break and tab.
ALLOWED_CONTROLS = frozenset("\n\t")


def write_narrative(session: Session, recipient: Recipient, school_year: SchoolYear, text: str, *,
                    user: User, now: datetime) -> NarrativeReport | None:
    """Save ``text`` as the new version of ``recipient``'s Sachbericht for ``school_year``.

    Line breaks are normalised (``\\r\\n`` and ``\\r`` become ``\\n``) and trailing white space
    of the whole text is removed. Returns the new version as a ``NarrativeReport`` (written, not committed, audited
    as ``narrative_write`` with its version number, length and SHA-256), or None when the text
    equals the current version (nothing is written).

    Raises LedgerError (German) unless ``user`` is an officer or admin; for an empty text, a
    text longer than ``MAX_LENGTH`` characters or holding control characters other than
    line break and tab; and in a closed school year (its statement is final; an admin
    re-opens the year first).
    """
    require_role(user, "officer", "admin")
    cleaned = clean_text(text)
    lock_recipient(session, recipient)  # two officers saving at once: versions in order
    if str(school_year) in closed_years(session, recipient):
        raise LedgerError(f"Schuljahr {school_year} ist abgeschlossen; der Sachbericht ist nicht mehr änderbar")
    current = _latest(session, recipient, school_year)
    if current is not None and current.text == cleaned:
        return None
    version = NarrativeVersion(recipient_id=recipient.id, school_year=str(school_year), text=cleaned,
                               written_by=user.username, written_at=now)
    session.add(version)
    session.flush()
    audit.record(session, actor=user.username, action="narrative_write", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "version": count_versions(session, recipient, school_year),
                          "characters": len(cleaned), "sha256": hashlib.sha256(cleaned.encode()).hexdigest()})
    return _report(version)


def clean_text(text: str) -> str:
    """``text`` as it is stored: line breaks as ``\\n``, no trailing white space.

    Raises LedgerError (German) if it is empty, longer than ``MAX_LENGTH`` characters or holds
    a control character other than line break and tab (named by its code, e.g. U+0007)."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if not cleaned.strip():
        raise LedgerError("Der Sachbericht ist leer")
    if len(cleaned) > MAX_LENGTH:
        raise LedgerError(f"Der Sachbericht ist zu lang: {_thousands(len(cleaned))} Zeichen, "
                          f"höchstens {_thousands(MAX_LENGTH)}")
    bad = sorted({c for c in cleaned if (ord(c) < 32 or 127 <= ord(c) < 160) and c not in ALLOWED_CONTROLS})
    if bad:
        raise LedgerError("Der Sachbericht enthält Steuerzeichen: " + ", ".join(f"U+{ord(c):04X}" for c in bad))
    return cleaned


def _thousands(number: int) -> str:
    """``20001`` → ``"20.001"``."""
    return f"{number:,}".replace(",", ".")


def current_narrative(session: Session, recipient: Recipient, school_year: SchoolYear) -> NarrativeReport | None:
    """The Sachbericht in force for ``recipient``'s ``school_year``: its latest version, or None."""
    latest = _latest(session, recipient, school_year)
    return None if latest is None else _report(latest)


def narrative_history(session: Session, recipient: Recipient, school_year: SchoolYear) -> list[NarrativeReport]:
    """Every version of the Sachbericht for ``recipient``'s ``school_year``, newest first."""
    return [_report(v) for v in session.scalars(_versions(recipient, school_year).order_by(NarrativeVersion.id.desc()))]


def count_versions(session: Session, recipient: Recipient, school_year: SchoolYear) -> int:
    """How many versions of the Sachbericht for ``recipient``'s ``school_year`` are stored."""
    return session.scalar(select(func.count()).select_from(_versions(recipient, school_year).subquery()))


def _report(version: NarrativeVersion) -> NarrativeReport:
    return NarrativeReport(version.text, version.written_by, version.written_at)


def _latest(session: Session, recipient: Recipient, school_year: SchoolYear) -> NarrativeVersion | None:
    return session.scalars(_versions(recipient, school_year).order_by(NarrativeVersion.id.desc()).limit(1)).first()


def _versions(recipient: Recipient, school_year: SchoolYear):
    return select(NarrativeVersion).where(NarrativeVersion.recipient_id == recipient.id,
                                          NarrativeVersion.school_year == str(school_year))

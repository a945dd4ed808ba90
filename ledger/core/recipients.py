"""Recipients and their charts of accounts."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.bank import checked_iban
from ledger.core.chart import DEFAULT_CHART
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import ACCOUNT_TYPES, RECIPIENT_KINDS, Account, Recipient

_KEY = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")


def valid_key(key: str) -> bool:
    """Whether ``key`` can be a recipient's key: 2–40 characters of ``a-z0-9-``, not starting with ``-``."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def add_recipient(session: Session, key: str, name: str, kind: str, *, actor: str, now: datetime) -> Recipient:
    """Create a recipient with the default NKF chart of accounts (``ledger.core.chart``).

    Args:
        key: lower-case identifier, 2–40 characters of ``a-z0-9-`` (``rhein-sieg``).
        name: official name ("Rhein-Sieg-Kreis").
        kind: ``kreis``, ``stadt`` (kreisfreie Stadt) or ``gemeinde`` (mit eigenem Jugendamt).
        actor: who creates it (audit log); now: creation time.
    Raises:
        LedgerError: invalid key or kind, or the key exists already.
    """
    if not valid_key(key):
        raise LedgerError(f"ungültiger Schlüssel {key!r}: 2–40 Zeichen aus a–z, 0–9 und '-'")
    if kind not in RECIPIENT_KINDS:
        raise LedgerError(f"unbekannte Art {kind!r}: erlaubt sind {', '.join(RECIPIENT_KINDS)}")
    if session.scalar(select(Recipient).where(Recipient.key == key)):
        raise LedgerError(f"Empfänger {key!r} existiert bereits")
    recipient = Recipient(key=key, name=name.strip(), kind=kind, created_at=now)
    session.add(recipient)
    for account in DEFAULT_CHART:
        session.add(Account(recipient=recipient, **account._asdict()))
    session.flush()
    audit.record(session, actor=actor, action="recipient_add", now=now, recipient=recipient,
                 details={"key": key, "name": recipient.name, "kind": kind})
    return recipient


def get_recipient(session: Session, key: str) -> Recipient:
    """The recipient with ``key``. Raises NotFound."""
    recipient = session.scalar(select(Recipient).where(Recipient.key == key))
    if recipient is None:
        raise NotFound(f"Empfänger {key!r} nicht gefunden")
    return recipient


def list_recipients(session: Session) -> list[Recipient]:
    """All recipients, ordered by name."""
    return list(session.scalars(select(Recipient).order_by(Recipient.name)))


def add_account(
    session: Session, recipient: Recipient, number: str, name: str, type_: str,
    category: str | None = None, known_categories: frozenset[str] | None = None, *, actor: str, now: datetime,
    iban: str | None = None,
) -> Account:
    """Add an account to a recipient's chart.

    ``category`` (default category of expense postings) is only allowed on expense
    accounts and must be one of ``known_categories`` (the rule packs' ids). ``iban`` (any
    spacing, stored compact): the IBAN of a bank account, only on asset accounts and
    linked to no other account (``ledger.core.bank.checked_iban``), so that a bank
    statement naming it finds the account.
    Raises LedgerError for a duplicate number, an unknown type or category, or an IBAN
    refused by ``checked_iban``.
    """
    if type_ not in ACCOUNT_TYPES:
        raise LedgerError(f"unbekannte Kontoart {type_!r}: erlaubt sind {', '.join(ACCOUNT_TYPES)}")
    if not re.fullmatch(r"\d{1,20}", number):
        raise LedgerError(f"ungültige Kontonummer {number!r}: nur Ziffern")
    if category is not None:
        if type_ != "expense":
            raise LedgerError("eine Kategorie ist nur für Aufwandskonten (expense) zulässig")
        if known_categories is not None and category not in known_categories:
            raise LedgerError(f"unbekannte Kategorie {category!r}")
    if find_account(session, recipient, number) is not None:
        raise LedgerError(f"Konto {number} existiert bei {recipient.key} bereits")
    compact = None if iban is None or not iban.strip() else checked_iban(
        session, iban, account_type=type_, account_label=f"{number} {name.strip()}")
    account = Account(recipient=recipient, number=number, name=name.strip(), type=type_, category=category,
                      iban=compact)
    session.add(account)
    session.flush()
    details = {"number": number, "name": account.name, "type": type_, "category": category}
    if compact is not None:
        details["iban"] = compact
    audit.record(session, actor=actor, action="account_add", now=now, recipient=recipient, details=details)
    return account


def find_account(session: Session, recipient: Recipient, number: str) -> Account | None:
    """The recipient's account with ``number``, or None."""
    return session.scalar(
        select(Account).where(Account.recipient_id == recipient.id, Account.number == number)
    )


def role_account(session: Session, recipient: Recipient, role: str) -> Account:
    """The recipient's account with ``role`` (bank, grant_revenue, …). Raises NotFound."""
    account = session.scalar(
        select(Account).where(Account.recipient_id == recipient.id, Account.role == role)
    )
    if account is None:
        raise NotFound(f"{recipient.key}: kein Konto mit der Rolle {role!r}")
    return account

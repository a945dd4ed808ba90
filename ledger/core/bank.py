"""Bank accounts of the chart and their IBANs.

A bank statement (camt.053) names the account it reports by IBAN; the ledger finds the
account of the chart that carries that IBAN (``account_for_iban``). An IBAN is checked
with schwifty (country format and ISO 7064 check digits, no home-made check) and stored
compact and upper case; it belongs to at most one account of all recipients (the
database's unique index ``uq_account_iban``, migration 0016).
"""
from __future__ import annotations

from datetime import datetime

import schwifty
from schwifty import exceptions as iban_errors
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import Account, Recipient


#: Why schwifty refuses an IBAN, in German, by its exception (the first that matches).
_REASONS = (
    (iban_errors.InvalidCountryCode, "unbekanntes Länderkennzeichen"),
    (iban_errors.InvalidLength, "falsche Länge für das Land"),
    (iban_errors.InvalidStructure, "Aufbau stimmt nicht: Länderkennzeichen, zwei Prüfziffern, Kontokennung"),
    (iban_errors.InvalidChecksumDigits, "Prüfziffern stimmen nicht"),
    (iban_errors.InvalidBBANChecksum, "Prüfziffer der Kontonummer stimmt nicht"),
    (iban_errors.InvalidBankCode, "unbekannte Bankleitzahl"),
)


def normalise_iban(text: str) -> str:
    """``"DE59 3005 0000 0001 6835 15"`` → ``"DE59300500000001683515"``.

    Raises LedgerError (German) naming the text and why it is no valid IBAN, e.g.
    ``ungültige IBAN 'DE00 3005 0000 0001 6835 15' (Prüfziffern stimmen nicht)``.
    """
    try:
        return schwifty.IBAN(text.strip()).compact
    except iban_errors.SchwiftyException as exc:
        reason = next((german for error, german in _REASONS if isinstance(exc, error)), "keine gültige IBAN")
        raise LedgerError(f"ungültige IBAN {text.strip()!r} ({reason})") from None


def format_iban(iban: str) -> str:
    """A stored IBAN in groups of four, as printed: ``"DE59 3005 0000 0001 6835 15"``."""
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def checked_iban(session: Session, iban: str, *, account_type: str, account_label: str,
                 account_id: int | None = None) -> str:
    """``iban`` (any spacing) compact, if it may be linked to the account ``account_label``
    of type ``account_type`` (the account ``account_id``, None for one not yet stored).

    Raises LedgerError (German) for an invalid IBAN, an account that is not an asset
    account, or an IBAN already linked to another account of any recipient.
    """
    if account_type != "asset":
        raise LedgerError(f"Konto {account_label} ist kein Vermögenskonto; nur Bankkonten haben eine IBAN")
    compact = normalise_iban(iban)
    holder = session.scalar(select(Account).where(Account.iban == compact, Account.id != account_id))
    if holder is not None:
        raise LedgerError(f"die IBAN {format_iban(compact)} gehört bereits zu Konto {holder.label} "
                          f"({holder.recipient.name})")
    return compact


def set_account_iban(session: Session, recipient: Recipient, number: str, iban: str | None, *,
                     actor: str, now: datetime) -> Account:
    """Link the asset account ``number`` of ``recipient``'s chart to ``iban`` (any spacing),
    or unlink it with None; audited as ``account_iban``.

    Raises NotFound for an unknown account, LedgerError for an invalid IBAN, an account
    that is not an asset account, or an IBAN already linked to another account.
    """
    account = session.scalar(select(Account).where(Account.recipient_id == recipient.id, Account.number == number))
    if account is None:
        raise NotFound(f"Konto {number} gibt es im Kontenplan von {recipient.name} nicht")
    compact = None if iban is None or not iban.strip() else checked_iban(
        session, iban, account_type=account.type, account_label=account.label, account_id=account.id)
    if account.iban == compact:
        return account
    previous = account.iban
    account.iban = compact
    session.flush()
    audit.record(session, actor=actor, action="account_iban", now=now, recipient=recipient,
                 details={"number": number, "iban": compact, "previous": previous})
    return account


def account_for_iban(session: Session, iban: str) -> Account | None:
    """The account (of any recipient) linked to ``iban`` (compact or spaced), or None."""
    compact = iban.replace(" ", "").upper()
    return session.scalar(select(Account).where(Account.iban == compact))

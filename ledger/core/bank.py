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
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import Account, Recipient


def normalise_iban(text: str) -> str:
    """``"DE59 3005 0000 0001 6835 15"`` → ``"DE59300500000001683515"``.

    Raises LedgerError (German) naming the text if it is no valid IBAN.
    """
    try:
        return schwifty.IBAN(text.strip()).compact
    except SchwiftyException as exc:
        raise LedgerError(f"ungültige IBAN {text.strip()!r} ({exc})") from None


def format_iban(iban: str) -> str:
    """A stored IBAN in groups of four, as printed: ``"DE59 3005 0000 0001 6835 15"``."""
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


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
    compact = None if iban is None or not iban.strip() else normalise_iban(iban)
    if compact is not None:
        if account.type != "asset":
            raise LedgerError(f"Konto {account.label} ist kein Vermögenskonto; nur Bankkonten haben eine IBAN")
        holder = session.scalar(select(Account).where(Account.iban == compact, Account.id != account.id))
        if holder is not None:
            raise LedgerError(f"die IBAN {format_iban(compact)} gehört bereits zu Konto {holder.label} "
                              f"({holder.recipient.name})")
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

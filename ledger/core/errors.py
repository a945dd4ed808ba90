"""Errors of the ledger. Messages are German: they reach finance officers unchanged.

``LedgerError`` is the one root: every error the ledger raises about the user's data or
request derives from it (rule packs, amounts, school years, interest, master data too), so an
interface catches ``LedgerError`` and shows the message."""
from __future__ import annotations


class LedgerError(Exception):
    """A request the books cannot accept (unknown recipient, unbalanced entry, …)."""


class NotFound(LedgerError):
    """A recipient, account, entry or grant that does not exist."""


class UnbalancedEntry(LedgerError):
    """A journal entry whose postings do not sum to zero cents, or with fewer than two postings."""


class ImmutableEntry(LedgerError):
    """An attempt to update or delete a posted journal entry or posting; reverse it instead."""

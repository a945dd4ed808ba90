"""hledger journal export: one recipient's books as a plain-text journal hledger reads.

The file starts with ``decimal-mark .`` and ``commodity 1,000.00 EUR`` (the hledger manual
recommends declaring the decimal mark at the top of every journal, and a commodity
directive for the display style), then an ``account`` directive for every account of
the chart, with its hledger type (A, L, R, X, E), then one transaction per journal entry
in booking order (date, then id)::

    2023-10-16 (AUSZ-2023/24-1) Auszahlung Inklusionspauschale 2023/24  ; buchung:3, art:payout
        aktiva:1810 Girokonto (liquide Mittel)  750000.00 EUR  ; schuljahr:2023/24
        ertrag:4141 Inklusionspauschale (Zuweisung vom Land, § 2 InklFöG)  -750000.00 EUR  ; schuljahr:2023/24

Account names are ``<prefix>:<number> <name>``, the prefix by account type (``aktiva``,
``passiva``, ``ertrag``, ``aufwand``, ``eigenkapital``). Amounts are EUR from integer
cents, ``.`` as decimal mark, two places, debit positive, credit negative. Posting tags
(``kategorie``, ``schuljahr``, ``kostenstelle``) and transaction tags (``buchung``,
``art``, ``storno-von``) are comments hledger can query (``tag:kategorie=pool_personnel``);
account directives carry the tags ``konto`` and ``rolle``, which hledger passes on to
their postings, and name the account's default category as plain text only, so that a
posting booked to another category (a mis-charged case) never matches the default.

Characters hledger treats specially are replaced, never silently dropped: in account
names ``:`` (hierarchy) by ``-`` and ``;`` by ``,``, runs of spaces (two spaces end a
name) by one space; in descriptions ``;`` (starts a comment) by ``,``; in the code ``(``
and ``)`` by ``[`` and ``]``; in tag values ``,`` (ends a value) by a space. Line breaks
become spaces everywhere. The exact texts are in the GoBD export (``ledger.write.gobd``).
"""
from __future__ import annotations

import re
from typing import TextIO

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from ledger.core.models import ACCOUNT_TYPES, Account, JournalEntry, Posting, Recipient
from ledger.core.money import from_cents
from ledger.core.schoolyear import SchoolYear

#: Top-level account of each account type, and the hledger type code it is declared with.
PREFIXES = {"asset": "aktiva", "liability": "passiva", "revenue": "ertrag", "expense": "aufwand",
            "equity": "eigenkapital"}
HLEDGER_TYPES = {"asset": "A", "liability": "L", "revenue": "R", "expense": "X", "equity": "E"}
COMMODITY = "EUR"

_SPACES = re.compile(r"\s+")


def account_name(account: Account) -> str:
    """The hledger account name: ``"aufwand:5291 Schulassistenz im Pool-Modell (Leistungen Dritter)"``."""
    name = _one_line(f"{account.number} {account.name}").replace(":", "-").replace(";", ",")
    return f"{PREFIXES[account.type]}:{name}"


def hledger_amount(cents: int) -> str:
    """Integer cents as an hledger amount: ``-123456`` → ``"-1234.56 EUR"``."""
    return f"{from_cents(cents):f} {COMMODITY}"


def export_hledger(session: Session, recipient: Recipient, out: TextIO, *,
                   school_year: SchoolYear | None = None) -> int:
    """Write ``recipient``'s journal to ``out`` in hledger's journal format (see module docstring).

    Args:
        out: a text stream; the caller opens it (UTF-8) and closes it.
        school_year: only entries with a posting of that school year (with all their
            postings, so each transaction balances); None = the whole journal.
    Returns:
        The number of transactions written (= journal entries).

    ``hledger -f FILE check -s ordereddates`` passes on the result (tested with hledger
    1.25 of Debian bookworm): every account and the commodity are declared, transactions
    are balanced and in date order.
    """
    query = select(JournalEntry).where(JournalEntry.recipient_id == recipient.id)
    if school_year is not None:
        query = query.where(exists(select(Posting.id).where(
            Posting.entry_id == JournalEntry.id, Posting.school_year == str(school_year))))
    entries = session.scalars(query.order_by(JournalEntry.date, JournalEntry.id).options(
        selectinload(JournalEntry.postings).selectinload(Posting.account))).all()
    # read after the entries: every account they post to is declared, even if someone
    # adds an account and books on it meanwhile
    accounts = session.scalars(
        select(Account).where(Account.recipient_id == recipient.id).order_by(Account.number)).all()

    scope = f"Schuljahr {school_year}" if school_year else "alle Schuljahre"
    out.write(f"; Inklusionspauschale (§ 2 InklFöG NRW): Buchungen von {_one_line(recipient.name)} "
              f"({recipient.key}), {scope}\n")
    out.write("; Beträge in EUR aus ganzen Cent; positiv = Soll, negativ = Haben\n\n")
    out.write(f"decimal-mark .\ncommodity 1,000.00 {COMMODITY}\n\n")
    for type_ in ACCOUNT_TYPES:
        out.write(f"account {PREFIXES[type_]}  ; type: {HLEDGER_TYPES[type_]}\n")
    for account in accounts:
        tags = [f"konto:{_tag(account.number)}"]
        tags += [f"rolle:{_tag(account.role)}"] if account.role else []
        # the default category as plain text, not a tag: hledger passes account tags on to
        # postings, and a query tag:kategorie=… must see only the posting's own category
        tags += [f"Standardkategorie {_tag(account.category)}"] if account.category else []
        out.write(f"account {account_name(account)}  ; {', '.join(tags)}\n")

    for entry in entries:
        code = _one_line(entry.voucher_number).replace("(", "[").replace(")", "]")
        text = _one_line(entry.text).replace(";", ",")
        tags = [f"buchung:{entry.id}", f"art:{_tag(entry.kind)}"]
        if entry.reverses_id is not None:
            tags.append(f"storno-von:{entry.reverses_id}")
        out.write(f"\n{entry.date.isoformat()} ({code}) {text}  ; {', '.join(tags)}\n")
        for posting in entry.postings:
            tags = [f"schuljahr:{_tag(posting.school_year)}"]
            tags += [f"kategorie:{_tag(posting.category)}"] if posting.category else []
            tags += [f"kostenstelle:{_tag(posting.cost_centre)}"] if posting.cost_centre else []
            out.write(f"    {account_name(posting.account)}  {hledger_amount(posting.amount_cents)}"
                      f"  ; {', '.join(tags)}\n")
    return len(entries)


def _one_line(text: str) -> str:
    """Collapse every run of whitespace (line breaks, tabs, double spaces) into one space."""
    return _SPACES.sub(" ", text).strip()


def _tag(value: str) -> str:
    """A tag value: one line, no comma (a comma ends the value)."""
    return _one_line(value.replace(",", " "))

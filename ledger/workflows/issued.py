"""Issued settlement statements: the PDF as handed to the Land or the auditors, kept for good.

``issue_statement`` builds the statement (``ledger.reports.statement``), numbers it (1, 2, …
per recipient and school year), renders the PDF (``ledger.write.statement_pdf``, with its
number; a statement without a number is a draft and says ENTWURF on every page) and stores
the exact bytes with their SHA-256, who issued it, when, the recipient's hash-chain head, the
repayment due and the fingerprint of its content (``ledger.reports.statement_fingerprint``:
everything the statement says except its creation time and number). Stored statements are
append-only (migrations 0007 and 0014): a later correction is a new statement with the next
number, and the list shows all of them, so an auditor can compare any copy with its recorded
hash. A second statement whose content equals the latest issued one of the year is refused:
it would be the same statement under another number.

``preview_issue`` tells, without writing, what issuing now would give (number, repayment
due, chain head, whether a Sachbericht is written, an identical earlier statement), so the
web page and the command line can ask for confirmation; ``issue_statement(…,
expected_content=…)`` then refuses if the content changed in between.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.chain import ChainHead
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import IssuedStatement, Recipient, User
from ledger.core.money import from_cents, to_cents
from ledger.core.posting import lock_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import require_role
from ledger.reports.statement import StatementData, build_statement
from ledger.reports.statement_fingerprint import content_fingerprint
from ledger.rules.packs import RulePack
from ledger.write.statement_pdf import render_statement


@dataclass(frozen=True)
class IssuedInfo:
    """An issued statement without its bytes: id (the database's), number (1, 2, … within the
    recipient's school year), school year, SHA-256 of the PDF (hex), who, when, chain head
    (seq, hash), repayment due (EUR), size in bytes, and the content fingerprint (hex; None
    for statements issued before migration 0014)."""

    id: int
    number: int
    school_year: str
    sha256: str
    created_by: str
    created_at: datetime
    chain_seq: int
    chain_hash: str
    repayment_due: Decimal
    size: int
    content_sha256: str | None = None


@dataclass(frozen=True)
class IssuePreview:
    """What issuing the statement now would give, for a confirmation: the school year, the
    ``number`` it would get, the repayment due (EUR), the hash-chain head it would rest on,
    whether a Sachbericht is written (``has_narrative``), the content fingerprint
    (``content_sha256``, hex; pass it back as ``expected_content``) and ``identical``, the
    latest issued statement of the year if its content is the same (issuing is then refused)."""

    school_year: str
    number: int
    repayment_due: Decimal
    chain_head: ChainHead
    has_narrative: bool
    content_sha256: str
    identical: IssuedInfo | None

    @property
    def refusal(self) -> str | None:
        """Why issuing is refused (German: an identical statement, by number and date), or None."""
        same = self.identical
        if same is None:
            return None
        return (f"Der Verwendungsnachweis {self.school_year} wurde mit demselben Inhalt bereits als Nr. {same.number} am "
                f"{same.created_at:%d.%m.%Y} ausgestellt; seither hat sich weder an den Buchungen noch an ihrer "
                "Einstufung oder am Sachbericht etwas geändert. Es wird kein gleicher Verwendungsnachweis ein zweites Mal "
                "ausgestellt.")


#: The steps of ``issue_statement``, reported to its ``progress`` callback (German, for the user).
STEPS = ("Buchungen werden ausgewertet", "PDF wird gesetzt", "Verwendungsnachweis wird gespeichert")


def preview_issue(session: Session, recipient: Recipient, school_year: SchoolYear, *, now: datetime,
                  packs: tuple[RulePack, ...] | None = None) -> IssuePreview:
    """What ``issue_statement`` would issue for ``recipient``'s ``school_year`` as of ``now``;
    writes nothing. Raises RulePackError if no rule pack covers the year."""
    data = build_statement(session, recipient, school_year, now=now, packs=packs)
    return _preview(session, recipient, school_year, data)


def _preview(session: Session, recipient: Recipient, school_year: SchoolYear, data: StatementData) -> IssuePreview:
    issued = list_issued(session, recipient, school_year)
    content = content_fingerprint(data)
    latest = issued[0] if issued else None
    return IssuePreview(
        school_year=str(school_year), number=_next_number(session, recipient, school_year),
        repayment_due=data.result.repayment_due, chain_head=data.chain_head, has_narrative=data.narrative is not None,
        content_sha256=content, identical=latest if latest is not None and latest.content_sha256 == content else None,
    )


def issue_statement(session: Session, recipient: Recipient, school_year: SchoolYear, *, user: User, now: datetime,
                    packs: tuple[RulePack, ...] | None = None,
                    progress: Callable[[str, int, int], None] | None = None,
                    expected_content: str | None = None) -> IssuedStatement:
    """Build, number, render and store the statement of ``recipient``'s ``school_year`` as of ``now``.

    Requires an officer or admin (auditors read statements, they do not issue them). The
    statement gets the next number of the year (1, 2, …) and is rendered with it. Returns the
    stored row (written, not committed). Audited with its number, the SHA-256 of the PDF and
    the content fingerprint. ``progress(step, number, of)`` is called before each of the
    ``STEPS`` (number from 1).

    Raises LedgerError (German) if the content equals that of the latest statement issued for
    the year (naming its number and date: nothing new to issue; nothing is written), or if
    ``expected_content`` (the fingerprint a confirmation showed, ``preview_issue``) is given and
    the content is no longer the same.
    """
    require_role(user, "officer", "admin")
    report = progress or (lambda _step, _number, _of: None)
    lock_recipient(session, recipient)  # numbers in order: one issuer of a recipient at a time
    report(STEPS[0], 1, len(STEPS))
    data = build_statement(session, recipient, school_year, now=now, packs=packs)
    preview = _preview(session, recipient, school_year, data)
    if preview.refusal is not None:
        raise LedgerError(preview.refusal)
    if expected_content is not None and expected_content != preview.content_sha256:
        raise LedgerError(f"Der Stand des Verwendungsnachweises {school_year} hat sich seit der Bestätigung geändert; "
                          "bitte die neuen Angaben prüfen und erneut bestätigen. Es wurde nichts ausgestellt.")
    report(STEPS[1], 2, len(STEPS))
    pdf = render_statement(replace(data, issue_number=preview.number))
    report(STEPS[2], 3, len(STEPS))
    digest = hashlib.sha256(pdf).hexdigest()
    issued = IssuedStatement(recipient_id=recipient.id, school_year=str(school_year), number=preview.number,
                             content_sha256=preview.content_sha256, sha256=digest, pdf=pdf,
                             created_by=user.username, created_at=now, chain_seq=data.chain_head.seq,
                             chain_hash=data.chain_head.entry_hash,
                             repayment_due_cents=to_cents(data.result.repayment_due))
    session.add(issued)
    session.flush()
    audit.record(session, actor=user.username, action="statement_issue", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "statement": issued.id, "issue_number": preview.number,
                          "sha256": digest, "content_sha256": preview.content_sha256,
                          "repayment_due": str(data.result.repayment_due), "chain_seq": data.chain_head.seq})
    return issued


def _next_number(session: Session, recipient: Recipient, school_year: SchoolYear) -> int:
    """The number the next statement of ``recipient``'s ``school_year`` gets: one more than the highest."""
    highest = session.scalar(select(func.max(IssuedStatement.number)).where(
        IssuedStatement.recipient_id == recipient.id, IssuedStatement.school_year == str(school_year)))
    return (highest or 0) + 1


def list_issued(session: Session, recipient: Recipient, school_year: SchoolYear) -> list[IssuedInfo]:
    """The statements issued for ``recipient``'s ``school_year``, newest (highest number) first, without the bytes."""
    rows = session.execute(
        select(IssuedStatement.id, IssuedStatement.number, IssuedStatement.school_year, IssuedStatement.sha256,
               IssuedStatement.created_by, IssuedStatement.created_at, IssuedStatement.chain_seq,
               IssuedStatement.chain_hash, IssuedStatement.repayment_due_cents, func.length(IssuedStatement.pdf),
               IssuedStatement.content_sha256)
        .where(IssuedStatement.recipient_id == recipient.id, IssuedStatement.school_year == str(school_year))
        .order_by(IssuedStatement.number.desc())
    )
    return [IssuedInfo(i, number, year, digest, by, at, seq, chain, from_cents(due), size, content)
            for i, number, year, digest, by, at, seq, chain, due, size, content in rows]


def get_issued(session: Session, recipient: Recipient, statement_id: int) -> IssuedStatement:
    """The issued statement ``statement_id`` of ``recipient``. Raises NotFound (also for another recipient's)."""
    issued = session.get(IssuedStatement, statement_id)
    if issued is None or issued.recipient_id != recipient.id:
        raise NotFound(f"Verwendungsnachweis {statement_id} nicht gefunden")
    return issued

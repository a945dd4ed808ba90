"""Issued settlement statements: the PDF as handed to the Land or the auditors, kept for good.

``issue_statement`` builds the statement (``ledger.reports.statement``), renders the PDF
(``ledger.write.statement_pdf``) and stores the exact bytes with their SHA-256, who issued it,
when, the recipient's hash-chain head and the repayment due. Stored statements are
append-only (migration 0007): a later correction is a new statement, and the list shows
all of them, so an auditor can compare any copy with its recorded hash.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import NotFound
from ledger.core.models import IssuedStatement, Recipient, User
from ledger.core.money import from_cents, to_cents
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import require_role
from ledger.reports.statement import build_statement
from ledger.rules.packs import RulePack
from ledger.write.statement_pdf import render_statement


@dataclass(frozen=True)
class IssuedInfo:
    """An issued statement without its bytes: id, school year, SHA-256 (hex), who, when,
    chain head (seq, hash), repayment due (EUR) and size in bytes."""

    id: int
    school_year: str
    sha256: str
    created_by: str
    created_at: datetime
    chain_seq: int
    chain_hash: str
    repayment_due: Decimal
    size: int


#: The steps of ``issue_statement``, reported to its ``progress`` callback (German, for the user).
STEPS = ("Buchungen werden ausgewertet", "PDF wird gesetzt", "Abrechnung wird gespeichert")


def issue_statement(session: Session, recipient: Recipient, school_year: SchoolYear, *, user: User, now: datetime,
                    packs: tuple[RulePack, ...] | None = None,
                    progress: Callable[[str, int, int], None] | None = None) -> IssuedStatement:
    """Build, render and store the statement of ``recipient``'s ``school_year`` as of ``now``.

    Requires an officer or admin (auditors read statements, they do not issue them).
    Returns the stored row (written, not committed). Audited with the SHA-256.
    ``progress(step, number, of)`` is called before each of the ``STEPS`` (number from 1).
    """
    require_role(user, "officer", "admin")
    report = progress or (lambda _step, _number, _of: None)
    report(STEPS[0], 1, len(STEPS))
    data = build_statement(session, recipient, school_year, now=now, packs=packs)
    report(STEPS[1], 2, len(STEPS))
    pdf = render_statement(data)
    report(STEPS[2], 3, len(STEPS))
    digest = hashlib.sha256(pdf).hexdigest()
    issued = IssuedStatement(recipient_id=recipient.id, school_year=str(school_year), sha256=digest, pdf=pdf,
                             created_by=user.username, created_at=now, chain_seq=data.chain_head.seq,
                             chain_hash=data.chain_head.entry_hash,
                             repayment_due_cents=to_cents(data.result.repayment_due))
    session.add(issued)
    session.flush()
    audit.record(session, actor=user.username, action="statement_issue", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "statement": issued.id, "sha256": digest,
                          "repayment_due": str(data.result.repayment_due), "chain_seq": data.chain_head.seq})
    return issued


def list_issued(session: Session, recipient: Recipient, school_year: SchoolYear) -> list[IssuedInfo]:
    """The statements issued for ``recipient``'s ``school_year``, newest first (without the bytes)."""
    rows = session.execute(
        select(IssuedStatement.id, IssuedStatement.school_year, IssuedStatement.sha256, IssuedStatement.created_by,
               IssuedStatement.created_at, IssuedStatement.chain_seq, IssuedStatement.chain_hash,
               IssuedStatement.repayment_due_cents, func.length(IssuedStatement.pdf))
        .where(IssuedStatement.recipient_id == recipient.id, IssuedStatement.school_year == str(school_year))
        .order_by(IssuedStatement.id.desc())
    )
    return [IssuedInfo(i, year, digest, by, at, seq, chain, from_cents(due), size)
            for i, year, digest, by, at, seq, chain, due, size in rows]


def get_issued(session: Session, recipient: Recipient, statement_id: int) -> IssuedStatement:
    """The issued statement ``statement_id`` of ``recipient``. Raises NotFound (also for another recipient's)."""
    issued = session.get(IssuedStatement, statement_id)
    if issued is None or issued.recipient_id != recipient.id:
        raise NotFound(f"Abrechnung {statement_id} nicht gefunden")
    return issued

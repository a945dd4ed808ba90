"""The audit log: who wrote what to the books, and when; append-only and hash-chained.

Every write the core performs (recipient, account, grant, payout, agreement, import,
reversal, repayment, period close and re-open, user, restore) adds an event with the
actor, an action name and details (JSON). Events form one hash chain like the journal
(``ledger.core.chain``); the database refuses to change or delete them (migration 0002).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ledger.core.chain import GENESIS, ChainHead
from ledger.core.models import AuditEvent, Recipient


def record(session: Session, *, actor: str, action: str, now: datetime,
           recipient: Recipient | None = None, details: dict | None = None) -> AuditEvent:
    """Append an event to the audit log and return it (written, not committed).

    ``action``: a short English name (``import``, ``reversal``, ``period_close``, …);
    ``details``: JSON-serialisable facts (amounts as strings, never floats).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    head = audit_head(session)
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    event = AuditEvent(
        seq=head.seq + 1, actor=actor, action=action, recipient_id=None if recipient is None else recipient.id,
        details=details_json, created_at=now, prev_hash=head.entry_hash,
    )
    event.entry_hash = _event_hash(event, None if recipient is None else recipient.key)
    session.add(event)
    session.flush()
    return event


def list_events(session: Session, *, recipient_ids: set[int] | None, include_global: bool, offset: int = 0,
                limit: int = 50) -> tuple[list[tuple[AuditEvent, str | None]], int]:
    """Audit events, newest first, with their recipient's key: ``(page, total)``.

    ``recipient_ids``: only events of these recipients (None: of every recipient);
    ``include_global``: also events without a recipient (users, restores). ``offset`` and
    ``limit`` page through the result.
    """
    query = select(AuditEvent, Recipient.key).outerjoin(Recipient, AuditEvent.recipient_id == Recipient.id)
    conditions = []
    if recipient_ids is None:
        conditions.append(AuditEvent.recipient_id.is_not(None))
    elif recipient_ids:
        conditions.append(AuditEvent.recipient_id.in_(recipient_ids))
    if include_global:
        conditions.append(AuditEvent.recipient_id.is_(None))
    if not conditions:
        return [], 0
    where = or_(*conditions)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(where))
    rows = session.execute(query.where(where).order_by(AuditEvent.seq.desc()).offset(offset).limit(limit)).all()
    return [(event, key) for event, key in rows], total


def audit_head(session: Session) -> ChainHead:
    """The newest event's ``seq`` and hash; ``ChainHead(0, GENESIS)`` for an empty log."""
    row = session.execute(select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return ChainHead(0, GENESIS) if row is None else ChainHead(row.seq, row.entry_hash)


def verify_audit_log(session: Session) -> tuple[int, ChainHead, int | None, str | None]:
    """Recompute the audit log's chain: (events checked, head, first broken seq or None, German reason)."""
    prev, expected, count = GENESIS, 1, 0
    keys = dict(session.execute(select(Recipient.id, Recipient.key)).all())
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)).scalars():
        count += 1
        if event.seq != expected or event.prev_hash != prev:
            return count, audit_head(session), event.seq, "Lücke oder falscher Vorgänger in der Protokollkette"
        if _event_hash(event, keys.get(event.recipient_id)) != event.entry_hash:
            return count, audit_head(session), event.seq, "Protokolleintrag wurde verändert"
        prev, expected = event.entry_hash, expected + 1
    return count, ChainHead(expected - 1, prev), None, None


def _event_hash(event: AuditEvent, recipient_key: str | None) -> str:
    content = {"seq": event.seq, "actor": event.actor, "action": event.action, "recipient": recipient_key,
               "details": json.loads(event.details), "created_at": event.created_at.isoformat()}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((event.prev_hash + canonical).encode("utf-8")).hexdigest()

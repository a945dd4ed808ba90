"""Revocation and repayment notices of the Land (Rückforderungs-/Erstattungsbescheide).

Where the authority issues its own notice for a recipient's school year, with an amount, a due
date, an interest start and rate, that notice decides, not the computation (DOMAIN.md
"Repayment"; § 49a VwVfG NRW): it overrides the computed repayment and also a settlement
agreement. Interest is charged at a rate in percentage points above the base rate (§ 49a
Abs. 3 Satz 1 VwVfG NRW: three points) from the notice's interest start, unless the notice
waives it (Abs. 3 Satz 2). For school years before 2021/22 such a notice (or an agreement) is
the only way a repayment becomes due.

Notices are evidence and never change (append-only, migration 0015). The Land changes a
notice by a new one: an amending notice (Änderungsbescheid) replaces the notice in force
(``add_notice(…, replaces=…)``), a withdrawal (Aufhebung, §§ 48, 49 VwVfG NRW) ends it
without a replacement (``withdraw_notice``), and then the year falls back to an agreement in
force or the computation. The notice in force (``find_notice``) is the one of the year
neither replaced nor withdrawn; ``notice_history`` lists them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import Notice, NoticeWithdrawal, Recipient
from ledger.core.money import checked_cents
from ledger.core.schoolyear import SchoolYear


def add_notice(
    session: Session, recipient: Recipient, school_year: SchoolYear, *,
    notice_date: date, reference: str, amount: Decimal, due_date: date,
    interest_start: date | None = None, interest_points: Decimal | None = None, interest_waived: bool = False,
    replaces: int | None = None, created_by: str, now: datetime,
) -> Notice:
    """Record the Land's notice for one school year (audited as ``notice_add``).

    ``notice_date``: the notice's date; ``reference``: its Aktenzeichen; ``amount``: EUR to
    repay; ``due_date``: the payment date it sets. ``interest_start`` (the first interest day)
    and ``interest_points`` (percentage points above the base rate, e.g. ``Decimal("3")``,
    at most two decimals) are both required unless ``interest_waived``, and absent with it.
    ``replaces``: the id of the notice in force this one amends (Änderungsbescheid), required
    when the year has a notice in force; from then this notice decides.

    Raises LedgerError (German) for an empty reference, a negative amount, a due date before
    the notice's date, incomplete or contradictory interest terms, a year with a notice in
    force and no ``replaces``, or a ``replaces`` that is not the notice in force of this
    recipient's year (unknown, of another year or recipient, already replaced or withdrawn) or
    is dated after this notice.
    """
    _check_terms(notice_date, reference, amount, due_date, interest_start, interest_points, interest_waived)
    replaced = _replaced(session, recipient, school_year, replaces, notice_date)
    notice = Notice(
        recipient_id=recipient.id, school_year=str(school_year), notice_date=notice_date,
        reference=reference.strip(), amount_cents=checked_cents(amount), due_date=due_date,
        interest_start=interest_start,
        interest_rate_bp=None if interest_points is None else int(interest_points * 100),
        interest_waived=interest_waived, created_by=created_by, created_at=now,
        replaces_id=None if replaced is None else replaced.id,
    )
    session.add(notice)
    session.flush()
    audit.record(session, actor=created_by, action="notice_add", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "notice_date": notice_date.isoformat(),
                          **({} if replaced is None else {"replaces": replaced.reference}),
                          "reference": notice.reference, "amount": str(amount), "due_date": due_date.isoformat(),
                          "interest_start": None if interest_start is None else interest_start.isoformat(),
                          "interest_points": None if interest_points is None else str(interest_points),
                          "interest_waived": interest_waived})
    return notice


def _check_terms(notice_date: date, reference: str, amount: Decimal, due_date: date,
                 interest_start: date | None, interest_points: Decimal | None, interest_waived: bool) -> None:
    """Raise LedgerError (German) for terms ``add_notice`` refuses."""
    if not reference.strip():
        raise LedgerError("das Aktenzeichen des Bescheids fehlt")
    if amount < 0:
        raise LedgerError("der Rückforderungsbetrag des Bescheids darf nicht negativ sein")
    if due_date < notice_date:
        raise LedgerError("die Zahlungsfrist des Bescheids liegt vor seinem Datum")
    if interest_waived:
        if interest_start is not None or interest_points is not None:
            raise LedgerError("bei Verzicht auf Zinsen (§ 49a Abs. 3 Satz 2 VwVfG NRW) kein Zinsbeginn und kein Zinssatz")
        return
    if interest_start is None or interest_points is None:
        raise LedgerError("Zinsbeginn und Zinssatz (Prozentpunkte über dem Basiszinssatz) angeben "
                          "oder den Verzicht auf Zinsen erfassen")
    if interest_points < 0 or interest_points * 100 != (interest_points * 100).to_integral_value():
        raise LedgerError("der Zinssatz muss eine nicht negative Zahl von Prozentpunkten mit höchstens "
                          "zwei Nachkommastellen sein")


def _replaced(session: Session, recipient: Recipient, school_year: SchoolYear, replaces: int | None,
              notice_date: date) -> Notice | None:
    """The notice in force that a new notice of ``notice_date`` replaces (``replaces``: its id),
    None for a year without one. Raises LedgerError (German) as ``add_notice`` documents."""
    in_force = find_notice(session, recipient, school_year)
    if replaces is None:
        if in_force is not None:
            raise LedgerError(f"für {recipient.key} gilt für {school_year} bereits der Bescheid {in_force.reference} "
                              f"(Nr. {in_force.id}); ein Änderungsbescheid muss angeben, welchen Bescheid er ersetzt")
        return None
    named = session.get(Notice, replaces)
    if named is None or named.recipient_id != recipient.id or named.school_year != str(school_year):
        raise LedgerError(f"Bescheid Nr. {replaces} ist kein Bescheid von {recipient.key} für {school_year}")
    if in_force is None or named.id != in_force.id:
        raise LedgerError(f"Bescheid Nr. {replaces} ({named.reference}) gilt nicht mehr: er ist bereits ersetzt "
                          "oder aufgehoben")
    if notice_date < named.notice_date:
        raise LedgerError(f"der Änderungsbescheid liegt vor dem Bescheid {named.reference} "
                          f"vom {named.notice_date.strftime('%d.%m.%Y')}, den er ersetzt")
    return named


def withdraw_notice(session: Session, notice: Notice, *, withdrawal_date: date, reference: str,
                    created_by: str, now: datetime) -> NoticeWithdrawal:
    """Record that the Land withdrew ``notice`` without a replacement (Aufhebung; audited as
    ``notice_withdraw``): from then its year has no notice in force and an agreement in force
    or the computation decides again. ``withdrawal_date`` and ``reference`` (Aktenzeichen) are
    the withdrawing decision's.

    Raises LedgerError (German) for an empty reference, a withdrawal dated before the notice,
    or a notice that is not in force (already replaced or withdrawn).
    """
    if not reference.strip():
        raise LedgerError("das Aktenzeichen der Aufhebung fehlt")
    if withdrawal_date < notice.notice_date:
        raise LedgerError(f"die Aufhebung liegt vor dem Bescheid {notice.reference} "
                          f"vom {notice.notice_date.strftime('%d.%m.%Y')}")
    recipient = session.get(Recipient, notice.recipient_id)
    in_force = find_notice(session, recipient, SchoolYear.parse(notice.school_year))
    if in_force is None or in_force.id != notice.id:
        raise LedgerError(f"Bescheid Nr. {notice.id} ({notice.reference}) gilt nicht mehr: er ist bereits ersetzt "
                          "oder aufgehoben")
    withdrawal = NoticeWithdrawal(notice_id=notice.id, withdrawal_date=withdrawal_date, reference=reference.strip(),
                                  created_by=created_by, created_at=now)
    session.add(withdrawal)
    session.flush()
    audit.record(session, actor=created_by, action="notice_withdraw", now=now, recipient=recipient,
                 details={"school_year": notice.school_year, "notice": notice.reference,
                          "withdrawal_date": withdrawal_date.isoformat(), "reference": withdrawal.reference})
    return withdrawal


@dataclass(frozen=True)
class NoticeStep:
    """One notice of a year's history: the ``notice``, the notice that replaced it
    (``replaced_by``) or its ``withdrawal``, both None for the notice in force."""

    notice: Notice
    replaced_by: Notice | None
    withdrawal: NoticeWithdrawal | None

    @property
    def in_force(self) -> bool:
        """Whether this notice decides the year (neither replaced nor withdrawn)."""
        return self.replaced_by is None and self.withdrawal is None


def notice_history(session: Session, recipient: Recipient, school_year: SchoolYear) -> list[NoticeStep]:
    """Every notice of ``recipient``'s ``school_year``, oldest first (by notice date, then as
    recorded), each with what ended it; empty for a year without notices."""
    notices = list(session.scalars(select(Notice).where(
        Notice.recipient_id == recipient.id, Notice.school_year == str(school_year)).order_by(Notice.id)))
    withdrawals = {w.notice_id: w for w in session.scalars(select(NoticeWithdrawal).where(
        NoticeWithdrawal.notice_id.in_([n.id for n in notices])))} if notices else {}
    return history_of(notices, withdrawals)


def history_of(notices: list[Notice], withdrawals: dict[int, NoticeWithdrawal]) -> list[NoticeStep]:
    """``notices`` of one year with their ``withdrawals`` (by notice id) as ``NoticeStep``s,
    oldest first (notice date, then id)."""
    successors = {n.replaces_id: n for n in notices if n.replaces_id is not None}
    ordered = sorted(notices, key=lambda n: (n.notice_date, n.id))
    return [NoticeStep(n, successors.get(n.id), withdrawals.get(n.id)) for n in ordered]


def in_force_of(steps: list[NoticeStep]) -> Notice | None:
    """The notice in force among a year's ``steps`` (the latest one neither replaced nor
    withdrawn), or None."""
    current = [step.notice for step in steps if step.in_force]
    return current[-1] if current else None


def find_notice(session: Session, recipient: Recipient, school_year: SchoolYear) -> Notice | None:
    """The notice in force for ``recipient``'s ``school_year`` (neither replaced by an amending
    notice nor withdrawn), or None."""
    return in_force_of(notice_history(session, recipient, school_year))

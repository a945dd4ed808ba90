"""Cases of a provider budget and the reporting deadlines computed from them, as reminders.

The Bremerhaven model project (DOMAIN.md "Bremerhaven Trägerbudget"; rule pack of programme
``traegerbudget``, its ``[budget]`` table) sets four deadlines:

- **First report** (Abschnitt II.5): the provider's first report by ``first_report``
  (31.03.2026); met by a ``provider_report`` record.
- **Action plan** (Abschnitt II.6): within ``action_plan_weeks`` (6) weeks of a case's start:
  due on start + 6 weeks; met by an ``action_plan`` record of the case.
- **Case reports every six months** (Abschnitt II.6): due ``case_report_months`` (6) months
  after the latest case report received, or after the case's start while there is none
  (calendar months with ``dateutil.relativedelta``: 31.08. + 6 months = 28.02./29.02.).
- **Report before a Hilfeplan meeting** (Abschnitt II.6): "mindestens 6 Wochen vor dem
  anberaumten Hilfeplangespräch": due on meeting − ``report_weeks_before_meeting`` weeks; met by
  a case report dated after the previous meeting (or the case's start) and *on or before* that
  day (a report exactly six weeks before is in time, one a day later is not). Shown until the
  meeting's day; a past meeting has no reminder any more.

A case is known by its pseudonymous reference only (letters, digits, ``.-/_``, no spaces: no
names); it has no reminders once a ``case_end`` record on or before the day asked lies.
A reminder's state on a day: ``overdue`` after its due day, ``due`` from ``reminder_lead_days``
days before it up to and including it, else ``upcoming``.

Records are append-only (migration 0023); every one is audited.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import BudgetAgreement, BudgetCase, BudgetRecord, Recipient
from ledger.rules.packs import BudgetRule

#: Kinds of dated records → German label.
RECORD_KINDS = {
    "provider_report": "Bericht des Trägers",
    "meeting": "Hilfeplangespräch",
    "case_report": "Fallbericht",
    "action_plan": "Handlungsplan",
    "case_end": "Ende der Hilfe",
}
CASE_KINDS = ("meeting", "case_report", "action_plan", "case_end")
#: Reminder states → German label.
STATES = {"overdue": "überfällig", "due": "bald fällig", "upcoming": "anstehend"}
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./_-]{0,39}$")


def add_case(session: Session, agreement: BudgetAgreement, reference: str, *, start: date, created_by: str,
             now: datetime) -> BudgetCase:
    """Record a case of ``agreement`` by its pseudonymous ``reference`` starting on ``start``
    (Hilfebeginn) and return it (not committed; audited ``budget_case_add``).
    Raises LedgerError for a reference that is not pseudonymous in form (spaces, more than 40
    characters), a duplicate, or a start outside the agreement's term."""
    reference = reference.strip()
    if not _REFERENCE.match(reference):
        raise LedgerError("Fallzeichen: nur ein pseudonymes Kürzel aus Buchstaben, Ziffern und . - / _ "
                          "(ohne Leerzeichen, höchstens 40 Zeichen), keine Namen")
    if not agreement.start_date <= start <= agreement.end_date:
        raise LedgerError("der Hilfebeginn liegt außerhalb der Laufzeit des Trägerbudgets")
    if session.scalar(select(BudgetCase.id).where(BudgetCase.agreement_id == agreement.id,
                                                  BudgetCase.reference == reference)) is not None:
        raise LedgerError(f"den Fall {reference} gibt es in diesem Trägerbudget bereits")
    case = BudgetCase(agreement_id=agreement.id, reference=reference, start_date=start, created_by=created_by,
                      created_at=now)
    session.add(case)
    session.flush()
    audit.record(session, actor=created_by, action="budget_case_add", now=now,
                 recipient=session.get(Recipient, agreement.recipient_id),
                 details={"key": agreement.key, "case": reference, "start": start.isoformat()})
    return case


def get_case(session: Session, agreement: BudgetAgreement, reference: str) -> BudgetCase:
    """The case ``reference`` of ``agreement``. Raises NotFound."""
    case = session.scalar(select(BudgetCase).where(BudgetCase.agreement_id == agreement.id,
                                                   BudgetCase.reference == reference.strip()))
    if case is None:
        raise NotFound(f"Fall {reference!r} im Trägerbudget {agreement.key!r} nicht gefunden")
    return case


def add_record(session: Session, agreement: BudgetAgreement, kind: str, day: date, *, case: BudgetCase | None = None,
               created_by: str, now: datetime) -> BudgetRecord:
    """Record a dated ``kind`` (see ``RECORD_KINDS``) of ``agreement``, of ``case`` for the case
    kinds, and return it (not committed; audited ``budget_record``).
    Raises LedgerError for an unknown kind, a case kind without a case (or a provider report
    with one), a day before the case's start, or a record of an ended case."""
    if kind not in RECORD_KINDS:
        raise LedgerError(f"unbekannte Art {kind!r}")
    if (kind in CASE_KINDS) != (case is not None):
        raise LedgerError(f"{RECORD_KINDS[kind]}: " + ("ohne Fall nicht möglich" if case is None
                                                       else "gehört zu keinem Fall"))
    if case is not None:
        if day < case.start_date:
            raise LedgerError(f"{RECORD_KINDS[kind]} am {day:%d.%m.%Y} liegt vor dem Hilfebeginn "
                              f"am {case.start_date:%d.%m.%Y}")
        if _ended(session, case) is not None:
            raise LedgerError(f"die Hilfe im Fall {case.reference} ist beendet")
    record = BudgetRecord(agreement_id=agreement.id, case_id=None if case is None else case.id, kind=kind,
                          record_date=day, created_by=created_by, created_at=now)
    session.add(record)
    session.flush()
    audit.record(session, actor=created_by, action="budget_record", now=now,
                 recipient=session.get(Recipient, agreement.recipient_id),
                 details={"key": agreement.key, "record": RECORD_KINDS[kind], "date": day.isoformat(),
                          "case": None if case is None else case.reference})
    return record


def _ended(session: Session, case: BudgetCase) -> date | None:
    return session.scalar(select(BudgetRecord.record_date).where(BudgetRecord.case_id == case.id,
                                                                 BudgetRecord.kind == "case_end"))


@dataclass(frozen=True)
class Reminder:
    """One deadline: ``kind`` (``first_report``, ``action_plan``, ``case_report``,
    ``meeting_report``), the case's reference (None for the first report), the ``due`` day, its
    ``state`` on the day asked (``overdue``, ``due``, ``upcoming``), German ``text`` and ``source``."""

    kind: str
    case: str | None
    due: date
    state: str
    text: str
    source: str

    def as_json(self) -> dict:
        """JSON-ready: ``due`` as ISO date, ``state_label`` German."""
        return {"kind": self.kind, "case": self.case, "due": self.due.isoformat(), "state": self.state,
                "state_label": STATES[self.state], "text": self.text, "source": self.source}


def state_on(due: date, day: date, lead_days: int) -> str:
    """``overdue`` if ``day`` is after ``due``; ``due`` from ``lead_days`` days before up to ``due``; else ``upcoming``."""
    if day > due:
        return "overdue"
    return "due" if day >= due - timedelta(days=lead_days) else "upcoming"


def reminders(session: Session, agreement: BudgetAgreement, rule: BudgetRule, day: date) -> list[Reminder]:
    """The open deadlines of ``agreement`` on ``day`` (see the module docstring), by due day."""
    records = list(session.scalars(select(BudgetRecord).where(BudgetRecord.agreement_id == agreement.id)
                                   .order_by(BudgetRecord.record_date, BudgetRecord.id)))
    result = []
    if not any(r.kind == "provider_report" for r in records):
        result.append(Reminder("first_report", None, rule.first_report,
                               state_on(rule.first_report, day, rule.reminder_lead_days),
                               f"Erster Bericht des Trägers bis {rule.first_report:%d.%m.%Y}",
                               rule.first_report_source))
    cases = session.scalars(select(BudgetCase).where(BudgetCase.agreement_id == agreement.id)
                            .order_by(BudgetCase.start_date, BudgetCase.reference))
    for case in cases:
        own = [r for r in records if r.case_id == case.id]
        if any(r.kind == "case_end" and r.record_date <= day for r in own):
            continue
        result += _case_reminders(case, own, rule, day)
    return sorted(result, key=lambda r: (r.due, r.case or ""))


def _case_reminders(case: BudgetCase, records: list[BudgetRecord], rule: BudgetRule, day: date) -> list[Reminder]:
    """The open deadlines of one running case on ``day``."""
    result = []
    lead = rule.reminder_lead_days

    def reminder(kind: str, due: date, text: str, source: str) -> Reminder:
        return Reminder(kind, case.reference, due, state_on(due, day, lead), f"Fall {case.reference}: {text}", source)

    if not any(r.kind == "action_plan" for r in records):
        due = case.start_date + relativedelta(weeks=rule.action_plan_weeks)
        result.append(reminder("action_plan", due, f"Handlungsplan bis {due:%d.%m.%Y} (spätestens "
                               f"{rule.action_plan_weeks} Wochen nach Hilfebeginn am {case.start_date:%d.%m.%Y})",
                               rule.action_plan_source))
    reports = [r.record_date for r in records if r.kind == "case_report"]
    base = max(reports, default=case.start_date)
    due = base + relativedelta(months=rule.case_report_months)
    since = f"letzter Fallbericht am {base:%d.%m.%Y}" if reports else f"Hilfebeginn am {base:%d.%m.%Y}"
    result.append(reminder("case_report", due, f"Fallbericht bis {due:%d.%m.%Y} (alle {rule.case_report_months} "
                           f"Monate; {since})", rule.case_reports_source))
    meetings = sorted(r.record_date for r in records if r.kind == "meeting")
    for index, meeting in enumerate(meetings):
        if meeting < day:
            continue
        previous = meetings[index - 1] if index else case.start_date
        due = meeting - relativedelta(weeks=rule.report_weeks_before_meeting)
        if any(previous < report <= due for report in reports):
            continue
        result.append(reminder("meeting_report", due, f"Fallbericht bis {due:%d.%m.%Y} (mindestens "
                               f"{rule.report_weeks_before_meeting} Wochen vor dem Hilfeplangespräch am "
                               f"{meeting:%d.%m.%Y})", rule.case_reports_source))
    return result


def cases_overview(session: Session, agreement: BudgetAgreement) -> list[dict]:
    """The cases of ``agreement`` with their records, JSON-ready: ``reference``, ``start``,
    ``ended`` (ISO day or None) and ``records`` [{``kind``, ``label``, ``date``}] by date."""
    result = []
    for case in session.scalars(select(BudgetCase).where(BudgetCase.agreement_id == agreement.id)
                                .order_by(BudgetCase.start_date, BudgetCase.reference)):
        own = session.scalars(select(BudgetRecord).where(BudgetRecord.case_id == case.id)
                              .order_by(BudgetRecord.record_date, BudgetRecord.id)).all()
        ended = next((r.record_date for r in own if r.kind == "case_end"), None)
        result.append({"reference": case.reference, "start": case.start_date.isoformat(),
                       "ended": None if ended is None else ended.isoformat(),
                       "records": [{"kind": r.kind, "label": RECORD_KINDS[r.kind], "date": r.record_date.isoformat()}
                                   for r in own]})
    return result

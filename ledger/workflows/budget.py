"""Provider budgets (Trägerbudget): the agreement, its monthly advances, hours and their trigger.

The Bremerhaven model of seed 004 (DOMAIN.md "Bremerhaven Trägerbudget"; rule pack of programme
``traegerbudget``, ``rules/traegerbudget-bremerhaven.toml``): a public body (a recipient) pays a
provider a fixed budget for a term in equal monthly advances; the provider reports delivered
client hours per quarter.

- **Advances** (:func:`advance_schedule`): one per month of the term, due on the pack's
  ``advance_day``. The budget in cents is divided by the number of months; the remainder
  cents go one each to the *first* months of the term (so the shares differ by at most one
  cent, earlier shares are never smaller, and the advances sum exactly to the budget).
  :func:`book_advances` books the advances due up to a day as journal entries (kind
  ``budget_advance``: debit the budget's expense account, credit the bank), once each.
- **Outside the budget** (:func:`book_outside_cost`): § 39 SGB VIII special needs are booked on
  their own account and category (kind ``budget_outside``), never on the budget's account.
- **Hours** (:func:`budget_status`): agreed client hours per quarter are a fourth of the
  yearly hours. A quarter is *short* when delivered < ``trigger_share`` × agreed (exactly 90 %
  is not short); ``consecutive_quarters`` short quarters in a row trigger the renegotiation
  clause, which applies once the officer judges that the shortfall will persist
  (:func:`record_judgement`).
- **Indirect hours**: the seed's wording ("Effektive Jahresarbeitszeit; 80 % direkte Zeiten …
  die indirekten Zeiten … betragen kalkulatorisch 20 % der Stunden am Klient") allows two
  readings, kept per agreement (``indirect_reading``): ``client_hours``: indirect = 20 % of the
  client hours (1.280 client hours → 256 indirect); ``working_time``: client hours are 80 % of
  the working time, indirect the other 20 % (1.280 client hours → 320 indirect, of 1.600).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.hours import to_centihours
from ledger.core.models import (
    Account,
    BudgetAdvance,
    BudgetAgreement,
    BudgetHoursReport,
    BudgetJudgement,
    JournalEntry,
    Recipient,
)
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import add_account, find_account, role_account
from ledger.core.schoolyear import SchoolYear
from ledger.rules.packs import BudgetRule, RulePack, load_packs, pack_for
from ledger.workflows.budget_cases import reminders

PROGRAMME = "traegerbudget"
#: Readings of the seed's indirect-hours wording → German label.
INDIRECT_READINGS = {
    "client_hours": "indirekte Zeiten = 20 % der Stunden am Klient",
    "working_time": "Stunden am Klient = 80 % der Arbeitszeit, indirekte Zeiten = 20 % der Arbeitszeit",
}
#: The services a Bremerhaven budget replaces and those outside it (seed 004, Abschnitt II.1).
REPLACES = (
    "§ 27 Abs. 2 SGB VIII Sozialräumliche Lösungssuche (Multifamilienarbeit, integrative systemische Familienberatung)",
    "§ 30 SGB VIII Erziehungsbeistand, Betreuungshelfer",
    "§ 31 SGB VIII Sozialpädagogische Familienhilfe",
    "§ 35 SGB VIII Intensive sozialpädagogische Einzelbetreuung",
    "semiprofessionelle ambulante Maßnahmen und bestehende Gruppenangebote",
)
OUTSIDE = ("§ 39 SGB VIII Sonderbedarfe (Leistungen zum Unterhalt)",)
#: Accounts of the chart a budget books on (number, German name), by the pack's category.
BUDGET_ACCOUNT = ("5336", "Trägerbudget ambulante Hilfen zur Erziehung")
OUTSIDE_ACCOUNT = ("5339", "Sonderbedarfe § 39 SGB VIII (außerhalb des Trägerbudgets)")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def parse_quarter(text: str) -> tuple[int, int]:
    """``"2025-Q1"`` → ``(2025, 1)``. Raises LedgerError otherwise."""
    match = _QUARTER.match(text.strip())
    if not match:
        raise LedgerError(f"ungültiges Quartal {text!r} (erwartet z. B. 2025-Q1)")
    return int(match.group(1)), int(match.group(2))


def _quarters(agreement: BudgetAgreement) -> list[str]:
    """The quarters of the term, ``"2025-Q1"`` … ``"2029-Q4"``."""
    result, year, quarter = [], agreement.start_date.year, (agreement.start_date.month - 1) // 3 + 1
    while date(year, 3 * quarter - 2, 1) <= agreement.end_date:
        result.append(f"{year}-Q{quarter}")
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return result


def budget_rule(agreement: BudgetAgreement, packs: tuple[RulePack, ...] | None = None) -> BudgetRule:
    """The ``[budget]`` rules of the pack the agreement follows. Raises LedgerError if it is gone."""
    for pack in packs if packs is not None else load_packs():
        if pack.id == agreement.pack_id and pack.budget is not None:
            return pack.budget
    raise LedgerError("das Regelwerk dieses Trägerbudgets ist nicht mehr vorhanden")


def _hours(value: Decimal | str, label: str) -> Decimal:
    text = str(value).strip()
    if "," in text:  # German: "1.799,99"
        text = text.replace(".", "").replace(",", ".")
    try:
        hours = Decimal(text)
    except InvalidOperation as exc:
        raise LedgerError(f"{label}: {value!r} ist keine Stundenzahl") from exc
    if not hours.is_finite() or hours < 0 or hours != hours.quantize(Decimal("0.01")):
        raise LedgerError(f"{label}: Stunden nicht negativ, höchstens zwei Nachkommastellen")
    return hours


def add_budget_agreement(
    session: Session, recipient: Recipient, key: str, *, title: str, provider_name: str, start: date, end: date,
    budget: Decimal, specialist_hours_year: Decimal, semi_professional_hours_year: Decimal,
    indirect_reading: str = "client_hours", reference: str, created_by: str, now: datetime,
    packs: tuple[RulePack, ...] | None = None,
) -> BudgetAgreement:
    """Record a provider budget of ``recipient`` (the public body) and return it (not committed).

    ``budget`` in EUR (Decimal); the term runs from the first of a month to the last of a month;
    hours are Decimal client hours per year. The pack of programme ``traegerbudget`` in force
    for the school year of ``start`` supplies the rules; the budget's two expense accounts
    (``BUDGET_ACCOUNT``, ``OUTSIDE_ACCOUNT``) are added to the chart if missing.
    Raises LedgerError for a duplicate key, a term not of whole months, a non-positive budget,
    bad hours or an unknown reading; NoRulePack if no pack covers the start.
    """
    packs = packs if packs is not None else load_packs()
    pack = pack_for(PROGRAMME, SchoolYear.of(start), packs)
    if pack.budget is None:
        raise LedgerError(f"das Regelwerk „{pack.title}“ enthält keine Regeln für ein Trägerbudget")
    if session.scalar(select(BudgetAgreement.id).where(BudgetAgreement.key == key)) is not None:
        raise LedgerError(f"ein Trägerbudget {key!r} gibt es bereits")
    if start.day != 1 or end <= start or (end + timedelta(days=1)).day != 1:
        raise LedgerError("die Laufzeit muss am Monatsersten beginnen und am Monatsletzten enden")
    if indirect_reading not in INDIRECT_READINGS:
        raise LedgerError(f"unbekannte Lesart der indirekten Zeiten {indirect_reading!r}")
    cents = checked_cents(budget)
    if cents <= 0:
        raise LedgerError("das Trägerbudget muss größer als 0,00 EUR sein")
    known = frozenset(c.id for c in pack.categories)
    for (number, name), category in ((BUDGET_ACCOUNT, pack.budget.budget_category),
                                     (OUTSIDE_ACCOUNT, pack.budget.outside_category)):
        if find_account(session, recipient, number) is None:
            add_account(session, recipient, number, name, "expense", category, known, actor=created_by, now=now)
    agreement = BudgetAgreement(
        recipient_id=recipient.id, key=key, title=title.strip(), provider_name=provider_name.strip(), start_date=start,
        end_date=end, budget_cents=cents, replaces="\n".join(REPLACES), outside="\n".join(OUTSIDE),
        specialist_centihours_year=to_centihours(_hours(specialist_hours_year, "Fachkräfte")),
        semi_professional_centihours_year=to_centihours(_hours(semi_professional_hours_year, "Semiprofessionelle")),
        indirect_reading=indirect_reading, pack_id=pack.id, reference=reference.strip(), created_by=created_by,
        created_at=now)
    session.add(agreement)
    session.flush()
    audit.record(session, actor=created_by, action="budget_agreement_add", now=now, recipient=recipient,
                 details={"key": key, "budget": str(from_cents(cents)), "start": start.isoformat(),
                          "end": end.isoformat(), "pack": pack.id})
    return agreement


def get_budget_agreement(session: Session, key: str) -> BudgetAgreement:
    """The provider budget ``key``. Raises NotFound."""
    agreement = session.scalar(select(BudgetAgreement).where(BudgetAgreement.key == key))
    if agreement is None:
        raise NotFound(f"Trägerbudget {key!r} nicht gefunden")
    return agreement


@dataclass(frozen=True)
class Advance:
    """One advance of the schedule: its number (1…), due day, amount in cents and, once booked,
    the journal entry's id."""

    number: int
    due: date
    cents: int
    entry_id: int | None = None


def advance_schedule(agreement: BudgetAgreement, rule: BudgetRule) -> list[Advance]:
    """The advances of the term, one per month on ``rule.advance_day``, summing exactly to the
    budget: ``budget_cents // months`` each, the remainder one cent each to the first months."""
    months = []
    year, month = agreement.start_date.year, agreement.start_date.month
    while date(year, month, 1) <= agreement.end_date:
        months.append(date(year, month, rule.advance_day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    share, remainder = divmod(agreement.budget_cents, len(months))
    return [Advance(i + 1, day, share + (1 if i < remainder else 0)) for i, day in enumerate(months)]


def advances(session: Session, agreement: BudgetAgreement, packs: tuple[RulePack, ...] | None = None) -> list[Advance]:
    """The schedule with each booked advance's journal entry."""
    booked = {a.due_date: a.entry_id for a in session.scalars(
        select(BudgetAdvance).where(BudgetAdvance.agreement_id == agreement.id))}
    return [Advance(a.number, a.due, a.cents, booked.get(a.due))
            for a in advance_schedule(agreement, budget_rule(agreement, packs))]


def book_advances(session: Session, agreement: BudgetAgreement, *, until: date, created_by: str, now: datetime,
                  packs: tuple[RulePack, ...] | None = None) -> list[Advance]:
    """Book every advance due on or before ``until`` not yet booked; return the new ones.

    Each is a journal entry of kind ``budget_advance``: debit the budget account (category of
    the pack's ``budget_category``), credit the bank, in the school year of its day.
    Raises LedgerError from ``post_entry`` (e.g. a closed school year).
    """
    recipient = session.get(Recipient, agreement.recipient_id)
    budget_account = _account(session, recipient, BUDGET_ACCOUNT)
    bank = role_account(session, recipient, "bank")
    rule = budget_rule(agreement, packs)
    new = []
    for advance in advances(session, agreement, packs):
        if advance.entry_id is not None or advance.due > until:
            continue
        amount, year = from_cents(advance.cents), SchoolYear.of(advance.due)
        entry = post_entry(
            session, recipient, day=advance.due, voucher_number=f"TB-{agreement.key}-{advance.due:%Y-%m}"[:60],
            text=f"Abschlag {advance.number} Trägerbudget {agreement.provider_name}", kind="budget_advance",
            lines=[PostingLine(budget_account, amount, year, rule.budget_category),
                   PostingLine(bank, -amount, year)],
            created_by=created_by, now=now)
        session.add(BudgetAdvance(agreement_id=agreement.id, due_date=advance.due, amount_cents=advance.cents,
                                  entry_id=entry.id, created_by=created_by, created_at=now))
        new.append(Advance(advance.number, advance.due, advance.cents, entry.id))
    session.flush()
    if new:
        audit.record(session, actor=created_by, action="budget_advances", now=now, recipient=recipient,
                     details={"key": agreement.key, "count": len(new),
                              "total": str(from_cents(sum(a.cents for a in new)))})
    return new


def book_outside_cost(session: Session, agreement: BudgetAgreement, *, day: date, amount: Decimal,
                      voucher_number: str, text: str, created_by: str, now: datetime,
                      packs: tuple[RulePack, ...] | None = None) -> JournalEntry:
    """Book a § 39 SGB VIII special need beside the budget (kind ``budget_outside``): debit the
    outside account (the pack's ``outside_category``), credit the bank. Never touches the budget
    account. Raises LedgerError for a non-positive amount or from ``post_entry``."""
    if amount <= 0:
        raise LedgerError("der Betrag muss größer als 0,00 EUR sein")
    recipient = session.get(Recipient, agreement.recipient_id)
    rule, year = budget_rule(agreement, packs), SchoolYear.of(day)
    return post_entry(
        session, recipient, day=day, voucher_number=voucher_number, text=text, kind="budget_outside",
        lines=[PostingLine(_account(session, recipient, OUTSIDE_ACCOUNT), amount, year, rule.outside_category),
               PostingLine(role_account(session, recipient, "bank"), -amount, year)],
        created_by=created_by, now=now)


def _account(session: Session, recipient: Recipient, spec: tuple[str, str]) -> Account:
    account = find_account(session, recipient, spec[0])
    if account is None:
        raise NotFound(f"Konto {spec[0]} {spec[1]} fehlt im Kontenplan")
    return account


def add_hours_report(session: Session, agreement: BudgetAgreement, quarter: str, *, specialist: Decimal | str,
                     semi_professional: Decimal | str, created_by: str, now: datetime) -> BudgetHoursReport:
    """Record the provider's delivered client hours of ``quarter`` (``"2025-Q1"``, within the
    term); a later report of the same quarter replaces it in :func:`budget_status`.
    Raises LedgerError for a bad quarter or hours."""
    year, number = parse_quarter(quarter)
    label = f"{year}-Q{number}"
    if label not in _quarters(agreement):
        raise LedgerError(f"das Quartal {label} liegt außerhalb der Laufzeit des Trägerbudgets")
    report = BudgetHoursReport(agreement_id=agreement.id, quarter=label,
                               specialist_centihours=to_centihours(_hours(specialist, "Fachkräfte")),
                               semi_professional_centihours=to_centihours(_hours(semi_professional,
                                                                                 "Semiprofessionelle")),
                               created_by=created_by, created_at=now)
    session.add(report)
    session.flush()
    audit.record(session, actor=created_by, action="budget_hours", now=now,
                 recipient=session.get(Recipient, agreement.recipient_id),
                 details={"key": agreement.key, "quarter": label, "specialist": str(report.specialist_hours),
                          "semi_professional": str(report.semi_professional_hours)})
    return report


def record_judgement(session: Session, agreement: BudgetAgreement, quarter: str, *, persists: bool, reasoning: str,
                     created_by: str, now: datetime) -> BudgetJudgement:
    """Record the officer's judgement, for ``quarter``, whether the shortfall will persist
    (seed 004 II.5: "und es wahrscheinlich ist, dass sich dies nicht ändern wird").
    Raises LedgerError without a reasoning or for a bad quarter."""
    year, number = parse_quarter(quarter)
    if not reasoning.strip():
        raise LedgerError("die Einschätzung braucht eine Begründung")
    judgement = BudgetJudgement(agreement_id=agreement.id, quarter=f"{year}-Q{number}", persists=persists,
                                reasoning=reasoning.strip()[:1000], created_by=created_by, created_at=now)
    session.add(judgement)
    session.flush()
    audit.record(session, actor=created_by, action="budget_judgement", now=now,
                 recipient=session.get(Recipient, agreement.recipient_id),
                 details={"key": agreement.key, "quarter": judgement.quarter, "persists": persists})
    return judgement


def indirect_hours(client_hours: Decimal, reading: str, rule: BudgetRule) -> Decimal:
    """Indirect hours to ``client_hours`` under ``reading`` (see the module docstring), to 0.01 h."""
    if reading == "client_hours":
        value = client_hours * rule.indirect_share
    else:
        value = client_hours * rule.indirect_share / rule.direct_share
    return value.quantize(Decimal("0.01"))


def budget_status(session: Session, agreement: BudgetAgreement, packs: tuple[RulePack, ...] | None = None, *,
                  as_of: date) -> dict:
    """The agreement's state as a JSON-ready dict (amounts and hours as strings):

    ``quarters``: one per reported quarter, in order, with agreed and delivered hours
    (specialist, semi-professional, total), ``share`` (delivered/agreed, 4 places), ``short``
    and indirect hours; ``trigger``: ``reached`` (the pack's number of consecutive short
    quarters), ``quarters`` (the run that reached it), ``judgement`` (the latest recorded one,
    or None) and ``renegotiate`` (reached and judged to persist); ``advances``: booked count
    and total against the budget; ``extra``: the expected extra share and the delivered against
    the agreed hours per year and cumulative (:func:`extra_services`); ``reminders``: the open
    deadlines on the day ``as_of`` (``ledger.workflows.budget_cases.reminders``), each
    with ``kind``, ``case``, ``due``, ``state``, German ``text`` and ``source``.
    A quarter without a report breaks a run of short quarters.
    """
    rule = budget_rule(agreement, packs)
    agreed_specialist = agreement.specialist_hours_year / 4
    agreed_semi = agreement.semi_professional_hours_year / 4
    agreed = agreed_specialist + agreed_semi
    latest: dict[str, BudgetHoursReport] = {}
    for report in session.scalars(select(BudgetHoursReport).where(BudgetHoursReport.agreement_id == agreement.id)
                                  .order_by(BudgetHoursReport.id)):
        latest[report.quarter] = report
    quarters, run, reached_run = [], [], []
    for label in _quarters(agreement):
        report = latest.get(label)
        if report is None:
            run = []
            continue
        delivered = report.specialist_hours + report.semi_professional_hours
        short = delivered < rule.trigger_share * agreed
        run = run + [label] if short else []
        if len(run) >= rule.consecutive_quarters and not reached_run:
            reached_run = run[-rule.consecutive_quarters:]
        quarters.append({
            "quarter": label,
            "agreed": {"specialist": _h(agreed_specialist), "semi_professional": _h(agreed_semi), "total": _h(agreed)},
            "delivered": {"specialist": _h(report.specialist_hours),
                          "semi_professional": _h(report.semi_professional_hours), "total": _h(delivered)},
            "share": str((delivered / agreed).quantize(Decimal("0.0001"))) if agreed else None,
            "short": short,
            "indirect_hours": _h(indirect_hours(delivered, agreement.indirect_reading, rule)),
        })
    judgement = session.scalar(select(BudgetJudgement).where(BudgetJudgement.agreement_id == agreement.id)
                               .order_by(BudgetJudgement.id.desc()).limit(1))
    booked = [a for a in advances(session, agreement, packs) if a.entry_id is not None]
    return {
        "agreement": agreement.key,
        "provider": agreement.provider_name,
        "term": {"start": agreement.start_date.isoformat(), "end": agreement.end_date.isoformat()},
        "budget": str(from_cents(agreement.budget_cents)),
        "indirect_reading": agreement.indirect_reading,
        "quarters": quarters,
        "trigger": {
            "share": str(rule.trigger_share), "consecutive_quarters": rule.consecutive_quarters,
            "reached": bool(reached_run), "quarters": reached_run,
            "judgement": None if judgement is None else {
                "quarter": judgement.quarter, "persists": judgement.persists, "reasoning": judgement.reasoning,
                "by": judgement.created_by, "at": judgement.created_at.isoformat()},
            "renegotiate": bool(reached_run) and judgement is not None and judgement.persists,
        },
        "advances": {"booked": len(booked), "booked_total": str(from_cents(sum(a.cents for a in booked))),
                     "budget": str(from_cents(agreement.budget_cents))},
        "extra": extra_services(quarters, rule),
        "reminders": [r.as_json() for r in reminders(session, agreement, rule, as_of)],
    }


def extra_services(quarters: list[dict], rule: BudgetRule) -> dict:
    """The "up to 15 % more services for the same budget" as a figure (seed 004 II.5, the pack's
    ``expected_extra_share``): delivered against agreed client hours of the reported quarters,
    per year and cumulative. ``quarters`` as in :func:`budget_status`. Each figure has ``agreed``
    and ``delivered`` hours, ``quarters`` (count) and ``extra_share`` = delivered / agreed − 1
    (4 places; negative for a shortfall; None without agreed hours)."""
    def figure(rows: list[dict]) -> dict:
        agreed = sum((Decimal(q["agreed"]["total"]) for q in rows), Decimal(0))
        delivered = sum((Decimal(q["delivered"]["total"]) for q in rows), Decimal(0))
        share = None if not agreed else str((delivered / agreed - 1).quantize(Decimal("0.0001")))
        return {"quarters": len(rows), "agreed": _h(agreed), "delivered": _h(delivered), "extra_share": share}

    years = sorted({q["quarter"][:4] for q in quarters})
    return {"expected_share": str(rule.expected_extra_share), "source": rule.extra_source,
            "years": [{"year": int(y), **figure([q for q in quarters if q["quarter"][:4] == y])} for y in years],
            "cumulative": figure(quarters)}


def _h(hours: Decimal) -> str:
    return str(hours.quantize(Decimal("0.01")))


def format_advance(advance: Advance) -> str:
    """``"Nr. 1  01.01.2025  164.609,06 EUR  gebucht"``: one advance for people."""
    state = "gebucht" if advance.entry_id is not None else "offen"
    return f"Nr. {advance.number:>2}  {advance.due:%d.%m.%Y}  {format_german(from_cents(advance.cents)):>14} EUR  {state}"

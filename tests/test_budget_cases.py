"""Cases of a provider budget and their deadlines as reminders (Modellprojekt zu ambulanten
Leistungen der Hilfen zur Erziehung, Abschnitte II.5 and II.6; DOMAIN.md "Bremerhaven Trägerbudget")."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ledger.core.errors import LedgerError
from ledger.core.models import AuditEvent
from ledger.workflows.budget import budget_rule, budget_status
from ledger.workflows.budget_cases import add_case, add_record, reminders, state_on
from tests.test_budget import _agreement, _report
from tests.conftest import NOW


def _open(session, agreement, day):
    return {(r.kind, r.case): r for r in reminders(session, agreement, budget_rule(agreement), day)}


def test_first_report_is_due_by_31_march_2026_until_a_report_is_recorded(session):
    """Abschnitt II.5: "Der erste Bericht durch den Träger wird zum 31.03.2026 vorgelegt"; lead 14 days (pack)."""
    agreement = _agreement(session)
    assert _open(session, agreement, date(2026, 3, 16))["first_report", None].state == "upcoming"
    assert _open(session, agreement, date(2026, 3, 17))["first_report", None].state == "due"
    assert _open(session, agreement, date(2026, 3, 31))["first_report", None].state == "due"
    first = _open(session, agreement, date(2026, 4, 1))["first_report", None]
    assert first.state == "overdue" and "31.03.2026" in first.text and "Abschnitt II.5" in first.source
    add_record(session, agreement, "provider_report", date(2026, 4, 2), created_by="t", now=NOW)
    assert ("first_report", None) not in _open(session, agreement, date(2026, 4, 2))


def test_action_plan_within_six_weeks_of_the_start(session):
    """Abschnitt II.6: Handlungsplan "nach spätestens sechs Wochen nach Hilfebeginn": start 01.09.2025 → 13.10.2025."""
    agreement = _agreement(session)
    case = add_case(session, agreement, "2025-B07", start=date(2025, 9, 1), created_by="t", now=NOW)
    plan = _open(session, agreement, date(2025, 10, 13))["action_plan", "2025-B07"]
    assert plan.due == date(2025, 10, 13) and plan.state == "due"
    assert _open(session, agreement, date(2025, 10, 14))["action_plan", "2025-B07"].state == "overdue"
    add_record(session, agreement, "action_plan", date(2025, 10, 14), case=case, created_by="t", now=NOW)
    assert ("action_plan", "2025-B07") not in _open(session, agreement, date(2025, 10, 14))


def test_case_reports_every_six_calendar_months_from_the_start_then_from_the_last_report(session):
    """Abschnitt II.6: "Die Berichte sind regelmäßig alle 6 Monate einzureichen": 31.08.2025 + 6 months = 28.02.2026."""
    agreement = _agreement(session)
    case = add_case(session, agreement, "F-1", start=date(2025, 8, 31), created_by="t", now=NOW)
    report = _open(session, agreement, date(2026, 2, 28))["case_report", "F-1"]
    assert report.due == date(2026, 2, 28) and report.state == "due"
    assert _open(session, agreement, date(2026, 3, 1))["case_report", "F-1"].state == "overdue"
    add_record(session, agreement, "case_report", date(2026, 3, 2), case=case, created_by="t", now=NOW)
    assert _open(session, agreement, date(2026, 3, 2))["case_report", "F-1"].due == date(2026, 9, 2)


@pytest.mark.parametrize(("report_day", "met"), [(date(2026, 1, 19), True), (date(2026, 1, 20), False)])
def test_a_report_exactly_six_weeks_before_the_meeting_is_in_time_a_day_later_is_not(session, report_day, met):
    """Abschnitt II.6: "mindestens 6 Wochen vor dem anberaumten Hilfeplangespräch": meeting 02.03.2026 − 42 days
    = 19.01.2026."""
    agreement = _agreement(session)
    case = add_case(session, agreement, "F-2", start=date(2025, 11, 3), created_by="t", now=NOW)
    add_record(session, agreement, "meeting", date(2026, 3, 2), case=case, created_by="t", now=NOW)
    before = _open(session, agreement, date(2026, 1, 19))["meeting_report", "F-2"]
    assert before.due == date(2026, 1, 19) and before.state == "due" and "02.03.2026" in before.text
    assert _open(session, agreement, date(2026, 1, 20))["meeting_report", "F-2"].state == "overdue"
    add_record(session, agreement, "case_report", report_day, case=case, created_by="t", now=NOW)
    open_ = _open(session, agreement, date(2026, 3, 2))
    assert (("meeting_report", "F-2") not in open_) is met
    assert ("meeting_report", "F-2") not in _open(session, agreement, date(2026, 3, 3))  # the meeting is past


def test_an_ended_case_has_no_reminders_and_takes_no_records(session):
    agreement = _agreement(session)
    case = add_case(session, agreement, "F-3", start=date(2025, 9, 1), created_by="t", now=NOW)
    add_record(session, agreement, "case_end", date(2025, 9, 30), case=case, created_by="t", now=NOW)
    assert not any(c == "F-3" for _, c in _open(session, agreement, date(2025, 9, 30)))
    assert ("action_plan", "F-3") in _open(session, agreement, date(2025, 9, 29))
    with pytest.raises(LedgerError, match="beendet"):
        add_record(session, agreement, "case_report", date(2025, 10, 1), case=case, created_by="t", now=NOW)


def test_state_boundaries():
    assert state_on(date(2026, 3, 31), date(2026, 3, 31), 14) == "due"
    assert state_on(date(2026, 3, 31), date(2026, 4, 1), 14) == "overdue"
    assert state_on(date(2026, 3, 31), date(2026, 3, 17), 14) == "due"
    assert state_on(date(2026, 3, 31), date(2026, 3, 16), 14) == "upcoming"


@pytest.mark.parametrize("reference", ["Max Mustermann", "x" * 41, "", "-abc"])
def test_a_case_reference_must_be_a_pseudonymous_code(session, reference):
    with pytest.raises(LedgerError, match="pseudonym"):
        add_case(session, _agreement(session), reference, start=date(2025, 9, 1), created_by="t", now=NOW)


def test_record_refusals(session):
    agreement = _agreement(session)
    case = add_case(session, agreement, "F-4", start=date(2025, 9, 1), created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="bereits"):
        add_case(session, agreement, "F-4", start=date(2025, 9, 1), created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="Laufzeit"):
        add_case(session, agreement, "F-5", start=date(2030, 1, 1), created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="vor dem Hilfebeginn"):
        add_record(session, agreement, "meeting", date(2025, 8, 31), case=case, created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="ohne Fall"):
        add_record(session, agreement, "case_report", date(2025, 9, 2), created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="keinem Fall"):
        add_record(session, agreement, "provider_report", date(2025, 9, 2), case=case, created_by="t", now=NOW)


def test_cases_and_records_are_audited_and_append_only(session, engine):
    agreement = _agreement(session)
    case = add_case(session, agreement, "F-6", start=date(2025, 9, 1), created_by="officer", now=NOW)
    add_record(session, agreement, "meeting", date(2026, 3, 2), case=case, created_by="officer", now=NOW)
    session.commit()
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "officer")).all()
    assert actions == ["budget_case_add", "budget_record"]
    for statement in ("UPDATE budget_cases SET reference = 'x'", "DELETE FROM budget_records"):
        with pytest.raises(sa.exc.DBAPIError):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))


# --- the up to 15 % more services as a figure ---------------------------------------------------


def test_extra_services_per_year_and_cumulative(session):
    """Abschnitt II.5: "bis zu 15 % mehr Leistungen für den gleichbleibenden Kostenbetrag". Agreed 2.500 h a quarter;
    2025: 2.875 + 2.500 = 5.375 of 5.000 h = +7,5 %; 2026-Q1: 2.250 of 2.500 = −10 %; cumulative 7.625 of 7.500 =
    +1,6667 %."""
    agreement = _agreement(session)
    for quarter, total in (("2025-Q3", "2875"), ("2025-Q4", "2500"), ("2026-Q1", "2250")):
        _report(session, agreement, quarter, total)
    extra = budget_status(session, agreement, as_of=date(2026, 4, 1))["extra"]
    assert extra["expected_share"] == "0.15" and "Abschnitt II.5" in extra["source"]
    assert extra["years"] == [
        {"year": 2025, "quarters": 2, "agreed": "5000.00", "delivered": "5375.00", "extra_share": "0.0750"},
        {"year": 2026, "quarters": 1, "agreed": "2500.00", "delivered": "2250.00", "extra_share": "-0.1000"}]
    assert extra["cumulative"] == {"quarters": 3, "agreed": "7500.00", "delivered": "7625.00",
                                   "extra_share": "0.0167"}


# --- command line ------------------------------------------------------------------------------


def test_cli_records_cases_and_lists_reminders(cli, session):
    _agreement(session)
    session.commit()
    key = ("--agreement", "bremerhaven-2025")
    added = json.loads(cli("budget", "case", "add", *key, "--case", "2025-B07", "--start", "2025-09-01",
                           "--json").stdout)
    assert added == {"agreement": "bremerhaven-2025", "case": "2025-B07", "start": "2025-09-01"}
    cli("budget", "case", "meeting", *key, "--case", "2025-B07", "--date", "2026-03-02")
    assert "Handlungsplan am 13.10.2025 erfasst" in cli("budget", "case", "plan", *key, "--case", "2025-B07",
                                                         "--date", "2025-10-13").stdout
    shown = json.loads(cli("budget", "reminders", *key, "--date", "2026-01-20", "--json").stdout)
    kinds = {(r["kind"], r["state"]) for r in shown["reminders"]}
    assert kinds == {("first_report", "upcoming"), ("case_report", "upcoming"), ("meeting_report", "overdue")}
    text = cli("budget", "reminders", *key, "--date", "2026-01-20").stdout
    assert "19.01.2026 (überfällig): Fall 2025-B07: Fallbericht bis 19.01.2026" in text
    cli("budget", "case", "report", *key, "--case", "2025-B07", "--date", "2026-01-19")
    cli("budget", "report", *key, "--date", "2026-03-30")
    shown = json.loads(cli("budget", "reminders", *key, "--date", "2026-01-20", "--json").stdout)
    assert [r["kind"] for r in shown["reminders"]] == ["case_report"]
    refused = cli("budget", "case", "add", *key, "--case", "Max Mustermann", "--start", "2025-09-01", expect=1)
    assert refused.stdout == "" and "pseudonym" in refused.stderr
    missing = cli("budget", "case", "report", *key, "--case", "F-9", "--date", "2026-01-19", expect=1)
    assert "Fall 'F-9'" in missing.stderr


def test_cli_status_shows_the_extra_services(cli, session):
    agreement = _agreement(session)
    _report(session, agreement, "2025-Q1", "2875")
    session.commit()
    text = cli("budget", "status", "--agreement", "bremerhaven-2025").stdout
    assert "Mehrleistung: 2.875,00 von 2.500,00 vereinbarten Stunden, 15,00 % (erwartet bis zu 15,00 %)." in text
    assert Decimal(json.loads(cli("budget", "status", "--agreement", "bremerhaven-2025", "--json").stdout)
                   ["extra"]["cumulative"]["extra_share"]) == Decimal("0.15")


def test_every_budget_action_and_its_details_read_in_german():
    from ledger.core.audit import ACTION_LABELS, FIELD_LABELS

    for action in ("budget_agreement_add", "budget_advances", "budget_hours", "budget_judgement", "budget_case_add",
                   "budget_record"):
        assert action in ACTION_LABELS
    for field in ("key", "budget", "start", "end", "quarter", "persists", "specialist", "semi_professional", "case",
                  "record", "date", "count", "total", "pack"):
        assert field in FIELD_LABELS

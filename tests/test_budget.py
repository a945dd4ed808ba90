"""Provider budgets (Trägerbudget, seed 004_5ecf31517f7fd061.txt, DOMAIN.md "Bremerhaven Trägerbudget")."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ledger.core.errors import LedgerError
from ledger.core.models import BudgetAdvance, JournalEntry, Posting
from ledger.core.posting import account_balance
from ledger.core.recipients import add_recipient, find_account
from ledger.rules.packs import RulePackError, load_pack
from ledger.workflows.budget import (
    add_budget_agreement,
    add_hours_report,
    advance_schedule,
    book_advances,
    book_outside_cost,
    budget_rule,
    budget_status,
    indirect_hours,
    record_judgement,
)
from tests.conftest import NOW, add_web_user, logged_in

TODAY = date(2025, 10, 1)  # the day the status is asked for
BUDGET = Decimal("9876543.21")  # fictional; 987.654.321 cents / 60 months leaves 21 cents


def _agreement(session, budget=BUDGET, specialist="8000", semi="2000", reading="client_hours"):
    city = add_recipient(session, "bremerhaven", "Stadt Bremerhaven", "stadt", actor="test", now=NOW)
    return add_budget_agreement(
        session, city, "bremerhaven-2025", title="Trägerbudgetvereinbarung", provider_name="Träger Nord e.V.",
        start=date(2025, 1, 1), end=date(2029, 12, 31), budget=budget, specialist_hours_year=Decimal(specialist),
        semi_professional_hours_year=Decimal(semi), indirect_reading=reading, reference="Vereinbarung § 3",
        created_by="test", now=NOW)


def test_sixty_advances_on_the_first_sum_exactly_to_the_budget_remainder_to_the_first_months(session):
    """Seed 004 II.1 and II.4: five years, monthly in advance; remainder rule of ledger.workflows.budget."""
    agreement = _agreement(session)
    schedule = advance_schedule(agreement, budget_rule(agreement))
    assert len(schedule) == 60
    assert all(a.due.day == 1 for a in schedule)
    assert schedule[0].due == date(2025, 1, 1) and schedule[-1].due == date(2029, 12, 1)
    assert sum(a.cents for a in schedule) == 987654321
    assert [a.cents for a in schedule[:21]] == [16460906] * 21
    assert [a.cents for a in schedule[21:]] == [16460905] * 39


def test_booked_advances_are_journal_entries_once_each_and_sum_to_the_budget(session):
    agreement = _agreement(session)
    first = book_advances(session, agreement, until=date(2025, 6, 30), created_by="test", now=NOW)
    assert [a.due.month for a in first] == [1, 2, 3, 4, 5, 6]
    assert book_advances(session, agreement, until=date(2025, 6, 30), created_by="test", now=NOW) == []
    book_advances(session, agreement, until=date(2029, 12, 31), created_by="test", now=NOW)
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(BudgetAdvance)) == 60
    kinds = session.scalars(sa.select(JournalEntry.kind).where(JournalEntry.kind == "budget_advance")).all()
    assert len(kinds) == 60
    budget_account = find_account(session, agreement.recipient, "5336")
    assert account_balance(session, budget_account) == BUDGET


def test_section_39_costs_are_booked_apart_and_never_charged_to_the_budget(session):
    """Seed 004 II.1: "Von der Budgetierung ausgenommen sind Sonderbedarfe … § 39 SGB VIII"."""
    agreement = _agreement(session)
    book_advances(session, agreement, until=date(2025, 3, 31), created_by="test", now=NOW)
    entry = book_outside_cost(session, agreement, day=date(2025, 3, 15), amount=Decimal("1234.56"),
                              voucher_number="SB-1", text="Sonderbedarf Fall 2025-004", created_by="test", now=NOW)
    session.commit()
    assert entry.kind == "budget_outside"
    budget_account = find_account(session, agreement.recipient, "5336")
    outside = find_account(session, agreement.recipient, "5339")
    assert account_balance(session, outside) == Decimal("1234.56")
    assert account_balance(session, budget_account) == Decimal("493827.18")  # 3 × 164.609,06
    categories = {p.category for p in session.scalars(sa.select(Posting).where(Posting.entry_id == entry.id))}
    assert "provider_budget" not in categories and "special_needs_sgb_viii_39" in categories
    status = budget_status(session, agreement, as_of=TODAY)
    assert status["advances"]["booked_total"] == "493827.18"


def test_advances_are_append_only(session, engine):
    agreement = _agreement(session)
    book_advances(session, agreement, until=date(2025, 1, 31), created_by="test", now=NOW)
    session.commit()
    with pytest.raises(sa.exc.DBAPIError):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE budget_advances SET amount_cents = 1"))
    with pytest.raises(sa.exc.DBAPIError):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM budget_agreements"))


def _report(session, agreement, quarter, total):
    """A quarter's report: ``total`` hours, four fifths specialist."""
    total = Decimal(total)
    add_hours_report(session, agreement, quarter, specialist=total * 4 / 5, semi_professional=total / 5,
                     created_by="test", now=NOW)


def test_exactly_90_percent_does_not_trigger_but_three_quarters_below_do(session):
    """Seed 004 II.5: "3 Quartale hintereinander weniger als 90% der vorgesehenen Stunden".
    Agreed: 10.000 h a year, 2.500 h a quarter; 90 % = 2.250 h."""
    agreement = _agreement(session)
    _report(session, agreement, "2025-Q1", "2249.95")
    _report(session, agreement, "2025-Q2", "2249.95")
    _report(session, agreement, "2025-Q3", "2250.00")  # exactly 90 %: not short, the run breaks
    status = budget_status(session, agreement, as_of=TODAY)
    assert [q["short"] for q in status["quarters"]] == [True, True, False]
    assert status["trigger"]["reached"] is False
    _report(session, agreement, "2025-Q3", "2249.95")  # a corrected report: the latest counts
    status = budget_status(session, agreement, as_of=TODAY)
    assert status["trigger"]["reached"] is True
    assert status["trigger"]["quarters"] == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert status["trigger"]["renegotiate"] is False
    record_judgement(session, agreement, "2025-Q3", persists=True, reasoning="Personal fehlt dauerhaft",
                     created_by="officer", now=NOW)
    status = budget_status(session, agreement, as_of=TODAY)
    assert status["trigger"]["renegotiate"] is True
    assert status["trigger"]["judgement"]["by"] == "officer"


def test_a_missing_quarter_breaks_the_run(session):
    agreement = _agreement(session)
    for quarter in ("2025-Q1", "2025-Q2", "2025-Q4"):
        _report(session, agreement, quarter, "100")
    assert budget_status(session, agreement, as_of=TODAY)["trigger"]["reached"] is False


def test_the_two_readings_of_the_indirect_hours(session):
    """DOMAIN.md: 1.600 effective hours, 1.280 client hours → 256 or 320 indirect hours."""
    agreement = _agreement(session)
    rule = budget_rule(agreement)
    assert indirect_hours(Decimal("1280"), "client_hours", rule) == Decimal("256.00")
    assert indirect_hours(Decimal("1280"), "working_time", rule) == Decimal("320.00")


def test_refusals(session):
    agreement = _agreement(session)
    with pytest.raises(LedgerError):
        add_hours_report(session, agreement, "2030-Q1", specialist="1", semi_professional="1", created_by="t", now=NOW)
    with pytest.raises(LedgerError):
        add_hours_report(session, agreement, "2025-Q5", specialist="1", semi_professional="1", created_by="t", now=NOW)
    with pytest.raises(LedgerError):
        add_hours_report(session, agreement, "2025-Q1", specialist="-1", semi_professional="1", created_by="t", now=NOW)
    with pytest.raises(LedgerError):
        record_judgement(session, agreement, "2025-Q3", persists=True, reasoning=" ", created_by="t", now=NOW)
    with pytest.raises(LedgerError):
        add_budget_agreement(session, agreement.recipient, "other", title="x", provider_name="y",
                             start=date(2025, 1, 2), end=date(2029, 12, 31), budget=Decimal("1"),
                             specialist_hours_year=Decimal("1"), semi_professional_hours_year=Decimal("1"),
                             reference="r", created_by="t", now=NOW)


def test_status_names_the_first_report_deadline(session):
    """Seed 004 II.5: "Der erste Bericht durch den Träger wird zum 31.03.2026 vorgelegt"."""
    status = budget_status(session, _agreement(session), as_of=TODAY)
    assert status["reminders"][0]["due"] == "2026-03-31"
    assert status["extra"]["expected_share"] == "0.15"


# --- the pack's [budget] table ------------------------------------------------------------------

PACK = Path(__file__).resolve().parent.parent / "rules" / "traegerbudget-bremerhaven.toml"


def test_the_shipped_budget_pack_holds_the_seeds_figures_with_sources():
    rule = load_pack(PACK).budget
    assert (rule.advance_day, rule.trigger_share, rule.consecutive_quarters) == (1, Decimal("0.90"), 3)
    assert (rule.direct_share, rule.indirect_share, rule.expected_extra_share) == (
        Decimal("0.80"), Decimal("0.20"), Decimal("0.15"))
    assert rule.first_report == date(2026, 3, 31)
    for source in (rule.advance_source, rule.trigger_source, rule.hours_source, rule.reports_source,
                   rule.outside_source):
        assert "Modellprojekt zu ambulanten Leistungen der Hilfen zur Erziehung, Abschnitt II." in source
        assert ".toml" not in source and ".txt" not in source


@pytest.mark.parametrize(("old", "new", "key"), [
    ('indirect_share = "0.20"', 'indirect_share = "0.25"', "budget.indirect_share"),
    ('trigger_share = "0.90"', 'trigger_share = "1.5"', "budget.trigger_share"),
    ('outside_category = "special_needs_sgb_viii_39"', 'outside_category = "unknown"', "budget.outside_category"),
    ("\n[budget]\n", "\n[budget_]\n", "budget_"),
])
def test_a_broken_budget_table_is_refused_naming_the_key(tmp_path, old, new, key):
    broken = tmp_path / "pack.toml"
    broken.write_text(PACK.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(RulePackError) as error:
        load_pack(broken)
    assert key in str(error.value)


def test_only_a_budget_pack_may_lack_the_landeskasse(tmp_path):
    text = PACK.read_text(encoding="utf-8")
    without = text[:text.index("\n[budget]\n")] + "\n" + text[text.index("\n[[categories]]"):]
    path = tmp_path / "pack.toml"
    path.write_text(without, encoding="utf-8")
    with pytest.raises(RulePackError, match="landeskasse"):
        load_pack(path)


# --- command line ------------------------------------------------------------------------------


def test_cli_books_the_advances_and_reports_hours_and_the_trigger(cli, session):
    """`inkl budget advances|hours add|status` (issue 16 "Interfaces")."""
    _agreement(session)
    session.commit()
    shown = json.loads(cli("budget", "advances", "--agreement", "bremerhaven-2025", "--json").stdout)
    assert len(shown["advances"]) == 60 and shown["sum"] == shown["budget"] == "9876543.21"
    assert shown["booked_now"] == 0 and all(a["entry"] is None for a in shown["advances"])
    assert shown["advances"][0] == {"number": 1, "due": "2025-01-01", "amount": "164609.06", "entry": None}
    assert shown["advances"][59]["amount"] == "164609.05"
    booked = json.loads(cli("budget", "advances", "--agreement", "bremerhaven-2025", "--book-until", "2029-12-31",
                            "--json").stdout)
    assert booked["booked_now"] == 60 and all(a["entry"] for a in booked["advances"])
    for quarter in ("2025-Q1", "2025-Q2", "2025-Q3"):
        cli("budget", "hours", "add", "--agreement", "bremerhaven-2025", "--quarter", quarter,
            "--specialist", "1799,99", "--semi-professional", "450")
    status = json.loads(cli("budget", "status", "--agreement", "bremerhaven-2025", "--json").stdout)
    assert [q["delivered"]["total"] for q in status["quarters"]] == ["2249.99"] * 3
    assert status["trigger"]["reached"] is True and status["trigger"]["renegotiate"] is False
    assert status["advances"]["booked_total"] == "9876543.21"
    text = cli("budget", "status", "--agreement", "bremerhaven-2025").stdout
    assert "2.249,99 von 2.500,00 Stunden" in text and "Einschätzung, ob die Unterschreitung anhält, steht aus" in text
    cli("budget", "judgement", "--agreement", "bremerhaven-2025", "--quarter", "2025-Q3", "--persists",
        "--reasoning", "Stellen bleiben unbesetzt")
    status = json.loads(cli("budget", "status", "--agreement", "bremerhaven-2025", "--json").stdout)
    assert status["trigger"]["renegotiate"] is True


def test_cli_refuses_in_german_on_stderr(cli, session):
    _agreement(session)
    session.commit()
    failed = cli("budget", "hours", "add", "--agreement", "bremerhaven-2025", "--quarter", "2025-Q5",
                 "--specialist", "1", "--semi-professional", "1", expect=1)
    assert failed.stdout == "" and "ungültiges Quartal" in failed.stderr
    missing = cli("budget", "status", "--agreement", "nirgendwo", expect=1)
    assert "Trägerbudget 'nirgendwo' nicht gefunden" in missing.stderr


# --- web page ----------------------------------------------------------------------------------


def test_the_budget_page_shows_hours_trigger_judgement_and_deadlines_in_german(app, session):
    agreement = _agreement(session)
    book_advances(session, agreement, until=date(2025, 3, 31), created_by="test", now=NOW)
    for quarter in ("2025-Q1", "2025-Q2", "2025-Q3"):
        _report(session, agreement, quarter, "2249.95")
    record_judgement(session, agreement, "2025-Q3", persists=True, reasoning="Personal fehlt dauerhaft",
                     created_by="officer", now=NOW)
    add_web_user(session, "bea", "officer", recipients=[agreement.recipient])
    client = logged_in(app, "bea")
    journal = client.get("/r/bremerhaven/journal").get_data(as_text=True)
    assert 'href="/r/bremerhaven/traegerbudgets"' in journal
    response = client.get("/r/bremerhaven/traegerbudgets")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>Trägerbudgets</h1>" in page
    assert "9.876.543,21" in page and "01.01.2025 bis 31.12.2029" in page
    assert "3 über 493.827,18" in page
    row = re.search(r'<th scope="row">2025-Q1</th>(.*?)</tr>', page, re.S).group(1)
    assert "2.500,00" in row and "2.249,95" in row and "unterschritten" in row
    assert "über eine Anpassung wird verhandelt" in page and "Personal fehlt dauerhaft" in page
    assert "Erster Bericht des Trägers bis 31.03.2026" in page
    assert "§ 39 SGB VIII" in page and "Abschnitt II.5" in page
    for internal in ("provider_budget", "special_needs_sgb_viii_39", ".toml", "traegerbudget-bremerhaven",
                     "client_hours"):
        assert internal not in page


def test_a_recipient_without_budget_has_no_budget_link(anna):
    assert "traegerbudgets" not in anna.get("/r/testland/journal").get_data(as_text=True)


def test_cli_adds_a_budget_with_the_reading_of_the_indirect_hours(cli, session):
    cli("recipient", "add", "bremerhaven", "--name", "Stadt Bremerhaven", "--kind", "stadt")
    added = json.loads(cli("budget", "add", "--recipient", "bremerhaven", "--key", "b-2025", "--title", "Vereinbarung",
                           "--provider", "Träger Nord e.V.", "--start", "2025-01-01", "--end", "2029-12-31",
                           "--amount", "6000000,00", "--specialist-hours", "8000", "--semi-professional-hours",
                           "2000,5", "--indirect-reading", "working_time", "--reference", "§ 3", "--json").stdout)
    assert added == {"agreement": "b-2025", "budget": "6000000.00", "start": "2025-01-01", "end": "2029-12-31"}
    cli("budget", "hours", "add", "--agreement", "b-2025", "--quarter", "2025-Q1", "--specialist", "1024",
        "--semi-professional", "256")
    status = json.loads(cli("budget", "status", "--agreement", "b-2025", "--json").stdout)
    assert status["indirect_reading"] == "working_time"
    assert status["quarters"][0]["indirect_hours"] == "320.00"   # 1.280 client hours = 80 % of 1.600
    refused = cli("budget", "add", "--recipient", "bremerhaven", "--key", "b-2026", "--title", "x", "--provider", "y",
                  "--start", "2025-01-15", "--end", "2029-12-31", "--amount", "1,00", "--specialist-hours", "1",
                  "--semi-professional-hours", "1", "--reference", "r", expect=1)
    assert "Monatsersten" in refused.stderr

"""Each payout has its own deadline, end to end: the books, the command line's JSON, the
dashboard and the statement (Vereinbarung § 4 Abs. 2: "bis zum 1. April des auf die
Auszahlung folgenden Haushaltsjahres"; § 193 BGB)."""
from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal as D

from pypdf import PdfReader

from ledger.core.grants import add_grant, add_payout
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_repayment
from ledger.reports.statement import build_statement
from ledger.write.statement_pdf import render_statement
from tests.conftest import NOW, add_web_user, import_bytes, logged_in

SY = SchoolYear(2023)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"


def _books(session, kreis):
    """700.000,00 assessed for 2023/24, paid 600.000,00 on 16.10.2023 and 100.000,00 on
    15.01.2024; 450.000,00 spent on workshops: 250.000,00 to repay, of which the January
    tranche's 100.000,00 are due 01.04.2025 and 150.000,00 of the October one 02.04.2024."""
    grant = add_grant(session, kreis, SY, D("700000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("600000.00"), created_by="t", now=NOW)
    add_payout(session, grant, date(2024, 1, 15), D("100000.00"), created_by="t", now=NOW)
    rows = "14.03.2024;F-1;Workshops 2023/24;5292;1810;450.000,00;;;\n"
    assert import_bytes(session, kreis, (HEADER + rows).encode(), "f.csv", created_by="t", now=NOW).ok
    session.commit()


def test_two_payouts_in_two_budget_years_have_two_deadlines(session, kreis):
    _books(session, kreis)
    result = compute_repayment(session, kreis, SY)
    assert [(t.payout_date, t.due, t.due_date) for t in result.tranches] == [
        (date(2023, 10, 16), D("150000.00"), date(2024, 4, 2)),
        (date(2024, 1, 15), D("100000.00"), date(2025, 4, 1))]
    assert (result.repayment_due, result.due_date) == (D("250000.00"), date(2024, 4, 2))


def test_the_json_names_each_due_date_and_keeps_the_earliest(cli, session, kreis):
    _books(session, kreis)
    [year] = json.loads(cli("repayments", "--recipient", "testland", "--json").output)
    assert year["due_date"] == "2024-04-02"
    assert [(d["payout_date"], d["due"], d["due_date"]) for d in year["due_dates"]] == [
        ("2023-10-16", "150000.00", "2024-04-02"), ("2024-01-15", "100000.00", "2025-04-01")]


def test_dashboard_and_statement_show_each_deadline(session, kreis, app):
    _books(session, kreis)
    add_web_user(session, "olga", "officer", [kreis])
    page = " ".join(logged_in(app, "olga").get("/r/testland/2023/").get_data(as_text=True).split())
    assert "Fristen je Auszahlung" in page
    assert "15.01.2024</td><td class=\"num\">100.000,00 €" in page and "01.04.2025" in page
    data = build_statement(session, kreis, SY, now=datetime(2024, 9, 1, 9, 0))
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_statement(data))).pages).split())
    assert "16.10.2023 600.000,00 EUR 150.000,00 EUR 0,00 EUR 150.000,00 EUR 02.04.2024" in text
    assert "15.01.2024 100.000,00 EUR 100.000,00 EUR 0,00 EUR 100.000,00 EUR 01.04.2025" in text


def test_a_statement_says_when_interest_rests_on_an_unchecked_base_rate(session, kreis):
    """The base-rate table marks each value compared with the Bundesbank's publication
    (``bundesbank_checked``); none is yet, so a statement with interest says so."""
    _books(session, kreis)
    data = build_statement(session, kreis, SY, now=datetime(2024, 9, 1, 9, 0))
    assert data.result.late_interest > 0
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_statement(data))).pages).split())
    assert "noch nicht mit der Veröffentlichung der Deutschen Bundesbank abgeglichen" in text

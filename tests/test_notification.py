"""The notification to the ministry (Anzeige), worked by hand.

Rule: "Erkennt der Kreis, dass die Inklusionspauschale im jeweiligen Schuljahr nicht vollständig
zweckentsprechend verwandt werden kann, zeigt er dies dem Ministerium an und zahlt den
entsprechenden Betrag spätestens bis zum 1. April des auf die Auszahlung folgenden
Haushaltsjahres an die Landeskasse zurück" (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2; Hinweise
zur zweckentsprechenden Verwendung der Inklusionspauschale, Teil II). Deadlines moved under § 193 BGB.

Kreis Testland, school year 2023/24: 400.000,00 EUR assessed, paid in two tranches in two budget
years: 300.000,00 on 16.10.2023 (deadline 1 April 2024 = Ostermontag → Tuesday 02.04.2024) and
100.000,00 on 15.01.2024 (deadline 1 April 2025, a Tuesday: 01.04.2025).

Booked: P-1 31.10.2023 pool (systemic, GL school) 90.000,00; F-1 15.11.2023 workshop 10.123,45.
Commitment POOL-A 20.000,00/month 01.08.2023–31.07.2024.

As of 15.02.2024 (February begun: counted as booked) the open months are March–July = 5:

    committed             5 × 20.000,00 = 100.000,00
    projected permitted   90.000,00 + 10.123,45 + 100.000,00 = 200.123,45
    projected repayment   400.000,00 − 200.123,45 = 199.876,55
    by payout (the unspent rest belongs to the latest payout):
        15.01.2024: 100.000,00 (all of it), due 01.04.2025
        16.10.2023: 199.876,55 − 100.000,00 = 99.876,55, due 02.04.2024
    earliest open deadline 02.04.2024; as of 03.04.2024 it has passed: refused.

The year closes with P-2 31.07.2024 pool 260.000,00 booked (no commitment left open):

    permitted  90.000,00 + 10.123,45 + 260.000,00 = 360.123,45
    repayment  400.000,00 − 360.123,45 = 39.876,55, all from the January tranche, due 01.04.2025
    as of 01.09.2024 (year ended, October deadline passed but nothing of it to repay): due;
    as of 01.04.2025 still due, as of 02.04.2025 refused.
"""
from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.notification import build_notification
from ledger.reports.repayment import compute_repayment
from ledger.workflows.masterdata import add
from ledger.write.notification_pdf import render_notification
from tests.conftest import NOW, add_master_data, add_web_user, import_bytes, internal_terms, logged_in

SY = SchoolYear(2023)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
ROWS = """\
31.10.2023;P-1;Pool Träger A Aug-Okt 2023;5291;1810;90.000,00;POOL-A;;
15.11.2023;F-1;Workshop Autismus;5292;1810;10.123,45;;;
"""
SUBJECT = ("Anzeige nach Teil II der Hinweise zur zweckentsprechenden Verwendung der Inklusionspauschale: "
           "Inklusionspauschale, Schuljahr 2023/24 – voraussichtlich nicht vollständig zweckentsprechend "
           "verwendete Mittel")


def _import(session, kreis, rows: str, name: str) -> None:
    assert import_bytes(session, kreis, (HEADER + rows).encode(), name, created_by="t", now=NOW).ok
    session.commit()


def _books(session, kreis, assessed: D) -> None:
    """The grant with its two payouts, the pool commitment and P-1, F-1 (module docstring)."""
    add_master_data(session, kreis)
    grant = add_grant(session, kreis, SY, assessed, notice_date=date(2023, 9, 29), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("300000.00"), created_by="t", now=NOW)
    add_payout(session, grant, date(2024, 1, 15), D("100000.00"), created_by="t", now=NOW)
    add(session, kreis, "commitment", {"Referenz": "POOL-A", "Beschreibung": "Poolvertrag Träger A",
                                       "Kategorie": "pool_personnel", "Monatsbetrag": "20.000,00",
                                       "Beginn": "01.08.2023", "Ende": "31.07.2024", "Pool": "POOL-A"},
        actor="test", now=NOW)
    session.commit()
    _import(session, kreis, ROWS, "2023-24.csv")


@pytest.fixture
def year(session, kreis):
    _books(session, kreis, D("400000.00"))
    return kreis


@pytest.fixture
def closed_year(session, year):
    _import(session, year, "31.07.2024;P-2;Pool Träger A Nov 2023-Jul 2024;5291;1810;260.000,00;POOL-A;;\n", "p2.csv")
    return year


def _tranches(data):
    return [(t.payout_date, t.payout, t.repayment, t.due_date) for t in data.tranches]


def _pdf_text(data) -> str:
    pdf = render_notification(data)
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def test_projected_repayment_by_tranche_as_of_15_february_2024(session, year):
    data = build_notification(session, year, SY, as_of=date(2024, 2, 15))
    assert (data.grant_assessed, data.grant_received) == (D("400000.00"), D("400000.00"))
    assert data.payouts == ((date(2023, 10, 16), D("300000.00")), (date(2024, 1, 15), D("100000.00")))
    assert (data.permitted_booked, data.committed, data.open_commitments) == (D("100123.45"), D("100000.00"),
                                                                             ("POOL-A",))
    assert (data.projected_permitted, data.projected_repayment) == (D("200123.45"), D("199876.55"))
    assert _tranches(data) == [(date(2023, 10, 16), D("300000.00"), D("99876.55"), date(2024, 4, 2)),
                               (date(2024, 1, 15), D("100000.00"), D("100000.00"), date(2025, 4, 1))]
    assert data.tranches[0].nominal_due_date == date(2024, 4, 1)
    assert data.tranches[0].shift_reason == "Ostermontag, gesetzlicher Feiertag"
    assert data.tranches[1].shift_reason is None
    assert (data.due_date, data.outstanding, data.year_ended) == (date(2024, 4, 2), D("199876.55"), False)
    assert data.addressee[0] == "Ministerium für Schule und Bildung"
    assert data.payment_reference == "Rückzahlung Inklusionspauschale 2023/24 Kreis Testland"


def test_the_letter_names_subject_figures_deadlines_and_signature_lines(session, year):
    data = build_notification(session, year, SY, as_of=date(2024, 2, 15))
    text = _pdf_text(data)
    assert SUBJECT in text
    assert "Ministerium für Schule und Bildung des Landes Nordrhein-Westfalen Völklinger Straße 49 40221 Düsseldorf" in text
    assert "Datum: 15. Februar 2024" in text
    assert "Voraussichtlich nicht zweckentsprechend verwendet werden 199.876,55 EUR." in text
    assert "bis zum 15.02.2024 gebuchten Einnahmen und Ausgaben und die offenen Verpflichtungen aus 1 laufenden " \
           "Vertrag bis zum Ende des Schuljahres am 31.07.2024" in text
    assert "Offene Verpflichtungen bis 31.07.2024 100.000,00 EUR" in text
    assert "Voraussichtlich zweckentsprechende Ausgaben im Schuljahr 200.123,45 EUR" in text
    assert "vom 16.10.2023 300.000,00 EUR 99.876,55 EUR 02.04.2024 (01.04.2024: Ostermontag, gesetzlicher " \
           "Feiertag; § 193 BGB)" in text
    assert "vom 15.01.2024 100.000,00 EUR 100.000,00 EUR 01.04.2025" in text
    assert "Wir werden den Betrag von 199.876,55 EUR jeweils spätestens bis zu der oben genannten Frist der " \
           "Auszahlung ohne gesonderte Aufforderung an die Landeskasse Düsseldorf zurückzahlen" in text
    assert "DE59 3005 0000 0001 6835 15" in text and "WELADEDD" in text
    for label in ("Ort, Datum", "Unterschrift", "Name", "Funktion", "Mit freundlichen Grüßen"):
        assert label in text
    assert internal_terms(text) == [] and "POOL-A" not in text
    assert len(PdfReader(io.BytesIO(render_notification(data))).pages) <= 2
    assert render_notification(data) == render_notification(data)  # no clock in the bytes


def test_refused_once_the_earliest_open_deadline_has_passed(session, year):
    assert build_notification(session, year, SY, as_of=date(2024, 4, 2)).due_date == date(2024, 4, 2)
    with pytest.raises(LedgerError, match=r"Auszahlung vom 16\.10\.2023 ist am 02\.04\.2024 abgelaufen; die "
                                          r"Anzeige ist vor der Rückzahlung fällig"):
        build_notification(session, year, SY, as_of=date(2024, 4, 3))


def test_after_the_school_year_the_figures_are_the_actuals(session, closed_year):
    data = build_notification(session, closed_year, SY, as_of=date(2024, 9, 1))
    actual = compute_repayment(session, closed_year, SY)
    assert (data.projected_repayment, actual.repayment_due) == (D("39876.55"), D("39876.55"))
    assert (data.committed, data.open_commitments, data.year_ended) == (D("0.00"), (), True)
    assert _tranches(data) == [(date(2024, 1, 15), D("100000.00"), D("39876.55"), date(2025, 4, 1))]
    assert [(t.payout_date, t.due) for t in actual.tranches if t.due] == [(date(2024, 1, 15), D("39876.55"))]
    text = _pdf_text(data)
    assert "Schuljahr 2023/24 – nicht vollständig zweckentsprechend verwendete Mittel" in text
    assert "Das Schuljahr endete am 31.07.2024." in text and "offene Verpflichtungen bestehen nicht mehr" in text
    assert "Wir werden den Betrag von 39.876,55 EUR spätestens bis zum 1. April 2025 ohne gesonderte" in text
    assert build_notification(session, closed_year, SY, as_of=date(2025, 4, 1)).due_date == date(2025, 4, 1)
    with pytest.raises(LedgerError, match=r"15\.01\.2024 ist am 01\.04\.2025 abgelaufen"):
        build_notification(session, closed_year, SY, as_of=date(2025, 4, 2))


def test_refused_when_nothing_is_to_be_repaid(session, year):
    _import(session, year, "15.12.2023;F-2;Workshops;5292;1810;300.000,00;;;\n", "f2.csv")
    # 100.123,45 + 300.000,00 booked + 100.000,00 committed = 500.123,45 ≥ 400.000,00
    with pytest.raises(LedgerError, match=r"vollständig zweckentsprechend verwendet \(voraussichtliche Rückzahlung "
                                          r"0,00 EUR\); eine Anzeige ist nicht nötig"):
        build_notification(session, year, SY, as_of=date(2024, 2, 15))


def test_refused_without_a_grant(session, kreis):
    with pytest.raises(LedgerError, match="keine Inklusionspauschale erfasst"):
        build_notification(session, kreis, SY, as_of=date(2024, 2, 15))


def test_refused_for_the_statutes_years(session, kreis):
    """Vereinbarung § 4 Abs. 1: the 1 April rule (and so the notification) from 2021/22 on."""
    with pytest.raises(LedgerError, match=r"ab dem Schuljahr 2021/2022 \(Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 1"):
        build_notification(session, kreis, SchoolYear(2020), as_of=date(2021, 2, 15))


def test_payouts_still_outstanding_are_the_latest_tranche(session, kreis):
    """500.000,00 assessed, 400.000,00 paid: the forecast counts 500.000,00, so 299.876,55 are
    projected; 100.000,00 of them belong to the payout still to come (the latest), 199.876,55
    to the booked ones as before."""
    _books(session, kreis, D("500000.00"))
    data = build_notification(session, kreis, SY, as_of=date(2024, 2, 15))
    assert (data.grant_basis, data.grant_basis_source, data.projected_repayment) == (
        D("500000.00"), "assessed", D("299876.55"))
    assert _tranches(data) == [(date(2023, 10, 16), D("300000.00"), D("99876.55"), date(2024, 4, 2)),
                               (date(2024, 1, 15), D("100000.00"), D("100000.00"), date(2025, 4, 1)),
                               (None, None, D("100000.00"), None)]
    assert dict(data.warnings)["payouts_outstanding"].startswith("Auszahlungen von 100.000,00 EUR stehen noch aus")
    assert "noch ausstehend – 100.000,00 EUR 1. April des auf die Auszahlung folgenden Haushaltsjahres" in _pdf_text(data)


def test_cli_writes_the_letter_and_prints_json(cli, session, year, tmp_path):
    out = tmp_path / "anzeige.pdf"
    result = cli("notification", "--recipient", "testland", "--year", "2023/24", "--as-of", "2024-02-15",
                 "--output", out)
    assert "199.876,55 EUR" in result.output and "02.04.2024" in result.output
    assert SUBJECT in " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages).split())
    data = json.loads(cli("notification", "--recipient", "testland", "--school-year", "2023/24", "--as-of",
                          "2024-02-15", "--output", tmp_path / "b.pdf", "--json").output)
    assert data["projected"]["repayment"] == "199876.55" and data["due_date"] == "2024-04-02"
    assert [(t["payout_date"], t["repayment"], t["due_date"]) for t in data["tranches"]] == [
        ("2023-10-16", "99876.55", "2024-04-02"), ("2024-01-15", "100000.00", "2025-04-01")]
    assert (tmp_path / "b.pdf").read_bytes() == out.read_bytes()
    refused = cli("notification", "--recipient", "testland", "--year", "2023/24", "--as-of", "2024-04-03",
                  "--output", tmp_path / "c.pdf", expect=1)
    assert "Fehler: Die Rückzahlungsfrist für die Auszahlung vom 16.10.2023 ist am 02.04.2024 abgelaufen" in refused.output
    assert not (tmp_path / "c.pdf").exists()


def _dashboard(app, day: date) -> str:
    app.config["TODAY"] = day
    return " ".join(logged_in(app, "olga").get("/r/testland/2023/").get_data(as_text=True).split())


def test_dashboard_links_the_letter_only_while_it_is_due(session, year, app):
    add_web_user(session, "olga", "officer", [year])
    link = 'href="/r/testland/2023/anzeige.pdf"'
    page = _dashboard(app, date(2024, 2, 15))
    assert link in page and "Anzeige an das Ministerium" in page and "vor der Rückzahlung" in page
    assert link not in _dashboard(app, date(2024, 4, 3))  # the deadline of 02.04.2024 has passed
    client = logged_in(app, "olga")
    app.config["TODAY"] = date(2024, 2, 15)
    response = client.get("/r/testland/2023/anzeige.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Anzeige_testland_2023-24.pdf" in response.headers["Content-Disposition"]
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages).split())
    assert SUBJECT in text and "199.876,55 EUR" in text
    app.config["TODAY"] = date(2024, 4, 3)
    refused = client.get("/r/testland/2023/anzeige.pdf")
    assert refused.status_code == 400 and "abgelaufen" in refused.get_data(as_text=True)


def test_dashboard_links_the_letter_after_the_school_year_while_a_deadline_is_open(session, closed_year, app):
    add_web_user(session, "olga", "officer", [closed_year])
    page = _dashboard(app, date(2024, 9, 1))
    assert '<h2 id="anzeige">Anzeige an das Ministerium</h2>' in page
    assert "39.876,55 € sind zurückzuzahlen, die erste Frist endet am 01.04.2025" in page
    assert "anzeige.pdf" not in _dashboard(app, date(2025, 4, 2))


def test_dashboard_has_no_link_when_nothing_is_to_be_repaid(session, year, app):
    _import(session, year, "15.12.2023;F-2;Workshops;5292;1810;300.000,00;;;\n", "f2.csv")
    add_web_user(session, "olga", "officer", [year])
    assert "anzeige.pdf" not in _dashboard(app, date(2024, 2, 15))


def test_another_recipients_letter_is_not_found(session, year, app):
    other = add_recipient(session, "anderswo", "Kreis Anderswo", "kreis", actor="test", now=NOW)
    add_web_user(session, "otto", "auditor", [other])
    session.commit()
    app.config["TODAY"] = date(2024, 2, 15)
    assert logged_in(app, "otto").get("/r/testland/2023/anzeige.pdf").status_code == 404

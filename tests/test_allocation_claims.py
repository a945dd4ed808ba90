"""Claims (Mittelabruf) against plan mettmann-2014, each rule at its boundary.

Source: seed 003_dcbc53400bdc01b8.txt, "Bereitstellung von Inklusionshelfern in den allgemeinen
Schulen im Kreis Mettmann – Rahmenbedingungen": Nr. 2.2 (the amounts of Anlage 1 are maxima),
Nr. 4.1 (claims from the start of the 2014 summer holidays – in NRW Monday 07.07.2014 – until
15.11.2014), Nr. 4.2 (only personnel costs, no material costs; binding declaration), Nr. 4.3
(at most 5.000 € per deployed helper; Anlage 2 as evidence), Nr. 4.4 (unclaimed money stays
with the Kreis).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from ledger.core.audit import ACTION_LABELS, readable_details
from ledger.core.chain import verify_chain
from ledger.core.errors import LedgerError
from ledger.core.models import AllocationClaim, AllocationClaimLine, AuditEvent, JournalEntry
from ledger.core.recipients import add_recipient, get_recipient
from ledger.reports.allocation import claims_overview
from ledger.rules.packs import allocation_plan
from ledger.workflows.allocation import add_claim, pay_claim

NOW = datetime(2026, 12, 7, 9, 0)
PLAN = "mettmann-2014"
OPEN = date(2014, 7, 7)        # first day of the NRW summer holidays 2014 (Nr. 4.1)
LAST = date(2014, 11, 15)      # "Der Abruf muss bis zum 15.11.2014 erfolgt sein" (Nr. 4.1)


@pytest.fixture
def cities(session):
    """The Kreis Mettmann and its ten cities as the plan names them."""
    _pack, plan = allocation_plan(PLAN)
    add_recipient(session, plan.grantor_key, plan.grantor_name, "kreis", actor="test", now=NOW)
    for recipient in plan.recipients:
        add_recipient(session, recipient.key, recipient.name, "stadt", actor="test", now=NOW)
    session.commit()
    return plan


def _claim(session, city, day, *costs, material=None, declaration="Erklärung nach Anlage 2 vom 07.07.2014"):
    claim = add_claim(session, PLAN, city, day, [Decimal(c) for c in costs], declaration,
                      material_costs=None if material is None else Decimal(material), actor="test", now=NOW)
    session.commit()
    return claim


@pytest.mark.parametrize("day,accepted", [
    (date(2014, 7, 6), 0),            # the day before the summer holidays: refused
    (OPEN, 500000),
    (LAST, 500000),
    (date(2014, 11, 16), 0),          # the day after the deadline: refused
])
def test_claim_window_boundaries(session, cities, day, accepted):
    claim = _claim(session, "erkrath", day, "5000.00")
    assert claim.accepted_cents == accepted
    assert claim.refused_cents == 500000 - accepted
    if not accepted:
        assert "außerhalb der Abruffrist vom 07.07.2014 bis 15.11.2014" in claim.lines[0].reason
        assert claim.entry_id is None


def test_5000_00_per_helper_accepted_5000_01_cut_to_5000(session, cities):
    """Nr. 4.3: up to 5.000 € per deployed helper: 5.000,00 in full, 5.000,01 → 0,01 refused."""
    claim = _claim(session, "erkrath", OPEN, "5000.00", "5000.01")
    assert [(line.amount_cents, line.accepted_cents) for line in claim.lines] == [(500000, 500000), (500001, 500000)]
    assert claim.lines[0].reason is None
    assert "höchstens 5.000,00 EUR je eingesetztem Inklusionshelfer" in claim.lines[1].reason
    assert "Nr. 4.3" in claim.lines[1].reason
    assert (claim.claimed_cents, claim.accepted_cents, claim.refused_cents) == (1000001, 1000000, 1)


def test_material_costs_are_refused(session, cities):
    """Nr. 4.2: "Eine Erstattung für entstandene Sachkosten ist nicht möglich."."""
    claim = _claim(session, "haan", OPEN, "1000.00", material="0.01")
    material = claim.lines[-1]
    assert (material.kind, material.amount_cents, material.accepted_cents) == ("material", 1, 0)
    assert "Sachkosten werden nicht erstattet" in material.reason
    assert claim.accepted_cents == 100000


def test_ceiling_reached_over_several_claims_and_the_rest_stays_with_the_kreis(session, cities):
    """Wülfrath: 678 pupils → 10 children → 2 helpers → ceiling 10.000 € (Anlage 1, Nr. 2.2)."""
    first = _claim(session, "wuelfrath", OPEN, "5000.00", "4999.99")
    assert first.accepted_cents == 999999
    second = _claim(session, "wuelfrath", date(2014, 8, 1), "5000.00")
    assert (second.accepted_cents, second.refused_cents) == (1, 499999)
    assert "Höchstbetrag von 10.000,00 EUR nach Anlage 1 erreicht" in second.lines[0].reason
    third = _claim(session, "wuelfrath", date(2014, 8, 2), "1.00")
    assert third.accepted_cents == 0
    overview = {entry.recipient: entry for entry in claims_overview(session, PLAN)}
    assert (overview["wuelfrath"].ceiling, overview["wuelfrath"].accepted, overview["wuelfrath"].rest) == (
        Decimal("10000.00"), Decimal("10000.00"), Decimal("0.00"))
    # Nr. 4.4: nothing moves to another city; Haan's ceiling and rest are untouched
    assert (overview["haan"].accepted, overview["haan"].rest) == (Decimal("0.00"), Decimal("15000.00"))
    assert sum(entry.rest for entry in overview.values()) == Decimal("240000.00")


def test_accepted_amount_is_booked_in_the_kreis_books(session, cities):
    claim = _claim(session, "ratingen", OPEN, "4000.00", "3000.50")
    entry = session.get(JournalEntry, claim.entry_id)
    kreis = get_recipient(session, "kreis-mettmann")
    assert entry.recipient_id == kreis.id and entry.kind == "manual"
    assert sorted((p.account.number, p.amount_cents) for p in entry.postings) == [("3520", -700050), ("5318", 700050)]
    assert entry.date == OPEN
    assert verify_chain(session, kreis).ok
    event = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()))
    assert ACTION_LABELS[event.action] == "Mittelabruf geprüft und erfasst"
    details = dict(readable_details(event.details))
    assert details["Verteilungsplan"] == "Inklusionshilfe Kreis Mettmann, 2. Schulhalbjahr 2013/2014"
    assert (details["beantragt"], details["anerkannt"], details["Datum"]) == ("7.000,50 €", "7.000,50 €", "07.07.2014")


def test_claims_are_append_only(session, cities):
    claim = _claim(session, "hilden", OPEN, "100.00")
    for statement in (sa.update(AllocationClaim).values(accepted_cents=0),
                      sa.update(AllocationClaimLine).values(accepted_cents=0),
                      sa.delete(AllocationClaimLine)):
        with pytest.raises(sa.exc.DBAPIError):
            session.execute(statement)
        session.rollback()
    assert session.scalar(select(AllocationClaim.accepted_cents).where(AllocationClaim.id == claim.id)) == 10000


@pytest.mark.parametrize("city,costs,declaration,message", [
    ("kreis-mettmann", ["100"], "E", "kein Empfänger des Verteilungsplans"),
    ("haan", ["100"], "  ", "verbindliche Erklärung"),
    ("haan", ["0"], "E", "nur Beträge größer 0"),
    ("haan", [], "E", "mindestens die Personalkosten"),
])
def test_invalid_claims_are_refused_and_nothing_is_recorded(session, cities, city, costs, declaration, message):
    with pytest.raises(LedgerError, match=message):
        add_claim(session, PLAN, city, OPEN, [Decimal(c) for c in costs], declaration, actor="test", now=NOW)
    session.rollback()
    assert session.scalar(select(sa.func.count()).select_from(AllocationClaim)) == 0


def test_cli_claim_add_and_claims_json(cli, session, cities):
    """issue 16, Interfaces: `inkl claim add … --json` and `inkl claims --plan … --json`."""
    data = json.loads(cli("claim", "add", "--plan", PLAN, "--recipient", "haan", "--date", "2014-11-15",
                          "--helper-cost", "5.000,00", "--helper-cost", "5000.01", "--material-costs", "250,00",
                          "--declaration", "Anlage 2 Haan vom 14.11.2014", "--json").stdout)
    assert (data["claimed"], data["accepted"], data["refused"]) == ("10250.01", "10000.00", "250.01")
    assert [(r["line"], r["kind"], r["refused"]) for r in data["refusals"]] == [(2, "helper", "0.01"),
                                                                                (3, "material", "250.00")]
    assert all(r["reason"] for r in data["refusals"])
    listed = json.loads(cli("claims", "--plan", PLAN, "--recipient", "haan", "--json").stdout)
    assert [(e["recipient"], e["ceiling"], e["accepted"], e["rest"]) for e in listed] == [
        ("haan", "15000.00", "10000.00", "5000.00")]
    assert listed[0]["claims"][0]["declaration"] == "Anlage 2 Haan vom 14.11.2014"
    plain = cli("claim", "add", "--plan", PLAN, "--recipient", "haan", "--date", "2014-07-06",
                "--helper-cost", "100", "--declaration", "E").stdout
    assert "abgelehnt 100,00 EUR" in plain and "außerhalb der Abruffrist" in plain
    assert len(json.loads(cli("claims", "--plan", PLAN, "--json").stdout)) == 10


def test_cli_claim_for_a_city_outside_the_plan_fails(cli, cities):
    result = cli("claim", "add", "--plan", PLAN, "--recipient", "kreis-mettmann", "--date", "2014-08-01",
                 "--helper-cost", "100", "--declaration", "E", expect=1)
    assert "kein Empfänger des Verteilungsplans" in result.output


def _page_text(response) -> str:
    import re
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_plan_page_shows_anlage_1_differences_and_claims(app, session, cities):
    """The page of plan mettmann-2014 (German): the Anlage 1 rows, the sum of the rows, the sum
    row's difference (256 vs 257) and each city's ceiling, accepted claims and rest; readable by
    the Kreis's officer, not by another Kreis's officer (404)."""
    from tests.conftest import add_web_user, internal_terms, logged_in

    kreis = get_recipient(session, "kreis-mettmann")
    other = add_recipient(session, "anderer-kreis", "Anderer Kreis", "kreis", actor="test", now=NOW)
    session.commit()
    add_web_user(session, "mara", "officer", recipients=[kreis])
    add_web_user(session, "otto", "officer", recipients=[other])
    _claim(session, "velbert", OPEN, "5000.00", "4000.00")
    text = _page_text(logged_in(app, "mara").get("/verteilung/mettmann-2014"))
    assert "Monheim am Rhein 1.468 22 4 40.000,00 € 20.000,00 €" in text
    assert "Ratingen 3.314 50 10 100.000,00 € 50.000,00 €" in text
    assert "Summe der Zeilen 17.082 257 50 500.000,00 € 250.000,00 €" in text
    assert "Die Tabelle der Quelle nennt 256, ihre Zeilen ergeben zusammen 257" in text
    # ceiling, claims, claimed, accepted, refused, paid, rest
    assert "Velbert 40.000,00 € 1 9.000,00 € 9.000,00 € 0,00 € 0,00 € 31.000,00 €" in text
    assert internal_terms(text) == [] and "mettmann-2014" not in text and ".toml" not in text
    otto = logged_in(app, "otto")
    assert otto.get("/verteilung/mettmann-2014").status_code == 404
    assert otto.get("/verteilung/unbekannt").status_code == 404


def test_paying_a_claim_books_liability_against_bank_once(session, cities):
    """The accepted amount is paid to the city (Nr. 4.3: "erstattet"): 3520 liability against 1810
    bank in the Kreis's books; a second payment and a payment of a fully refused claim are refused."""
    claim = _claim(session, "langenfeld", OPEN, "5000.00", "5000.01")
    payment = pay_claim(session, claim.id, date(2014, 8, 15), actor="test", now=NOW)
    session.commit()
    entry = session.get(JournalEntry, payment.entry_id)
    assert sorted((p.account.number, p.amount_cents) for p in entry.postings) == [("1810", -1000000), ("3520", 1000000)]
    with pytest.raises(LedgerError, match="bereits ausgezahlt"):
        pay_claim(session, claim.id, date(2014, 8, 16), actor="test", now=NOW)
    session.rollback()
    refused = _claim(session, "langenfeld", date(2014, 11, 16), "100.00")
    with pytest.raises(LedgerError, match="nichts anerkannt"):
        pay_claim(session, refused.id, date(2014, 11, 20), actor="test", now=NOW)
    session.rollback()
    listed = claims_overview(session, PLAN, "langenfeld")[0].as_json()
    assert [c["paid_on"] for c in listed["claims"]] == ["2014-08-15", None]
    assert verify_chain(session, get_recipient(session, "kreis-mettmann")).ok


def test_cli_claim_pay(cli, session, cities):
    claim = _claim(session, "mettmann", OPEN, "2500.00")
    out = cli("claim", "pay", str(claim.id), "--date", "2014-08-01").stdout
    assert f"Mittelabruf Nr. {claim.id} am 01.08.2014 ausgezahlt" in out
    assert "bereits ausgezahlt" in cli("claim", "pay", str(claim.id), "--date", "2014-08-02", expect=1).output


def _pdf_text(data: bytes) -> str:
    import io
    import re

    from pypdf import PdfReader
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def test_statements_per_city_and_for_the_kreis(cli, session, cities, tmp_path):
    """The city's statement: ceiling, claimed, accepted, refused with reasons, paid, rest; the
    Kreis's: every city and the total left with the Kreis (Nr. 4.4)."""
    claim = _claim(session, "haan", OPEN, "5000.00", "5000.01", material="120.00")
    pay_claim(session, claim.id, date(2014, 8, 1), actor="test", now=NOW)
    session.commit()
    city_pdf, kreis_pdf = tmp_path / "haan.pdf", tmp_path / "kreis.pdf"
    cli("claims", "--plan", PLAN, "--recipient", "haan", "--pdf", city_pdf)
    cli("claims", "--plan", PLAN, "--pdf", kreis_pdf)
    city = _pdf_text(city_pdf.read_bytes())
    # Haan: ceiling 15.000; claimed 5.000,00 + 5.000,01 + 120,00 = 10.120,01; accepted 10.000,00;
    # refused 0,01 + 120,00 = 120,01; paid 10.000,00; rest 5.000,00
    assert "Abrechnung der Mittelabrufe: Inklusionshilfe Kreis Mettmann, 2. Schulhalbjahr 2013/2014, Haan" in city
    assert "Haan 15.000,00 EUR 10.120,01 EUR 10.000,00 EUR 120,01 EUR 10.000,00 EUR 5.000,00 EUR" in city
    assert "Sachkosten werden nicht erstattet" in city and "je eingesetztem Inklusionshelfer" in city
    kreis = _pdf_text(kreis_pdf.read_bytes())
    assert "Summe 250.000,00 EUR 10.120,01 EUR 10.000,00 EUR 120,01 EUR 10.000,00 EUR 240.000,00 EUR" in kreis
    assert "Wülfrath 10.000,00 EUR 0,00 EUR 0,00 EUR 0,00 EUR 0,00 EUR 10.000,00 EUR" in kreis
    assert ".toml" not in kreis and "mettmann-2014" not in kreis


def test_statement_pdf_on_the_web(app, session, cities):
    from tests.conftest import add_web_user, logged_in

    add_web_user(session, "mara", "officer", recipients=[get_recipient(session, "kreis-mettmann")])
    client = logged_in(app, "mara")
    response = client.get("/verteilung/mettmann-2014/abrechnung.pdf?empfaenger=velbert")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Velbert 40.000,00 EUR" in _pdf_text(response.data)
    assert client.get("/verteilung/mettmann-2014/abrechnung.pdf?empfaenger=kreis-mettmann").status_code == 404

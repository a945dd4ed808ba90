"""The rules engine over real books and master data; the review queue (issue 4)."""
from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from ledger.core.schoolyear import SchoolYear
from ledger.rules.evaluate import evaluate, review_queue
from ledger.workflows.masterdata import import_master_data
from tests.conftest import NOW, add_web_user, import_bytes, login

SY = SchoolYear(2023)
MASTER = {
    "school": "Schulnummer;Name;Schulträger;Schulform;GL-Schule\n"
              "123456;GGS Am Lindenhof;Stadt Musterstadt;Grundschule;ja\n"
              "123457;Gymnasium Am Markt;Stadt Musterstadt;Gymnasium;nein\n",
    "provider": "Name\nSozialwerk e.V.\n",
    "pool": "Kennung;Name;Träger;Schulen;Beginn;Ende;Finanzierungsgrundlage;Systemischer Anteil\n"
            "P01;Pool Lindenhof;Sozialwerk e.V.;123456;01.08.2023;31.07.2024;systemic;\n"
            "P02;Pool Einzelfälle;Sozialwerk e.V.;123456;01.08.2023;31.07.2024;individual_entitlements;\n"
            "P03;Pool neu;Sozialwerk e.V.;123456;01.08.2023;31.07.2024;;\n",
    "municipality": "Name;Träger von GL-Schulen;Geprüft am;Nachweis;Geprüft von\n"
                    "Stadt Lindental;ja;12.09.2023;Az. 40.3/2023-17;Schulamt\n",
    "costcentre": "Kostenstelle;Schule;Pool;Gemeinde;Projekt\n"
                  "KS-P01;;P01;;\nKS-P02;;P02;;\nKS-P03;;P03;;\nKS-S2;123457;;;\nKS-GEM;;;Stadt Lindental;\n",
}
BOOKINGS = ("Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
            "31.10.2023;P-1;Pool Lindenhof;5291;1810;1.000,00;KS-P01;;\n"
            "31.10.2023;P-2;Pool Einzelfälle;5291;1810;500,00;KS-P02;;\n"
            "31.10.2023;P-3;Pool neu;5291;1810;300,00;KS-P03;;\n"
            "02.11.2023;F-1;Fortbildung Gymnasium;5292;1810;200,00;KS-S2;;\n"
            "15.11.2023;W-1;Weiterleitung Lindental;5314;1810;5.000,00;KS-GEM;;\n"
            "20.11.2023;S-1;Rechnung ohne Zuordnung;5299;1810;50,00;;;\n"
            "21.11.2023;F-2;Fortbildung;5292;1810;80,00;KS-X;;\n")


@pytest.fixture
def books(session, kreis):
    for kind, text in MASTER.items():
        assert import_master_data(session, kreis, kind, text.encode(), f"{kind}.csv", actor="t", now=NOW).ok
    assert import_bytes(session, kreis, BOOKINGS.encode(), "2023-11.csv", created_by="t", now=NOW).ok
    session.commit()
    return kreis


def test_each_posting_is_decided_from_category_and_master_data(session, books):
    decided = {e.voucher_number: (e.classification.status, e.classification.rule, e.classification.conform)
               for e in evaluate(session, books, SY)}
    assert decided == {
        "P-1": ("permitted", "pool.systemic", D("1000.00")),
        "P-2": ("excluded", "pool.individual", D("0")),
        "P-3": ("unclassified", "pool.basis_missing", D("0")),
        "F-1": ("excluded", "school.not_gl", D("0")),
        "W-1": ("permitted", "pass_through.verified", D("5000.00")),
        "S-1": ("unclassified", "category.missing", D("0")),
        "F-2": ("permitted", "category.training", D("80.00")),
    }


def test_review_queue_lists_what_an_officer_must_supply(session, books, cli):
    queue = {e.voucher_number: e.classification.review for e in review_queue(session, books, SY)}
    assert queue == {"P-3": "Pool P03 ohne Finanzierungsgrundlage", "S-1": "Kategorie fehlt",
                     "F-2": "Kostenstelle KS-X ist in den Stammdaten unbekannt"}
    listed = json.loads(cli("review", "--recipient", "testland", "--school-year", "2023/24", "--json").output)
    assert [(i["voucher_number"], i["review"], i["amount"]) for i in listed] == [
        ("P-3", "Pool P03 ohne Finanzierungsgrundlage", "300.00"), ("S-1", "Kategorie fehlt", "50.00"),
        ("F-2", "Kostenstelle KS-X ist in den Stammdaten unbekannt", "80.00")]
    assert all(i["source"] and i["reason"] for i in listed)


def test_review_queue_page(books, client, session):
    add_web_user(session, "sachbearbeitung", "officer", recipients=[books])
    login(client, "sachbearbeitung")
    page = client.get("/r/testland/2023/pruefliste")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in ("Pool P03 ohne Finanzierungsgrundlage", "Kategorie fehlt", "300,00", "Prüfliste 2023/24",
                     "Hinweise zur zweckentsprechenden Verwendung der Inklusionspauschale gemäß § 2 Absatz 2"):
        assert expected in html
    assert "inklfoeg-nrw-hinweise" not in html
    assert client.get("/r/testland/2019/pruefliste").status_code == 404

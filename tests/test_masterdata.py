"""Master data: schools, providers, pools, municipalities, commitments, cost centres.

Added one by one or imported from CSV (all or nothing, errors by line and column),
re-imported without change, and every change logged with old and new values.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ledger.core.models import AuditEvent
from ledger.workflows.masterdata import (
    MasterDataError,
    add,
    import_master_data,
    list_items,
)
from tests.conftest import NOW

SCHOOLS = ("Schulnummer;Name;Schulträger;Schulform;GL-Schule\n"
           "123456;GGS Am Lindenhof;Stadt Musterstadt;Grundschule;ja\n"
           "123457;Gymnasium Am Markt;Stadt Musterstadt;Gymnasium;nein\n"
           "123458;Gesamtschule Nord;Kreis Testland;Gesamtschule;ja\n")


def load(session, kreis, kind, text, **kwargs):
    return import_master_data(session, kreis, kind, text.encode("utf-8"), f"{kind}.csv", actor="officer", now=NOW,
                              **kwargs)


@pytest.fixture
def master(session, kreis):
    assert load(session, kreis, "school", SCHOOLS).ok
    add(session, kreis, "provider", {"Name": "Sozialwerk Musterhausen e.V."}, actor="officer", now=NOW)
    session.commit()
    return kreis


def test_school_import_and_list(session, master):
    schools = list_items(session, master, "school")
    assert [(s["school_number"], s["gl_school"]) for s in schools] == [("123456", True), ("123457", False),
                                                                       ("123458", True)]


def test_reimport_unchanged_changes_nothing_and_a_change_is_logged(session, master):
    again = load(session, master, "school", SCHOOLS)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    changed = load(session, master, "school", SCHOOLS.replace("Gymnasium;nein", "Gymnasium;ja"))
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 2)
    session.commit()
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "school_change")).one()
    details = json.loads(event.details)
    assert (details["before"]["gl_school"], details["after"]["gl_school"], event.actor) == (False, True, "officer")
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "school_add")) == 3


def test_bad_rows_reject_the_whole_file_with_line_and_column(session, master):
    text = (SCHOOLS + "123459;Neue Schule;Stadt X;Grundschule;vielleicht\n"
            + ";Ohne Nummer;Stadt X;Grundschule;ja\n")
    summary = load(session, master, "school", text)
    assert [(e.line, e.column) for e in summary.errors] == [(5, "GL-Schule"), (6, "Schulnummer")]
    assert "ja oder nein" in summary.errors[0].message
    session.commit()
    assert len(list_items(session, master, "school")) == 3  # nothing of the file was written


def test_pool_with_financing_basis_and_references(session, master):
    pool = {"Kennung": "P01", "Name": "Pool Lindenhof", "Träger": "Sozialwerk Musterhausen e.V.",
            "Schulen": "123456, 123458", "Beginn": "01.08.2023", "Ende": "31.07.2024",
            "Finanzierungsgrundlage": "mixed", "Systemischer Anteil": "62,5"}
    add(session, master, "pool", pool, actor="officer", now=NOW)
    [listed] = list_items(session, master, "pool")
    assert (listed["schools"], listed["financing_basis"], listed["systemic_share"]) == (
        ["123456", "123458"], "mixed", "62.50")
    with pytest.raises(MasterDataError) as refused:
        add(session, master, "pool", dict(pool, Kennung="P02", Träger="Unbekannt", Schulen="999999",
                                          Finanzierungsgrundlage="systemic"), actor="officer", now=NOW)
    assert {i.column for i in refused.value.issues} == {"Träger", "Schulen", "Systemischer Anteil"}
    with pytest.raises(MasterDataError, match="existiert bereits"):
        add(session, master, "pool", pool, actor="officer", now=NOW)
    # a pool whose financing basis is not recorded yet is allowed (the review queue lists it)
    add(session, master, "pool", dict(pool, Kennung="P03", Finanzierungsgrundlage="", **{"Systemischer Anteil": ""}),
        actor="officer", now=NOW)
    assert list_items(session, master, "pool")[1]["financing_basis"] is None


def test_municipality_verification_evidence_is_kept_once(session, master):
    text = ("Name;Träger von GL-Schulen;Geprüft am;Nachweis;Geprüft von\n"
            "Stadt Lindental;ja;12.09.2023;Az. 40.3/2023-17;Schulamt, Frau Beispiel\n"
            "Gemeinde Auenbach;nein;;;\n")
    assert load(session, master, "municipality", text).added == 2
    assert load(session, master, "municipality", text).unchanged == 2
    lindental = list_items(session, master, "municipality")[1]
    assert lindental["verifications"] == [{"verified_on": "2023-09-12", "document_reference": "Az. 40.3/2023-17",
                                           "verified_by": "Schulamt, Frau Beispiel"}]
    incomplete = load(session, master, "municipality", text.replace(";Az. 40.3/2023-17;", ";;"))
    assert [(e.line, e.column) for e in incomplete.errors] == [(2, "Geprüft am")]


def test_commitments_and_cost_centres(session, master):
    add(session, master, "commitment", {"Referenz": "V-2023-01", "Beschreibung": "Poolvertrag Sozialwerk",
                                         "Kategorie": "pool_personnel", "Monatsbetrag": "9.840,00",
                                         "Beginn": "01.08.2023", "Ende": "31.07.2024"}, actor="officer", now=NOW)
    assert list_items(session, master, "commitment")[0]["monthly_amount"] == "9840.00"
    with pytest.raises(MasterDataError, match="unbekannte Kategorie"):
        add(session, master, "commitment", {"Referenz": "V-2", "Beschreibung": "x", "Kategorie": "sonstiges",
                                             "Monatsbetrag": "1,00", "Beginn": "01.08.2023", "Ende": "31.07.2024"},
            actor="officer", now=NOW)
    add(session, master, "costcentre", {"Kostenstelle": "3631-S01", "Schule": "123456"}, actor="officer", now=NOW)
    add(session, master, "costcentre", {"Kostenstelle": "3631-PR", "Projekt": "Inklusionskonzept"}, actor="officer",
        now=NOW)
    with pytest.raises(MasterDataError, match="genau eines"):
        add(session, master, "costcentre", {"Kostenstelle": "X", "Schule": "123456", "Projekt": "Y"},
            actor="officer", now=NOW)
    assert [c["code"] for c in list_items(session, master, "costcentre")] == ["3631-PR", "3631-S01"]


def test_master_data_through_the_cli(cli, kreis, tmp_path):
    path = tmp_path / "schulen.csv"
    path.write_text(SCHOOLS, encoding="cp1252")
    summary = json.loads(cli("school", "import", path, "--recipient", "testland", "--json").output)
    assert (summary["added"], summary["errors"]) == (3, [])
    cli("provider", "add", "--recipient", "testland", "--name", "Lernbrücke gGmbH")
    listed = json.loads(cli("provider", "list", "--recipient", "testland", "--json").output)
    assert listed == [{"name": "Lernbrücke gGmbH"}]
    bad = cli("school", "add", "--recipient", "testland", "--school-number", "1", "--name", "X", "--bearer", "Y",
              "--school-form", "Z", "--gl-school", "vielleicht", expect=1)
    assert "GL-Schule: erwartet ja oder nein" in bad.stderr

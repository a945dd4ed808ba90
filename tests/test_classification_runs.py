"""Classification in the books: pools by financing basis, overrides, recorded runs, frozen years.

Kreis Testland, school year 2023/24, grant 150.000,00 EUR paid out on 16.10.2023.
Master data: GL school 100001, non-GL school 100002 (Förderschule), four pools:

    AC   systemic (Aachen model, seed 001_…: placed independent of applications) at 100001
    H    individual_entitlements (Region Hannover model, seed 000_…: bundled approved cases)
    M    mixed, systemic share 62,5 %
    Stadt Beispielheim (bears GL schools, verified 01.08.2014) and Gemeinde Ohnenachweis
    (bears GL schools, never verified) receive pass-through.

    voucher  cost centre  category        amount       decision                        conform    excluded
    P-AC     AC           pool_personnel  100.000,00   pool.systemic                 100.000,00
    P-H      H            pool_personnel   40.000,00   pool.individual                             40.000,00
    P-M      M            pool_personnel   10.000,00   pool.mixed 62,5 %               6.250,00     3.750,00
    F-FS     FS-100002    training          2.000,00   school.not_gl                                2.000,00
    W-1      WL-BEISPIEL  pass_through      3.000,00   pass_through.verified           3.000,00
    W-2      WL-OHNE      pass_through      5.000,00   pass_through.unverified                      5.000,00
    O-1      –            overhead         20.000,00   capped                         20.000,00

    cap        15 % × (100.000,00 + 6.250,00) = 15.937,50 (only the conform pool personnel)
    excess     20.000,00 − 15.937,50 = 4.062,50
    conform    100.000,00 + 6.250,00 + 3.000,00 + 15.937,50 = 125.187,50
    excluded   40.000,00 + 3.750,00 + 2.000,00 + 5.000,00 = 50.750,00
    repayment  150.000,00 − 125.187,50 = 24.812,50
"""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import JournalEntry, Posting
from ledger.core.posting import reverse_entry
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import add_user
from ledger.reports.repayment import compute_repayment
from ledger.rules.evaluation_runs import classified, list_runs, record_evaluation
from ledger.rules.overrides import add_override, list_overrides, withdraw_override
from ledger.rules.packs import RULES_DIR, load_packs
from ledger.workflows.closing import close_year
from ledger.workflows.masterdata import add, import_master_data
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from tests.conftest import NOW, import_bytes

SY = SchoolYear(2023)
AFTER = datetime(2024, 9, 15, 12, 0)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
ROWS = """\
31.10.2023;P-AC;Pool Aachener Modell;5291;1810;100.000,00;AC;;
31.10.2023;P-H;Pool Einzelfallbündel;5291;1810;40.000,00;H;;
31.10.2023;P-M;Pool gemischt;5291;1810;10.000,00;M;;
15.11.2023;F-FS;Fortbildung Förderschule;5292;1810;2.000,00;FS-100002;;
15.01.2024;W-1;Weiterleitung Stadt Beispielheim;5314;1810;3.000,00;WL-BEISPIEL;;
15.01.2024;W-2;Weiterleitung Gemeinde Ohnenachweis;5314;1810;5.000,00;WL-OHNE;;
31.01.2024;O-1;Koordinationsstelle;5012;1810;20.000,00;;;
"""
JUSTIFICATION = "Pool H arbeitet laut Vertrag vom 01.08.2023 § 2 antragsunabhängig; Bescheide liegen nicht vor"


def _master_data(session, kreis) -> None:
    def put(kind, row):
        add(session, kreis, kind, row, actor="test", now=NOW)

    for number, name, gl in (("100001", "Gesamtschule Am Park", "ja"), ("100002", "Förderschule Am Bach", "nein")):
        put("school", {"Schulnummer": number, "Name": name, "Schulträger": "Kreis Testland",
                       "Schulform": "Gesamtschule", "GL-Schule": gl})
    put("provider", {"Name": "Träger A"})
    for key, basis, share in (("AC", "systemic", ""), ("H", "individual_entitlements", ""), ("M", "mixed", "62,5")):
        put("pool", {"Kennung": key, "Name": f"Pool {key}", "Träger": "Träger A", "Schulen": "100001",
                     "Beginn": "01.08.2023", "Ende": "31.07.2024", "Finanzierungsgrundlage": basis,
                     "Systemischer Anteil": share})
        put("costcentre", {"Kostenstelle": key, "Pool": key})
    put("costcentre", {"Kostenstelle": "FS-100002", "Schule": "100002"})
    put("municipality", {"Name": "Stadt Beispielheim", "Träger von GL-Schulen": "ja", "Geprüft am": "01.08.2014",
                         "Nachweis": "Az. 40/2014-1", "Geprüft von": "Schulamt"})
    put("municipality", {"Name": "Gemeinde Ohnenachweis", "Träger von GL-Schulen": "ja"})
    put("costcentre", {"Kostenstelle": "WL-BEISPIEL", "Gemeinde": "Stadt Beispielheim"})
    put("costcentre", {"Kostenstelle": "WL-OHNE", "Gemeinde": "Gemeinde Ohnenachweis"})


@pytest.fixture
def year(session, kreis):
    _master_data(session, kreis)
    grant = add_grant(session, kreis, SY, D("150000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("150000.00"), created_by="test", now=NOW)
    assert import_bytes(session, kreis, (HEADER + ROWS).encode(), "2023-24.csv", created_by="test", now=NOW).ok
    users = {role: add_user(session, f"{role}-1", role, actor="test", now=NOW) for role in ("officer", "auditor", "admin")}
    session.commit()
    return kreis, users


def _posting(session, voucher: str) -> int:
    return session.scalar(sa.select(Posting.id).join(JournalEntry).join(Posting.account)
                          .where(JournalEntry.voucher_number == voucher, Posting.amount_cents > 0,
                                 sa.literal_column("accounts.type") == "expense"))


def _rules(session, kreis) -> dict[str, tuple[str, D, D]]:
    return {i.voucher_number: (i.classification.rule, i.classification.conform, i.classification.excluded)
            for i in classified(session, kreis, SY).items}


def test_worked_example_by_financing_basis(session, year):
    kreis, _users = year
    assert _rules(session, kreis) == {
        "P-AC": ("pool.systemic", D("100000.00"), D("0.00")),
        "P-H": ("pool.individual", D("0.00"), D("40000.00")),
        "P-M": ("pool.mixed", D("6250.00"), D("3750.00")),
        "F-FS": ("school.not_gl", D("0.00"), D("2000.00")),
        "W-1": ("pass_through.verified", D("3000.00"), D("0.00")),
        "W-2": ("pass_through.unverified", D("0.00"), D("5000.00")),
        "O-1": ("category.overhead", D("20000.00"), D("0.00")),
    }
    r = compute_repayment(session, kreis, SY)
    assert (r.pool_personnel, r.overhead_cap, r.overhead_excess) == (D("106250.00"), D("15937.50"), D("4062.50"))
    assert (r.permitted, r.excluded, r.unclassified) == (D("125187.50"), D("50750.00"), D("0.00"))
    assert r.repayment_due == D("24812.50")
    assert r.evaluation.run is None and not r.evaluation.current


def test_override_needs_a_justification_and_an_officer(session, year):
    kreis, users = year
    hannover = _posting(session, "P-H")
    with pytest.raises(LedgerError, match="darf das nicht"):
        add_override(session, kreis, hannover, status="permitted", user=users["auditor"], justification=JUSTIFICATION,
                     now=NOW)
    with pytest.raises(LedgerError, match="mindestens 20 Zeichen"):
        add_override(session, kreis, hannover, status="permitted", user=users["officer"], justification="  passt  ",
                     now=NOW)
    with pytest.raises(LedgerError, match="zwischen 0 und 40.000,00"):
        add_override(session, kreis, hannover, status="split", conform=D("40000.01"), user=users["officer"],
                     justification=JUSTIFICATION, now=NOW)
    bank_line = session.scalar(sa.select(Posting.id).where(Posting.amount_cents < 0).limit(1))
    with pytest.raises(LedgerError, match="keine Aufwandsbuchung"):
        add_override(session, kreis, bank_line, status="permitted", user=users["officer"],
                     justification=JUSTIFICATION, now=NOW)
    first = add_override(session, kreis, hannover, status="split", conform=D("30000.00"), user=users["officer"],
                         justification=JUSTIFICATION, now=NOW)
    with pytest.raises(LedgerError, match=f"bereits abweichend eingestuft \\(Nr. {first.id}\\)"):
        add_override(session, kreis, hannover, status="permitted", user=users["officer"],
                     justification=JUSTIFICATION, now=NOW)
    r = compute_repayment(session, kreis, SY)
    # 30.000,00 more conform pool personnel: cap 15 % × 136.250,00 = 20.437,50 ≥ 20.000,00 overhead
    assert (r.pool_personnel, r.overhead_excess, r.permitted) == (D("136250.00"), D("0.00"), D("159250.00"))
    assert r.repayment_due == D("0.00")
    item = next(i for i in classified(session, kreis, SY).items if i.voucher_number == "P-H")
    assert (item.override_id, item.classification.status, item.engine.rule) == (first.id, "split", "pool.individual")
    assert "officer-1" in item.classification.reason and JUSTIFICATION in item.classification.reason


def test_override_survives_a_changed_rule_pack_and_the_rerun_is_recorded(session, year, tmp_path):
    """A new pack version (here: supervision becomes excluded) re-runs the rules; the override stays."""
    kreis, users = year
    run1, created = record_evaluation(session, kreis, SY, actor="officer-1", now=NOW, reason="Erstbewertung")
    assert created and (run1.postings, run1.changed, run1.previous_id) == (7, 7, None)
    assert record_evaluation(session, kreis, SY, actor="officer-1", now=NOW, reason="nochmals") == (run1, False)

    override = add_override(session, kreis, _posting(session, "P-H"), status="permitted", user=users["officer"],
                            justification=JUSTIFICATION, now=NOW)
    changed_rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, changed_rules)
    pack_file = changed_rules / "inklfoeg-nrw-hinweise.toml"
    pack_file.write_text(pack_file.read_text(encoding="utf-8").replace('version = "2021.1"', 'version = "2027.1"'),
                         encoding="utf-8")
    packs = load_packs(changed_rules)
    run2, created = record_evaluation(session, kreis, SY, actor="officer-1", now=NOW, packs=packs,
                                      reason="Neubewertung nach Änderung des Regelwerks")
    assert created and (run2.previous_id, run2.pack_version, run2.changed) == (run1.id, "2027.1", 7)
    assert run2.pack_digest != run1.pack_digest
    after = {i.voucher_number: i for i in classified(session, kreis, SY, packs).items}
    assert (after["P-H"].override_id, after["P-H"].classification.conform) == (override.id, D("40000.00"))
    assert [r.reason for r in list_runs(session, kreis, SY)] == ["Erstbewertung",
                                                                 "Neubewertung nach Änderung des Regelwerks"]


def test_withdrawn_override_is_kept_and_the_rules_decide_again(session, year):
    kreis, users = year
    made = add_override(session, kreis, _posting(session, "P-H"), status="permitted", user=users["officer"],
                        justification=JUSTIFICATION, now=NOW)
    withdraw_override(session, kreis, made.id, user=users["admin"], now=NOW,
                      justification="Bescheide zu Pool H liegen doch vor (Schreiben vom 01.02.2024)")
    with pytest.raises(LedgerError, match="bereits zurückgenommen"):
        withdraw_override(session, kreis, made.id, user=users["admin"], now=NOW, justification=JUSTIFICATION)
    assert compute_repayment(session, kreis, SY).repayment_due == D("24812.50")
    [record] = list_overrides(session, kreis, SY)
    assert (record.active, record.withdrawn_by, record.justification) == (False, "admin-1", JUSTIFICATION)


def test_a_reversal_follows_the_override_of_the_posting_it_reverses(session, year):
    kreis, users = year
    add_override(session, kreis, _posting(session, "P-H"), status="permitted", user=users["officer"],
                 justification=JUSTIFICATION, now=NOW)
    entry = session.scalar(sa.select(JournalEntry).where(JournalEntry.voucher_number == "P-H"))
    reversal = reverse_entry(session, entry, day=date(2024, 8, 20), reason="falscher Pool", created_by="test", now=NOW)
    reversal_line = next(p for p in reversal.postings if p.amount_cents < 0 and p.category == "pool_personnel")
    with pytest.raises(LedgerError, match="ist ein Storno"):
        add_override(session, kreis, reversal_line.id, status="excluded", user=users["officer"],
                     justification=JUSTIFICATION, now=NOW)
    items = {i.voucher_number: i.classification for i in classified(session, kreis, SY).items}
    # booked after 31 July, but judged like its original (dated 31.10.2023): the two cancel
    assert (items["P-H"].conform, items["ST-P-H"].conform, items["ST-P-H"].excluded) == (
        D("40000.00"), D("-40000.00"), D("0.00"))
    assert compute_repayment(session, kreis, SY).repayment_due == D("24812.50")


def test_closed_year_keeps_its_run_until_a_visible_reevaluation(session, year):
    """After closing, a master-data change does not rewrite 2023/24; only a recorded run does."""
    kreis, users = year
    confirm_repayment(session, kreis, SY, day=date(2024, 3, 1), created_by="officer-1", now=NOW)
    pay_repayment(session, kreis, SY, D("24812.50"), day=date(2024, 3, 20), created_by="officer-1", now=NOW)
    close_year(session, kreis, SY, user=users["officer"], now=AFTER, reason="Schlussabrechnung")
    runs = list_runs(session, kreis, SY)
    assert [r.reason for r in runs] == ["Bestätigung der Rückzahlung"]  # closing found nothing new to record

    pools = "Kennung;Name;Träger;Schulen;Beginn;Ende;Finanzierungsgrundlage;Systemischer Anteil\n" \
            "AC;Pool AC;Träger A;100001;01.08.2023;31.07.2024;individual_entitlements;\n"
    assert import_master_data(session, kreis, "pool", pools.encode(), "pools.csv", actor="officer-1", now=AFTER).ok
    r = compute_repayment(session, kreis, SY)
    assert r.repayment_due == D("24812.50")
    assert (r.evaluation.frozen, r.evaluation.current, r.evaluation.changed) == (True, False, 1)
    with pytest.raises(LedgerError, match="abgeschlossen"):
        add_override(session, kreis, _posting(session, "P-AC"), status="permitted", user=users["officer"],
                     justification=JUSTIFICATION, now=AFTER)

    run, created = record_evaluation(session, kreis, SY, actor="officer-1", now=AFTER,
                                     reason="Neubewertung: Pool AC ist laut Prüfbericht einzelfallbezogen")
    assert created and (run.changed, run.previous_id) == (1, runs[0].id)
    r = compute_repayment(session, kreis, SY)
    assert (r.evaluation.frozen, r.evaluation.current) == (True, True)
    # AC excluded: cap 15 % × 6.250,00 = 937,50; conform 6.250,00 + 3.000,00 + 937,50 = 10.187,50
    assert (r.permitted, r.repayment_due, r.confirmed_obligation) == (D("10187.50"), D("139812.50"), D("24812.50"))


def test_an_older_year_is_reevaluated_under_its_own_pack(session, year):
    kreis, _users = year
    old = SchoolYear(2019)
    rows = "30.09.2019;P-19;Pool 2019;5291;1810;1.000,00;AC;;\n01.10.2019;O-19;Koordination;5012;1810;900,00;;;\n"
    assert import_bytes(session, kreis, (HEADER + rows).encode(), "2019.csv", created_by="test", now=NOW).ok
    run, created = record_evaluation(session, kreis, old, actor="officer-1", now=NOW,
                                     reason="Neubewertung 2019/20 nach der Prüfungsmitteilung")
    assert created and (run.pack_id, run.school_year, run.postings) == ("inklfoeg-nrw-gesetz", "2019/20", 2)
    items = {i.voucher_number: i.classification for i in classified(session, kreis, old).items}
    assert items["O-19"].pack_id == "inklfoeg-nrw-gesetz" and items["O-19"].status == "permitted"  # no cap then
    assert "§ 2 Abs. 2 InklFöG" in items["P-19"].source


@pytest.mark.parametrize("table", ["evaluation_runs", "classifications", "classification_overrides"])
def test_runs_and_overrides_are_append_only_in_the_database(session, year, engine, table):
    kreis, users = year
    add_override(session, kreis, _posting(session, "P-H"), status="permitted", user=users["officer"],
                 justification=JUSTIFICATION, now=NOW)
    record_evaluation(session, kreis, SY, actor="officer-1", now=NOW, reason="Erstbewertung")
    session.commit()
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DatabaseError, match="nie geändert"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_classification_overrides_and_runs_through_the_cli(cli, session, year, monkeypatch):
    kreis, _users = year
    args = ("--recipient", "testland", "--school-year", "2023/24")
    listing = json.loads(cli("classification", *args, "--json").output)
    assert (listing["run"], listing["current"]) == (None, False)
    hannover = next(p for p in listing["postings"] if p["voucher_number"] == "P-H")
    assert (hannover["rule"], hannover["excluded"], hannover["rule_pack"]["id"]) == (
        "pool.individual", "40000.00", "inklfoeg-nrw-hinweise")

    monkeypatch.setenv("INKL_USER", "auditor-1")
    denied = cli("override", "add", "--recipient", "testland", "--posting", str(hannover["posting_id"]),
                 "--status", "permitted", "--justification", JUSTIFICATION, expect=1)
    assert "darf das nicht" in denied.stderr
    monkeypatch.setenv("INKL_USER", "officer-1")
    made = json.loads(cli("override", "add", "--recipient", "testland", "--posting", str(hannover["posting_id"]),
                          "--status", "split", "--conform", "10.000,00", "--justification", JUSTIFICATION,
                          "--json").output)
    [listed] = json.loads(cli("override", "list", "--recipient", "testland", "--json").output)
    assert (listed["id"], listed["conform"], listed["created_by"], listed["active"]) == (
        made["id"], "10000.00", "officer-1", True)

    run = json.loads(cli("evaluate", *args, "--reason", "Bestandsaufnahme", "--json").output)
    assert run["created"] and run["run"]["postings"] == 7 and run["run"]["created_by"] == "officer-1"
    again = json.loads(cli("evaluate", *args, "--reason", "Bestandsaufnahme", "--json").output)
    assert not again["created"] and again["run"]["id"] == run["run"]["id"]
    assert [r["reason"] for r in json.loads(cli("evaluations", *args, "--json").output)] == ["Bestandsaufnahme"]
    cli("override", "withdraw", "--recipient", "testland", str(made["id"]), "--justification",
        "Nachweis zum Vertrag fehlt weiterhin, daher wieder nach Regel")
    listing = json.loads(cli("classification", *args, "--json").output)
    assert (listing["current"], listing["changed"]) == (False, 1)

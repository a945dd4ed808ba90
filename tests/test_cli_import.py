"""The command line of real inputs: import profiles, DATEV, bank statements, parked entries."""
import json
from pathlib import Path

from ledger.core.bank import set_account_iban
from tests.conftest import NOW

SAMPLES = Path(__file__).parent / "samples"


def test_profile_list_and_check_show_the_rows_as_bookings(cli):
    listed = {p["key"]: p for p in json.loads(cli("profile", "list", "--json").output)}
    assert listed["datev-extf"]["format"] == "datev" and listed["inkl-csv"]["format"] == "delimited"
    text = cli("profile", "list").output
    assert "DATEV-Format Buchungsstapel (EXTF 700)" in text
    sample = SAMPLES / "datev" / "EXTF_Buchungsstapel_2024-10.csv"
    checked = json.loads(cli("profile", "check", sample, "--profile", "datev-extf", "--rows", "2", "--json").output)
    assert [(r["line"], r["date"], r["debit"], r["credit"], r["amount"]) for r in checked["rows"]] == [
        (3, "2024-10-31", "5291", "1810", "40000.00"), (4, "2024-10-15", "5292", "1810", "1250.00")]
    shown = cli("profile", "check", sample, "--profile", "datev-extf", "--rows", "1").output
    assert "31.10.2024" in shown and "40.000,00 EUR" in shown and "KSt 3631-P01" in shown


def test_profile_check_of_a_broken_file_lists_errors_on_stderr(cli):
    broken = SAMPLES / "datev" / "EXTF_Buchungsstapel_fehlerhaft.csv"
    result = cli("profile", "check", broken, "--profile", "datev-extf", expect=1)
    assert f"{broken}:5: BU-Schlüssel: Buchungen mit Steuerschlüssel" in result.stderr
    assert "6 Fehler" in result.stderr   # the unknown account 9999 is a matter of the books, not of the file
    unknown = cli("profile", "check", broken, "--profile", "sage", expect=1)
    assert "unbekanntes Importprofil" in unknown.stderr


def test_import_with_a_profile_and_parked_bank_entries(cli, session):
    cli("recipient", "add", "testland", "--name", "Kreis Testland", "--kind", "kreis")
    datev = SAMPLES / "datev" / "EXTF_Buchungsstapel_2024-10.csv"
    out = cli("import", datev, "--recipient", "testland", "--profile", "datev-extf").output
    assert "5 Zeilen, 5 neu gebucht" in out
    from ledger.core.recipients import get_recipient
    set_account_iban(session, get_recipient(session, "testland"), "1810", "DE89370502990000123456", actor="t",
                     now=NOW)
    session.commit()
    statement = SAMPLES / "camt053" / "auszug_2024-11-28_bis_2024-12-02.xml"
    # the Land's payout is not recorded: it is parked with the rest
    summary = json.loads(cli("import", statement, "--recipient", "testland", "--profile", "camt053", "--json").output)
    assert (summary["imported"], summary["parked"], summary["profile"]) == (1, 5, "camt053")
    parked = json.loads(cli("bank", "parked", "--recipient", "testland", "--json").output)
    invoice = next(p for p in parked if p["counterparty"] == "Inklusionsdienste Rhein-Sieg gGmbH")
    assert (invoice["amount"], invoice["reference"]) == ("-38415.20", "2024112904711002")
    listed = cli("bank", "parked", "--recipient", "testland").output
    assert "-38.415,20 EUR  Inklusionsdienste Rhein-Sieg gGmbH" in listed and "[offen]" in listed
    booked = cli("bank", "book", "--recipient", "testland", invoice["id"], "--account", "5291").output
    assert f"Kontoumsatz Nr. {invoice['id']} gebucht" in booked
    assert len(json.loads(cli("bank", "parked", "--recipient", "testland", "--json").output)) == 4
    again = cli("bank", "book", "--recipient", "testland", invoice["id"], "--account", "5291", expect=1)
    assert "bereits gebucht" in again.stderr

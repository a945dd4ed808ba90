"""Import profiles: the shipped ones load, each reads its sample file into the bookings counted
by hand below, conditional rules set fields or skip rows, and a faulty profile is refused
naming its file and key."""
import io
from datetime import date
from pathlib import Path

import pytest

from ledger.core.models import JournalEntry, Posting
from ledger.read.profiles import DEFAULT_PROFILE, PROFILES_DIR, ProfileError, get_profile, load_profile, \
    load_profiles, read_rows
from tests.conftest import NOW, import_bytes

SAMPLES = Path(__file__).parent / "samples" / "profiles"
INFOMA = SAMPLES / "infoma-sachbuch-2024-11.csv"
SAP = SAMPLES / "sap-fi-einzelposten-2024-11.csv"


def test_the_shipped_profiles_load_and_the_default_is_the_ledgers_own_export():
    profiles = load_profiles()
    assert set(profiles) == {"inkl-csv", "datev-extf", "infoma-sachbuch", "sap-fi-einzelposten", "camt053"}
    assert DEFAULT_PROFILE == "inkl-csv" and get_profile(None).key == "inkl-csv"
    assert {p.format for p in profiles.values()} == {"delimited", "datev", "camt053"}
    assert all(p.title and p.description and p.source for p in profiles.values())


def test_an_unknown_profile_names_the_known_ones():
    with pytest.raises(ProfileError, match=r"^unbekanntes Importprofil „sage“ \(vorhanden: camt053, datev-extf, infoma-sachbuch"):
        get_profile("sage")


def test_infoma_export_reads_soll_haben_and_skips_other_products():
    data = INFOMA.read_bytes()
    rows, issues, skipped = read_rows(get_profile("infoma-sachbuch"), lambda: io.BytesIO(data))
    assert issues == [] and skipped == 1   # line 4, product 01.11.02 (street cleaning)
    assert [(r.line, r.day, r.voucher_number, r.debit, r.credit, r.cents, r.cost_centre) for r in rows] == [
        (2, date(2024, 10, 31), "RE-24-8812", "5291", "1810", 3_840_000, "3631-P02"),
        # H: the Sachkonto 1810 is credited, so the Gegenkonto 5292 is debited
        (3, date(2024, 11, 4), "RE-24-8840", "5292", "1810", 215_000, "3631-QU"),
        (5, date(2024, 11, 29), "PE-24-11", "5012", "1810", 512_000, "3631-KO"),
    ]
    assert rows[0].text == "Schulassistenz Pool Süd Oktober"   # Windows-1252 read


def test_sap_export_reads_after_the_report_header_with_trailing_minus(session, kreis):
    summary = import_bytes(session, kreis, SAP.read_bytes(), SAP.name, created_by="test", now=NOW,
                           profile=get_profile("sap-fi-einzelposten"))
    session.commit()
    assert summary.ok, summary.errors
    assert (summary.rows, summary.imported, summary.profile) == (3, 3, "sap-fi-einzelposten")
    entries = {e.voucher_number: [(p.account.number, p.amount_cents) for p in e.postings]
               for e in session.query(JournalEntry)}
    assert entries == {
        "5100004711": [("5291", 1_200_000), ("1810", -1_200_000)],
        # "1.500,00-" on 5291: 5291 credited, the refund comes into the bank account
        "1400000815": [("1810", 150_000), ("5291", -150_000)],
        # "640,00-" on the bank account: 1810 credited, 5298 debited
        "5100004790": [("5298", 64_000), ("1810", -64_000)],
    }
    # net pool spending 12.000,00 − 1.500,00 = 10.500,00
    pool = sum(p.amount_cents for p in session.query(Posting).join(Posting.account).filter_by(number="5291"))
    assert pool == 1_050_000


def test_errors_name_the_line_the_column_and_the_profile_key(session, kreis):
    bad = INFOMA.read_bytes().decode("cp1252").replace("31.10.2024", "2024-10-31").replace(";Soll;", ";X;")
    summary = import_bytes(session, kreis, bad.encode("cp1252"), INFOMA.name, created_by="test", now=NOW,
                           profile=get_profile("infoma-sachbuch"))
    assert [(e.line, e.column, e.message) for e in summary.errors] == [
        (2, "Buchungsdatum", "ungültiges Datum '2024-10-31' (erwartet TT.MM.JJJJ; Importprofil: date.format)"),
        (5, "S/H", "unbekanntes Soll/Haben-Kennzeichen 'X' (erlaubt: H, Haben, S, Soll; "
                   "Importprofil: amount.debit_marks, amount.credit_marks)"),
    ]
    missing = INFOMA.read_bytes().decode("cp1252").replace("Gegenkonto", "GKto").encode("cp1252")
    summary = import_bytes(session, kreis, missing, INFOMA.name, created_by="test", now=NOW,
                           profile=get_profile("infoma-sachbuch"))
    assert [(e.line, e.column, e.message) for e in summary.errors] == [
        (1, "Gegenkonto", "Pflichtspalte fehlt (Importprofil: columns.counter_account)")]


def _profile(tmp_path, text: str):
    path = tmp_path / "kreis.toml"
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


BASE = """
[profile]
title = "Test"
[columns]
date = "Datum"
voucher = "Beleg"
text = "Text"
account = "Konto"
amount = "Betrag"
[amount]
sign = "signed"
"""


def test_a_default_counter_account_and_rules_on_any_column(session, kreis, tmp_path):
    """An account statement of the bank account only: every row's counter account comes from rules
    on the text, a default catches the rest; a negative amount credits the account."""
    profile = _profile(tmp_path, BASE + """
[defaults]
counter_account = "5299"
[[rules]]
if = [{ column = "Text", matches = "(?i)pool" }]
set = { counter_account = "5291", cost_centre = "3631-P01" }
[[rules]]
if = [{ column = "Text", matches = "(?i)pool" }, { column = "Art", matches = "^Einzelfall$" }]
set = { counter_account = "5331", category = "individual_claim_sgb_viii" }
[[rules]]
if = [{ column = 6, matches = "^storniert$" }]
skip = true
""")
    data = ("Datum;Beleg;Text;Konto;Betrag;Art\n"
            "01.10.2024;K-1;Pool Oktober;1810;-9.840,00;Pool\n"
            "02.10.2024;K-2;Pool Fall 17;1810;-1.200,00;Einzelfall\n"
            "03.10.2024;K-3;Porto;1810;-12,50;\n"
            "04.10.2024;K-4;Porto;1810;-12,50;storniert\n").encode()
    summary = import_bytes(session, kreis, data, "konto.csv", created_by="test", now=NOW, profile=profile)
    session.commit()
    assert summary.ok and (summary.imported, summary.skipped) == (3, 1)
    got = {e.voucher_number: [(p.account.number, p.amount_cents, p.category, p.cost_centre) for p in e.postings]
           for e in session.query(JournalEntry)}
    assert got == {
        "K-1": [("5291", 984_000, "pool_personnel", "3631-P01"), ("1810", -984_000, None, "3631-P01")],
        "K-2": [("5331", 120_000, "individual_claim_sgb_viii", "3631-P01"), ("1810", -120_000, None, "3631-P01")],
        "K-3": [("5299", 1_250, None, None), ("1810", -1_250, None, None)],
    }


@pytest.mark.parametrize("extra, key, message", [
    ("[file]\ndelimiter = \"#\"\n", "file.delimiter", "erlaubt: ;, ,"),
    ("[[rules]]\nif = [{ column = \"Text\", matches = \"(\" }]\nskip = true\n", "rules[0].if[0].matches",
     "ungültiger regulärer Ausdruck"),
    ("[[rules]]\nif = [{ column = \"Text\", matches = \"x\" }]\n", "rules[0]", "eine Regel setzt Felder"),
    ("[[rules]]\nif = [{ column = \"Text\", matches = \"x\" }]\nset = { amount = \"1\" }\n", "rules[0].set.amount.key",
     "erlaubt: debit"),
    ("[date]\nformat = \"TT.MM.JJJJ\"\n", "date.format", "kein Datumsformat"),
    ("[accounts]\n\"70001\" = \"Bank\"\n", "accounts.70001.value", "Kontonummer des Kontenplans"),
    ("[unknown]\nx = 1\n", "unknown", "Unbekannter Schlüssel"),
])
def test_a_faulty_profile_is_refused_naming_the_key(tmp_path, extra, key, message):
    with pytest.raises(ProfileError) as raised:
        _profile(tmp_path, BASE + "[defaults]\ncounter_account = \"5299\"\n" + extra)
    assert raised.value.file.endswith("kreis.toml") and raised.value.key == key, raised.value.errors
    assert message in raised.value.message


def test_a_profile_without_the_columns_of_a_booking_is_refused(tmp_path):
    with pytest.raises(ProfileError) as raised:
        _profile(tmp_path, BASE.replace('account = "Konto"\n', ""))
    assert (raised.value.key, raised.value.message) == ("columns", "Spalte fehlt für: debit, credit")
    with pytest.raises(ProfileError) as raised:
        _profile(tmp_path, BASE)   # neither a counter account column nor a default
    assert (raised.value.key, raised.value.message) == ("columns", "Spalte fehlt für: counter_account")


def test_two_profiles_of_one_key_are_refused(tmp_path):
    (tmp_path / "inkl-csv.toml").write_text((PROFILES_DIR / "inkl-csv.toml").read_text(encoding="utf-8"))
    with pytest.raises(ProfileError, match="Importprofil 'inkl-csv' gibt es bereits"):
        load_profiles((PROFILES_DIR, tmp_path))


def test_a_file_without_column_headings_is_read_by_position(session, kreis, tmp_path):
    profile = _profile(tmp_path, """
[profile]
title = "Ohne Kopfzeile"
[file]
header = false
delimiter = "|"
[columns]
date = 1
voucher = 2
text = 3
debit = 4
credit = 5
amount = 6
[date]
format = "%Y%m%d"
""")
    data = b"20241031|B-1|Pool Oktober|5291|1810|40.000,00\n20241102|B-2|Workshop|5292|1810|1.250,00\n"
    summary = import_bytes(session, kreis, data, "ohne.txt", created_by="test", now=NOW, profile=profile)
    assert summary.ok and (summary.rows, summary.imported) == (2, 2)
    short = b"20241031|B-1|Pool Oktober|5291|1810|40.000,00\n20241102|B-2|Workshop\n"
    summary = import_bytes(session, kreis, short, "ohne.txt", created_by="test", now=NOW, profile=profile)
    assert [(e.line, e.message) for e in summary.errors] == [(2, "zu wenige Felder in der Zeile")]
    with pytest.raises(ProfileError, match="ohne Kopfzeile nur Spaltennummern: amount, date, text, voucher"):
        _profile(tmp_path, BASE.replace('[columns]', '[file]\nheader = false\n[columns]').replace(
            'account = "Konto"', 'account = 4') + '[defaults]\ncounter_account = "1810"\n')

"""DATEV-Format Buchungsstapel (EXTF 700, category 21) through the shipped profile ``datev-extf``.

The sample files in ``tests/samples/datev/`` were written from DATEV's published format
description (DATEV Developer Portal, "DATEV-Format": Header, version 700, and Buchungsstapel,
format version 13): the 31 header fields, the 125 columns in their order, Windows-1252 and
CRLF, the amount always positive with the Soll/Haben-Kennzeichen relative to ``Konto``,
``Belegdatum`` as TTMM. Their figures are stated below by hand.
"""
import io
from datetime import date
from pathlib import Path

import pytest

from ledger.core.models import ImportBatch, JournalEntry, Posting
from ledger.read.datev import COLUMNS, read_header
from ledger.read.profiles import get_profile, load_profile, read_rows
from tests.conftest import NOW, import_bytes

SAMPLES = Path(__file__).parent / "samples" / "datev"
OCTOBER = SAMPLES / "EXTF_Buchungsstapel_2024-10.csv"
YEAR_END = SAMPLES / "EXTF_Buchungsstapel_Jahreswechsel.csv"
BROKEN = SAMPLES / "EXTF_Buchungsstapel_fehlerhaft.csv"


def _rows(path: Path, profile=None):
    data = path.read_bytes()
    return read_rows(profile or get_profile("datev-extf"), lambda: io.BytesIO(data))


def _import(session, recipient, path: Path, profile=None, **options):
    return import_bytes(session, recipient, path.read_bytes(), path.name, created_by="test", now=NOW,
                        profile=profile or get_profile("datev-extf"), **options)


def test_the_sample_files_follow_the_published_layout():
    for path in (OCTOBER, YEAR_END, BROKEN):
        data = path.read_bytes()
        assert b"\r\n" in data and data.count(b"\r\n") == data.count(b"\n"), "CRLF line ends"
        lines = data.decode("cp1252").split("\r\n")
        assert lines[0].startswith('"EXTF";700;21;"Buchungsstapel";13;') and len(lines[0].split(";")) == 31
        assert lines[1].split(";") == list(COLUMNS) and len(COLUMNS) == 125
        assert "Gegenkonto (ohne BU-Schlüssel)" in lines[1]


def test_header_fields_are_read_by_position():
    header, issues = read_header(OCTOBER.read_bytes().decode("cp1252").split("\r\n")[0].replace('"', "").split(";"))
    assert issues == []
    assert (header.format_version, header.consultant, header.client) == (13, "29098", "55003")
    assert (header.fiscal_year_start, header.first_day, header.last_day) == (
        date(2024, 1, 1), date(2024, 10, 1), date(2024, 10, 31))
    assert (header.name, header.currency) == ("Inklusion Oktober 2024", "EUR")


def test_october_batch_reads_soll_haben_ttmm_and_kost1():
    rows, issues, skipped = _rows(OCTOBER)
    assert issues == [] and skipped == 0
    got = [(r.line, r.day, r.voucher_number, r.debit, r.credit, r.cents, r.cost_centre) for r in rows]
    assert got == [
        # S: Konto 5291 in Soll, Gegenkonto 1810 in Haben
        (3, date(2024, 10, 31), "RE-2024-1031", "5291", "1810", 4_000_000, "3631-P01"),
        # H: Konto 1810 in Haben, so Gegenkonto 5292 in Soll
        (4, date(2024, 10, 15), "RE-2024-0977", "5292", "1810", 125_000, "3631-QU"),
        (5, date(2024, 10, 31), "PE-2024-10", "5012", "1810", 500_000, "3631-KO"),
        # Generalumkehr (GU = 1) of "5292 an 1810": the reversal, 1810 an 5292
        (6, date(2024, 10, 16), "RE-2024-0977", "1810", "5292", 125_000, "3631-QU"),
        (7, date(2024, 10, 2), "RE-2024-0950", "5299", "1810", 31_250, "1100-SA"),
    ]
    assert rows[0].text == "Pool P01 Oktober, Sozialwerk"
    assert rows[6 - 3].swapped and not rows[0].swapped


def test_ttmm_takes_the_year_that_puts_the_day_into_the_batch_period():
    # The batch runs from 01.12.2024 to 31.01.2025 (fiscal year from 01.08.2024).
    rows, issues, _ = _rows(YEAR_END)
    assert issues == []
    assert [r.day for r in rows] == [date(2024, 12, 15), date(2024, 12, 31), date(2025, 1, 2), date(2025, 1, 15)]
    # school years follow the dates: all four in 2024/25
    assert {str(r.school_year) for r in rows} == {"2024/25"}


def test_import_books_the_batch_and_a_second_import_changes_nothing(session, kreis):
    summary = _import(session, kreis, OCTOBER)
    session.commit()
    assert summary.ok, summary.errors
    assert (summary.rows, summary.imported, summary.duplicates, summary.profile) == (5, 5, 0, "datev-extf")
    # 40.000,00 + 1.250,00 + 5.000,00 + 312,50 spent, 1.250,00 reversed: 45.312,50 out of the bank account
    bank = sum(p.amount_cents for p in session.query(Posting).join(Posting.account) if p.account.number == "1810")
    assert bank == -(4_000_000 + 125_000 + 500_000 + 31_250) + 125_000 == -4_531_250
    assert session.query(ImportBatch).one().profile == "datev-extf"
    again = _import(session, kreis, OCTOBER)
    assert (again.imported, again.duplicates) == (0, 5)
    assert session.query(JournalEntry).count() == 5


def test_the_same_booking_from_the_ledgers_own_export_is_a_duplicate(session, kreis):
    _import(session, kreis, OCTOBER)
    session.commit()
    own = ("Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
           "31.10.2024;RE-2024-1031;Pool P01 Oktober, Sozialwerk;5291;1810;40.000,00;3631-P01;;\n")
    summary = import_bytes(session, kreis, own.encode(), "journal.csv", created_by="test", now=NOW)
    assert (summary.imported, summary.duplicates) == (0, 1)


def test_every_error_of_a_broken_batch_names_line_and_column(session, kreis):
    summary = _import(session, kreis, BROKEN)
    got = {(e.line, e.column, e.message) for e in summary.errors}
    assert (3, "Soll/Haben-Kennzeichen", "unbekanntes Soll/Haben-Kennzeichen 'X' (erlaubt: H, S)") in got
    assert any(e.line == 4 and e.column == "Umsatz (ohne Soll/Haben-Kz)" and "positiv" in e.message
               for e in summary.errors)
    assert any(e.line == 5 and e.column == "BU-Schlüssel" and "Steuerschlüssel" in e.message for e in summary.errors)
    assert any(e.line == 6 and e.column == "WKZ Umsatz" and "USD" in e.message for e in summary.errors)
    assert (7, "Belegdatum", "ungültiges Belegdatum '3111' (erwartet TTMM, z. B. 3110)") in got
    assert (8, "Belegdatum", "Belegdatum 3009 liegt nicht im Zeitraum des Stapels (01.10.2024 bis 31.10.2024)") in got
    assert any(e.line == 9 and e.column == "Konto" and "unbekanntes Konto 9999" in e.message for e in summary.errors)
    assert session.query(JournalEntry).count() == 0


@pytest.mark.parametrize("edit, column, message", [
    (lambda h: h.replace(';700;', ';510;', 1), "Kopfzeile Feld 2 (Versionsnummer)", "'510' wird nicht unterstützt"),
    (lambda h: h.replace(';21;"Buchungsstapel"', ';16;"Debitoren/Kreditoren"'), "Kopfzeile Feld 3 (Formatkategorie)",
     "ist kein Buchungsstapel"),
    (lambda h: h.replace(';20241031;', ';20241099;'), "Kopfzeile Feld 16 (Datum bis)", "ungültiges Datum"),
    (lambda h: h.replace(';20241001;20241031;', ';20241001;20250131;'), "Kopfzeile Feld 15 (Datum vom)",
     "nicht in einem Wirtschaftsjahr"),
    (lambda h: h.replace('"EUR"', '"CHF"'), "Kopfzeile Feld 22 (WKZ)", "Währung CHF"),
])
def test_a_wrong_format_header_is_refused_naming_its_field(session, kreis, edit, column, message):
    lines = OCTOBER.read_bytes().decode("cp1252").split("\r\n")
    data = "\r\n".join([edit(lines[0])] + lines[1:]).encode("cp1252")
    summary = import_bytes(session, kreis, data, "stapel.csv", created_by="test", now=NOW,
                           profile=get_profile("datev-extf"))
    assert any(e.line == 1 and e.column == column and message in e.message for e in summary.errors), summary.errors


def test_a_file_that_is_no_datev_file_or_has_its_columns_reordered_is_refused(session, kreis):
    plain = b"Buchungsdatum;Belegnummer\n31.10.2024;B-1\n"
    summary = import_bytes(session, kreis, plain, "x.csv", created_by="test", now=NOW, profile=get_profile("datev-extf"))
    assert [(e.line, e.message) for e in summary.errors] == [
        (1, 'keine Datei im DATEV-Format (die erste Zeile muss mit "EXTF" beginnen)')]
    lines = OCTOBER.read_bytes().decode("cp1252").split("\r\n")
    columns = lines[1].split(";")
    columns[6], columns[7] = columns[7], columns[6]   # Gegenkonto before Konto
    data = "\r\n".join([lines[0], ";".join(columns)] + lines[2:]).encode("cp1252")
    summary = import_bytes(session, kreis, data, "x.csv", created_by="test", now=NOW, profile=get_profile("datev-extf"))
    assert {(e.line, e.column) for e in summary.errors} == {(2, "Spalte 7"), (2, "Spalte 8")}


def test_a_profile_maps_kreditor_accounts_and_sets_categories_by_kost2(session, kreis, tmp_path):
    """A Kreis's own DATEV profile: its Kreditor 70001 is paid from the bank account (cash basis),
    and the rows of product 01.01.01 (general administration) are no part of the grant's books."""
    path = tmp_path / "datev-kreis.toml"
    path.write_text('''
[profile]
title = "DATEV-Stapel des Kreises"
format = "datev"
[accounts]
"70001" = "1810"
[[rules]]
if = [{ column = "KOST2 - Kostenstelle", matches = "^010101$" }]
skip = true
[[rules]]
if = [{ column = "Buchungstext", matches = "(?i)qualifizierung" }]
set = { category = "training" }
''', encoding="utf-8")
    profile = load_profile(path)
    data = OCTOBER.read_bytes().decode("cp1252").replace(";5291;1810;", ";5291;70001;").encode("cp1252")
    summary = import_bytes(session, kreis, data, OCTOBER.name, created_by="test", now=NOW, profile=profile)
    session.commit()
    assert summary.ok, summary.errors
    assert (summary.rows, summary.imported, summary.skipped) == (5, 4, 1)
    pool = session.query(JournalEntry).filter_by(voucher_number="RE-2024-1031").one()
    assert [(p.account.number, p.amount_cents) for p in pool.postings] == [("5291", 4_000_000), ("1810", -4_000_000)]
    training = session.query(Posting).join(Posting.account).filter_by(number="5292").all()
    assert {p.category for p in training} == {"training"}

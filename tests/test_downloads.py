"""Auditors take their evidence with them: trial balance, account ledger, the CSV and XLSX
writers (formula injection neutralised, amounts numeric), the GoBD ZIP and the web downloads.

The small book ``book`` of Kreis Testland (figures computed by hand below):

==========  =========  =======================================  ==========================  ========
date        voucher    text                                     postings                    year
==========  =========  =======================================  ==========================  ========
02.10.2023  AUSZ-1     Auszahlung                               1810 S 1.000 / 4141 H 1.000  2023/24
15.11.2023  @RE-1      =HYPERLINK("http://x.invalid";"Beleg")   5292 S 250 / 1810 H 250      2023/24
10.01.2024  +RE-2      +1 Honorar                               5292 S 100 / 1810 H 100      2023/24
31.01.2024  ST-+RE-2   Storno of +RE-2                          5292 H 100 / 1810 S 100      2023/24
20.08.2024  RE-3       -Rabatt                                  5292 S 40 / 1810 H 40        2024/25
==========  =========  =======================================  ==========================  ========

RE-1's expense posting has the cost centre ``@SUM(A1)``.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import Account, AuditEvent
from ledger.core.posting import PostingLine, post_entry, reverse_entry
from ledger.core.schoolyear import SchoolYear
from ledger.reports.account_ledger import account_ledger
from ledger.reports.trial_balance import trial_balance
from ledger.rules.packs import load_packs
from ledger.write.cells import csv_amount, csv_value, neutralise, sheet_value
from ledger.write.downloads import account_ledger_sheet, journal_sheet, trial_balance_sheet
from ledger.write.gobd import gobd_zip
from ledger.write.tabular import Sheet, to_csv, to_xlsx
from tests.conftest import NOW, add_web_user, internal_terms, logged_in
from tests.test_exports import _tables, _validate_with_dtd

HYPERLINK = '=HYPERLINK("http://x.invalid";"Beleg")'
Y2023, Y2024 = SchoolYear(2023), SchoolYear(2024)


def _account(session, recipient, number: str) -> Account:
    return session.scalar(sa.select(Account).where(Account.recipient_id == recipient.id, Account.number == number))


@pytest.fixture
def book(session, kreis):
    """The book of the module docstring, committed; returns the recipient."""
    bank, revenue, training = (_account(session, kreis, n) for n in ("1810", "4141", "5292"))

    def post(day, voucher, text, amount, year, cost_centre=None, debit=training, credit=bank):
        return post_entry(session, kreis, day=day, voucher_number=voucher, text=text, lines=[
            PostingLine(debit, Decimal(amount), year, "training" if debit is training else None, cost_centre),
            PostingLine(credit, -Decimal(amount), year)], kind="manual", created_by="test", now=NOW)

    post(date(2023, 10, 2), "AUSZ-1", "Auszahlung", "1000.00", Y2023, debit=bank, credit=revenue)
    post(date(2023, 11, 15), "@RE-1", HYPERLINK, "250.00", Y2023, "@SUM(A1)")
    honorar = post(date(2024, 1, 10), "+RE-2", "+1 Honorar", "100.00", Y2023)
    reverse_entry(session, honorar, day=date(2024, 1, 31), reason="doppelt", created_by="test", now=NOW)
    post(date(2024, 8, 20), "RE-3", "-Rabatt", "40.00", Y2024)
    session.commit()
    return kreis


# --- cells ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, safe", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-Rabatt", "'-Rabatt"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), (HYPERLINK, "'" + HYPERLINK),
    ("Rechnung =1", "Rechnung =1"), ("", ""), ("'=1", "'=1"), ("1-2", "1-2"),
])
def test_texts_beginning_with_a_formula_character_get_an_apostrophe(text, safe):
    assert neutralise(text) == safe
    assert csv_value(text) == safe and sheet_value(text) == safe


def test_amounts_and_dates_stay_numbers_and_dates():
    assert csv_amount(Decimal("-1234.5")) == "-1234,50"
    assert csv_value(Decimal("-0.01")) == "-0,01"          # a negative amount is a number, not neutralised
    assert csv_value(Decimal("250")) == "250,00"
    assert csv_value(date(2024, 7, 31)) == "31.07.2024"
    assert csv_value(None) == "" and csv_value(7) == "7"
    assert sheet_value(Decimal("-1.00")) == Decimal("-1.00") and sheet_value(date(2024, 7, 31)) == date(2024, 7, 31)


# --- trial balance (Summen- und Saldenliste) ------------------------------------------


def _rows(balance):
    return [(r.number, r.opening, r.debit, r.credit, r.closing) for r in balance.rows]


def test_trial_balance_of_everything(session, book):
    """No scope: opening 0; 1810 S 1.000 + 100 (Storno) = 1.100, H 250 + 100 + 40 = 390, Saldo 710;
    5292 S 250 + 100 + 40 = 390, H 100, Saldo 290; 4141 H 1.000. Soll = Haben = 1.490,00."""
    balance = trial_balance(session, book)
    assert _rows(balance) == [("1810", 0, 110000, 39000, 71000), ("4141", 0, 0, 100000, -100000),
                              ("5292", 0, 39000, 10000, 29000)]
    assert (balance.debit, balance.credit, balance.closing, balance.balanced) == (149000, 149000, 0, True)


def test_trial_balance_of_a_school_year_and_a_range(session, book):
    """2023/24 from 01.12.2023 to 31.07.2024: Saldovortrag 1810 = 1.000 − 250 = 750, 4141 = −1.000,
    5292 = 250; in the range only +RE-2 and its Storno (100 each way); RE-3 is of 2024/25."""
    balance = trial_balance(session, book, school_year=Y2023, date_from=date(2023, 12, 1), date_to=date(2024, 7, 31))
    assert _rows(balance) == [("1810", 75000, 10000, 10000, 75000), ("4141", -100000, 0, 0, -100000),
                              ("5292", 25000, 10000, 10000, 25000)]
    assert (balance.opening, balance.debit, balance.credit, balance.balanced) == (0, 20000, 20000, True)


def test_trial_balance_range_boundaries_are_inclusive(session, book):
    """From and to on booking days: 15.11.2023 (RE-1) is in the range, 02.10.2023 one day before it is not."""
    one_day = trial_balance(session, book, date_from=date(2023, 11, 15), date_to=date(2023, 11, 15))
    assert _rows(one_day) == [("1810", 100000, 0, 25000, 75000), ("4141", -100000, 0, 0, -100000),
                              ("5292", 0, 25000, 0, 25000)]
    before = trial_balance(session, book, date_to=date(2023, 10, 1))
    assert before.rows == ()
    with pytest.raises(LedgerError, match="Bis-Datum 01.10.2023 liegt vor dem Von-Datum 02.10.2023"):
        trial_balance(session, book, date_from=date(2023, 10, 2), date_to=date(2023, 10, 1))


def test_trial_balance_shows_an_entry_split_across_school_years(session, book):
    """An entry of 0,11 with 0,01 of it charged to 2024/25: 2023/24 alone has S 0,10 and H 0,11."""
    bank, training = _account(session, book, "1810"), _account(session, book, "5292")
    post_entry(session, book, day=date(2024, 7, 30), voucher_number="RE-4", text="geteilt", lines=[
        PostingLine(training, Decimal("0.10"), Y2023, "training"), PostingLine(training, Decimal("0.01"), Y2024),
        PostingLine(bank, Decimal("-0.11"), Y2023)], kind="manual", created_by="test", now=NOW)
    balance = trial_balance(session, book, school_year=Y2023, date_from=date(2024, 7, 30))
    assert (balance.debit, balance.credit, balance.balanced) == (10, 11, False)


# --- account ledger (Kontoblatt) ------------------------------------------------------


def test_account_ledger_with_running_balance(session, book):
    """1810, whole book: 1.000 → 750 → 650 → 750 → 710 (the trial balance's Saldo)."""
    ledger = account_ledger(session, book, "1810")
    assert [(l.day, l.voucher_number, l.amount, l.balance, l.counter_accounts) for l in ledger.lines] == [
        (date(2023, 10, 2), "AUSZ-1", 100000, 100000, "4141"),
        (date(2023, 11, 15), "@RE-1", -25000, 75000, "5292"),
        (date(2024, 1, 10), "+RE-2", -10000, 65000, "5292"),
        (date(2024, 1, 31), "ST-+RE-2", 10000, 75000, "5292"),
        (date(2024, 8, 20), "RE-3", -4000, 71000, "5292"),
    ]
    assert (ledger.opening, ledger.debit, ledger.credit, ledger.closing) == (0, 110000, 39000, 71000)


def test_account_ledger_of_a_range_starts_with_the_carried_balance(session, book):
    """1810 from 01.12.2023 to 31.01.2024: Saldovortrag 750 (1.000 − 250); −100 → 650, +100 → 750."""
    ledger = account_ledger(session, book, "1810", date_from=date(2023, 12, 1), date_to=date(2024, 1, 31))
    assert ledger.opening == 75000
    assert [(l.voucher_number, l.balance) for l in ledger.lines] == [("+RE-2", 65000), ("ST-+RE-2", 75000)]
    assert ledger.closing == 75000
    year = account_ledger(session, book, "5292", school_year=Y2024)
    assert (year.opening, [l.voucher_number for l in year.lines], year.closing) == (0, ["RE-3"], 4000)
    empty = account_ledger(session, book, "4141", date_from=date(2024, 1, 1))
    assert (empty.opening, empty.lines, empty.closing) == (-100000, (), -100000)
    with pytest.raises(NotFound, match="Konto 9999 gibt es im Kontenplan von Kreis Testland nicht"):
        account_ledger(session, book, "9999")


# --- writers --------------------------------------------------------------------------


def _xlsx(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_journal_xlsx_neutralises_formulas_and_keeps_amounts_numeric(session, book):
    sheet = journal_sheet(session, book, load_packs(), school_year=Y2023)
    ws = _xlsx(to_xlsx(sheet, now=NOW))
    header = [c.value for c in ws[1]]
    assert header[:8] == ["Buchung Nr.", "Buchungsdatum", "Belegnummer", "Buchungstext", "Konto", "Kontobezeichnung",
                          "Soll", "Haben"]
    rows = [dict(zip(header, (c for c in row))) for row in ws.iter_rows(min_row=2)]
    assert len(rows) == 8                                   # four entries of 2023/24, two postings each
    re1 = [r for r in rows if r["Belegnummer"].value == "'@RE-1"]
    assert [r["Buchungstext"].value for r in re1] == ["'" + HYPERLINK] * 2
    assert all(r["Buchungstext"].data_type == "s" for r in re1)
    debit = next(r for r in re1 if r["Soll"].value is not None)
    assert (debit["Soll"].value, debit["Soll"].data_type, debit["Soll"].number_format) == (250, "n", "#,##0.00")
    assert debit["Kostenstelle"].value == "'@SUM(A1)"
    assert debit["Kategorie"].value.startswith("Qualifizierung der Schulbegleitungen durch Workshops")
    assert isinstance(debit["Buchungsdatum"].value, datetime) and debit["Buchungsdatum"].value.date() == date(2023, 11, 15)
    assert debit["Buchungsdatum"].number_format == "DD.MM.YYYY"
    assert {r["Buchungstext"].value for r in rows if r["Belegnummer"].value == "'+RE-2"} == {"'+1 Honorar"}
    assert ws.freeze_panes == "A2"
    # nothing in the workbook is a formula
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_journal_csv_for_german_excel(session, book):
    rows = _csv(to_csv(journal_sheet(session, book, load_packs())))
    header = rows[0]
    records = [dict(zip(header, row)) for row in rows[1:]]
    assert len(records) == 10
    re1 = next(r for r in records if r["Belegnummer"] == "'@RE-1" and r["Soll"])
    assert (re1["Buchungstext"], re1["Soll"], re1["Haben"], re1["Buchungsdatum"]) == (
        "'" + HYPERLINK, "250,00", "", "15.11.2023")
    assert re1["Kostenstelle"] == "'@SUM(A1)"
    assert next(r for r in records if r["Belegnummer"] == "RE-3")["Buchungstext"] == "'-Rabatt"
    storno = next(r for r in records if r["Belegnummer"] == "ST-+RE-2")
    assert storno["Storno von Buchung Nr."].isdigit()
    winter = to_csv(journal_sheet(session, book, load_packs(), date_from=date(2023, 11, 16), date_to=date(2024, 1, 31)))
    assert [(r[2], r[6], r[7]) for r in _csv(winter)[1:]] == [
        ("'+RE-2", "100,00", ""), ("'+RE-2", "", "100,00"), ("ST-+RE-2", "", "100,00"), ("ST-+RE-2", "100,00", "")]
    assert len(_csv(to_csv(journal_sheet(session, book, load_packs(), school_year=Y2024)))) == 3


def test_trial_balance_files_write_negative_balances_as_numbers(session, book):
    sheet = trial_balance_sheet(trial_balance(session, book))
    rows = _csv(to_csv(sheet))
    assert rows[0] == ["Konto", "Kontobezeichnung", "Kontoart", "Saldovortrag", "Soll", "Haben", "Saldo"]
    assert rows[2] == ["4141", "Inklusionspauschale (Zuweisung vom Land, § 2 InklFöG)", "Ertrag", "0,00", "0,00",
                       "1000,00", "-1000,00"]
    assert rows[-1] == ["Summe", "", "", "0,00", "1490,00", "1490,00", "0,00"]
    ws = _xlsx(to_xlsx(sheet))
    assert [c.value for c in ws[3]][-1] == -1000 and ws[3][6].data_type == "n"
    assert [c.value for c in ws[ws.max_row]][4:6] == [1490, 1490] and ws[ws.max_row][0].font.b


def test_account_ledger_files(session, book):
    ledger = account_ledger(session, book, "1810", date_from=date(2023, 12, 1), date_to=date(2024, 1, 31))
    rows = _csv(to_csv(account_ledger_sheet(ledger, load_packs())))
    assert rows[0] == ["Buchungsdatum", "Buchung Nr.", "Belegnummer", "Buchungstext", "Gegenkonto", "Schuljahr",
                       "Kategorie", "Kostenstelle", "Soll", "Haben", "Saldo"]
    assert rows[1][:4] == ["01.12.2023", "", "", "Saldovortrag"] and rows[1][-1] == "750,00"
    assert [(r[2], r[8], r[9], r[10]) for r in rows[2:4]] == [("'+RE-2", "", "100,00", "650,00"),
                                                              ("ST-+RE-2", "100,00", "", "750,00")]
    assert rows[-1][3:] == ["Summe", "", "", "", "", "100,00", "100,00", "750,00"]
    ws = _xlsx(to_xlsx(account_ledger_sheet(ledger, load_packs())))
    assert ws.cell(row=ws.max_row, column=11).value == 750


def test_sheet_without_rows_and_with_a_long_title():
    sheet = Sheet("Summen- und Saldenliste Schuljahr 2023/24, 01.08.2023 bis 31.07.2024", ("A", "B"))
    ws = _xlsx(to_xlsx(sheet))
    assert ws.title == "Summen- und Saldenliste Schulja" and ws.max_row == 1
    assert _csv(to_csv(sheet)) == [["A", "B"]]


# --- GoBD -----------------------------------------------------------------------------


def test_gobd_zip_neutralises_texts_and_is_valid(session, book, tmp_path):
    data = gobd_zip(session, book, now=NOW)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["index.xml", "gdpdu-01-09-2004.dtd", "konten.csv", "buchungen.csv",
                                      "buchungszeilen.csv", "belege.csv", "kategorien.csv"]
        archive.extractall(tmp_path)
    _validate_with_dtd(tmp_path)
    tables = _tables(tmp_path)
    texts = {r["Belegnummer"]: r["Buchungstext"] for r in tables["buchungen.csv"]["rows"]}
    assert texts["'@RE-1"] == "'" + HYPERLINK and texts["'+RE-2"] == "'+1 Honorar" and texts["RE-3"] == "'-Rabatt"
    assert "'@SUM(A1)" in {r["Kostenstelle"] for r in tables["buchungszeilen.csv"]["rows"]}
    assert {r["Soll"] for r in tables["buchungszeilen.csv"]["rows"]} >= {"250,00", "0,00"}


# --- web ------------------------------------------------------------------------------


@pytest.fixture
def auditor(app, session, book):
    """A client logged in as ``paul``, auditor of Kreis Testland."""
    add_web_user(session, "paul", "auditor", recipients=[book])
    return logged_in(app, "paul")


def _downloads(session) -> list[dict]:
    session.rollback()
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "download").order_by(AuditEvent.seq))
    return [{"actor": e.actor, **json.loads(e.details)} for e in events]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize("query, name, details", [
    ("journal?format=xlsx&year=2023", "Journal_testland_2023-24.xlsx",
     {"kind": "journal", "format": "xlsx", "school_year": "2023/24"}),
    ("journal?format=csv&from=2023-12-01&to=2024-01-31", "Journal_testland_2023-12-01_bis_2024-01-31.csv",
     {"kind": "journal", "format": "csv", "date_from": "2023-12-01", "date_to": "2024-01-31"}),
    ("einstufung?format=xlsx&year=2023", "Einstufung_testland_2023-24.xlsx",
     {"kind": "einstufung", "format": "xlsx", "school_year": "2023/24"}),
    ("summen-und-salden?format=csv&year=2023&from=2023-12-01", "Summen-und-Saldenliste_testland_2023-24_2023-12-01_bis_heute.csv",
     {"kind": "summen-und-salden", "format": "csv", "school_year": "2023/24", "date_from": "2023-12-01"}),
    ("kontoblatt?format=xlsx&account=1810", "Kontoblatt_testland_1810.xlsx",
     {"kind": "kontoblatt", "format": "xlsx", "account": "1810"}),
    ("gobd.zip?year=2023", "GoBD-Datenueberlassung_testland_2023-24.zip",
     {"kind": "gobd", "format": "zip", "school_year": "2023/24"}),
])
def test_each_download_is_served_and_audited(auditor, session, query, name, details):
    response = auditor.get(f"/r/testland/downloads/{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    expected_type = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8", "zip": "application/zip"}[name.rsplit(".", 1)[1]]
    assert response.headers["Content-Type"] == expected_type
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_data()
    if name.endswith(".xlsx"):
        assert _xlsx(data).max_row > 1
    elif name.endswith(".csv"):
        assert len(_csv(data)) > 1
    else:
        assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    assert _downloads(session) == [{"actor": "paul", **details}]


def test_the_classification_file_lists_the_decisions(auditor):
    ws = _xlsx(auditor.get("/r/testland/downloads/einstufung?format=xlsx&year=2023").get_data())
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]
    assert len(rows) == 3                                        # RE-1, +RE-2 and its Storno
    re1 = next(r for r in rows if r["Belegnummer"] == "'@RE-1")
    assert (re1["Buchungstext"], re1["Betrag"], re1["Kostenstelle"]) == ("'" + HYPERLINK, 250, "'@SUM(A1)")
    assert re1["Einstufung"] and re1["Regelwerk"].startswith("„")
    text = " ".join(str(v) for r in rows for v in r.values() if v is not None)
    assert internal_terms(text) == []


@pytest.mark.parametrize("query, message", [
    ("journal?format=pdf", "Bitte das Format CSV oder XLSX wählen."),
    ("journal?format=csv&year=2019", "Für das Schuljahr „2019“ gibt es keine Buchungen."),
    ("journal?format=csv&from=2024-02-01&to=2024-01-01", "Das Bis-Datum liegt vor dem Von-Datum."),
    ("journal?format=csv&from=gestern", "„gestern“ ist kein gültiges Datum"),
    ("einstufung?format=csv", "Bitte ein Schuljahr wählen."),
    ("kontoblatt?format=csv", "Bitte ein Konto wählen."),
])
def test_a_wrong_parameter_is_refused_and_not_audited(auditor, session, query, message):
    response = auditor.get(f"/r/testland/downloads/{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _downloads(session) == []


def test_an_unknown_account_or_kind(auditor, session):
    assert auditor.get("/r/testland/downloads/kontoblatt?format=csv&account=9999").status_code == 404
    assert auditor.get("/r/testland/downloads/bilanz?format=csv").status_code == 404
    assert _downloads(session) == []


def test_the_page_offers_every_download_to_officers_and_auditors(app, session, book, auditor):
    add_web_user(session, "anna", "officer", recipients=[book])
    for client in (auditor, logged_in(app, "anna")):
        page = client.get("/r/testland/downloads").get_data(as_text=True)
        for text in ("GoBD-Datenträgerüberlassung als ZIP herunterladen", "Journal als XLSX herunterladen",
                     "Einstufung als CSV herunterladen", "Summen- und Saldenliste als XLSX herunterladen",
                     "Kontoblatt als CSV herunterladen", "1810"):
            assert text in page
        assert 'aria-current="page">Downloads' in page
        assert internal_terms(page) == []


def test_another_recipients_downloads_are_not_found(app, session, book):
    from ledger.core.recipients import add_recipient

    other = add_recipient(session, "andersland", "Kreis Andersland", "kreis", actor="test", now=NOW)
    session.commit()
    add_web_user(session, "otto", "auditor", recipients=[other])
    client = logged_in(app, "otto")
    assert client.get("/r/testland/downloads").status_code == 404
    assert client.get("/r/testland/downloads/gobd.zip").status_code == 404
    assert client.get("/r/testland/downloads/journal?format=csv").status_code == 404
    assert _downloads(session) == []


def test_downloads_show_in_the_audit_log_in_german(auditor):
    auditor.get("/r/testland/downloads/kontoblatt?format=csv&account=1810&from=2023-12-01")
    page = auditor.get("/protokoll").get_data(as_text=True)
    assert "Daten heruntergeladen" in page and "Konto" in page




# --- command line ---------------------------------------------------------------------


def test_the_command_line_writes_the_tables_and_audits_them(cli, session, book, tmp_path):
    out = tmp_path / "susa.csv"
    result = cli("export", "trial-balance", "--recipient", "testland", "--format", "csv", "--school-year", "2023/24",
                 "--from", "2023-12-01", "-o", out, "--json")
    assert json.loads(result.output) == {"file": str(out), "format": "csv", "rows": 4}
    assert _csv(out.read_bytes())[-1] == ["Summe", "", "", "0,00", "200,00", "200,00", "0,00"]
    cli("export", "journal", "--recipient", "testland", "-o", tmp_path / "journal.xlsx")
    assert _xlsx((tmp_path / "journal.xlsx").read_bytes()).max_row == 11
    result = cli("export", "account-ledger", "--recipient", "testland", "--account", "1810", "--format", "csv",
                 "-o", tmp_path / "konto.csv")
    assert "Kontoblatt 1810 alle Buchungen geschrieben" in result.output
    cli("export", "classification", "--recipient", "testland", "--school-year", "2023/24", "-o", tmp_path / "e.xlsx")
    result = cli("export", "account-ledger", "--recipient", "testland", "--account", "9999", "-o",
                 tmp_path / "x.csv", expect=1)
    assert "Konto 9999 gibt es im Kontenplan von Kreis Testland nicht" in result.output
    assert not (tmp_path / "x.csv").exists()
    assert [(d["actor"], d["kind"]) for d in _downloads(session)] == [
        ("test-officer", "summen-und-salden"), ("test-officer", "journal"), ("test-officer", "kontoblatt"),
        ("test-officer", "einstufung")]
    assert _downloads(session)[0] == {"actor": "test-officer", "kind": "summen-und-salden", "format": "csv",
                                      "school_year": "2023/24", "date_from": "2023-12-01"}


def test_more_rows_than_a_worksheet_holds_are_refused(monkeypatch):
    """XlsxWriter would drop rows past Excel's limit silently; the writer refuses instead."""
    import ledger.write.tabular as tabular

    monkeypatch.setattr(tabular, "XLSX_MAX_ROWS", 3)
    assert _xlsx(to_xlsx(Sheet("Journal", ("A",), [["x"], ["y"]]))).max_row == 3
    with pytest.raises(LedgerError, match="Journal: 3 Zeilen passen nicht in ein Tabellenblatt"):
        to_xlsx(Sheet("Journal", ("A",), [["x"], ["y"], ["z"]]))

"""Bank statements (camt.053.001.08) booked through an import profile: the account found by its
IBAN, the Land's payout matched to the payout recorded by hand (booked once), the repayment to the
Landeskasse matched to the confirmed obligation by its reference, rules placing the rest, and
what no rule places parked for the officer. Samples: tests/samples/camt053/README.md."""
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.core.bank import set_account_iban
from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import ImportedRow, JournalEntry, ParkedBankEntry, Posting
from ledger.core.schoolyear import SchoolYear
from ledger.read.profiles import get_profile, load_profile
from ledger.reports.repayment import compute_repayment
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from tests.conftest import NOW, import_bytes

SAMPLES = Path(__file__).parent / "samples" / "camt053"
FIRST = SAMPLES / "auszug_2024-11-28_bis_2024-12-02.xml"
SECOND = SAMPLES / "auszug_2024-12-02_bis_2024-12-03.xml"
ZIP = SAMPLES / "auszuege_2024-12-05_bis_2024-12-06.zip"
ACCOUNT = "DE89 3705 0299 0000 1234 56"   # Kreis Testland's account at the Kreissparkasse Köln (the samples)
CSV_HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"


@pytest.fixture
def books(session, kreis):
    """Kreis Testland with its bank account linked to the statement's IBAN and the grant 2024/25,
    whose first instalment (412.350,00 EUR) the officer recorded by hand on 27.11.2024."""
    set_account_iban(session, kreis, "1810", ACCOUNT, actor="test", now=NOW)
    grant = add_grant(session, kreis, SchoolYear(2024), Decimal("824700.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2024, 11, 27), Decimal("412350.00"), created_by="test", now=NOW)
    session.commit()
    return kreis


def _import(session, recipient, path: Path, profile=None, **options):
    return import_bytes(session, recipient, path.read_bytes(), path.name, created_by="test", now=NOW,
                        profile=profile or get_profile("camt053"), **options)


def _entries(session, kind: str = "import") -> dict[str, list[tuple[str, int]]]:
    return {e.voucher_number: [(p.account.number, p.amount_cents) for p in e.postings]
            for e in session.query(JournalEntry).filter_by(kind=kind)}


def test_first_statement_books_the_payout_once_books_charges_and_parks_the_rest(session, books):
    summary = _import(session, books, FIRST)
    session.commit()
    assert summary.ok, summary.errors
    # six booked entries (payout, invoice, three transfers of the batch, charges); the pending one is no row
    assert (summary.rows, summary.imported, summary.payouts_recognised, summary.parked) == (6, 1, 1, 4)
    # the payout recorded by hand on 27.11. is the bank's credit of 28.11.: one entry, not two
    assert session.query(JournalEntry).filter_by(kind="payout").count() == 1
    payout_row = session.query(ImportedRow).filter_by(line=83).one()
    assert session.get(JournalEntry, payout_row.entry_id).kind == "payout"
    # the bank's charges (GVC 805) by the shipped rule: 12,50 EUR to 5299
    assert _entries(session) == {"2024120204711004": [("5299", 1250), ("1810", -1250)]}
    parked = session.query(ParkedBankEntry).order_by(ParkedBankEntry.line).all()
    assert [(p.line, p.amount_cents, p.counterparty) for p in parked] == [
        (166, -3_841_520, "Inklusionsdienste Rhein-Sieg gGmbH"),
        (245, -250_000, "Schulbegleitung Siebengebirge gGmbH"),
        (274, -315_000, "Caritasverband Testland e.V."),
        (313, -180_000, "Förderverein Inklusion Testland e.V."),
    ]
    assert parked[0].remittance == "RE 2024-1187 Poolkräfte Schulbegleitung Oktober 2024"
    assert parked[0].reason == "keine Regel des Importprofils ordnet die Buchung einem Gegenkonto zu"
    # the same statement again changes nothing
    again = _import(session, books, FIRST)
    assert (again.imported, again.duplicates, again.parked, again.payouts_recognised) == (0, 6, 0, 0)
    assert session.query(ParkedBankEntry).count() == 4


def test_rules_of_a_kreis_profile_place_the_providers_invoices(session, books, tmp_path):
    path = tmp_path / "camt-kreis.toml"
    path.write_text('''
[profile]
title = "Kontoauszug des Kreises"
format = "camt053"
[bank]
unmatched = "park"
[[rules]]
if = [{ column = "Verwendungszweck", matches = "(?i)poolkr|schulassistenz" }]
set = { counter_account = "5291", cost_centre = "3631-POOL" }
[[rules]]
if = [{ column = "Gläubigerreferenz", matches = "^RF" }]
set = { counter_account = "5292", category = "training" }
''', encoding="utf-8")
    summary = _import(session, books, FIRST, load_profile(path))
    session.commit()
    assert summary.ok, summary.errors
    assert (summary.imported, summary.parked) == (4, 1)   # only the shipped rule for charges is missing
    entries = _entries(session)
    assert entries["2024112904711002"] == [("5291", 3_841_520), ("1810", -3_841_520)]
    # the batch's three transfers share the bank reference: each is its own entry
    pool = session.query(Posting).join(Posting.account).filter_by(number="5291").all()
    assert sorted(p.amount_cents for p in pool) == [180_000, 250_000, 3_841_520]
    assert {p.cost_centre for p in pool} == {"3631-POOL"}
    training = session.query(Posting).join(Posting.account).filter_by(number="5292").one()
    assert (training.amount_cents, training.category) == (315_000, "training")


def _confirmed_2023(session, recipient):
    """2023/24: 100.000,00 EUR granted and paid, 76.543,22 EUR spent on training (permitted):
    23.456,78 EUR to be repaid, confirmed (debit 4149, credit 3790)."""
    grant = add_grant(session, recipient, SchoolYear(2023), Decimal("100000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 9, 1), Decimal("100000.00"), created_by="test", now=NOW)
    session.commit()
    spent = CSV_HEADER + "15.03.2024;B-1;Qualifizierung Schulbegleitungen;5292;1810;76.543,22;;;\n"
    assert import_bytes(session, recipient, spent.encode(), "2024-03.csv", created_by="test", now=NOW).ok
    confirm_repayment(session, recipient, SchoolYear(2023), day=date(2024, 11, 15), created_by="test", now=NOW)
    session.commit()
    assert compute_repayment(session, recipient, SchoolYear(2023)).confirmed_obligation == Decimal("23456.78")


def test_the_repayment_to_the_landeskasse_pays_the_confirmed_obligation(session, books):
    _confirmed_2023(session, books)
    _import(session, books, FIRST)
    summary = _import(session, books, SECOND)
    session.commit()
    assert summary.ok, summary.errors
    # charges again (a duplicate), the town's credit and the reversal parked, the repayment booked
    assert (summary.rows, summary.duplicates, summary.parked, summary.repayments_recognised) == (4, 1, 2, 1)
    # "Rückzahlung Inklusionspauschale 2023/24 Kreis Testland" is the rule pack's payment reference
    assert _entries(session, "repayment_payment") == {"2024120304711006": [("3790", 2_345_678), ("1810", -2_345_678)]}
    result = compute_repayment(session, books, SchoolYear(2023))
    assert (result.already_repaid, result.outstanding) == (Decimal("23456.78"), Decimal("0.00"))


def test_a_repayment_recorded_by_hand_is_recognised_not_booked_twice(session, books):
    _confirmed_2023(session, books)
    pay_repayment(session, books, SchoolYear(2023), Decimal("23456.78"), day=date(2024, 12, 2), created_by="test",
                  now=NOW)
    session.commit()
    summary = _import(session, books, SECOND)
    session.commit()
    assert summary.ok and summary.repayments_recognised == 1
    assert session.query(JournalEntry).filter_by(kind="repayment_payment").count() == 1


def test_a_payment_to_the_landeskasse_without_confirmed_repayment_is_parked(session, books):
    summary = _import(session, books, SECOND)
    session.commit()
    reasons = {p.line: p.reason for p in session.query(ParkedBankEntry)}
    assert reasons[165].startswith("Zahlung an die Landeskasse ohne bestätigte Rückzahlung")
    assert summary.repayments_recognised == 0


def test_refuse_mode_lists_every_entry_no_rule_places_and_writes_nothing(session, books, tmp_path):
    path = tmp_path / "streng.toml"
    path.write_text('[profile]\ntitle = "streng"\nformat = "camt053"\n[bank]\nunmatched = "refuse"\n',
                    encoding="utf-8")
    summary = _import(session, books, FIRST, load_profile(path))
    assert [(e.line, e.column) for e in summary.errors] == [
        (166, "Gegenkonto"), (245, "Gegenkonto"), (274, "Gegenkonto"), (313, "Gegenkonto"), (348, "Gegenkonto")]
    assert "Importprofil: bank.unmatched" in summary.errors[0].message
    session.rollback()
    assert session.query(JournalEntry).filter_by(kind="import").count() == 0
    assert session.query(ParkedBankEntry).count() == 0


def test_a_statement_of_an_account_not_in_the_chart_is_refused(session, kreis):
    summary = _import(session, kreis, FIRST)
    assert [(e.column, e.message) for e in summary.errors] == [
        ("Stmt/Acct/Id/IBAN", "das Konto DE89 3705 0299 0000 1234 56 ist keinem Bankkonto im Kontenplan von "
                              "Kreis Testland zugeordnet (IBAN beim Konto hinterlegen)")]


def test_a_zip_of_statements_is_read_whole(session, books):
    summary = _import(session, books, ZIP)
    assert summary.ok, summary.errors
    assert summary.rows == summary.parked + summary.imported and summary.rows >= 3


def test_a_broken_statement_is_refused_with_the_readers_issues(session, books):
    summary = _import(session, books, SAMPLES / "kaputt_schlusssaldo.xml")
    assert not summary.ok and any("Schlusssaldo" in e.message or "CLBD" in (e.column or "") for e in summary.errors)


# --- the officer's decision on a parked entry ----------------------------------------------------


def test_an_officer_books_a_parked_entry_and_the_statement_then_finds_it_booked(session, books):
    from ledger.workflows.parked import book_parked, parked_entries
    _import(session, books, FIRST)
    session.commit()
    invoice = next(i for i in parked_entries(session, books) if i.parked.line == 166)
    entry = book_parked(session, books, invoice.parked.id, counter_account="5291", cost_centre="3631-P01",
                        user="sachbearbeitung", now=NOW)
    session.commit()
    # money out: the pool account debited, the bank account credited, 38.415,20 EUR
    assert [(p.account.number, p.amount_cents, p.category, p.cost_centre) for p in entry.postings] == [
        ("1810", -3_841_520, None, None), ("5291", 3_841_520, "pool_personnel", "3631-P01")]
    assert entry.voucher_number == "2024112904711002"
    assert entry.text == "Inklusionsdienste Rhein-Sieg gGmbH: RE 2024-1187 Poolkräfte Schulbegleitung Oktober 2024"
    assert len(parked_entries(session, books)) == 3
    assert [i.entry_id for i in parked_entries(session, books, open_only=False) if i.parked.line == 166] == [entry.id]
    again = _import(session, books, FIRST)
    assert (again.imported, again.duplicates) == (0, 6)
    with pytest.raises(LedgerError, match="bereits gebucht"):
        book_parked(session, books, invoice.parked.id, counter_account="5291", user="x", now=NOW)


def test_a_parked_entry_is_booked_by_a_later_import_once_a_rule_places_it(session, books, tmp_path):
    _import(session, books, FIRST)
    session.commit()
    path = tmp_path / "camt-kreis.toml"
    path.write_text('[profile]\ntitle = "Kreis"\nformat = "camt053"\n[[rules]]\n'
                    'if = [{ column = "Name", matches = "^Inklusionsdienste" }]\nset = { counter_account = "5291" }\n',
                    encoding="utf-8")
    summary = _import(session, books, FIRST, load_profile(path))
    session.commit()
    assert (summary.imported, summary.duplicates) == (1, 5)
    from ledger.workflows.parked import parked_entries
    assert 166 not in [i.parked.line for i in parked_entries(session, books)]


@pytest.mark.parametrize("account, message", [
    ("1810", "das Gegenkonto ist das Bankkonto des Auszugs selbst"),
    ("4141", "Auszahlungen des Landes bitte bei der Zuwendung erfassen"),
    ("3790", "Rückzahlungen bitte bestätigen"),
    ("9999", "Konto 9999 gibt es im Kontenplan von Kreis Testland nicht"),
])
def test_a_parked_entry_is_not_booked_against_the_bank_or_the_grant_accounts(session, books, account, message):
    from ledger.core.errors import LedgerError as Error
    from ledger.workflows.parked import book_parked, parked_entries
    _import(session, books, FIRST)
    session.commit()
    first = parked_entries(session, books)[0]
    with pytest.raises(Error, match=message):
        book_parked(session, books, first.parked.id, counter_account=account, user="x", now=NOW)


@pytest.mark.parametrize("recorded_day, recognised", [
    (date(2024, 11, 19), True),    # 14 days before the bank's booking of 03.12.2024
    (date(2024, 11, 18), False),   # 15 days before
    (date(2024, 12, 17), True),    # 14 days after
    (date(2024, 12, 18), False),   # 15 days after
])
def test_a_repayment_recorded_by_hand_matches_at_most_14_days_apart(session, books, recorded_day, recognised):
    """The boundary of ``PAYOUT_MATCH_DAYS`` (ledger.core.grants) for repayments (ledger.read.bank):
    14 days either side of the statement's booking day, inclusive. Outside the window the debit is
    not the recorded payment; as the obligation is paid already, it is parked, not booked twice."""
    _confirmed_2023(session, books)
    pay_repayment(session, books, SchoolYear(2023), Decimal("23456.78"), day=recorded_day, created_by="test",
                  now=NOW)
    session.commit()
    summary = _import(session, books, SECOND)
    session.commit()
    assert summary.ok and summary.repayments_recognised == (1 if recognised else 0)
    assert session.query(JournalEntry).filter_by(kind="repayment_payment").count() == 1
    reasons = {p.line: p.reason for p in session.query(ParkedBankEntry)}
    assert (165 in reasons) is not recognised

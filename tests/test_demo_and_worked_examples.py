"""Worked examples, to be read like an accountant's exercise.

Every expected figure below was computed by hand, on paper, from the source documents
(the Rhein-Sieg settlement, seed 002_17056edfca8550ce.txt) or from the demo's monthly
exports (``demo/musterhausen/*.csv``); the comments show the arithmetic. None of them is
obtained by re-running the ledger's formulas. Amounts are compared as strings or
``Decimal``, never floats. Every test runs on SQLite and on PostgreSQL.

1. Rhein-Sieg-Kreis 2014/15–2020/21: the settlement agreement, entered through the CLI.
2. Kreis Musterhausen 2023/24: the demo's twelve monthly imports and the year's result.
3. Idempotency of the demo and of re-imports; recognition of the Land's payout receipt.
4. Confirming and paying the repayment; the PDF settlement statement.
"""
from __future__ import annotations

import io
import json
from datetime import datetime
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import func, select

from inkl.demo import DEMO_DIR, MUSTERHAUSEN_NARRATIVE, load_demo
from ledger.core.models import (
    Agreement,
    ImportBatch,
    ImportedRow,
    JournalEntry,
    NarrativeVersion,
    Posting,
    User,
)
from ledger.core.posting import account_balance
from ledger.core.recipients import find_account, get_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.read.profiles import get_profile, read_rows
from ledger.reports.repayment import compute_all, compute_repayment

D = Decimal
NOW = datetime(2024, 8, 5, 9, 30)
SY_2023 = SchoolYear(2023)

# Rows per monthly export, counted by hand in demo/musterhausen/. Every month has the four pool
# invoices (P01–P04) and the payroll entry of the coordination office (overhead) = 5 rows, plus:
#   2023-08  5 = 5
#   2023-09  6 = 5 + pass-through to the Stadt Lindental
#   2023-10  7 = 5 + Land's receipt of the grant + workshop autism
#   2023-11  7 = 5 + case consultation + jour fixe                    (Windows-1252, CRLF)
#   2023-12  8 = 5 + extra hours pool P02 + collegial consultation + supervision 1/4
#   2024-01  7 = 5 + workshop augmentative communication + external experts   (UTF-8 with BOM)
#   2024-02  8 = 5 + § 35a case "Fall 2023-017" + case consultation + jour fixe
#   2024-03  9 = 2 rows repeated from 2024-02 (jour fixe 29.02., payroll 02/2024)
#                + 5 + workshop special-needs basics + supervision 2/4
#   2024-04  7 = 5 + brochure in easy language + collegial consultation
#   2024-05  8 = 5 + case consultation + supervision 3/4 + unclassified invoice (Windows-1252)
#   2024-06  7 = 5 + jour fixe + supervision 4/4
#   2024-07  5 = 5
#   total   84 rows = 12 × 5 + 22 single rows + 2 repeated rows
ROWS_PER_FILE = {
    "2023-08.csv": 5, "2023-09.csv": 6, "2023-10.csv": 7, "2023-11.csv": 7,
    "2023-12.csv": 8, "2024-01.csv": 7, "2024-02.csv": 8, "2024-03.csv": 9,
    "2024-04.csv": 7, "2024-05.csv": 8, "2024-06.csv": 7, "2024-07.csv": 5,
}

# Journal after loading the demo, by hand:
#   Musterhausen: 84 rows − 2 repeated rows (2024-03) − 1 bank receipt (recognised as the payout,
#                 not booked again) = 81 import entries, + 1 payout entry (grant add)  = 82
#   Rhein-Sieg:   1 payout entry (15.10.2020)                                           =  1
#   Bremerhaven:  12 advances of 2025 + 1 § 39 SGB VIII cost beside the budget        = 13
#   Kreis Mettmann: 1 example claim of Erkrath (accepted 10.000,00 EUR)              =  1
#   entries 97; each has two postings (debit and credit)                 → postings 194
#   imported rows remembered: 81 booked + 1 receipt linked to the payout             = 82
DEMO_ENTRIES = 97
DEMO_POSTINGS = 194
DEMO_IMPORTED_ROWS = 82


def _load(session) -> list[str]:
    lines = list(load_demo(session, user="demo", now=NOW))
    session.commit()
    return lines


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _repayments(cli, recipient: str, *extra: str) -> list[dict]:
    return json.loads(cli("repayments", "--recipient", recipient, *extra, "--json").stdout)


# --- 1. Rhein-Sieg-Kreis: the settlement agreement (seed 002) ---------------------------------


def test_rhein_sieg_settlement_entered_through_the_cli(cli):
    # Vereinbarung § 1 Abs. 1: grant 2020/21 received               891.931,68 EUR
    #              § 1 Abs. 2: deemed purpose-conform              − 422.362,00 EUR
    #                          to be repaid                        = 469.569,68 EUR
    #   (check: 891.931,68 − 422.000,00 = 469.931,68; − 362,00 = 469.569,68)
    # Vereinbarung § 2: the Land waives its claims for 2014/15 … 2019/20 → 0,00 EUR each.
    # The payout date is not in the seed; 15.10.2020 is assumed.
    cli("recipient", "add", "rhein-sieg", "--name", "Rhein-Sieg-Kreis", "--kind", "kreis")
    cli("grant", "add", "--recipient", "rhein-sieg", "--school-year", "2020/21",
        "--amount", "891931,68", "--payout-date", "2020-10-15")
    cli("agreement", "add", "--recipient", "rhein-sieg", "--school-year", "2020/21",
        "--deemed-conform", "422362,00",
        "--reference", "Vereinbarung Rhein-Sieg-Kreis – Land NRW, § 1 Abs. 2")
    waived_years = ["2014/15", "2015/16", "2016/17", "2017/18", "2018/19", "2019/20"]
    for year in waived_years:
        cli("agreement", "add", "--recipient", "rhein-sieg", "--school-year", year, "--waive",
            "--reference", "Vereinbarung Rhein-Sieg-Kreis – Land NRW, § 2")

    results = {r["school_year"]: r for r in _repayments(cli, "rhein-sieg")}
    assert list(results) == waived_years + ["2020/21"]

    settled = results["2020/21"]
    assert settled["grant_received"] == "891931.68"
    # No expenditure is booked, so the computation alone would claim everything back;
    # the agreement overrides it, and both figures are kept.
    assert settled["computed_repayment_due"] == "891931.68"
    assert settled["agreement"]["deemed_conform"] == "422362.00"
    assert settled["agreement"]["waived"] is False
    assert settled["agreement"]["repayment_due"] == "469569.68"
    assert settled["repayment_due"] == "469569.68"
    assert settled["outstanding"] == "469569.68"

    for year in waived_years:
        assert results[year]["repayment_due"] == "0.00", year
        assert results[year]["agreement"]["waived"] is True, year
        assert results[year]["agreement"]["deemed_conform"] is None, year
        assert results[year]["grant_received"] == "0.00", year


def test_demo_loads_the_same_rhein_sieg_settlement(session):
    _load(session)
    rhein_sieg = get_recipient(session, "rhein-sieg")
    results = {str(r.school_year): r for r in compute_all(session, rhein_sieg)}
    assert list(results) == ["2014/15", "2015/16", "2016/17", "2017/18", "2018/19", "2019/20", "2020/21"]

    settled = results["2020/21"]
    assert settled.grant_received == D("891931.68")          # § 1 Abs. 1
    assert settled.agreement.deemed_conform == D("422362.00")  # § 1 Abs. 2
    assert settled.repayment_due == D("469569.68")            # 891.931,68 − 422.362,00
    assert settled.agreement.reference == "Vereinbarung Rhein-Sieg-Kreis – Land NRW, § 1 Abs. 2"
    for year in ("2014/15", "2015/16", "2016/17", "2017/18", "2018/19", "2019/20"):
        assert results[year].agreement.waived
        assert results[year].repayment_due == D("0.00")
        assert results[year].agreement.reference == "Vereinbarung Rhein-Sieg-Kreis – Land NRW, § 2"


# --- 2. Kreis Musterhausen 2023/24: the year's result ----------------------------------------


def test_musterhausen_2023_24_result_computed_by_hand(session):
    lines = _load(session)
    assert "Importiere 2023-08.csv: 5 Zeilen, 5 neu" in lines

    # Hand computation from the twelve exports (amounts in EUR):
    #
    # Pool personnel, account 5291, category pool_personnel (flat monthly rates of the pool contracts)
    #   P01 GGS Am Lindenhof, Musterstadt (Sozialwerk)        9.840,00 × 12 = 118.080,00
    #   P02 Gesamtschule Musterhausen-Nord (Sozialwerk)      13.120,00 × 12 = 157.440,00
    #   P03 GGS Kastanienweg, Beispielheim (Lernbrücke)       8.612,50 × 12 = 103.350,00
    #   P04 Sekundarschule Talblick, Beispielheim (Lernbr.)   7.965,45 × 12 =  95.585,40
    #   P02 extra hours 11/2023, booked 15.12.2023                               1.234,50
    #   pool personnel                                                         475.689,90
    #   (The § 35a case on 5291, 13.860,00, carries category individual_claim_sgb_viii:
    #    it is not pool personnel.)
    #
    # Other permitted categories
    #   training        2.380,00 + 1.785,00 + 2.975,00                           7.140,00
    #   case_consultation       3 × 1.190,00                                     3.570,00
    #   collegial_consultation  2 × 1.428,00                                     2.856,00
    #   networking              3 ×   412,30                                     1.236,90
    #   brochures               1 × 3.867,50                                     3.867,50
    #   external_experts        1 × 9.520,00                                     9.520,00
    #   supervision             4 ×   640,00                                     2.560,00
    #   pass_through            1 × 60.000,00 (Stadt Lindental)                 60.000,00
    #   permitted categories incl. pool personnel                              566.440,30
    #
    # Overhead, account 5012: 7.150,00 × 12                                     85.800,00
    #   cap 15 % of 475.689,90 = 71.353,485 → half up                           71.353,49
    #   (round half even would give 71.353,48)
    #   excess 85.800,00 − 71.353,49                                            14.446,51
    #
    # Purpose-conform: 566.440,30 + 71.353,49                                 637.793,79
    # Repayment:       750.000,00 − 637.793,79                                112.206,21
    #
    # Cross-check from the other side (where the money went):
    #   all expenses: 566.440,30 + 85.800,00 + 13.860,00 + 749,70 = 666.850,00
    #   unspent:      750.000,00 − 666.850,00                      =  83.150,00 (= bank 1810)
    #   repayment:    83.150,00 unspent + 14.446,51 overhead excess
    #                 + 13.860,00 excluded + 749,70 unclassified    = 112.206,21
    #
    # Due date: payout 16.10.2023 → 1 April of budget year 2024; 1.4.2024 is Easter Monday
    #   (Easter Sunday 31.3.2024), so § 193 BGB moves it to Tuesday 2.4.2024.
    result = compute_repayment(session, get_recipient(session, "musterhausen"), SY_2023)

    assert result.grant_assessed == D("750000.00")
    assert result.grant_received == D("750000.00")
    assert {c.category: c.amount for c in result.by_category} == {
        "pool_personnel": D("475689.90"),
        "training": D("7140.00"),
        "case_consultation": D("3570.00"),
        "collegial_consultation": D("2856.00"),
        "networking": D("1236.90"),
        "overhead": D("85800.00"),
        "brochures": D("3867.50"),
        "external_experts": D("9520.00"),
        "supervision": D("2560.00"),
        "pass_through": D("60000.00"),
        "individual_claim_sgb_viii": D("13860.00"),
    }
    assert {c.category: c.status for c in result.by_category}["individual_claim_sgb_viii"] == "excluded"
    assert result.pool_personnel == D("475689.90")
    assert result.overhead_charged == D("85800.00")
    assert result.overhead_cap == D("71353.49")
    assert result.overhead_excess == D("14446.51")
    assert result.excluded == D("13860.00")
    assert result.unclassified == D("749.70")
    assert result.permitted == D("637793.79")
    assert result.computed_repayment_due == D("112206.21")
    assert result.agreement is None
    assert result.repayment_due == D("112206.21")
    assert result.already_repaid == D("0.00")
    assert result.outstanding == D("112206.21")
    assert result.nominal_due_date.isoformat() == "2024-04-01"
    assert result.due_date.isoformat() == "2024-04-02"

    musterhausen = get_recipient(session, "musterhausen")
    assert account_balance(session, find_account(session, musterhausen, "1810"), SY_2023) == D("83150.00")


def test_the_exports_come_in_the_encodings_of_real_finance_systems():
    files = sorted(DEMO_DIR.glob("*.csv"))
    assert [f.name for f in files] == list(ROWS_PER_FILE)
    header = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr"
    boms, windows = [], []
    for path in files:
        data = path.read_bytes()
        if data.startswith(b"\xef\xbb\xbf"):
            boms.append(path.name)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            windows.append(path.name)
            assert any(ch in data.decode("cp1252") for ch in "äöüÄÖÜß"), path.name
        text = data.decode("utf-8-sig") if path.name not in windows else data.decode("cp1252")
        assert text.splitlines()[0] == header, path.name
        rows, issues, _skipped = read_rows(get_profile(None), lambda: io.BytesIO(data))
        assert issues == [] and len(rows) == ROWS_PER_FILE[path.name], path.name
    assert boms == ["2024-01.csv"]
    assert windows == ["2023-11.csv", "2024-05.csv"]


# --- 3. Idempotency and the payout receipt ----------------------------------------------------


def test_loading_the_demo_twice_changes_nothing(session):
    _load(session)
    first = (_count(session, JournalEntry), _count(session, Posting), _count(session, ImportedRow),
             _count(session, ImportBatch), _count(session, Agreement))
    # 97 entries, 194 postings, 82 imported rows, 12 import batches, 7 agreements (Rhein-Sieg)
    assert first == (DEMO_ENTRIES, DEMO_POSTINGS, DEMO_IMPORTED_ROWS, 12, 7)

    assert _load(session) == [
        "Demodaten sind bereits geladen (Rhein-Sieg-Kreis, Kreis Musterhausen, Stadt Bremerhaven); nichts geändert.",
        "Anmeldung: demo-sachbearbeitung / Inklusion-Demo-2026  (Sachbearbeitung, Kreis Musterhausen)",
        "Anmeldung: demo-mettmann / Inklusion-Demo-2026  (Sachbearbeitung, Kreis Mettmann, Mittelabrufe des "
        "Verteilungsplans)",
        "Anmeldung: demo-pruefung / Inklusion-Demo-2026  (Prüfung, alle Empfänger, nur lesend)",
        "Anmeldung: demo-land / Inklusion-Demo-2026  (Land (Ministerium, Bezirksregierung), Landesübersicht, "
        "nur lesend)",
        "Anmeldung: demo-admin / Inklusion-Demo-2026  (Administration)"]
    assert _count(session, User) == 5
    second = (_count(session, JournalEntry), _count(session, Posting), _count(session, ImportedRow),
              _count(session, ImportBatch), _count(session, Agreement))
    assert second == first
    assert _count(session, NarrativeVersion) == 1   # the demo's Sachbericht, written once


def test_the_demo_year_has_a_sachbericht_by_the_demo_officer(session):
    from ledger.core.narrative import current_narrative

    _load(session)
    report = current_narrative(session, get_recipient(session, "musterhausen"), SchoolYear(2023))
    assert (report.text, report.written_by) == (MUSTERHAUSEN_NARRATIVE, "demo-sachbearbeitung")
    assert "Vier Pools der Schulassistenz" in report.text and "§ 35a SGB VIII" in report.text


def test_overlapping_export_counted_its_overlap_as_duplicates_on_first_load(session):
    lines = _load(session)
    # 2024-03.csv: 9 rows, of which the first 2 repeat the end of 2024-02.csv → 7 new, 2 known
    assert "Importiere 2024-03.csv: 9 Zeilen, 7 neu, 2 bereits vorhanden" in lines
    batch = session.scalar(select(ImportBatch).where(ImportBatch.filename == "2024-03.csv"))
    assert (batch.rows, batch.imported, batch.duplicates) == (9, 7, 2)
    others = session.scalars(select(ImportBatch).where(ImportBatch.filename != "2024-03.csv"))
    assert all(b.duplicates == 0 for b in others)


def test_reimporting_every_export_through_the_cli_books_nothing(session, cli):
    _load(session)
    session.close()
    for path in sorted(DEMO_DIR.glob("*.csv")):
        summary = json.loads(cli("import", path, "--recipient", "musterhausen", "--json").stdout)
        assert summary["imported"] == 0, path.name
        assert summary["rows"] == ROWS_PER_FILE[path.name], path.name
        assert summary["duplicates"] == ROWS_PER_FILE[path.name], path.name
        assert summary["payouts_recognised"] == 0, path.name
        assert summary["errors"] == [], path.name
    assert (_count(session, JournalEntry), _count(session, Posting), _count(session, ImportedRow)) == (
        DEMO_ENTRIES, DEMO_POSTINGS, DEMO_IMPORTED_ROWS)
    (result,) = _repayments(cli, "musterhausen", "--school-year", "2023/24")
    assert result["grant_received"] == "750000.00"
    assert result["repayment_due"] == "112206.21"


def test_the_lands_receipt_is_recognised_as_the_payout(session):
    lines = _load(session)
    assert "Importiere 2023-10.csv: 7 Zeilen, 6 neu, 1 als Auszahlung erkannt" in lines
    musterhausen = get_recipient(session, "musterhausen")
    revenue = find_account(session, musterhausen, "4141")
    crediting = session.scalars(
        select(JournalEntry).join(Posting).where(Posting.account_id == revenue.id, Posting.amount_cents < 0)
    ).all()
    # exactly one entry credits 4141: the payout booked by "grant add", 750.000,00 EUR on 16.10.2023;
    # the bank receipt KA-2023-1017 of 17.10.2023 in 2023-10.csv is linked to it, not booked again
    assert len(crediting) == 1
    (payout,) = crediting
    assert payout.kind == "payout"
    assert payout.date.isoformat() == "2023-10-16"
    assert [p.amount_cents for p in payout.postings if p.account_id == revenue.id] == [-75_000_000]
    linked = session.scalars(select(ImportedRow).where(ImportedRow.entry_id == payout.id)).all()
    assert len(linked) == 1
    assert session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.voucher_number == "KA-2023-1017")) == 0


# --- 4. Repayment and settlement statement ----------------------------------------------------


def test_confirm_and_pay_the_repayment_in_two_instalments(session, cli):
    _load(session)
    session.close()
    # Repayment due 112.206,21 EUR (see the Musterhausen computation above).
    cli("repayment", "confirm", "--recipient", "musterhausen", "--school-year", "2023/24", "--date", "2024-03-15")
    (r,) = _repayments(cli, "musterhausen", "--school-year", "2023/24")
    assert (r["confirmed_obligation"], r["already_repaid"], r["outstanding"]) == ("112206.21", "0.00", "112206.21")

    # first instalment 60.000,00 → outstanding 112.206,21 − 60.000,00 = 52.206,21
    cli("repayment", "pay", "--recipient", "musterhausen", "--school-year", "2023/24",
        "--amount", "60.000,00", "--date", "2024-03-20")
    (r,) = _repayments(cli, "musterhausen", "--school-year", "2023/24")
    assert (r["already_repaid"], r["outstanding"]) == ("60000.00", "52206.21")

    # one cent more than outstanding is refused, in German, and nothing is booked
    failed = cli("repayment", "pay", "--recipient", "musterhausen", "--school-year", "2023/24",
                 "--amount", "52.206,22", "--date", "2024-03-28", expect=1)
    assert "Fehler: Zahlung 52.206,22 EUR übersteigt die offene Verbindlichkeit von 52.206,21 EUR" in failed.stderr
    (r,) = _repayments(cli, "musterhausen", "--school-year", "2023/24")
    assert (r["already_repaid"], r["outstanding"]) == ("60000.00", "52206.21")

    # the rest, 52.206,21 → 60.000,00 + 52.206,21 = 112.206,21 repaid, 0,00 outstanding
    cli("repayment", "pay", "--recipient", "musterhausen", "--school-year", "2023/24",
        "--amount", "52206,21", "--date", "2024-03-28")
    (r,) = _repayments(cli, "musterhausen", "--school-year", "2023/24")
    assert (r["already_repaid"], r["outstanding"]) == ("112206.21", "0.00")
    assert r["repayment_due"] == "112206.21"  # paying does not change what was due

    # bank 1810 for 2023/24: 83.150,00 unspent − 112.206,21 repaid = −29.056,21
    # (the Kreis repays the overhead excess, excluded and unclassified spending from own funds)
    musterhausen = get_recipient(session, "musterhausen")
    assert account_balance(session, find_account(session, musterhausen, "1810"), SY_2023) == D("-29056.21")

    failed = cli("repayment", "pay", "--recipient", "musterhausen", "--school-year", "2023/24",
                 "--amount", "0,01", "--date", "2024-04-02", expect=1)
    assert "übersteigt die offene Verbindlichkeit von 0,00 EUR" in failed.stderr


def _statement(session, cli, tmp_path) -> tuple[PdfReader, str]:
    """The demo's 2023/24 statement of Kreis Musterhausen made by ``inkl statement``: the PDF and its text."""
    _load(session)
    session.close()
    output = tmp_path / "tmp.pdf"
    cli("statement", "--recipient", "musterhausen", "--school-year", "2023/24", "-o", output)
    reader = PdfReader(io.BytesIO(output.read_bytes()))
    return reader, " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_statement_pdf_shows_recipient_repayment_and_vouchers(session, cli, tmp_path):
    _reader, text = _statement(session, cli, tmp_path)
    assert "Kreis Musterhausen" in text
    assert "112.206,21" in text       # repayment due
    assert "71.353,49" in text        # overhead cap
    assert "Fällig am 1. April 2024 → 2. April 2024 (§ 193 BGB)" in text
    assert "ER-2024-0205" in text     # voucher of the § 35a case in 2024-02.csv
    assert "Fall 2023-017" in text    # pseudonymous case number, never a name
    assert "PB-2024-07" in text       # payroll voucher of 2024-07.csv


def test_statement_names_the_programme_by_its_title_not_its_key(session, cli, tmp_path):
    """The pack's ``programme_title`` heads the statement; its key ``inklusionspauschale`` is not shown."""
    reader, text = _statement(session, cli, tmp_path)
    assert "Verwendungsnachweis über die Inklusionspauschale – Schuljahr 2023/24" in text
    assert reader.metadata.title.startswith("Verwendungsnachweis über die Inklusionspauschale – Schuljahr 2023/24")
    assert "inklusionspauschale" not in text


def test_statement_shows_no_internal_ids_or_seed_files(session, cli, tmp_path):
    """The demo statement cites documents by title and names rules and categories by their German
    labels: no rule, category or pack id, seed file name or ``inkl …`` command line."""
    from tests.conftest import internal_terms

    _reader, text = _statement(session, cli, tmp_path)
    assert internal_terms(text) == []
    assert "Hinweise zur zweckentsprechenden Verwendung der Inklusionspauschale" in text


def test_the_issued_demo_statement_reads_as_a_statement_of_use(session):
    """The demo year's statement of use, issued on 20.09.2024 (ANBest-G NRW structure): Sachbericht,
    zahlenmäßiger Nachweis lt. Bescheid / lt. Abrechnung, the overhead cap's computation, the
    repayment of the one payout with its deadline, interest per rate period, Kassenzeichen, voucher
    list and the confirmation with signature lines; numbered, without ENTWURF. The figures are those
    computed by hand in ``test_musterhausen_2023_24_result_computed_by_hand``; the interest by hand:
    112.206,21 × 6,62 % × 89/366 = 1.806,2747 and × 6,37 % × 82/366 = 1.601,3604, together
    3.407,6351 → 3.407,64 EUR (the rows rounded give 3.407,63: a rounding row of 0,01)."""
    from ledger.core.users import get_user
    from ledger.workflows.issued import issue_statement
    from tests.conftest import internal_terms

    _load(session)
    issued = issue_statement(session, get_recipient(session, "musterhausen"), SchoolYear(2023),
                             user=get_user(session, "demo-sachbearbeitung"), now=datetime(2024, 9, 20, 10, 30))
    session.commit()
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(issued.pdf)).pages]
    text = " ".join(pages)
    assert issued.number == 1 and "ENTWURF" not in text
    for number, page in enumerate(pages, start=1):
        assert f"Seite {number} von {len(pages)}" in page and "Nr. 1 · Erstellt am 20.09.2024 um 10:30" in page
    expected = (
        "Verwendungsnachweis Nr. 1 über die Inklusionspauschale – Schuljahr 2023/24",
        "1. Sachbericht Der Kreis Musterhausen hat die Inklusionspauschale im Schuljahr 2023/24",
        "Verfasst von demo-sachbearbeitung am 05.08.2024 09:30.",
        "Durch Festsetzungsbescheid vom 16.10.2023 wurden für das Schuljahr 2023/24 750.000,00 EUR festgesetzt",
        "Zuwendung des Landes (Inklusionspauschale) 750.000,00 750.000,00 0,00",
        "Ausgaben insgesamt 666.850,00",
        "Zweckentsprechende Ausgaben 750.000,00 637.793,79 -112.206,21",
        "(Rückzahlung nach Berechnung) 0,00 112.206,21 112.206,21",
        "15 % × 475.689,90 EUR = 71.353,485 EUR, kaufmännisch gerundet 71.353,49 EUR",
        "Overhead oberhalb der Obergrenze (nicht zweckentsprechend) 14.446,51 EUR",
        "16.10.2023 750.000,00 EUR 112.206,21 EUR 0,00 EUR 112.206,21 EUR 02.04.2024",
        "112.206,21 EUR 03.04.2024 – 30.06.2024 89 3,62 % * 6,62 % 366 1.806,27 EUR",
        "112.206,21 EUR 01.07.2024 – 20.09.2024 82 3,37 % * 6,37 % 366 1.601,36 EUR",
        "auf volle Cent gerundet) 0,01 EUR Verzugszinsen insgesamt 3.407,64 EUR",
        "IBAN DE59 3005 0000 0001 6835 15",
        "Kassenzeichen ____",
        "Zu überweisen insgesamt 115.613,85 EUR",
        "Summe (81 Buchungen) 666.850,00 EUR",
    )
    for line in expected:
        assert line in text, line
    last = pages[-1]
    assert "Bestätigung Es wird bestätigt, dass" in last
    for label in ("Ort, Datum", "Unterschrift", "Name (in Druckschrift)", "Funktion / Dienststelle"):
        assert label in last, label
    assert internal_terms(text) == []


def test_the_demo_claim_of_erkrath_is_cut_and_refused_by_the_rules(session):
    """Rahmenbedingungen Kreis Mettmann Nr. 4.3 (at most 5.000 € per helper: 5.300,00 → 5.000,00)
    and Nr. 4.2 (no material costs: 250,00 refused): 10.000,00 accepted, 550,00 refused of
    Erkrath's ceiling of 25.000,00 (Anlage 1: 5 helpers); loading again adds no second claim."""
    from ledger.core.models import AllocationClaim
    from ledger.reports.allocation import claims_overview

    _load(session)
    _load(session)
    [erkrath] = claims_overview(session, "mettmann-2014", "erkrath")
    assert [(c.claimed_cents, c.accepted_cents, c.refused_cents) for c in erkrath.claims] == [(1055000, 1000000, 55000)]
    assert (erkrath.accepted, erkrath.rest) == (Decimal("10000.00"), Decimal("15000.00"))
    assert _count(session, AllocationClaim) == 1

"""Tests of the PDF settlement statement (ledger.statement_pdf), read back with pypdf.

The statement is a fictional Kreis Musterland, school year 2023/24: two payouts of
337.500,00 EUR (first one in December 2023, so due 1 April 2024 = Easter Monday, moved to
2 April 2024 under § 193 BGB), pool personnel, a workshop, overhead above the 15 % cap,
one excluded § 35a SGB VIII line and one unclassified line.
"""
from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from pypdf import PdfReader

from ledger.chain import ChainHead
from ledger.money import format_german
from ledger.repayment import AgreementFigures, CategoryAmount, RepaymentResult
from ledger.statement import BankAccount, PayoutLine, StatementData, VoucherLine
from ledger.statement_pdf import render_statement

D = Decimal
IBAN = "DE59300500000001683515"


def _voucher(day, number, text, account, category, label, amount):
    return VoucherLine(day, number, text, account, category, label, D(amount))


VOUCHERS = (
    _voucher(date(2023, 8, 31), "B-2023-0101", "Personalkosten Schulassistenz Pool Nord, "
             "Entgeltgruppe S4 TVöD, August bis Dezember", "5011", "pool_personnel",
             "Personalkosten Pool-Modell", "200000.00"),
    _voucher(date(2023, 10, 12), "B-2023-0177", "Fortbildung Unterstützte Kommunikation, "
             "Teilnahmegebühr 50 € je Person", "5291", "qualification",
             "Qualifizierung Schulassistenz", "12345.67"),
    _voucher(date(2023, 11, 3), "B-2023-0190", "Einzelfallhilfe § 35a SGB VIII (Fall P-017)",
             "5331", "individual_claims", "Individualansprüche", "25000.00"),
    _voucher(date(2024, 1, 15), "B-2024-0007", "Koordination Pool-Modell (Overhead)", "5012",
             "overhead", "Overhead Planung und Koordination", "80000.00"),
    _voucher(date(2024, 2, 20), "B-2024-0042", "Rechnung Größe unklar – Klärung ausstehend",
             "5999", None, "nicht klassifiziert", "1500.00"),
    _voucher(date(2024, 6, 28), "B-2024-0300", "Personalkosten Schulassistenz Pool Nord, "
             "Januar bis Juli", "5011", "pool_personnel", "Personalkosten Pool-Modell",
             "280000.00"),
)

RESULT = RepaymentResult(
    recipient_key="KR-MUS",
    school_year="2023/24",
    rule_pack_id="nrw-inkl-hinweise",
    rule_pack_version="2023.1",
    grant_assessed=D("675000.00"),
    grant_received=D("675000.00"),
    by_category=(
        CategoryAmount("pool_personnel", "Personalkosten Pool-Modell", "permitted",
                       D("480000.00")),
        CategoryAmount("qualification", "Qualifizierung Schulassistenz", "permitted",
                       D("12345.67")),
        CategoryAmount("overhead", "Overhead Planung und Koordination", "capped",
                       D("80000.00")),
        CategoryAmount("individual_claims", "Individualansprüche", "excluded", D("25000.00")),
    ),
    permitted=D("564345.67"),
    pool_personnel=D("480000.00"),
    overhead_charged=D("80000.00"),
    overhead_cap=D("72000.00"),
    overhead_rate=D("0.15"),
    overhead_excess=D("8000.00"),
    excluded=D("25000.00"),
    unclassified=D("1500.00"),
    computed_repayment_due=D("110654.33"),
    agreement=None,
    repayment_due=D("110654.33"),
    confirmed_obligation=D("110654.33"),
    already_repaid=D("10000.00"),
    outstanding=D("100654.33"),
    nominal_due_date=date(2024, 4, 1),
    due_date=date(2024, 4, 2),
)

DATA = StatementData(
    recipient_key="KR-MUS",
    recipient_name="Kreis Musterland",
    recipient_kind="Kreis",
    school_year="2023/24",
    programme="Inklusionspauschale",
    legal_basis="§ 2 Abs. 2 InklFöG NRW; Hinweise des MSB zur zweckentsprechenden Verwendung",
    rule_pack_title="Hinweise zur Inklusionspauschale ab Schuljahr 2021/22",
    notice_date=date(2023, 12, 4),
    payouts=(
        PayoutLine(date(2023, 12, 15), D("337500.00"), "AZ-2023-0815"),
        PayoutLine(date(2024, 3, 15), D("337500.00"), "AZ-2024-0102"),
    ),
    result=RESULT,
    vouchers=VOUCHERS,
    bank=BankAccount("Landeskasse Düsseldorf", "Landesbank Hessen-Thüringen", IBAN, "WELADEDD"),
    payment_reference="Rückzahlung Inklusionspauschale 2023/24 KR-MUS",
    created_at=datetime(2026, 11, 22, 14, 5),
    chain_head=ChainHead(83, "3f" * 32),
)


def _pages(pdf: bytes) -> list[str]:
    """Extracted text per page, whitespace collapsed to single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def _text(pdf: bytes) -> str:
    return " ".join(_pages(pdf))


def test_statement_shows_recipient_figures_and_payment_details():
    pdf = render_statement(DATA)
    assert pdf.startswith(b"%PDF")
    pages = _pages(pdf)
    text = " ".join(pages)

    assert "Abrechnung der Inklusionspauschale – Schuljahr 2023/24" in text
    assert "Kreis Musterland" in text
    assert "KR-MUS" in text
    assert "nrw-inkl-hinweise" in text and "2023.1" in text
    assert "Festsetzungsbescheid vom 04.12.2023" in text
    for amount in ("675.000,00 EUR", "337.500,00 EUR", "564.345,67 EUR", "110.654,33 EUR",
                   "100.654,33 EUR", "72.000,00 EUR", "8.000,00 EUR", "12.345,67 EUR"):
        assert amount in text, amount
    assert "zulässig" in text and "gedeckelt" in text and "ausgeschlossen" in text
    assert "Obergrenze (15 % der Personalkosten des Pool-Modells)" in text
    assert "1. April 2024 → 2. April 2024 (§ 193 BGB)" in text
    assert "DE59 3005 0000 0001 6835 15" in text
    assert "WELADEDD" in text
    assert "Rückzahlung Inklusionspauschale 2023/24 KR-MUS" in text
    assert "gelten als nicht zweckentsprechend" in text
    for payout in DATA.payouts:
        assert payout.voucher_number in text
    for voucher in VOUCHERS:
        assert voucher.voucher_number in text
    assert "Vereinbarung" not in text

    # umlauts, ß, § and € survive text extraction
    for word in ("Zuwendungsempfänger", "Größe", "TVöD", "Düsseldorf",
                 "Thüringen", "§ 35a SGB VIII", "50 € je Person", "Individualansprüche"):
        assert word in text, word

    total = len(pages)
    for number, page in enumerate(pages, start=1):
        assert f"Seite {number} von {total}" in page
        assert "Erstellt am 22.11.2026 um 14:05" in page
        assert "Kreis Musterland (KR-MUS) · Schuljahr 2023/24" in page


def test_metadata_and_creation_date():
    reader = PdfReader(io.BytesIO(render_statement(DATA)))
    meta = reader.metadata
    assert meta.title == "Abrechnung der Inklusionspauschale – Schuljahr 2023/24 – Kreis Musterland"
    assert meta.author == "Kreis Musterland"
    assert "InklFöG" in meta.subject
    assert meta["/CreationDate"] == "D:20261122140500"


def test_same_data_gives_identical_bytes():
    first = render_statement(DATA)
    assert render_statement(replace(DATA)) == first
    later = render_statement(replace(DATA, created_at=datetime(2026, 11, 23, 9, 0)))
    assert later != first
    assert "Erstellt am 23.11.2026 um 09:00" in _text(later)


def test_no_overhead_rule_and_no_shift():
    result = replace(RESULT, overhead_cap=None, overhead_rate=None, overhead_excess=D("0.00"),
                     nominal_due_date=date(2025, 4, 1), due_date=date(2025, 4, 1))
    text = _text(render_statement(replace(DATA, result=result)))
    assert "Keine Overhead-Obergrenze nach dem für dieses Schuljahr geltenden Regelwerk" in text
    assert "15 %" not in text
    assert "1. April 2025" in text
    assert "§ 193 BGB" not in text


def test_agreement_shows_computed_and_agreed_repayment():
    agreement = AgreementFigures(
        deemed_conform=D("422362.00"), waived=False,
        reference="Vereinbarung zwischen dem Kreis Musterland und dem Land NRW, § 1 Abs. 1",
        repayment_due=D("252638.00"))
    result = replace(RESULT, agreement=agreement, repayment_due=D("252638.00"),
                     confirmed_obligation=D("0.00"), already_repaid=D("0.00"),
                     outstanding=D("252638.00"))
    text = _text(render_statement(replace(DATA, result=result)))
    assert "Vereinbarung zwischen dem Kreis Musterland und dem Land NRW, § 1 Abs. 1" in text
    assert "Als zweckentsprechend vereinbart 422.362,00 EUR" in text
    assert "Rückzahlung nach Berechnung 110.654,33 EUR" in text
    assert "Rückzahlung nach Vereinbarung 252.638,00 EUR" in text
    assert "Rückzahlung fällig (laut Vereinbarung) 252.638,00 EUR" in text

    waived = replace(result, agreement=replace(agreement, deemed_conform=None, waived=True,
                                                 repayment_due=D("0.00")),
                     repayment_due=D("0.00"), outstanding=D("0.00"))
    text = _text(render_statement(replace(DATA, result=waived)))
    assert "Verzicht des Landes" in text
    assert "Rückzahlung nach Vereinbarung 0,00 EUR" in text


def test_overpayment_is_labelled():
    result = replace(RESULT, already_repaid=D("120000.00"), outstanding=D("-9345.67"))
    text = _text(render_statement(replace(DATA, result=result)))
    assert "Überzahlung (zu viel zurückgezahlt) -9.345,67 EUR" in text


def test_markup_in_voucher_text_renders_literally():
    odd = _voucher(date(2024, 3, 1), "B-2024-<1>", "Rechnung <b>& Co. KG</b> & Söhne", "5999",
                   None, "nicht klassifiziert", "10.00")
    text = _text(render_statement(replace(DATA, vouchers=VOUCHERS + (odd,))))
    assert "Rechnung <b>& Co. KG</b> & Söhne" in text
    assert "B-2024-<1>" in text


def test_600_vouchers_span_pages_with_repeated_header():
    start = date(2023, 8, 1)
    vouchers = tuple(
        _voucher(start + timedelta(days=i // 2), f"V-{i:04d}",
                 "Personalkosten Schulassistenz Pool Süd, Abschlag mit einem längeren "
                 "Buchungstext, der in der Zelle umbrechen muss" if i % 7 == 0 else "Abschlag",
                 "5011", "pool_personnel", "Personalkosten Pool-Modell", "100.00")
        for i in range(600))
    pages = _pages(render_statement(replace(DATA, vouchers=vouchers)))
    total = len(pages)
    assert total >= 10

    first_list_page = next(i for i, page in enumerate(pages) if "Belegliste" in page)
    assert first_list_page < total - 5
    header = "Datum Beleg-Nr. Buchungstext Konto Kategorie Betrag"
    for number, page in enumerate(pages, start=1):
        assert f"Seite {number} von {total}" in page
        if number - 1 >= first_list_page:
            assert header in page, f"Kopfzeile fehlt auf Seite {number}"

    text = " ".join(pages)
    numbers = re.findall(r"V-\d{4}", text)
    assert numbers == [f"V-{i:04d}" for i in range(600)]
    assert "Summe (600 Buchungen) 60.000,00 EUR" in pages[-1]


def test_first_page_gives_the_result_at_a_glance():
    first = _pages(render_statement(DATA))[0]
    summary = first[first.index("Ergebnis auf einen Blick"):first.index("1. Zuwendung")]
    assert "Erhaltene Zuwendung" in summary and "Rückzahlung fällig" in summary and "Fällig am" in summary
    assert format_german(RESULT.repayment_due) + " EUR" in summary


def test_statement_prints_the_hash_chain_head():
    text = _text(render_statement(DATA))
    assert "Prüfvermerk zur Unveränderbarkeit" in text
    assert "83 Buchungen" in text and "3f" * 32 in text.replace("\n", "")


def test_late_payment_interest_section():
    """100.000,00 due 02.04.2024, paid 15.08.2024: 89 days at 6,62 % and 46 days at 6,37 % = 2.410,38 EUR."""
    from ledger.interest import late_interest
    from ledger.rules import load_packs, pack_for
    from ledger.schoolyear import SchoolYear

    rule = pack_for(SchoolYear(2023), load_packs()).interest
    interest = late_interest(D("100000.00"), date(2024, 4, 2), date(2024, 8, 15), rule, rule.load_rates())
    text = _text(render_statement(replace(DATA, result=replace(RESULT, interest=(interest,)))))
    assert "Verzugszinsen" in text and "2.410,38 EUR" in text
    assert "6,62 % / 6,37 %" in text and "03.04.2024 – 15.08.2024" in text
    assert "Verzugszinsen" not in _text(render_statement(DATA))

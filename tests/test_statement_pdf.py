"""Tests of the PDF settlement statement (ledger.write.statement_pdf), read back with pypdf.

The statement is a fictional Kreis Musterland, school year 2023/24: two payouts of
337.500,00 EUR (first one in December 2023, so due 1 April 2024 = Easter Monday, moved to
2 April 2024 under § 193 BGB), pool personnel, a workshop, overhead above the 15 % cap,
one excluded § 35a SGB VIII line and one unclassified line.

``FULL`` adds what the rules engine decides per posting: a mixed pool (62,5 % systemic),
a pool of bundled individual entitlements, a pool without financing basis, pass-through
with and without the Kreis's verification, an officer's override in force and a withdrawn
one, an evaluation run and a forecast of the still open year.
"""
from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from pypdf import PdfReader

from ledger.core.chain import ChainHead
from ledger.core.money import format_german
from ledger.reports.forecast import Forecast
from ledger.reports.settlement import AgreementFigures, CategoryAmount, NoticeTerms, RepaymentResult
from ledger.reports.statement import (
    BankAccount,
    PassThroughLine,
    PayoutLine,
    StatementData,
    TargetLine,
    Verification,
    VoucherLine,
)
from ledger.rules.evaluation_runs import Run, RunState
from ledger.rules.overrides import OverrideRecord
from ledger.write.statement_pdf import render_statement

D = Decimal
IBAN = "DE59300500000001683515"


def _voucher(day, number, text, account, category, label, amount, status=None, rule=None, *,
             conform=None, reason="", override_id=None, cost_centre=None):
    """A voucher line; by default classified like the engine would without master data: a
    category → permitted (overhead: capped) by rule ``category.<id>``, none → unclassified."""
    if status is None:
        status = "unclassified" if category is None else "capped" if category == "overhead" else "permitted"
    if rule is None:
        rule = "category.missing" if category is None else f"category.{category}"
    if conform is None:
        conform = amount if status in ("permitted", "capped") else "0.00"
    return VoucherLine(day, number, text, account, category, label, D(amount), status, D(conform), rule, reason,
                       override_id, cost_centre)


VOUCHERS = (
    _voucher(date(2023, 8, 31), "B-2023-0101", "Personalkosten Schulassistenz Pool Nord, "
             "Entgeltgruppe S4 TVöD, August bis Dezember", "5011", "pool_personnel",
             "Personalkosten Pool-Modell", "200000.00", "permitted", "pool.systemic", cost_centre="KS-NORD"),
    _voucher(date(2023, 10, 12), "B-2023-0177", "Fortbildung Unterstützte Kommunikation, "
             "Teilnahmegebühr 50 € je Person", "5291", "qualification",
             "Qualifizierung Schulassistenz", "12345.67"),
    _voucher(date(2023, 11, 3), "B-2023-0190", "Einzelfallhilfe § 35a SGB VIII (Fall P-017)",
             "5331", "individual_claims", "Individualansprüche", "25000.00", "excluded"),
    _voucher(date(2024, 1, 15), "B-2024-0007", "Koordination Pool-Modell (Overhead)", "5012",
             "overhead", "Overhead Planung und Koordination", "80000.00"),
    _voucher(date(2024, 2, 20), "B-2024-0042", "Rechnung Größe unklar – Klärung ausstehend",
             "5999", None, "nicht klassifiziert", "1500.00", reason="Keine Kategorie angegeben."),
    _voucher(date(2024, 6, 28), "B-2024-0300", "Personalkosten Schulassistenz Pool Nord, "
             "Januar bis Juli", "5011", "pool_personnel", "Personalkosten Pool-Modell",
             "280000.00", "permitted", "pool.systemic", cost_centre="KS-NORD"),
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
    # 480.000,00 + 12.345,67 + 80.000,00 + 25.000,00 by category + 1.500,00 without one
    # = 564.345,67 conform + 25.000,00 excluded + 1.500,00 unclassified + 8.000,00 overhead excess
    total_spending=D("598845.67"),
    uncategorised_open=D("1500.00"),
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

    assert "Verwendungsnachweis über die Inklusionspauschale – Schuljahr 2023/24" in text
    assert "Kreis Musterland" in text
    assert "KR-MUS" in text
    assert "Hinweise zur Inklusionspauschale ab Schuljahr 2021/22, Version 2023.1" in text
    assert "nrw-inkl-hinweise" not in text and "Kennung" not in text
    assert "Festsetzungsbescheid vom 04.12.2023" in text
    for amount in ("675.000,00 EUR", "337.500,00 EUR", "564.345,67 EUR", "110.654,33 EUR",
                   "100.654,33 EUR", "72.000,00 EUR", "8.000,00 EUR", "12.345,67 EUR"):
        assert amount in text, amount
    assert "zulässig" in text and "zulässig bis zur Obergrenze" in text and "ausgeschlossen" in text
    assert "Obergrenze: 15 % × 480.000,00 EUR = 72.000,00 EUR" in text
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
    assert meta.title == "Verwendungsnachweis über die Inklusionspauschale – Schuljahr 2023/24 – Kreis Musterland"
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
    last_list_page = next(i for i, page in enumerate(pages) if "Summe (600 Buchungen)" in page)
    assert first_list_page < total - 5 and last_list_page >= total - 2
    header = "Datum Beleg-Nr. Buchungstext Konto Kategorie Betrag"
    for number, page in enumerate(pages, start=1):
        assert f"Seite {number} von {total}" in page
        if first_list_page <= number - 1 <= last_list_page:
            assert header in page, f"Kopfzeile fehlt auf Seite {number}"

    text = " ".join(pages)
    numbers = re.findall(r"V-\d{4}", text)
    assert numbers == [f"V-{i:04d}" for i in range(600)]
    assert "Summe (600 Buchungen) 60.000,00 EUR" in pages[last_list_page]
    assert "Bestätigung" in pages[-1]


def test_first_page_gives_the_result_at_a_glance():
    first = _pages(render_statement(DATA))[0]
    summary = first[first.index("Ergebnis auf einen Blick"):first.index("1. Sachbericht")]
    assert "Erhaltene Zuwendung" in summary and "Rückzahlung fällig" in summary and "Fällig am" in summary
    assert format_german(RESULT.repayment_due) + " EUR" in summary


def test_statement_prints_the_hash_chain_head():
    text = _text(render_statement(DATA))
    assert "Prüfvermerk zur Unveränderbarkeit" in text
    assert "83 Buchungen" in text and "3f" * 32 in text.replace("\n", "")


def test_late_payment_interest_section():
    """100.000,00 due 02.04.2024, paid 15.08.2024: 89 days at 6,62 % and 46 days at 6,37 % = 2.410,38 EUR."""
    from ledger.core.grants import INKLUSIONSPAUSCHALE
    from ledger.core.schoolyear import SchoolYear
    from ledger.rules.interest import late_interest
    from ledger.rules.packs import load_packs, pack_for

    rule = pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2023), load_packs()).interest
    interest = late_interest(D("100000.00"), date(2024, 4, 2), date(2024, 8, 15), rule, rule.load_rates())
    text = _text(render_statement(replace(DATA, result=replace(RESULT, interest=(interest,)))))
    assert "Verzugszinsen" in text and "Verzugszinsen insgesamt 2.410,38 EUR" in text
    # one row per rate: 100.000,00 × 6,62 % × 89 / 366 = 1.609,78; 100.000,00 × 6,37 % × 46 / 366 = 800,60
    assert "100.000,00 EUR 03.04.2024 – 30.06.2024 89 3,62 % * 6,62 % 366 1.609,78 EUR" in text
    assert "100.000,00 EUR 01.07.2024 – 15.08.2024 46 3,37 % * 6,37 % 366 800,60 EUR" in text
    assert "Rundung" not in text  # 1.609,78 + 800,60 = 2.410,38: the rows add up without a rounding row
    assert "Verzugszinsen" not in _text(render_statement(DATA))


# --- what the rules engine decides per posting ---------------------------------------------------------------

MORE_VOUCHERS = (
    _voucher(date(2024, 2, 2), "B-2024-0150", "Personalkosten Pool Süd, Februar", "5011", "pool_personnel",
             "Personalkosten Pool-Modell", "40000.00", "split", "pool.mixed", conform="25000.00",
             reason="Pool SUED ist gemischt finanziert: systemischer Anteil 62,5 % zulässig.", cost_centre="KS-SUED"),
    _voucher(date(2024, 2, 5), "B-2024-0151", "Personalkosten Pool West (Einzelbewilligungen)", "5011",
             "pool_personnel", "Personalkosten Pool-Modell", "18000.00", "excluded", "pool.individual",
             cost_centre="KS-WEST"),
    _voucher(date(2024, 2, 6), "B-2024-0152", "Personalkosten Pool Ost", "5011", "pool_personnel",
             "Personalkosten Pool-Modell", "3000.00", "unclassified", "pool.basis_missing",
             reason="Für Pool OST ist keine Finanzierungsgrundlage erfasst.", cost_centre="KS-OST"),
    _voucher(date(2024, 2, 10), "B-2024-0160", "Weiterleitung an die Gemeinde Beispielheim", "5314",
             "pass_through", "Weiterleitung", "5000.00", "excluded", "pass_through.unverified",
             cost_centre="KS-BSH"),
    _voucher(date(2024, 2, 12), "B-2024-0161", "Weiterleitung an die Stadt Lindental", "5314",
             "pass_through", "Weiterleitung", "30000.00", "permitted", "pass_through.verified",
             cost_centre="KS-LIN"),
    _voucher(date(2024, 3, 10), "B-2024-0170", "Workshop Autismus, Anzahlung", "5291", "qualification",
             "Qualifizierung Schulassistenz", "2000.00", "excluded", "override", override_id=2),
)
# excluded: 25.000,00 (§ 35a category) + 15.000,00 (mixed pool, 40.000,00 − 25.000,00) + 18.000,00 (individual
# pool) + 5.000,00 (unverified pass-through) + 2.000,00 (override) = 65.000,00
# unclassified: 1.500,00 (no category) + 3.000,00 (pool without financing basis) = 4.500,00

RUN = Run(7, "2023/24", "nrw-inkl-hinweise", "2023.1", "ab" * 32, "mueller", datetime(2024, 9, 2, 8, 45),
          "Abschluss des Schuljahres", 6, 87, 3, D("564345.67"), D("65000.00"), D("4500.00"))

TARGETS = (
    TargetLine("Pool", "OST", "Pool Ost", "Finanzierungsgrundlage nicht erfasst", "190301 GGS Ost",
               D("3000.00"), D("0.00"), D("0.00"), D("3000.00")),
    TargetLine("Pool", "SUED", "Pool Süd", "gemischt (62,5 % systemisch)", "190201 GGS Süd, 190202 Realschule Süd",
               D("40000.00"), D("25000.00"), D("15000.00"), D("0.00")),
    TargetLine("Pool", "WEST", "Pool West", "Einzelansprüche gebündelt", "190401 Hauptschule West",
               D("18000.00"), D("0.00"), D("18000.00"), D("0.00")),
    TargetLine("Schule", "190101", "GGS Am Lindenhof", "GL-Schule", "190101 GGS Am Lindenhof",
               D("12345.67"), D("12345.67"), D("0.00"), D("0.00")),
)
# totals: 73.345,67 = 37.345,67 conform + 33.000,00 excluded + 3.000,00 unclassified

PASS_THROUGH = (
    PassThroughLine("Gemeinde Beispielheim", True, D("5000.00"), D("0.00"), ()),
    PassThroughLine("Stadt Lindental", True, D("30000.00"), D("30000.00"),
                    (Verification(date(2023, 9, 12), "Az. 40.3/2023-17", "Schulamt Musterland"),)),
)

OVERRIDES = (
    OverrideRecord(1, 11, "B-2023-0177", date(2023, 10, 12), "2023/24", D("12345.67"), "split", D("10000.00"),
                   "Zwei Teilnehmende waren Lehrkräfte, deren Gebühr ist nicht zweckentsprechend.", "mueller",
                   datetime(2024, 3, 1, 9, 30), "schmidt", datetime(2024, 3, 5, 14, 0),
                   "Teilnahmeliste nachgereicht: alle Teilnehmenden sind Schulbegleitungen."),
    OverrideRecord(2, 12, "B-2024-0170", date(2024, 3, 10), "2023/24", D("2000.00"), "excluded", D("0.00"),
                   "Workshop fand nicht statt; Rückforderung beim Veranstalter läuft.", "mueller",
                   datetime(2024, 3, 12, 8, 15)),
)

FORECAST = Forecast(
    recipient_key="KR-MUS", school_year="2023/24", as_of=date(2024, 3, 4), rule_pack_id="nrw-inkl-hinweise",
    rule_pack_version="2023.1", actuals=RESULT, open_commitments=(), committed=D("186751.80"), by_category=(),
    projected_pool_personnel=D("433031.95"), projected_overhead=D("78650.00"),
    projected_overhead_cap=D("64954.79"), projected_overhead_excess=D("13695.21"),
    projected_permitted=D("576944.34"), projected_excluded=D("16980.00"), unclassified=D("0.00"),
    grant_assessed=D("675000.00"), grant_received=D("675000.00"), grant_basis=D("675000.00"),
    grant_basis_source="received", projected_repayment=D("98055.66"), agreement_reference=None,
    due_date=date(2024, 4, 2), days_until_due=29,
    warnings=(("overhead_above_cap", "Der voraussichtliche Overhead von 78.650,00 EUR übersteigt die "
                                     "voraussichtliche Obergrenze von 64.954,79 EUR."),
              ("deadline_soon", "Die Rückzahlungsfrist endet am 02.04.2024 (in 29 Tagen).")),
)

FULL = replace(
    DATA, vouchers=VOUCHERS + MORE_VOUCHERS, targets=TARGETS, pass_through=PASS_THROUGH, overrides=OVERRIDES,
    result=replace(RESULT, excluded=D("65000.00"), unclassified=D("4500.00"),
                   evaluation=RunState(RUN, frozen=True, current=False, changed=3)),
)


def _section(text: str, heading: str, following: str) -> str:
    """The text from ``heading`` up to ``following``."""
    start = text.index(heading)
    return text[start:text.index(following, start)]


def test_sections_are_numbered_with_the_new_ones_before_the_result():
    text = _text(render_statement(replace(FULL, forecast=FORECAST)))
    order = ["1. Sachbericht", "2. Zahlenmäßiger Nachweis", "3. Zweckentsprechende Ausgaben nach Kategorien",
             "4. Overhead-Obergrenze", "5. Ausgaben nach Pools und Schulen",
             "6. Weiterleitungen an kreisangehörige Gemeinden", "7. Ausgeschlossene und nicht eingestufte Ausgaben",
             "8. Abweichende Einstufungen", "9. Prognose (Schuljahr noch nicht abgeschlossen)", "10. Ergebnis",
             "11. Zahlungsangaben", "12. Prüfvermerk zur Unveränderbarkeit", "13. Belegliste (chronologisch)",
             "14. Bestätigung"]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)

    plain = _text(render_statement(DATA))  # no targets, pass-through, overrides or forecast
    for heading in ("5. Ausgaben nach Pools und Schulen", "6. Ausgeschlossene und nicht eingestufte Ausgaben",
                    "7. Abweichende Einstufungen", "8. Ergebnis", "11. Belegliste (chronologisch)", "12. Bestätigung"):
        assert heading in plain, heading
    assert "Keine Buchungen mit der Kostenstelle eines Pools oder einer Schule." in plain
    assert "Keine abweichenden Einstufungen." in plain
    assert "Weiterleitungen an kreisangehörige Gemeinden" not in plain
    assert "Prognose" not in plain


def test_targets_show_mixed_and_individual_pools_with_a_total():
    text = _text(render_statement(FULL))
    section = _section(text, "5. Ausgaben nach Pools und Schulen", "6. Weiterleitungen")
    assert "gemischt (62,5 % systemisch)" in section and "Einzelansprüche gebündelt" in section
    assert "190201 GGS Süd" in section and "Pool Süd" in section and "GL-Schule" in section
    assert "40.000,00 25.000,00 15.000,00 0,00" in section          # mixed pool: 62,5 % of 40.000,00 conform
    assert "18.000,00 0,00 18.000,00 0,00" in section               # bundled individual entitlements: excluded
    assert "nicht erfasst 190301 GGS Ost 3.000,00 0,00 0,00 3.000,00" in section  # no financing basis: unclassified
    assert "12.345,67 12.345,67 0,00 0,00" in section               # a GL school
    assert "Summe Pools und Schulen 73.345,67 37.345,67 33.000,00 3.000,00" in section
    assert "systemisch" in section and "Region Hannover" in section and "Düsseldorf" in section
    assert "Aachen" in section


def test_excluded_spending_by_rule_adds_up_to_the_result():
    text = _text(render_statement(FULL))
    section = _section(text, "7. Ausgeschlossene und nicht eingestufte Ausgaben", "8. Abweichende Einstufungen")
    assert "Ausgeschlossene Kategorie „Individualansprüche“ 1 25.000,00 EUR" in section
    assert "Gemischt finanzierter Pool: Anteil der Individualansprüche 1 15.000,00 EUR" in section  # excluded part
    assert "Pool bündelt einzeln bewilligte Ansprüche (Individualansprüche) 1 18.000,00 EUR" in section
    assert "Weiterleitung ohne dokumentierte Vergewisserung 1 5.000,00 EUR" in section
    assert "Abweichende Einstufungen“) 1 2.000,00 EUR" in section
    assert "Regel:" not in section and "pool.mixed" not in section and "category." not in section
    assert "Individualansprüche" in section and "ohne dokumentierte Vergewisserung" in section
    # 25.000,00 + 15.000,00 + 18.000,00 + 5.000,00 + 2.000,00 = 65.000,00 = result.excluded
    assert "Ausgeschlossene Ausgaben insgesamt 65.000,00 EUR" in section
    assert "Nicht einzelnen Buchungen zugeordnet" not in section

    # unclassified postings with their reason: 1.500,00 + 3.000,00 = 4.500,00 = result.unclassified
    assert "B-2024-0042" in section and "Keine Kategorie angegeben." in section
    assert "B-2024-0152" in section and "Für Pool OST ist keine Finanzierungsgrundlage erfasst." in section
    assert "Nicht eingestufte Ausgaben insgesamt 4.500,00 EUR" in section
    assert "gelten als nicht zweckentsprechend" in section
    assert "B-2024-0151" not in section  # excluded, listed by rule only


def test_excluded_figure_not_covered_by_the_vouchers_is_shown_as_a_difference():
    result = replace(RESULT, excluded=D("26000.00"))
    section = _section(_text(render_statement(replace(DATA, result=result))),
                       "6. Ausgeschlossene und nicht eingestufte Ausgaben", "7. Abweichende Einstufungen")
    assert "Nicht einzelnen Buchungen zugeordnet 1.000,00 EUR" in section
    assert "Ausgeschlossene Ausgaben insgesamt 26.000,00 EUR" in section


def test_pass_through_with_and_without_verification():
    text = _text(render_statement(FULL))
    section = _section(text, "6. Weiterleitungen an kreisangehörige Gemeinden", "7. Ausgeschlossene")
    assert "Gemeinde Beispielheim ja 5.000,00 EUR 0,00 EUR keine Vergewisserung dokumentiert" in section
    assert "Stadt Lindental ja 30.000,00 EUR 30.000,00 EUR am 12.09.2023" in section
    assert "Az. 40.3/2023-17" in section and "Schulamt Musterland" in section
    assert "Weiterleitungen insgesamt 35.000,00 EUR 30.000,00 EUR" in section


def test_overrides_in_force_and_withdrawn():
    text = _text(render_statement(FULL))
    section = _section(text, "8. Abweichende Einstufungen", "9. Ergebnis")
    assert "B-2023-0177" in section and "teilweise zulässig" in section and "zulässig: 10.000,00 EUR" in section
    assert "Zwei Teilnehmende waren Lehrkräfte" in section
    assert "zurückgenommen am 05.03.2024 14:00 von schmidt" in section
    assert "Teilnahmeliste nachgereicht" in section
    assert "2 B-2024-0170 10.03.2024 2.000,00 EUR ausgeschlossen" in section
    assert "Workshop fand nicht statt; Rückforderung beim Veranstalter läuft." in section
    assert "mueller 12.03.2024 08:15 gilt" in section
    assert "Keine abweichenden Einstufungen." not in section


def test_forecast_only_while_the_year_is_open():
    text = _text(render_statement(replace(FULL, forecast=FORECAST)))
    section = _section(text, "9. Prognose (Schuljahr noch nicht abgeschlossen)", "10. Ergebnis")
    assert "Stand 04.03.2024" in section
    assert "Zuwendung (erhalten) 675.000,00 EUR" in section
    assert "Voraussichtlich zweckentsprechende Ausgaben 576.944,34 EUR" in section
    assert "Voraussichtliche Rückzahlung 98.055,66 EUR" in section
    assert "Rückzahlungsfrist 2. April 2024 (in 29 Tagen)" in section
    assert "Overhead voraussichtlich / Obergrenze 78.650,00 EUR von 64.954,79 EUR" in section
    assert "übersteigt die voraussichtliche Obergrenze von 64.954,79 EUR" in section
    assert "Die Rückzahlungsfrist endet am 02.04.2024 (in 29 Tagen)." in section

    assessed = replace(FORECAST, grant_basis_source="assessed", days_until_due=-3, warnings=(),
                       projected_overhead_cap=None)
    section = _section(_text(render_statement(replace(FULL, forecast=assessed))), "9. Prognose", "10. Ergebnis")
    assert "Zuwendung (festgesetzt; Auszahlungen stehen noch aus) 675.000,00 EUR" in section
    assert "(seit 3 Tagen abgelaufen)" in section
    assert "78.650,00 EUR (keine Obergrenze)" in section and "Keine Warnungen." in section

    assert "Prognose" not in _text(render_statement(FULL))


def test_audit_note_names_the_evaluation_run():
    text = _text(render_statement(FULL))
    note = _section(text, "11. Prüfvermerk zur Unveränderbarkeit", "12. Belegliste")
    assert ("Bewertungslauf Nr. 7 vom 02.09.2024 08:45 (mueller), Anlass: Abschluss des Schuljahres; "
            "87 Buchungen eingestuft") in note
    assert "Regelwerk des Laufs Hinweise zur Inklusionspauschale ab Schuljahr 2021/22, Version 2023.1" in note
    assert "ab" * 32 in note.replace(" ", "")
    assert "heute abweichend bei 3 Buchungen; abgeschlossenes Jahr: es gilt der Lauf" in note

    current = replace(FULL.result, evaluation=RunState(RUN, frozen=True, current=True, changed=0))
    note = _text(render_statement(replace(FULL, result=current)))
    assert "Abgleich entspricht der heutigen Einstufung" in note

    open_year = replace(FULL.result, evaluation=RunState(RUN, frozen=False, current=False, changed=2))
    assert "heute abweichend bei 2 Buchungen; Schuljahr nicht abgeschlossen" in _text(
        render_statement(replace(FULL, result=open_year)))

    for state in (None, RunState(None, False, False, 12)):
        text = _text(render_statement(replace(FULL, result=replace(FULL.result, evaluation=state))))
        assert ("Noch kein Bewertungslauf aufgezeichnet; die Zahlen beruhen auf der heutigen Einstufung."
                in text)


def test_voucher_list_shows_each_classification():
    pages = _pages(render_statement(FULL))
    start = next(i for i, page in enumerate(pages) if "Belegliste (chronologisch)" in page)
    listing = " ".join(pages[start:])
    listing = listing[listing.index("Belegliste (chronologisch)"):]
    # the categories by number, in the order of the category table, then as they appear; their labels in a key
    assert ("Kat. Kategorie Kat. 1 Personalkosten Pool-Modell Kat. 2 Qualifizierung Schulassistenz "
            "Kat. 3 Overhead Planung und Koordination Kat. 4 Individualansprüche Kat. 5 Weiterleitung "
            "Datum Beleg-Nr.") in listing
    assert "Kat. 1 teilweise zulässig: 25.000,00" in listing
    assert "Kat. 2 ausgeschlossen Abw. Nr. 2 2.000,00 EUR" in listing
    assert "Kat. 3 zulässig bis zur Obergrenze" in listing
    assert "Kat. 4 ausgeschlossen" in listing and "Kat. 5 zulässig 30.000,00 EUR" in listing
    assert "pool_personnel" not in listing and "individual_claims" not in listing
    assert "nicht klassifiziert nicht eingestuft 1.500,00 EUR" in listing
    assert "Summe (12 Buchungen)" in listing


def test_full_statement_is_deterministic():
    data = replace(FULL, forecast=FORECAST)
    assert render_statement(data) == render_statement(replace(data))


# --- long lists: laid out a page at a time, plain cells set like Paragraphs ----------------------------------

_LONG_TEXTS = (
    "Abschlag",
    "Personalkosten Schulassistenz Pool Süd, Abschlag mit einem längeren Buchungstext, der in der Zelle "
    "umbrechen muss",
    "Rechnung <b>& Co. KG</b>  &  Söhne,\nzweite Zeile im Export",
    "Sammelrechnung Vertragsnummer VERTRAG-2023-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0001 Schulbegleitung",
)


def _long_list() -> tuple[VoucherLine, ...]:
    """480 vouchers over the school year: short and wrapping texts, voucher numbers too long for the usual
    column (it widens, the number is never cut), a word too long for any line, partly permitted and
    unclassified ones."""
    start = date(2023, 8, 1)
    lines = []
    for i in range(480):
        number = f"ER-BS-2023-VERY-LONG-{i:04d}" if i % 5 == 0 else f"L-{i:04d}"
        text = _LONG_TEXTS[i % len(_LONG_TEXTS)]
        if i % 6 == 0:
            lines.append(_voucher(start + timedelta(days=i // 2), number, text, "5999", None, "nicht klassifiziert",
                                  "10.00", reason="Keine Kategorie angegeben."))
        else:
            lines.append(_voucher(start + timedelta(days=i // 2), number, text, "5011", "pool_personnel",
                                  "Personalkosten Pool-Modell", "100.00", "split", "pool.mixed", conform="62.50",
                                  override_id=i if i % 7 == 0 else None))
    return tuple(lines)


def _numbers_in(text: str) -> list[str]:
    """The numbers of ``_long_list``'s vouchers in ``text``, in order (whitespace ignored: a word of a
    booking text too long for its column is cut over two lines)."""
    return re.findall(r"(?:ER-BS-2023-VERY-LONG-|L-)(\d{4})", re.sub(r"\s+", "", text))


def test_long_voucher_list_keeps_every_voucher_in_order_with_header_and_page_numbers():
    vouchers = _long_list()
    unclassified = [v for v in vouchers if v.status == "unclassified"]
    result = replace(RESULT, unclassified=sum((v.amount for v in unclassified), D("0.00")))
    pdf = render_statement(replace(DATA, vouchers=vouchers, result=result))
    pages = _pages(pdf)
    total = len(pages)
    assert total >= 20
    for number, page in enumerate(pages, start=1):
        assert f"Seite {number} von {total}" in page

    text = " ".join(pages)
    listing = text[text.index("Belegliste (chronologisch)"):]
    assert _numbers_in(listing) == [f"{i:04d}" for i in range(480)]
    first = next(i for i, page in enumerate(pages) if "Belegliste (chronologisch)" in page)
    for number, page in enumerate(pages[first:], start=first + 1):
        assert "Datum Beleg-Nr. Buchungstext Konto Kategorie Betrag" in page, f"Kopfzeile fehlt auf Seite {number}"
    assert listing.count("Personalkosten Schulassistenz Pool Süd, Abschlag mit einem längeren Buchungstext, der "
                         "in der Zelle umbrechen muss") == 120
    assert listing.count("Rechnung <b>& Co. KG</b> & Söhne, zweite Zeile im Export") == 120
    assert re.sub(r"\s+", "", listing).count("VERTRAG-2023-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0001") == 120
    # voucher numbers are never broken inside, not even the long ones
    assert re.findall(r"ER-BS-2023-VERY-LONG-(\d{4})", listing) == [f"{i:04d}" for i in range(0, 480, 5)]
    assert listing.count("Kat. 1 teilweise zulässig: 62,50") == 400
    assert "teilweise zulässig: 62,50 Abw. Nr. 7 100,00 EUR" in listing
    assert "Summe (480 Buchungen) 40.800,00 EUR" in " ".join(pages[-2:])

    section = _section(text, "Datum Beleg-Nr. Buchungstext Grund Betrag", "Nicht eingestufte Ausgaben insgesamt")
    assert _numbers_in(section) == [f"{i:04d}" for i in range(0, 480, 6)]
    assert "Nicht eingestufte Ausgaben insgesamt 800,00 EUR" in text

    assert render_statement(replace(DATA, vouchers=vouchers, result=result)) == pdf


def test_voucher_list_stays_compact_with_the_rule_packs_long_category_labels():
    """The rule packs' category labels run to 150 characters; in each row they took five to eight
    lines and doubled the list's pages (12 504 lines on 1 224 pages). A row names its category by
    number, the label stands once in the key before the list: a page holds 19 rows of a three-line
    booking text (before: 9)."""
    labels = ("Personalkosten systemischer Pool-Modelle (Schulassistenz im Infrastrukturmodell, antragsunabhängig und "
              "losgelöst von Einzelfällen)",
              "Qualifizierung der Schulbegleitungen durch Workshops durch Externe (z. B. Autismus, Unterstützte "
              "Kommunikation, Grundsatzinformationen sonderpädagogische Förderung)",
              "Overheadkosten (Kosten für Planung und Koordination von Modellen systemischer Unterstützung), bis 15 % "
              "der Personalkosten des Pool-Modells")
    ids = ("pool_personnel", "qualification", "overhead")
    start = date(2023, 8, 1)
    vouchers = tuple(_voucher(start + timedelta(days=i // 3), f"ER-BS-202308-{i:05d}",
                              "Pool-Schulassistenz Pool Gesamtschule Lindenau, Monatsrechnung 08/2023 "
                              f"(Rechnung {i:05d})",
                              "5291", ids[i % 3], labels[i % 3], "100.00") for i in range(600))
    pages = _pages(render_statement(replace(DATA, vouchers=vouchers)))
    first = next(i for i, page in enumerate(pages) if "Belegliste (chronologisch)" in page)
    key = pages[first][pages[first].index("Kat. Kategorie"):pages[first].index("Datum Beleg-Nr.")]
    assert key == f"Kat. Kategorie Kat. 1 {labels[0]} Kat. 2 {labels[1]} Kat. 3 {labels[2]} "
    rows = [len(re.findall(r"ER-BS-202308-\d{5}", page)) for page in pages[first:]]
    assert sum(rows) == 600 and "Summe (600 Buchungen) 60.000,00 EUR" in " ".join(pages[first:])
    assert min(rows[1:-2]) >= 18, rows
    assert "Kat. 1 zulässig 100,00 EUR" in pages[first + 1] and labels[0] not in " ".join(pages[first + 1:])


def test_plain_cells_break_lines_like_paragraphs():
    """The voucher lists' cells are plain strings for speed; they must break where a Paragraph would."""
    from xml.sax.saxutils import escape

    from reportlab.platypus import Paragraph

    from ledger.write.pdf import CELL, CELL_PADDING, CELL_SMALL, text_cell

    texts = _LONG_TEXTS[:2] + (
        "ER-BS-202308-00304", "ER-BS-2023-VERY-LONG-0005", "5011", "Keine Kategorie angegeben.",
        "Pool-Schulassistenz Pool Einzelbewilligungen Kirchdorf, Monatsrechnung 09/2023 (Rechnung 09-00697)",
        "Schulbegleitung Fall 09-00696 (§ 35a SGB VIII) 09/2023 – Größe € 50", "individual_claim_sgb_viii",
        "teilweise zulässig: 1.234.567,89", "x" * 60, "Wort " * 40, "",
    )
    for style in (CELL, CELL_SMALL):
        for width in (24, 36, 46, 56):
            for text in texts:
                cell = text_cell(text, width * 72 / 25.4, style)
                if not isinstance(cell, str):
                    continue
                paragraph = Paragraph(escape(text), style)
                paragraph.wrap(width * 72 / 25.4 - 2 * CELL_PADDING, 1000)
                lines = [" ".join(words) for _space, words in paragraph.blPara.lines]
                assert cell.split("\n") == (lines or [""]), (text, width, style.name)


# --- the statement of use: Sachbericht, zahlenmäßiger Nachweis, computations, confirmation -------------------


def test_sachbericht_is_printed_with_its_author_or_asked_for():
    """ANBest-G NRW: the statement of use opens with the Sachbericht, the officer's text."""
    from ledger.reports.statement import NarrativeReport

    report = NarrativeReport("Vier systemische Pools an GL-Schulen.\n\nDie Fortbildung wurde zweimal angeboten.",
                             "mueller", datetime(2024, 9, 2, 8, 0))
    text = _text(render_statement(replace(DATA, narrative=report)))
    section = _section(text, "1. Sachbericht", "2. Zahlenmäßiger Nachweis")
    assert "Vier systemische Pools an GL-Schulen. Die Fortbildung wurde zweimal angeboten." in section
    assert "Verfasst von mueller am 02.09.2024 08:00." in section
    missing = _section(_text(render_statement(DATA)), "1. Sachbericht", "2. Zahlenmäßiger Nachweis")
    assert "noch kein Sachbericht erfasst" in missing


def test_figures_lt_bescheid_against_lt_abrechnung_add_up():
    """Zahlenmäßiger Nachweis (ANBest-G NRW): 675.000,00 assessed and received; spending 598.845,67 of which
    34.500,00 not conform (25.000,00 excluded + 1.500,00 unclassified + 8.000,00 overhead above the cap), so
    564.345,67 conform; 675.000,00 − 564.345,67 = 110.654,33 to repay."""
    section = _section(_text(render_statement(DATA)), "2. Zahlenmäßiger Nachweis", "3. Zweckentsprechende")
    assert "Durch Festsetzungsbescheid vom 04.12.2023 wurden für das Schuljahr 2023/24 675.000,00 EUR festgesetzt" in section
    assert "Zuwendung des Landes (Inklusionspauschale) 675.000,00 675.000,00 0,00" in section
    assert "Ausgaben insgesamt 598.845,67" in section
    assert "Obergrenze) 34.500,00" in section
    assert "Zweckentsprechende Ausgaben 675.000,00 564.345,67 -110.654,33" in section
    assert "(Rückzahlung nach Berechnung) 0,00 110.654,33 110.654,33" in section
    assert "AZ-2023-0815" in section and "Erhaltene Zuwendung insgesamt 675.000,00 EUR" in section
    assert "eigene Mittel" not in section

    more = replace(RESULT, permitted=D("700000.00"), computed_repayment_due=D("0.00"))
    section = _section(_text(render_statement(replace(DATA, result=more))), "2. Zahlenmäßiger", "3. Zweck")
    assert "Zweckentsprechende Ausgaben über der Zuwendung (eigene Mittel) 25.000,00" in section


def test_overhead_cap_shows_its_computation_rounding_and_source():
    """Hinweise Teil IV, 6. Spiegelstrich: 15 % × 475.689,90 = 71.353,485, rounded half up to 71.353,49 (the
    demo year's figures)."""
    from ledger.core.grants import INKLUSIONSPAUSCHALE
    from ledger.core.schoolyear import SchoolYear
    from ledger.rules.packs import load_packs, pack_for

    rule = pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2023), load_packs()).overhead
    result = replace(RESULT, pool_personnel=D("475689.90"), overhead_cap=D("71353.49"), overhead_charged=D("85800.00"),
                     overhead_excess=D("14446.51"))
    section = _section(_text(render_statement(replace(DATA, result=result, overhead_rule=rule))),
                       "4. Overhead-Obergrenze", "5. Ausgaben nach Pools")
    assert "Zweckentsprechende Personalkosten der Pool-Modelle (Bemessungsgrundlage) 475.689,90 EUR" in section
    assert "15 % × 475.689,90 EUR = 71.353,485 EUR, kaufmännisch gerundet 71.353,49 EUR 71.353,49 EUR" in section
    assert "davon zweckentsprechend (bis zur Obergrenze) 71.353,49 EUR" in section
    assert "Overhead oberhalb der Obergrenze (nicht zweckentsprechend) 14.446,51 EUR" in section
    assert "Hinweise zur zweckentsprechenden Verwendung der Inklusionspauschale, Teil IV" in section


def test_interest_rows_per_period_add_up_with_a_rounding_row():
    """The demo year: 112.206,21 EUR due 02.04.2024, open on 20.09.2024. 89 days at 6,62 %: 1.806,2747;
    82 days at 6,37 %: 1.601,3604 (act/366); together 3.407,6351 → 3.407,64 EUR, while the rows rounded
    give 1.806,27 + 1.601,36 = 3.407,63: a rounding row of 0,01 EUR makes the table add up."""
    from ledger.core.grants import INKLUSIONSPAUSCHALE
    from ledger.core.schoolyear import SchoolYear
    from ledger.rules.interest import late_interest
    from ledger.rules.packs import load_packs, pack_for

    rule = pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2023), load_packs()).interest
    interest = late_interest(D("112206.21"), date(2024, 4, 2), date(2024, 9, 20), rule, rule.load_rates())
    text = _text(render_statement(replace(DATA, result=replace(RESULT, interest=(interest,)))))
    assert "03.04.2024 – 30.06.2024 89 3,62 % * 6,62 % 366 1.806,27 EUR" in text
    assert "01.07.2024 – 20.09.2024 82 3,37 % * 6,37 % 366 1.601,36 EUR" in text
    assert "auf volle Cent gerundet) 0,01 EUR Verzugszinsen insgesamt 3.407,64 EUR" in text
    assert "Zu überweisen insgesamt 104.061,97 EUR" in text  # 100.654,33 outstanding + 3.407,64 interest


def test_repayment_per_tranche_with_totals():
    from ledger.reports.settlement import Tranche

    tranches = (Tranche(date(2023, 12, 15), D("337500.00"), D("0.00"), D("0.00"), D("0.00"),
                        date(2024, 4, 1), date(2024, 4, 2)),
                Tranche(date(2024, 3, 15), D("337500.00"), D("110654.33"), D("10000.00"), D("100654.33"),
                        date(2025, 4, 1), date(2025, 4, 1)))
    text = _text(render_statement(replace(DATA, result=replace(RESULT, tranches=tranches))))
    assert "15.12.2023 337.500,00 EUR 0,00 EUR 0,00 EUR 0,00 EUR 02.04.2024" in text
    assert "15.03.2024 337.500,00 EUR 110.654,33 EUR 10.000,00 EUR 100.654,33 EUR 01.04.2025" in text
    assert "Insgesamt 110.654,33 EUR 10.000,00 EUR 100.654,33 EUR" in text


def test_payment_details_leave_a_field_for_the_kassenzeichen():
    section = _section(_text(render_statement(DATA)), "Zahlungsangaben", "Prüfvermerk")
    assert "Kassenzeichen ____" in section
    assert "Noch zu zahlen (Rückzahlung) 100.654,33 EUR" in section


def test_a_notice_of_the_land_adds_its_aktenzeichen_to_the_verwendungszweck():
    """Where the Land's notice decides, the Verwendungszweck names its Aktenzeichen (as the SEPA transfer
    of ``inkl repayment sepa`` does), so that the Landeskasse matches the payment to its claim."""
    notice = NoticeTerms(date(2024, 10, 1), "48.01-2023/24-17", D("100654.33"), date(2024, 12, 15), None, None, True)
    text = _text(render_statement(replace(DATA, result=replace(RESULT, notice=notice))))
    section = _section(text, "Zahlungsangaben", "Prüfvermerk")
    assert "Verwendungszweck Rückzahlung Inklusionspauschale 2023/24 KR-MUS, Bescheid Az. 48.01-2023/24-17" in section


def test_confirmation_with_place_date_name_function_and_signature_ends_the_statement():
    """ANBest-G NRW: the statement of use closes with the confirmation and the signature."""
    last = _pages(render_statement(DATA))[-1]
    assert "Bestätigung Es wird bestätigt, dass" in last
    assert "die Ausgaben notwendig waren und wirtschaftlich und sparsam verfahren worden ist" in last
    assert "mit den Büchern und Belegen übereinstimmen" in last
    for label in ("Ort, Datum", "Unterschrift", "Name (in Druckschrift)", "Funktion / Dienststelle"):
        assert label in last, label


def test_long_user_names_and_voucher_numbers_are_not_broken():
    name = "verwaltung.sachbearbeitung-schulassistenz"
    number = "ER-2024-KREISKASSE-000123456"
    overrides = (replace(OVERRIDES[1], created_by=name, voucher_number=number),)
    text = _text(render_statement(replace(FULL, overrides=overrides)))
    section = _section(text, "Abweichende Einstufungen", "Ergebnis")
    assert name in section and number in section


def test_agreement_year_shows_the_agreed_conform_amount_and_repayment():
    """Vereinbarung Rhein-Sieg-Kreis, § 1 Abs. 2: of 891.931,68 EUR received, 422.362,00 EUR are deemed
    purpose-conform, so 469.569,68 EUR are repaid, whatever the books compute."""
    agreement = AgreementFigures(reference="Vereinbarung Rhein-Sieg-Kreis – Land NRW, § 1 Abs. 2",
                                 deemed_conform=D("422362.00"), waived=False, repayment_due=D("469569.68"),
                                 payment_date=date(2022, 6, 30), payment_reference="Rückzahlung 2020/21",
                                 status="in_force", effective_date=date(2022, 5, 1))
    result = replace(RESULT, grant_assessed=D("891931.68"), grant_received=D("891931.68"), by_category=(),
                     permitted=D("0.00"), pool_personnel=D("0.00"), overhead_charged=D("0.00"), overhead_excess=D("0.00"),
                     excluded=D("0.00"), unclassified=D("0.00"), total_spending=D("0.00"), uncategorised_open=D("0.00"),
                     computed_repayment_due=D("891931.68"), agreement=agreement, repayment_due=D("469569.68"),
                     confirmed_obligation=D("0.00"), already_repaid=D("0.00"), outstanding=D("469569.68"))
    text = _text(render_statement(replace(DATA, result=result, vouchers=())))
    first = text[:text.index("1. Sachbericht")]
    assert "Als zweckentsprechend vereinbart (laut Vereinbarung) 422.362,00 EUR" in first
    assert "Rückzahlung fällig (laut Vereinbarung) 469.569,68 EUR" in first
    figures = _section(text, "2. Zahlenmäßiger Nachweis", "3. Zweckentsprechende")
    assert "(Rückzahlung nach Berechnung) 0,00 891.931,68 891.931,68" in figures
    assert "Rückzahlung (laut Vereinbarung) 0,00 469.569,68 469.569,68" in figures
    assert "Verwendungszweck Rückzahlung 2020/21" in text

"""Forecast of the repayment from actuals and open commitments, worked by hand.

Kreis Testland, school year 2023/24, grant 300.000,00 EUR assessed and paid out on 16.10.2023.
Deadline: 1 April 2024 is Ostermontag → Tuesday 2 April 2024 (§ 193 BGB).

Actuals, booked up to 31.01.2024 (pool and coordination are paid monthly in advance,
so February is already in the books):

    P-1  31.10.2023  pool Aug–Oct 2023                 5291   60.000,00  pool_personnel
    P-2  31.01.2024  pool Nov 2023 – Feb 2024          5291   80.000,00  pool_personnel
    P-3  31.01.2024  pool pay-scale back payment       5291    1.234,57  pool_personnel
    O-1  31.01.2024  coordination Oct 2023 – Feb 2024  5012   17.500,00  overhead (capped)
    F-1  15.11.2023  workshop autism                   5292    4.800,00  training
    E-1  20.12.2023  case 2023-017 (§ 35a SGB VIII)    5331    6.000,00  excluded

    actual pool 141.234,57; actual cap 15 % × 141.234,57 = 21.185,1855 → 21.185,19
    actual permitted 141.234,57 + 4.800,00 + 17.500,00 = 163.534,57
    actual repayment 300.000,00 − 163.534,57 = 136.465,43

Commitments:

    POOL-A  pool_personnel  20.000,00/month  01.08.2023–31.07.2024
    KOORD   overhead         3.500,00/month  01.10.2023–31.07.2024
    SUPERV  supervision        250,00/month  15.09.2023–30.04.2024 (first counted month: October)
    FORTB   training           800,00/month  01.09.2023–31.01.2024 (ended before as_of)

As of 15.02.2024 (February has begun: counted as booked), open months are the months whose
first day lies after 15.02.2024:

    POOL-A  Mar–Jul = 5 × 20.000,00 = 100.000,00
    KOORD   Mar–Jul = 5 ×  3.500,00 =  17.500,00
    SUPERV  Mar–Apr = 2 ×    250,00 =     500,00
    FORTB   none                    =       0,00
    committed                         118.000,00

    projected pool        141.234,57 + 100.000,00 = 241.234,57
    projected overhead     17.500,00 +  17.500,00 =  35.000,00
    projected cap         15 % × 241.234,57 = 36.185,1855 → half up 36.185,19
    90 % of the cap       32.566,671 ≤ 35.000,00 ≤ 36.185,19 → overhead_near_cap
    projected permitted   241.234,57 + 4.800,00 + 500,00 + 35.000,00 = 281.534,57
    projected excluded      6.000,00 → excluded_spending
    projected repayment   300.000,00 − 281.534,57 = 18.465,43
    days until deadline   15.02.2024 → 02.04.2024 = 14 + 1 + 32 = 47 ≤ 60 → deadline_soon
"""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from ledger.core.grants import add_grant, add_payout
from ledger.core.schoolyear import SchoolYear
from ledger.reports.forecast import forecast, open_months
from ledger.workflows.masterdata import add
from tests.conftest import NOW, add_master_data, import_bytes

SY = SchoolYear(2023)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
ROWS = """\
31.10.2023;P-1;Pool Träger A Aug-Okt 2023;5291;1810;60.000,00;POOL-A;;
31.01.2024;P-2;Pool Träger A Nov 2023-Feb 2024;5291;1810;80.000,00;POOL-A;;
31.01.2024;P-3;Pool Träger A Tarifnachzahlung;5291;1810;1.234,57;POOL-A;;
31.01.2024;O-1;Koordination Okt 2023-Feb 2024;5012;1810;17.500,00;;;
15.11.2023;F-1;Workshop Autismus;5292;1810;4.800,00;;;
20.12.2023;E-1;Fall 2023-017 Schulbegleitung;5331;1810;6.000,00;;;
"""


def _commit(session, recipient, reference, category, monthly, start, end, pool=""):
    add(session, recipient, "commitment", {"Referenz": reference, "Beschreibung": f"Vertrag {reference}",
                                           "Kategorie": category, "Monatsbetrag": monthly,
                                           "Beginn": start, "Ende": end, "Pool": pool}, actor="test", now=NOW)


@pytest.fixture
def actuals(session, kreis):
    add_master_data(session, kreis)
    grant = add_grant(session, kreis, SY, D("300000.00"), notice_date=date(2023, 9, 29), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("300000.00"), created_by="t", now=NOW)
    assert import_bytes(session, kreis, (HEADER + ROWS).encode(), "2023-24.csv", created_by="t", now=NOW).ok
    session.commit()
    return kreis


@pytest.fixture
def year(session, actuals):
    _commit(session, actuals, "POOL-A", "pool_personnel", "20.000,00", "01.08.2023", "31.07.2024", "POOL-A")
    _commit(session, actuals, "KOORD", "overhead", "3.500,00", "01.10.2023", "31.07.2024")
    _commit(session, actuals, "SUPERV", "supervision", "250,00", "15.09.2023", "30.04.2024")
    _commit(session, actuals, "FORTB", "training", "800,00", "01.09.2023", "31.01.2024")
    session.commit()
    return actuals


def test_worked_example_as_of_15_february_2024(session, year):
    f = forecast(session, year, SY, as_of=date(2024, 2, 15))
    assert (f.actuals.pool_personnel, f.actuals.overhead_cap) == (D("141234.57"), D("21185.19"))
    assert (f.actuals.permitted, f.actuals.repayment_due) == (D("163534.57"), D("136465.43"))

    assert [(c.reference, c.category, c.months, c.amount) for c in f.open_commitments] == [
        ("KOORD", "overhead", 5, D("17500.00")),
        ("POOL-A", "pool_personnel", 5, D("100000.00")),
        ("SUPERV", "supervision", 2, D("500.00"))]  # FORTB ended 31.01.2024: not listed
    assert f.committed == D("118000.00")
    assert {c.category: (c.actual, c.committed, c.projected) for c in f.by_category} == {
        "pool_personnel": (D("141234.57"), D("100000.00"), D("241234.57")),
        "training": (D("4800.00"), D("0.00"), D("4800.00")),
        "overhead": (D("17500.00"), D("17500.00"), D("35000.00")),
        "supervision": (D("0.00"), D("500.00"), D("500.00")),
        "individual_claim_sgb_viii": (D("6000.00"), D("0.00"), D("6000.00"))}
    assert (f.projected_pool_personnel, f.projected_overhead) == (D("241234.57"), D("35000.00"))
    assert (f.projected_overhead_cap, f.projected_overhead_excess) == (D("36185.19"), D("0.00"))
    assert (f.projected_permitted, f.projected_excluded, f.unclassified) == (D("281534.57"), D("6000.00"), D("0.00"))
    assert (f.grant_basis, f.grant_basis_source) == (D("300000.00"), "received")
    assert f.projected_repayment == D("18465.43")
    assert (f.due_date, f.days_until_due) == (date(2024, 4, 2), 47)
    assert _codes(f) == ("overhead_near_cap", "deadline_soon", "excluded_spending")
    texts = dict(f.warnings)
    assert "36.185,19 EUR" in texts["overhead_near_cap"] and "15 %" in texts["overhead_near_cap"]
    assert "02.04.2024 (in 47 Tagen)" in texts["deadline_soon"] and "18.465,43 EUR" in texts["deadline_soon"]

    data = f.as_json()
    assert data["projected"] == {
        "pool_personnel": "241234.57", "overhead": "35000.00", "overhead_cap": "36185.19",
        "overhead_excess": "0.00", "permitted": "281534.57", "excluded": "6000.00", "unclassified": "0.00",
        "repayment": "18465.43"}
    assert data["open_commitments"][1] == {
        "reference": "POOL-A", "category": "pool_personnel", "months": 5, "monthly_amount": "20000.00",
        "amount": "100000.00", "status": "permitted", "conform": "100000.00",
        "reason": "Pool POOL-A ist systemisch (antragsunabhängig) an GL-Schulen eingesetzt."}
    assert (data["due_date"], data["days_until_due"], data["as_of"]) == ("2024-04-02", 47, "2024-02-15")
    assert data["grant"] == {"assessed": "300000.00", "received": "300000.00", "basis": "300000.00",
                             "basis_source": "received"}
    assert [w["code"] for w in data["warnings"]] == list(_codes(f))


def test_overhead_above_cap_and_deadline_soon_as_of_1_march_2024(session, year):
    """As of 01.03.2024 March has begun (counted as booked): open months April–July = 4.

    A second coordination contract KOORD-2, overhead 1.000,00/month from 01.04.2024:

        POOL-A  4 × 20.000,00 = 80.000,00     KOORD   4 × 3.500,00 = 14.000,00
        KOORD-2 4 ×  1.000,00 =  4.000,00     SUPERV  1 ×   250,00 =    250,00 (April)
        projected pool      141.234,57 + 80.000,00 = 221.234,57
        projected cap       15 % × 221.234,57 = 33.185,1855 → 33.185,19
        projected overhead  17.500,00 + 14.000,00 + 4.000,00 = 35.500,00 > cap → excess 2.314,81
        projected permitted 221.234,57 + 4.800,00 + 250,00 + 33.185,19 = 259.469,76
        projected repayment 300.000,00 − 259.469,76 = 40.530,24
        days until deadline 01.03.2024 → 02.04.2024 = 32
    """
    _commit(session, year, "KOORD-2", "overhead", "1.000,00", "01.04.2024", "31.07.2024")
    f = forecast(session, year, SY, as_of=date(2024, 3, 1))
    assert {c.reference: c.months for c in f.open_commitments} == {"KOORD": 4, "KOORD-2": 4, "POOL-A": 4, "SUPERV": 1}
    assert f.committed == D("98250.00")
    assert (f.projected_pool_personnel, f.projected_overhead_cap) == (D("221234.57"), D("33185.19"))
    assert (f.projected_overhead, f.projected_overhead_excess) == (D("35500.00"), D("2314.81"))
    assert f.projected_permitted == D("259469.76")
    assert f.projected_repayment == D("40530.24")
    assert f.days_until_due == 32
    assert _codes(f) == ("overhead_above_cap", "deadline_soon", "excluded_spending")
    assert "um 2.314,81 EUR" in dict(f.warnings)["overhead_above_cap"]


def test_without_commitments_the_forecast_equals_the_actuals(session, actuals):
    """Actuals plus 2.500,00 EUR without category (account 5299): permitted 163.534,57, repayment 136.465,43."""
    rows = HEADER + "05.02.2024;S-1;Rechnung ohne Zuordnung;5299;1810;2.500,00;;;\n"
    assert import_bytes(session, actuals, rows.encode(), "februar.csv", created_by="t", now=NOW).ok
    f = forecast(session, actuals, SY, as_of=date(2024, 2, 15))
    a = f.actuals
    assert (f.open_commitments, f.committed) == ((), D("0.00"))
    assert all(c.committed == 0 and c.projected == c.actual for c in f.by_category)
    assert (f.projected_pool_personnel, f.projected_overhead, f.projected_overhead_cap, f.projected_overhead_excess) == (
        a.pool_personnel, a.overhead_charged, a.overhead_cap, a.overhead_excess)
    assert (f.projected_permitted, f.projected_excluded, f.unclassified) == (a.permitted, a.excluded, a.unclassified)
    assert f.projected_repayment == a.repayment_due == D("136465.43")
    assert f.unclassified == D("2500.00")
    # overhead 17.500,00 is 82,6 % of the cap 21.185,19: no overhead warning
    assert _codes(f) == ("deadline_soon", "excluded_spending", "unclassified")

    # a commitment that ended before as_of contributes nothing
    _commit(session, actuals, "FORTB", "training", "800,00", "01.09.2023", "31.01.2024")
    g = forecast(session, actuals, SY, as_of=date(2024, 2, 15))
    assert g.open_commitments == () and g.projected_permitted == f.projected_permitted
    assert g.projected_repayment == f.projected_repayment

    # once the deadline has passed: no longer "soon"
    late = forecast(session, actuals, SY, as_of=date(2024, 4, 3))
    assert late.days_until_due == -1
    assert _codes(late) == ("deadline_passed", "excluded_spending", "unclassified")


def test_outstanding_payouts_count_with_the_assessed_amount(session, kreis):
    """Assessed 100.000,00, paid 60.000,00 so far, nothing spent: the actuals owe 60.000,00 back,
    the forecast 100.000,00, because the remaining 40.000,00 will be paid and cannot be used either."""
    grant = add_grant(session, kreis, SY, D("100000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("60000.00"), created_by="t", now=NOW)
    f = forecast(session, kreis, SY, as_of=date(2023, 11, 1))
    assert f.actuals.repayment_due == D("60000.00")
    assert (f.grant_basis, f.grant_basis_source, f.projected_repayment) == (D("100000.00"), "assessed", D("100000.00"))
    assert (f.projected_overhead_cap, _codes(f)) == (D("0.00"), ())  # 153 days to the deadline


def test_committed_excluded_spending_and_unknown_categories(session, kreis):
    _commit(session, kreis, "FALL-1", "individual_claim_sgb_ix", "1.234,56", "01.01.2024", "31.12.2024")
    f = forecast(session, kreis, SY, as_of=date(2024, 2, 15))
    # March–July only: the school year ends on 31.07.2024 → 5 × 1.234,56 = 6.172,80
    assert f.projected_excluded == D("6172.80")
    assert (f.grant_basis, f.projected_repayment, f.due_date, f.days_until_due) == (D("0.00"), D("0.00"), None, None)
    assert _codes(f) == ("excluded_spending",)
    # the statutory pack (2014/15–2020/21) has no cap: a committed overhead is simply permitted
    old = forecast(session, kreis, SchoolYear(2020), as_of=date(2021, 2, 15))
    assert old.projected_overhead_cap is None and old.open_commitments == ()


def test_commitments_the_rules_cannot_judge_stay_unclassified(session, kreis):
    """A category the pack lacks, and a pool contract without its pool: 5 open months each."""
    from ledger.core.models import Commitment

    for reference, category in (("X", "unbekannt"), ("Y", "pool_personnel")):
        session.add(Commitment(recipient_id=kreis.id, reference=reference, description="x", category=category,
                               monthly_cents=100, start_date=date(2023, 8, 1), end_date=date(2024, 7, 31)))
    session.flush()
    f = forecast(session, kreis, SY, as_of=date(2024, 2, 15))
    assert [(c.reference, c.classification.status, c.classification.review) for c in f.open_commitments] == [
        ("X", "unclassified", "Kategorie 'unbekannt' unbekannt"),
        ("Y", "unclassified", "Poolpersonal ohne Kostenstelle eines Pools")]
    assert (f.unclassified, f.projected_permitted, f.projected_pool_personnel) == (D("10.00"), D("0.00"), D("0.00"))
    assert "unclassified" in _codes(f)


@pytest.mark.parametrize(("start", "end", "as_of", "months"), [
    (date(2023, 8, 1), date(2024, 7, 31), date(2024, 2, 15), 5),   # Mar–Jul
    (date(2023, 8, 1), date(2024, 7, 31), date(2024, 3, 1), 4),    # March has begun on its first day
    (date(2023, 8, 1), date(2024, 7, 31), date(2024, 2, 29), 5),   # leap day
    (date(2023, 8, 1), date(2025, 7, 31), date(2024, 2, 15), 5),   # not beyond 31 July of the school year
    (date(2023, 8, 1), date(2024, 7, 31), date(2023, 6, 15), 12),  # not before 1 August of the school year
    (date(2023, 8, 1), date(2024, 7, 31), date(2023, 11, 30), 8),  # Dec–Jul, across the calendar year
    (date(2024, 3, 15), date(2024, 7, 31), date(2024, 2, 15), 4),  # starts mid-March: April–July
    (date(2023, 8, 1), date(2024, 5, 1), date(2024, 2, 15), 3),    # ends on 1 May: Mar, Apr, May
    (date(2023, 8, 1), date(2024, 1, 31), date(2024, 2, 15), 0),   # ended before as_of
    (date(2023, 8, 1), date(2024, 7, 31), date(2024, 7, 1), 0),    # July has begun: nothing open
])
def test_open_months(start, end, as_of, months):
    assert open_months(start, end, SY, as_of) == months


def test_forecast_through_the_cli(cli, session, kreis):
    """The command line gives the same projection as JSON, with the warning codes."""
    _grant_and_pool_contract(cli, session, kreis)
    # as of 15.02.2024 the months March to July are open: 5 × 1.000,00 = 5.000,00 projected pool personnel;
    # nothing booked yet, so 10.000,00 − 5.000,00 = 5.000,00 projected repayment, deadline in 47 days
    data = json.loads(cli("forecast", "--recipient", "testland", "--school-year", "2023/24",
                          "--as-of", "2024-02-15", "--json").output)
    assert (data["projected"]["pool_personnel"], data["projected"]["repayment"], data["days_until_due"]) == (
        "5000.00", "5000.00", 47)
    assert "deadline_soon" in [w["code"] for w in data["warnings"]]


def test_bookings_after_the_reference_day_are_not_counted_twice(cli, session, kreis, tmp_path):
    """A pool invoice dated after as_of is left out of the actuals; its month comes from the commitment."""
    _grant_and_pool_contract(cli, session, kreis)
    later = tmp_path / "2024-03.csv"
    later.write_text("Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle\n"
                     "01.03.2024;P-3;Pool März;5291;1810;1.000,00;POOL-A\n", encoding="utf-8")
    cli("import", later, "--recipient", "testland")
    before = json.loads(cli("forecast", "--recipient", "testland", "--school-year", "2023/24",
                            "--as-of", "2024-02-15", "--json").output)
    after = json.loads(cli("forecast", "--recipient", "testland", "--school-year", "2023/24",
                           "--as-of", "2024-03-15", "--json").output)
    # 15.02.: March–July open = 5.000,00, the March invoice not yet counted; 15.03.: 1.000,00 booked + 4 months
    assert (before["actual"]["pool_personnel"], before["projected"]["pool_personnel"]) == ("0.00", "5000.00")
    assert (after["actual"]["pool_personnel"], after["projected"]["pool_personnel"]) == ("1000.00", "5000.00")


def _grant_and_pool_contract(cli, session, kreis) -> None:
    """Through the command line: 10.000,00 EUR granted for 2023/24 and paid on 16.10.2023, and a pool
    contract of 1.000,00 EUR a month from 01.08.2023 to 31.07.2024."""
    add_master_data(session, kreis)
    cli("grant", "add", "--recipient", "testland", "--school-year", "2023/24", "--amount", "10000,00",
        "--payout-date", "2023-10-16")
    cli("commitment", "add", "--recipient", "testland", "--reference", "V-1", "--description", "Poolvertrag",
        "--category", "pool_personnel", "--monthly-amount", "1.000,00", "--start-date", "01.08.2023",
        "--end-date", "31.07.2024", "--pool", "POOL-A")


def _codes(f) -> tuple[str, ...]:
    """The codes of a forecast's warnings, in order."""
    return tuple(code for code, _text in f.warnings)


@pytest.mark.parametrize(("as_of", "soon"), [
    (date(2024, 2, 2), True),    # 02.02.2024 → 02.04.2024 = 27 + 31 + 2 = 60 days: warned
    (date(2024, 2, 1), False),   # 61 days: not yet
    (date(2024, 4, 2), True),    # the deadline's own day (0 days) still counts as soon
])
def test_the_deadline_warning_starts_60_days_before_the_deadline(session, actuals, as_of, soon):
    """The boundary of ``DEADLINE_WARNING_DAYS`` (ledger.reports.forecast): at most 60 days, inclusive
    (deadline 02.04.2024 as in the module docstring; the repayment is positive on each day)."""
    f = forecast(session, actuals, SY, as_of=as_of)
    assert f.projected_repayment > 0
    assert ("deadline_soon" in _codes(f)) is soon
    assert "deadline_passed" not in _codes(f)


def test_forecast_as_text(cli, session, kreis):
    """``inkl forecast`` without --json, the figures of ``test_forecast_through_the_cli``: 5 open months
    × 1.000,00 = 5.000,00 pool personnel; cap 15 % × 5.000,00 = 750,00; repayment
    10.000,00 − 5.000,00 = 5.000,00 due 02.04.2024; one day before it: "in 1 Tag", not "in 1 Tagen"."""
    _grant_and_pool_contract(cli, session, kreis)
    lines = cli("forecast", "--recipient", "testland", "--school-year", "2023/24", "--as-of", "2024-02-15"
                ).stdout.splitlines()
    assert lines[0].startswith("Prognose 2023/24 für testland, Stichtag 15.02.2024 (Regelwerk „")
    assert lines[1:] == [
        "  offen V-1 (Personalkosten systemischer Pool-Modelle (Schulassistenz im Infrastrukturmodell, "
        "antragsunabhängig und losgelöst von Einzelfällen)): 5 × 1.000,00 = 5.000,00 EUR",
        "Pool-Personal 5.000,00, Overhead 0,00 (Obergrenze 750,00), zweckentsprechend 5.000,00 (Ist 0,00), "
        "ausgeschlossen 0,00 EUR",
        "Pauschale (erhalten) 10.000,00 EUR, voraussichtliche Rückzahlung 5.000,00 EUR, fällig 02.04.2024 "
        "(in 47 Tagen)",
        "Warnung: Die Rückzahlungsfrist endet am 02.04.2024 (in 47 Tagen); voraussichtliche Rückzahlung "
        "5.000,00 EUR. Mitteilung an das Ministerium und Rückzahlung vorbereiten."]
    eve = cli("forecast", "--recipient", "testland", "--school-year", "2023/24", "--as-of", "2024-04-01").stdout
    assert "fällig 02.04.2024 (in 1 Tag)\n" in eve and "endet am 02.04.2024 (in 1 Tag);" in eve
    late = cli("forecast", "--recipient", "testland", "--school-year", "2023/24", "--as-of", "2024-04-03").stdout
    assert "ist am 02.04.2024 abgelaufen (vor 1 Tag);" in late

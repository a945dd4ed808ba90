"""Grants belong to a funding programme: one per recipient, programme and school year."""
from datetime import date
from decimal import Decimal as D

import pytest

from ledger.core.errors import LedgerError, NotFound
from ledger.core.recipients import add_recipient
from ledger.core.grants import (
    INKLUSIONSPAUSCHALE, GrantSummary, PayoutVoucher, add_grant, add_payout, find_grant, get_grant, grant_summary,
)
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_repayment, school_years
from ledger.rules.packs import RulePackError
from ledger.workflows.grants import record_grant
from tests.conftest import NOW, add_master_data, import_bytes

SY = SchoolYear(2023)
OTHER = "kreis_zuweisung"


def test_grants_of_two_programmes_for_one_school_year(session, kreis):
    inklusion = add_grant(session, kreis, SY, D("1000.00"), actor="test", now=NOW)
    other = add_grant(session, kreis, SY, D("250.00"), actor="test", now=NOW, programme=OTHER)
    session.commit()
    assert (inklusion.programme, other.programme) == (INKLUSIONSPAUSCHALE, OTHER)
    assert find_grant(session, kreis, SY) is inklusion
    assert get_grant(session, kreis, SY, programme=OTHER) is other
    assert find_grant(session, kreis, SchoolYear(2022), programme=OTHER) is None
    with pytest.raises(LedgerError, match="bereits"):
        add_grant(session, kreis, SY, D("1.00"), actor="test", now=NOW, programme=OTHER)


def test_get_grant_of_a_programme_without_one(session, kreis):
    add_grant(session, kreis, SY, D("1000.00"), actor="test", now=NOW)
    with pytest.raises(NotFound):
        get_grant(session, kreis, SY, programme=OTHER)


def test_another_programmes_grant_leaves_the_repayment_alone(session, kreis):
    """The Inklusionspauschale's settlement reads its own grant: an assessed grant of another
    programme for the same school year neither becomes its Festsetzungsbescheid nor adds a year."""
    add_grant(session, kreis, SY, D("250.00"), actor="test", now=NOW, programme=OTHER)
    add_grant(session, kreis, SchoolYear(2022), D("99.00"), actor="test", now=NOW, programme=OTHER)
    session.commit()
    assert compute_repayment(session, kreis, SY).grant_assessed is None
    assert school_years(session, kreis) == []
    add_grant(session, kreis, SY, D("1000.00"), actor="test", now=NOW)
    session.commit()
    assert compute_repayment(session, kreis, SY).grant_assessed == D("1000.00")
    assert school_years(session, kreis) == [SY]


def test_school_years_are_those_of_grants_and_postings_once_each_oldest_first(session, kreis):
    """A recipient's school years (the dashboard's year links, the overview's rows) are those
    of its Inklusionspauschale grants and of its postings, whatever the order they were booked
    in; another recipient's years stay its own."""
    add_master_data(session, kreis)
    add_grant(session, kreis, SchoolYear(2020), D("1000.00"), actor="test", now=NOW)
    rows = "".join(f"{day};V-{i};Zeile {i};5291;1810;10,00;;;{year}\n" for i, (day, year) in enumerate([
        ("02.08.2023", "2023/24"), ("03.08.2021", "2021/22"), ("04.08.2023", "2023/24"), ("01.03.2022", "2021/22"),
        ("05.08.2022", "2022/23")]))
    header = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
    assert import_bytes(session, kreis, (header + rows).encode(), "jahre.csv", created_by="t", now=NOW).ok
    other = add_recipient(session, "anderer-kreis", "Kreis Anders", "kreis", actor="t", now=NOW)
    add_grant(session, other, SchoolYear(2024), D("5.00"), actor="test", now=NOW)
    session.commit()
    assert school_years(session, kreis) == [SchoolYear(2020), SchoolYear(2021), SchoolYear(2022), SchoolYear(2023)]
    assert school_years(session, other) == [SchoolYear(2024)]


def test_a_grant_needs_a_rule_pack_for_its_school_year(session, kreis):
    """The statute's pack judges 2014/15–2020/21 and the Hinweise from 2021/22 on (Vereinbarung
    § 4 Abs. 1): a grant for 2012/13 could never be judged, so it is refused and nothing is written."""
    with pytest.raises(RulePackError, match="2012/13"):
        record_grant(session, kreis, SchoolYear(2012), D("1000.00"), actor="test", now=NOW)
    assert find_grant(session, kreis, SchoolYear(2012)) is None
    assert record_grant(session, kreis, SchoolYear(2014), D("1000.00"), actor="test", now=NOW).school_year == "2014/15"


def test_the_command_line_refuses_such_a_grant(cli):
    cli("recipient", "add", "ohne-regel", "--name", "Kreis Ohneregel", "--kind", "kreis")
    failed = cli("grant", "add", "--recipient", "ohne-regel", "--school-year", "2012/13", "--amount", "1000,00",
                 expect=1)
    assert "kein Regelwerk gilt für das Schuljahr 2012/13" in failed.output
    assert "Traceback" not in failed.output
    assert cli("repayments", "--recipient", "ohne-regel", "--json").output.strip() == "[]"


def test_a_grants_summary_lists_its_payouts_by_date_with_their_vouchers(session, kreis):
    """The dashboard's Zuweisung: the assessment notice's date and the payouts (EUR) by booking
    date with the voucher of each payout's journal entry; 600 + 400 = 1.000 EUR of 1.000 EUR
    assessed. Another programme's grant and a year without a grant show nothing."""
    grant = add_grant(session, kreis, SY, D("1000.00"), notice_date=date(2023, 7, 3), actor="test", now=NOW)
    later = add_payout(session, grant, date(2024, 2, 1), D("400.00"), voucher_number="AZ-2", created_by="test", now=NOW)
    first = add_payout(session, grant, date(2023, 8, 15), D("600.00"), created_by="test", now=NOW)
    add_grant(session, kreis, SchoolYear(2022), D("99.00"), actor="test", now=NOW, programme=OTHER)
    session.commit()
    assert grant_summary(session, kreis, SY) == GrantSummary(date(2023, 7, 3), (
        PayoutVoucher(date(2023, 8, 15), first.entry_id, "AUSZ-2023/24-2", D("600.00")),
        PayoutVoucher(date(2024, 2, 1), later.entry_id, "AZ-2", D("400.00"))))
    assert grant_summary(session, kreis, SchoolYear(2022)) is None
    assert grant_summary(session, kreis, SchoolYear(2022), programme=OTHER) == GrantSummary(None, ())

"""Cumulative spending against the grant per month (ledger.reports.spending) and the dashboard chart.

Worked example: Kreis Testland, school year 2022/23, grant 500.000,00 EUR paid out in two
tranches: 300.000,00 on 30.11.2022 and 200.000,00 on 15.03.2023.

    date        voucher  account  amount        school year   counts in
    31.07.2022  V-1      5292      1.000,00     2022/23       August (booked before the year)
    30.09.2022  P-1      5291    180.000,00                   September
    12.10.2022  F-1      5292      4.800,00                   October
    13.10.2022  F-2      5292        800,00                   October, reversed 10.01.2023
    15.01.2023  W-1      5314     60.000,00                   January
    31.03.2023  P-2      5291     95.432,17                   March
    30.06.2023  O-1      5012     45.000,00                   June
    15.08.2023  N-1      5299      2.500,00     2022/23       July (booked after 31.07.2023)
    20.09.2022  A-1      5299      1.234,56     2021/22       not this year
    (Stadt Nachbarstadt, 2022/23: 7.777,77 on 30.09.2022)     other recipient

    month      spent (cumulative)                              grant received
    Aug 2022     1.000,00                                            0,00
    Sep 2022     1.000,00 + 180.000,00          = 181.000,00         0,00
    Oct 2022   181.000,00 + 4.800,00 + 800,00   = 186.600,00         0,00
    Nov 2022   186.600,00 (no postings)                        300.000,00
    Dec 2022   186.600,00 (no postings)                        300.000,00
    Jan 2023   186.600,00 − 800,00 + 60.000,00  = 245.800,00   300.000,00
    Feb 2023   245.800,00                                      300.000,00
    Mar 2023   245.800,00 + 95.432,17           = 341.232,17   500.000,00
    Apr 2023   341.232,17                                      500.000,00
    May 2023   341.232,17                                      500.000,00
    Jun 2023   341.232,17 + 45.000,00           = 386.232,17   500.000,00
    Jul 2023   386.232,17 + 2.500,00            = 388.732,17   500.000,00

Postings of the year dated after 31 July count into July (issue 14, "Totals that always add
up"): the last point is the year's total spending, as a reversal booked in a later school
year must be.
"""
from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from ledger.core.grants import add_grant, add_payout
from ledger.core.models import JournalEntry
from ledger.core.posting import reverse_entry
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.spending import MonthPoint, cumulative_spending
from tests.conftest import NOW, add_master_data, add_web_user, import_bytes, login
from webapp.views.dashboard import CHART_PLOT, spending_chart

SY = SchoolYear(2022)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
ROWS = """\
31.07.2022;V-1;Fortbildung vorab gebucht;5292;1810;1.000,00;;;2022/23
30.09.2022;P-1;Pool Träger A;5291;1810;180.000,00;POOL-A;;
12.10.2022;F-1;Workshop Autismus;5292;1810;4.800,00;;;
13.10.2022;F-2;Workshop doppelt gebucht;5292;1810;800,00;;;
15.01.2023;W-1;Weiterleitung Stadt Beispielheim;5314;1810;60.000,00;WL-BEISPIELHEIM;;
31.03.2023;P-2;Pool Träger B;5291;1810;95.432,17;POOL-B;;
30.06.2023;O-1;Koordinationsstelle;5012;1810;45.000,00;;;
15.08.2023;N-1;Nachzügler-Rechnung;5299;1810;2.500,00;;;2022/23
20.09.2022;A-1;Rechnung des Vorjahres;5299;1810;1.234,56;;;2021/22
"""
EXPECTED = [  # (month, cumulative spent, cumulative grant received)
    (date(2022, 8, 1), "1000.00", "0.00"),
    (date(2022, 9, 1), "181000.00", "0.00"),
    (date(2022, 10, 1), "186600.00", "0.00"),
    (date(2022, 11, 1), "186600.00", "300000.00"),
    (date(2022, 12, 1), "186600.00", "300000.00"),
    (date(2023, 1, 1), "245800.00", "300000.00"),
    (date(2023, 2, 1), "245800.00", "300000.00"),
    (date(2023, 3, 1), "341232.17", "500000.00"),
    (date(2023, 4, 1), "341232.17", "500000.00"),
    (date(2023, 5, 1), "341232.17", "500000.00"),
    (date(2023, 6, 1), "386232.17", "500000.00"),
    (date(2023, 7, 1), "388732.17", "500000.00"),
]


@pytest.fixture
def books(session, kreis):
    add_master_data(session, kreis)
    grant = add_grant(session, kreis, SY, D("500000.00"), notice_date=date(2022, 10, 20), actor="test", now=NOW)
    add_payout(session, grant, date(2022, 11, 30), D("300000.00"), created_by="t", now=NOW)
    add_payout(session, grant, date(2023, 3, 15), D("200000.00"), created_by="t", now=NOW)
    summary = import_bytes(session, kreis, (HEADER + ROWS).encode(), "2022-23.csv", created_by="t", now=NOW)
    assert summary.ok, summary.errors
    doubled = session.scalar(sa.select(JournalEntry).where(JournalEntry.voucher_number == "F-2"))
    reverse_entry(session, doubled, day=date(2023, 1, 10), reason="doppelt gebucht", created_by="t", now=NOW)

    other = add_recipient(session, "nachbarstadt", "Stadt Nachbarstadt", "stadt", actor="test", now=NOW)
    add_payout(session, add_grant(session, other, SY, D("9000.00"), actor="test", now=NOW), date(2022, 9, 1),
               D("9000.00"), created_by="t", now=NOW)
    assert import_bytes(session, other, (HEADER + "30.09.2022;X-1;Pool Süd;5291;1810;7.777,77;;;\n").encode(),
                        "n.csv", created_by="t", now=NOW).ok
    session.commit()
    return kreis


def test_worked_example_month_by_month(session, books):
    points = cumulative_spending(session, books, SY)
    assert [(p.month, p.spent, p.grant_received) for p in points] == [
        (month, D(spent), D(grant)) for month, spent, grant in EXPECTED]
    assert [p.as_of for p in points][:3] == [date(2022, 8, 31), date(2022, 9, 30), date(2022, 10, 31)]
    assert points[6].as_of == date(2023, 2, 28) and points[-1].as_of == date(2023, 7, 31)
    assert all(p.whole_month for p in points)
    assert all(p.spent.as_tuple().exponent == p.grant_received.as_tuple().exponent == -2 for p in points)


def test_until_cuts_the_year_short(session, books):
    """Up to 14.01.2023: the reversal of 10.01. counts, the pass-through of 15.01. not yet."""
    points = cumulative_spending(session, books, SY, until=date(2023, 1, 14))
    assert len(points) == 6
    assert points[:5] == cumulative_spending(session, books, SY)[:5]
    assert points[-1] == MonthPoint(date(2023, 1, 1), date(2023, 1, 14), D("185800.00"), D("300000.00"))
    assert not points[-1].whole_month
    assert cumulative_spending(session, books, SY, until=date(2022, 7, 31)) == []
    assert cumulative_spending(session, books, SY, until=date(2022, 8, 1))[0].spent == D("1000.00")
    assert cumulative_spending(session, books, SY, until=date(2030, 1, 1)) == cumulative_spending(session, books, SY)


def test_a_year_without_postings_is_all_zero(session, books):
    points = cumulative_spending(session, books, SchoolYear(2024))
    assert len(points) == 12
    assert {(p.spent, p.grant_received) for p in points} == {(D("0.00"), D("0.00"))}
    assert spending_chart(points, SchoolYear(2024)) is None


@pytest.fixture
def german():
    """A request context of a bare Flask app with the web UI's formatting (Flask-Babel, de_DE)."""
    from flask import Flask

    from webapp import formatting

    app = Flask(__name__)
    formatting.init_app(app)
    with app.test_request_context():
        yield


def test_chart_geometry(german, session, books):
    chart = spending_chart(cumulative_spending(session, books, SY), SY)
    left, top, right, bottom = CHART_PLOT
    # 0 … 500.000,00 in steps of 100.000,00 (raw step 500.000 / 5)
    assert [amount for _, amount in chart["ticks"]] == [D(k * 100000) for k in range(6)]
    assert chart["ticks"][0][0] == chart["zero"] == bottom and chart["ticks"][-1][0] == top
    # phones: whole thousands as "T€", one label per tick
    assert chart["short_ticks"] == ["0\xa0T€", "100\xa0T€", "200\xa0T€", "300\xa0T€", "400\xa0T€", "500\xa0T€"]
    assert [label for _, label in chart["months"]] == [
        "Aug", "Sep", "Okt", "Nov", "Dez", "Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul"]
    band = D(right - left) / 12
    assert chart["months"][0][0] == (left + band / 2).quantize(D("0.1"))
    # September: x = 124 + 1,5 × 584 / 12 = 197; y = 244 − 181.000 / 500.000 × 232 = 160,016 → 160,0
    assert chart["markers"][1] == (D("197.0"), D("160.0"))
    assert chart["spent"].split(" ")[1] == "197.0,160.0"
    # the grant line is level across each month: 24 points, the jump at November's left edge
    grant = [tuple(map(D, pair.split(","))) for pair in chart["grant"].split(" ")]
    assert len(grant) == 24
    # November's left edge x = 124 + 3 × 584 / 12 = 270; 300.000,00 at y = 244 − 0,6 × 232 = 104,8
    assert grant[5] == (D("270.0"), D(bottom)) and grant[6] == (D("270.0"), D("104.8"))
    assert grant[-1] == (D(right), D(top))


def test_chart_covers_negative_values_and_small_amounts(german):
    points = [MonthPoint(date(2022, 8, 1), date(2022, 8, 31), D("-3.00"), D("0.00")),
              MonthPoint(date(2022, 9, 1), date(2022, 9, 30), D("7.00"), D("0.00"))]
    chart = spending_chart(points, SY)
    # span 10,00 → raw step 2,00; −3,00 rounds down to −4,00, 7,00 up to 8,00
    assert [amount for _, amount in chart["ticks"]] == [D(k) for k in range(-4, 10, 2)]
    assert chart["ticks"][0][0] == CHART_PLOT[3] and chart["ticks"][-1][0] == CHART_PLOT[1]
    assert chart["short_ticks"][0] == "-4,00\xa0€" and chart["short_ticks"][2] == "0,00\xa0€"   # not thousands
    assert len(chart["markers"]) == 2 and len(chart["months"]) == 12


def _text(response) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


@pytest.fixture
def web(app, books, session):
    """An auditor reading every recipient, "today" fixed to 14.01.2023 (school year running)."""
    app.config["TODAY"] = date(2023, 1, 14)
    add_web_user(session, "pruefung", "auditor", all_recipients=True)
    client = app.test_client()
    assert login(client, "pruefung").status_code == 302
    return client


def test_dashboard_draws_the_chart_with_a_data_table(web):
    response = web.get("/r/testland/2022/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    svg = re.search(r'<svg viewBox="0 0 720 280"[^>]*>.*?</svg>', page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="verlauf-titel"' in svg and 'aria-describedby="verlauf-text"' in svg
    assert '<title id="verlauf-titel">' in svg and '<desc id="verlauf-text">' in svg
    assert "style=" not in page and "<script" not in page
    assert len(re.findall(r'<circle [^>]*class="chart-marker"', svg)) == 6          # August … January
    for label in ("Aug", "Sep", "Okt", "Nov", "Dez", "Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul"):
        assert f">{label}</text>" in svg
    assert ">300.000,00\xa0€</text>" in svg or ">300.000,00 €</text>" in svg
    text = _text(response)
    assert "Bis 14.01.2023 185.800,00 € ausgegeben, 300.000,00 € Pauschale erhalten." in text
    table = re.search(r'<table class="visually-hidden">.*?</table>', page, re.S).group(0)
    rows = [_cells(row) for row in re.findall(r"<tr>.*?</tr>", table, re.S)]
    assert rows[0] == ["Monat", "Ausgaben kumuliert", "Erhaltene Pauschale"]
    assert rows[1:] == [
        ["August 2022", "1.000,00 €", "0,00 €"],
        ["September 2022", "181.000,00 €", "0,00 €"],
        ["Oktober 2022", "186.600,00 €", "0,00 €"],
        ["November 2022", "186.600,00 €", "300.000,00 €"],
        ["Dezember 2022", "186.600,00 €", "300.000,00 €"],
        ["Januar 2023 (bis 14.01.2023)", "185.800,00 €", "300.000,00 €"],
    ]


def test_dashboard_of_a_closed_year_shows_all_twelve_months(web, app):
    app.config["TODAY"] = date(2024, 3, 1)
    page = web.get("/r/testland/2022/").get_data(as_text=True)
    assert len(re.findall(r'class="chart-marker"', page)) == 12 + 1                # + legend sample
    assert "Juli 2023" in page and "386.232,17" in page


def test_dashboard_without_bookings_says_so(web, app):
    app.config["TODAY"] = date(2022, 7, 1)                                          # before the year began
    text = _text(web.get("/r/testland/2022/"))
    assert "weder Ausgaben noch eine Auszahlung gebucht" in text


def _cells(row: str) -> list[str]:
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", c))).replace("\xa0", " ").strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]

"""The Land's overview across recipients (Landesübersicht), worked by hand.

Kreis Testland, school year 2022/23, as in tests/test_repayment.py: grant 500.000,00 EUR paid out
on 30.11.2022, conform 383.546,99, repayment due 116.453,01 on Monday 3 April 2023 (1 April is a
Saturday, § 193 BGB). Confirmed, 50.000,00 paid on 3 May 2023; on 3 July 2023 66.453,01 are open
and interest of 189,86 + 773,62 = 963,48 EUR has accrued (§ 49a Abs. 3 VwVfG NRW).
"""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from ledger.core.recipients import add_recipient
from ledger.reports.overview import overview
from ledger.rules.packs import load_packs
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from tests.conftest import NOW, add_web_user, internal_terms, logged_in
from tests.test_repayment import SY, year  # noqa: F401  (the worked example's books)


@pytest.fixture
def paid(session, year):  # noqa: F811
    confirm_repayment(session, year, SY, day=date(2023, 3, 1), created_by="t", now=NOW)
    pay_repayment(session, year, SY, D("50000.00"), day=date(2023, 5, 3), created_by="t", now=NOW)
    add_recipient(session, "wuelfrath", "Wülfrath", "stadt", actor="t", now=NOW)   # no Inklusionspauschale
    session.commit()
    return year


def _rows(session, day):
    from ledger.core.recipients import list_recipients
    return overview(session, list_recipients(session), load_packs(), as_of=day).rows


def test_a_row_repeats_the_recipients_own_figures(session, paid):
    [row] = _rows(session, date(2023, 7, 3))
    assert (row.recipient_key, row.school_year, row.grant_received, row.permitted, row.repayment_due,
            row.due_date, row.already_repaid, row.outstanding, row.overdue, row.interest,
            row.statement_number, row.closed) == (
        "testland", "2022/23", D("500000.00"), D("383546.99"), D("116453.01"), date(2023, 4, 3),
        D("50000.00"), D("66453.01"), True, D("963.48"), None, False)


def test_overdue_only_after_the_due_day(session, year):  # noqa: F811
    [on_the_day] = _rows(session, date(2023, 4, 3))
    [day_after] = _rows(session, date(2023, 4, 4))
    assert (on_the_day.outstanding, on_the_day.overdue, day_after.overdue) == (D("116453.01"), False, True)


def test_upcoming_due_dates_within_120_days(session, year):  # noqa: F811
    from ledger.core.recipients import list_recipients
    packs = load_packs()
    # 3 April 2023 is 120 days after 4 December 2022 (27 + 31 + 31 + 28 + 3), 121 after 3 December.
    assert [r.due_date for r in overview(session, list_recipients(session), packs,
                                         as_of=date(2022, 12, 4)).upcoming()] == [date(2023, 4, 3)]
    assert not overview(session, list_recipients(session), packs, as_of=date(2022, 12, 3)).upcoming()


def test_cli_overview_json(cli, paid):
    data = json.loads(cli("overview", "--as-of", "2023-07-03", "--json").output)
    assert data["rows"] == [{
        "recipient": "testland", "name": "Kreis Testland", "school_year": "2022/23", "grant_received": "500000.00",
        "permitted": "383546.99", "repayment_due": "116453.01", "due_date": "2023-04-03",
        "already_repaid": "50000.00", "outstanding": "66453.01", "overdue": True, "interest": "963.48",
        "statement_number": None, "statement_date": None, "closed": False, "error": None}]
    assert data["totals"]["outstanding"] == "66453.01" and data["upcoming"] == []


def test_the_land_reads_every_recipient_and_officers_do_not_see_the_overview(app, session, paid):
    add_web_user(session, "land", "ministry")
    add_web_user(session, "anna", "officer", recipients=[paid])
    land = logged_in(app, "land")
    page = land.get("/land/").get_data(as_text=True)
    assert "Landesübersicht" in page and "Kreis Testland" in page and "500.000,00" in page
    assert "Wülfrath" not in page           # no Inklusionspauschale, no row
    assert internal_terms(page) == []
    assert land.get(f"/r/testland/{SY.start_year}/").status_code == 200       # reads every recipient
    assert land.get("/r/testland/journal/neu").status_code in (403, 404)     # never writes
    officer = logged_in(app, "anna")
    assert officer.get("/land/").status_code == 403
    assert "Landesübersicht" not in officer.get("/").get_data(as_text=True)


def test_filter_and_sort(app, session, paid):
    add_web_user(session, "land", "ministry")
    land = logged_in(app, "land")
    assert "1 von 1 Zeilen" in land.get("/land/?status=offen").get_data(as_text=True)
    assert "0 von 1 Zeilen" in land.get("/land/?status=nicht-abgeschlossen&q=xyz").get_data(as_text=True)
    assert "0 von 1 Zeilen" in land.get("/land/?schuljahr=2023/24").get_data(as_text=True)
    page = land.get("/land/?sortierung=offen&richtung=ab").get_data(as_text=True)
    assert 'aria-sort="descending"' in page


def test_the_table_downloads_as_xlsx_and_csv_as_shown_and_audited(app, session, paid):
    import io

    import openpyxl

    add_web_user(session, "land", "ministry")
    land = logged_in(app, "land")
    response = land.get("/land/uebersicht.xlsx?status=offen")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Schlüssel", "Empfänger", "Schuljahr", "Zuweisung erhalten")
    assert rows[1][0:3] == ("testland", "Kreis Testland", "2022/23") and rows[1][3] == 500000
    assert rows[-1][0] == "Summe" and len(rows) == 3
    csv_text = land.get("/land/uebersicht.csv?q=xyz").data.decode("utf-8-sig")
    assert csv_text.splitlines()[1].startswith("Summe;")          # filtered out: only the sum row
    assert land.get("/land/uebersicht.pdf").status_code == 404
    log = land.get("/protokoll").get_data(as_text=True)
    assert "landesuebersicht" in log and "Suche" in log


def test_the_page_shows_a_change_of_the_books_at_once(app, session, year):  # noqa: F811
    """Each server process keeps the computed overview until the books may have changed: a
    payment (journal entry and audit event) shows on the next request."""
    app.config["TODAY"] = date(2023, 7, 3)
    add_web_user(session, "land", "ministry")
    land = logged_in(app, "land")
    assert "116.453,01" in land.get("/land/").get_data(as_text=True)          # open, nothing paid
    confirm_repayment(session, year, SY, day=date(2023, 3, 1), created_by="t", now=NOW)
    pay_repayment(session, year, SY, D("50000.00"), day=date(2023, 5, 3), created_by="t", now=NOW)
    session.commit()
    assert "66.453,01" in land.get("/land/").get_data(as_text=True)

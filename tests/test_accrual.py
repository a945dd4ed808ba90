"""Accrual in the books: an expense counts in the school year it arose in.

§ 33 Abs. 1 Nr. 4 KomHVO NRW assigns expenses to the period in which they arose "unabhängig
von den Zeitpunkten der entsprechenden Zahlungen"; the ledger applies it to the school year a
posting names (its Schuljahr field). The Hinweise pack accepts postings booked up to 92 days
after 31 July without review (``[accrual]``); every posting booked outside its school year is
listed as "periodenfremd gebucht" on the statement and the Einstufung page.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal as D

from pypdf import PdfReader

from ledger.core.grants import add_grant, add_payout
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_repayment
from ledger.reports.statement import build_statement
from ledger.write.statement_pdf import render_statement
from tests.conftest import NOW, add_web_user, import_bytes, logged_in

SY = SchoolYear(2023)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
ROWS = (
    "14.03.2024;F-1;Workshop Autismus März;5292;1810;1.000,00;;;\n"
    "05.08.2024;F-2;Workshop Juli, Rechnung im August;5292;1810;400,00;;;2023/24\n"      # 5 days late
    "04.12.2024;F-3;Workshop Juli, Rechnung im Dezember;5292;1810;250,00;;;2023/24\n"    # 126 days late
)


def _books(session, kreis):
    grant = add_grant(session, kreis, SY, D("10000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("10000.00"), created_by="t", now=NOW)
    assert import_bytes(session, kreis, (HEADER + ROWS).encode(), "2023-24.csv", created_by="t", now=NOW).ok
    session.commit()


def test_a_late_invoice_counts_in_its_school_year(session, kreis):
    """2023/24: 1.000,00 booked in the year and 400,00 booked on 05.08.2024 for 2023/24 count as
    conform (1.400,00); 250,00 booked on 04.12.2024 (126 days after 31.07.2024, beyond the
    pack's 92) wait for an officer (unclassified). Repayment 10.000,00 − 1.400,00 = 8.600,00.
    Nothing is excluded for its booking date."""
    _books(session, kreis)
    result = compute_repayment(session, kreis, SY)
    assert (result.permitted, result.unclassified, result.excluded) == (D("1400.00"), D("250.00"), D("0.00"))
    assert result.repayment_due == D("8600.00")
    assert compute_repayment(session, kreis, SchoolYear(2024)).permitted == D("0.00")


def test_the_statement_lists_the_postings_booked_out_of_period(session, kreis):
    _books(session, kreis)
    data = build_statement(session, kreis, SY, now=datetime(2025, 1, 10, 9, 0))
    assert [v.voucher_number for v in data.out_of_period] == ["F-2", "F-3"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render_statement(data))).pages)
    text = " ".join(text.split())
    assert "Periodenfremd gebuchte Ausgaben" in text
    assert "05.08.2024 F-2 Workshop Juli, Rechnung im August zulässig 400,00 EUR" in text
    assert "04.12.2024 F-3 Workshop Juli, Rechnung im Dezember nicht eingestuft 250,00 EUR" in text
    assert "Periodenfremd gebucht insgesamt 650,00 EUR" in text
    assert "§ 33 Abs. 1 Nr. 4 KomHVO NRW" in text


def test_the_einstufung_page_marks_them(session, kreis, app):
    _books(session, kreis)
    add_web_user(session, "olga", "officer", [kreis])
    page = logged_in(app, "olga").get("/r/testland/2023/einstufung").get_data(as_text=True)
    assert page.count("periodenfremd gebucht") >= 2

"""The web page of parked bank entries: listed with what the statement says, booked by an officer
against a counter account, read-only for the auditor; no ids or internals shown."""
from pathlib import Path

import lxml.html

from ledger.core.bank import set_account_iban
from ledger.core.models import JournalEntry
from ledger.read.profiles import get_profile
from ledger.workflows.parked import parked_entries
from tests.conftest import NOW, csrf_token, import_bytes, internal_terms, logged_in

STATEMENT = Path(__file__).parent / "samples" / "camt053" / "auszug_2024-11-28_bis_2024-12-02.xml"
PAGE = "/r/testland/kontoauszug/zurueckgestellt"


def _parked(session, kreis):
    set_account_iban(session, kreis, "1810", "DE89370502990000123456", actor="t", now=NOW)
    session.commit()
    summary = import_bytes(session, kreis, STATEMENT.read_bytes(), STATEMENT.name, created_by="t", now=NOW,
                           profile=get_profile("camt053"))
    session.commit()
    assert summary.parked == 5   # the Land's payout is not recorded here: parked too


def test_the_officer_books_a_parked_entry(app, session, kreis, anna):
    _parked(session, kreis)
    page = anna.get(PAGE)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Inklusionsdienste Rhein-Sieg gGmbH (DE66 3705 0198 0009 8765 43)" in text
    assert "RE 2024-1187 Poolkräfte Schulbegleitung Oktober 2024" in text
    assert "−38.415,20" in text or "-38.415,20" in text
    assert "keine Regel des Importprofils ordnet die Buchung einem Gegenkonto zu" in text
    assert internal_terms(lxml.html.fromstring(text).text_content()) == []   # the visible text
    invoice = next(i for i in parked_entries(session, kreis)
                   if i.parked.counterparty == "Inklusionsdienste Rhein-Sieg gGmbH")
    pid = invoice.parked.id
    form = {"csrf_token": csrf_token(anna, PAGE), f"p{pid}-account": "5291", f"p{pid}-category": "",
            f"p{pid}-cost_centre": "3631-P01", f"p{pid}-school_year": ""}
    response = anna.post(f"{PAGE}/{pid}/buchen", data=form)
    assert response.status_code == 302
    session.rollback()   # a new snapshot: the web wrote in its own transaction
    entry = session.query(JournalEntry).filter_by(voucher_number="2024112904711002").one()
    assert [(p.account.number, p.amount_cents) for p in entry.postings] == [("1810", -3_841_520), ("5291", 3_841_520)]
    assert "RE 2024-1187" not in anna.get(PAGE).get_data(as_text=True)
    assert "RE 2024-1187" in anna.get(PAGE + "?alle=1").get_data(as_text=True)


def test_a_wrong_counter_account_is_shown_at_the_form(app, session, kreis, anna):
    _parked(session, kreis)
    pid = parked_entries(session, kreis)[0].parked.id
    response = anna.post(f"{PAGE}/{pid}/buchen", data={"csrf_token": csrf_token(anna, PAGE), f"p{pid}-account": "",
                                                       f"p{pid}-school_year": "2024"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Bitte ein Gegenkonto wählen." in text and "Schuljahr wie 2024/25 angeben." in text


def test_the_auditor_reads_without_forms(app, session, kreis, anna):
    _parked(session, kreis)
    paul = logged_in(app, "paul")
    text = paul.get(PAGE).get_data(as_text=True)
    assert "Inklusionsdienste Rhein-Sieg gGmbH" in text and "Buchen</button>" not in text
    assert paul.post(f"{PAGE}/1/buchen", data={"csrf_token": csrf_token(paul, PAGE)}).status_code == 403

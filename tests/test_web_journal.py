"""Writing the journal in the web UI: a manual entry (balanced or refused) and a reversal.

Kreis Testland; officer "anna" works on it, auditor "paul" reads it.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from ledger.core.models import JournalEntry
from tests.conftest import csrf_token, login


def _entry_form(client, lines: list[tuple[str, str, str, str]], **fields) -> dict:
    data = {"csrf_token": csrf_token(client, "/r/testland/journal/neu"), "day": "2023-11-15",
            "voucher_number": "M-1", "text": "Honorar Fachtag", "school_year": ""}
    data.update(fields)
    for index, (account, debit, credit, category) in enumerate(lines):
        data.update({f"lines-{index}-account": account, f"lines-{index}-debit": debit,
                     f"lines-{index}-credit": credit, f"lines-{index}-category": category,
                     f"lines-{index}-cost_centre": ""})
    return data


def _entries(session) -> int:
    session.rollback()  # end the read snapshot: see what the web requests committed
    return session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))


def test_a_balanced_manual_entry_is_booked(anna, session):
    response = anna.post("/r/testland/journal/neu",
                         data=_entry_form(anna, [("5292", "1.250,00", "", "training"), ("1810", "", "1.250,00", "")]))
    assert response.status_code == 302
    page = anna.get(response.headers["Location"]).get_data(as_text=True)
    assert "ist gebucht" in page and "M-1" in page and "1.250,00" in page
    assert "Qualifizierung der Schulbegleitungen" in page and "training" not in page
    entry = session.scalar(sa.select(JournalEntry).where(JournalEntry.voucher_number == "M-1"))
    assert (entry.created_by, entry.kind, [p.amount_cents for p in entry.postings]) == (
        "anna", "manual", [125000, -125000])
    assert {p.school_year for p in entry.postings} == {"2023/24"}


def test_an_unbalanced_entry_is_refused_with_the_difference(anna, session):
    response = anna.post("/r/testland/journal/neu",
                         data=_entry_form(anna, [("5292", "1.250,00", "", ""), ("1810", "", "1.200,00", "")]))
    assert response.status_code == 400
    assert "Nicht gebucht: Soll und Haben weichen um 50,00 EUR voneinander ab" in response.get_data(as_text=True)
    assert _entries(session) == 0


@pytest.mark.parametrize("lines, message", [
    ([("5292", "1.250,00", "1.250,00", ""), ("1810", "", "1.250,00", "")], "Zeile 1: bitte entweder Soll oder Haben"),
    ([("", "1.250,00", "", ""), ("1810", "", "1.250,00", "")], "Zeile 1: bitte ein Konto wählen"),
    ([("5292", "zwölf", "", ""), ("1810", "", "12,00", "")], "„zwölf“"),
    ([("5292", "10,00", "", "")], "mindestens zwei Buchungszeilen"),
])
def test_bad_lines_are_named(anna, session, lines, message):
    response = anna.post("/r/testland/journal/neu", data=_entry_form(anna, lines))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _entries(session) == 0


def test_reversal_from_the_entry_page(anna, session):
    anna.post("/r/testland/journal/neu",
              data=_entry_form(anna, [("5292", "800,00", "", "training"), ("1810", "", "800,00", "")]))
    entry_id = session.scalar(sa.select(JournalEntry.id).where(JournalEntry.voucher_number == "M-1"))
    page = anna.get(f"/r/testland/journal/{entry_id}").get_data(as_text=True)
    assert "Buchung %d stornieren" % entry_id in page
    token = csrf_token(anna, f"/r/testland/journal/{entry_id}")
    empty = anna.post(f"/r/testland/journal/{entry_id}/storno", data={"csrf_token": token, "day": "2023-11-20",
                                                                     "reason": ""})
    assert empty.status_code == 400 and "Bitte die Begründung angeben." in empty.get_data(as_text=True)
    asked = anna.post(f"/r/testland/journal/{entry_id}/storno",
                      data={"csrf_token": token, "day": "2023-11-20", "reason": "doppelt gebucht"})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Storno jetzt buchen" in text and "-800,00" in text
    assert "außerhalb des Schuljahres" not in text and _entries(session) == 1       # nothing booked yet
    done = anna.post(f"/r/testland/journal/{entry_id}/storno",
                     data={"csrf_token": token, "day": "2023-11-20", "reason": "doppelt gebucht", "confirmed": "ja"})
    assert done.status_code == 302
    reversal = anna.get(done.headers["Location"]).get_data(as_text=True)
    assert "Diese Buchung ist ein Storno von" in reversal and "stornieren</button>" not in reversal
    assert "-800,00" in reversal                                                     # a reversal's sign
    journal = anna.get("/r/testland/journal").get_data(as_text=True)
    assert f"storniert durch Buchung {entry_id + 1}" in journal
    again = anna.post(f"/r/testland/journal/{entry_id}/storno",
                      data={"csrf_token": token, "day": "2023-11-21", "reason": "nochmals", "confirmed": "ja"})
    assert again.status_code == 400 and "bereits storniert" in again.get_data(as_text=True)
    assert _entries(session) == 2


def test_reversal_date_defaults_to_the_entrys_school_year_and_warns_outside(anna, session):
    from datetime import date

    from webapp.views.journal import default_reversal_day
    anna.post("/r/testland/journal/neu",
              data=_entry_form(anna, [("5292", "800,00", "", "training"), ("1810", "", "800,00", "")]))
    entry = session.scalar(sa.select(JournalEntry).where(JournalEntry.voucher_number == "M-1"))   # 15.11.2023
    assert default_reversal_day(entry, date(2024, 3, 1)) == date(2024, 3, 1)        # within 2023/24
    assert default_reversal_day(entry, date(2024, 8, 1)) == date(2024, 7, 31)       # the year is over
    assert default_reversal_day(entry, date(2023, 7, 31)) == date(2023, 11, 15)     # (clock before the entry)
    token = csrf_token(anna, f"/r/testland/journal/{entry.id}")
    asked = anna.post(f"/r/testland/journal/{entry.id}/storno",
                      data={"csrf_token": token, "day": "2024-08-01", "reason": "doppelt gebucht"})
    assert "liegt außerhalb des Schuljahres 2023/24" in asked.get_data(as_text=True)


def test_journal_filters_by_cost_centre_amount_and_state_and_shows_the_signed_sum(anna, session, kreis):
    from tests.conftest import add_master_data
    add_master_data(session, kreis)
    for number, amount, centre in (("M-1", "800,00", "POOL-A"), ("M-2", "1.200,00", ""), ("M-3", "50,00", "POOL-A")):
        data = _entry_form(anna, [("5292", amount, "", "training"), ("1810", "", amount, "")], voucher_number=number)
        data["lines-0-cost_centre"] = centre
        assert anna.post("/r/testland/journal/neu", data=data).status_code == 302
    first = session.scalar(sa.select(JournalEntry.id).where(JournalEntry.voucher_number == "M-1"))
    token = csrf_token(anna, f"/r/testland/journal/{first}")
    anna.post(f"/r/testland/journal/{first}/storno",
              data={"csrf_token": token, "day": "2023-11-20", "reason": "doppelt gebucht", "confirmed": "ja"})

    def count_and_sum(query):
        text = anna.get("/r/testland/journal?" + query).get_data(as_text=True)
        return re.search(r"(\d+) Buchung(?:en)? \(gefiltert\), Summe (-?[\d.,]+)\xa0€", text).groups()

    # 800,00 + 1.200,00 + 50,00, and M-1's Storno ST-M-1 (−800,00) cancels M-1: 1.250,00
    assert count_and_sum("q=M-") == ("4", "1.250,00")
    assert count_and_sum("kst=POOL-A") == ("3", "50,00")
    assert count_and_sum("betrag_von=100&betrag_bis=1.000,00") == ("2", "0,00")
    assert count_and_sum("stand=reversed") == ("1", "800,00")
    assert count_and_sum("stand=reversal") == ("1", "-800,00")
    assert count_and_sum("stand=active") == ("2", "1.250,00")
    # a school year alone (with dates) is found through the year's postings: the same figures
    assert count_and_sum("year=2023") == ("4", "1.250,00")
    assert count_and_sum("year=2023&to=2023-11-19") == ("3", "2.050,00")       # without the Storno of 20.11.
    assert count_and_sum("year=2023&from=2023-11-20") == ("1", "-800,00")
    bad = anna.get("/r/testland/journal?betrag_von=zwölf&kst=NIRGENDS").get_data(as_text=True)
    assert "kein gültiger Betrag" in bad and "gibt es in den Stammdaten nicht" in bad


def test_auditors_and_other_kreise_cannot_write(app, anna, session):
    auditor = app.test_client()
    login(auditor, "paul")
    assert "Neue Buchung" not in auditor.get("/r/testland/journal").get_data(as_text=True)
    assert auditor.get("/r/testland/journal/neu").status_code == 403
    data = _entry_form(anna, [("5292", "1,00", "", ""), ("1810", "", "1,00", "")],
                       csrf_token=csrf_token(auditor, "/r/testland/journal"))
    assert auditor.post("/r/testland/journal/neu", data=data).status_code == 403
    assert anna.post("/r/testland/journal/neu", data={k: v for k, v in data.items() if k != "csrf_token"}
                     ).status_code == 400
    assert _entries(session) == 0


def test_search_finds_voucher_numbers_and_texts_literally(anna, session):
    for number, text in (("M-1", "Honorar Fachtag 100%"), ("M-2", "Broschüre leichte Sprache"), ("X_9", "Sonstiges")):
        anna.post("/r/testland/journal/neu", data=_entry_form(
            anna, [("5292", "10,00", "", "training"), ("1810", "", "10,00", "")], voucher_number=number, text=text))
    assert _entries(session) == 3

    def found(q):
        page = anna.get("/r/testland/journal", query_string={"q": q}).get_data(as_text=True)
        return sorted(set(re.findall(r">(M-\d|X_9)<", page)))

    assert found("broschüre") == ["M-2"]
    assert found("100%") == ["M-1"]            # % is a character, not a wildcard
    assert found("_") == ["X_9"]
    assert found("m-") == ["M-1", "M-2"]


def test_entry_page_shows_the_classification_with_rule_and_source(anna, session):
    anna.post("/r/testland/journal/neu",
              data=_entry_form(anna, [("5332", "300,00", "", ""), ("1810", "", "300,00", "")]))
    entry_id = session.scalar(sa.select(JournalEntry.id).where(JournalEntry.voucher_number == "M-1"))
    page = anna.get(f"/r/testland/journal/{entry_id}").get_data(as_text=True)
    assert "Einstufung der Ausgaben nach dem Regelwerk" in page
    assert "ausgeschlossen" in page and "Individuelle Ansprüche nach § 54 SGB XII" in page
    assert "zitiert in den Hinweisen zur zweckentsprechenden Verwendung der Inklusionspauschale, Teil I" in page
    assert "Version 2021.1" in page
    assert "category." not in page and "inklfoeg-nrw-hinweise" not in page and "Seed" not in page


def test_a_lost_race_to_reverse_says_already_reversed(anna, session, monkeypatch):
    """Issue 18: two officers reverse the same entry at once; the second one's check ran before
    the first one's commit, so the database's unique reversal refuses it. It reads as German."""
    import ledger.core.posting

    anna.post("/r/testland/journal/neu",
              data=_entry_form(anna, [("5292", "800,00", "", "training"), ("1810", "", "800,00", "")]))
    entry_id = session.scalar(sa.select(JournalEntry.id).where(JournalEntry.voucher_number == "M-1"))
    token = csrf_token(anna, f"/r/testland/journal/{entry_id}")
    data = {"csrf_token": token, "day": "2023-11-20", "reason": "doppelt gebucht", "confirmed": "ja"}
    assert anna.post(f"/r/testland/journal/{entry_id}/storno", data=data).status_code == 302
    monkeypatch.setattr(ledger.core.posting, "find_reversal", lambda _session, _entry: None)  # the race
    late = anna.post(f"/r/testland/journal/{entry_id}/storno", data=data)
    text = late.get_data(as_text=True)
    assert late.status_code == 400 and f"Buchung {entry_id} wurde bereits storniert" in text
    assert "UNIQUE" not in text and "unique" not in text and _entries(session) == 2

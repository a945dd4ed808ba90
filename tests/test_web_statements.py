"""Issued statements: the exact PDF kept with its SHA-256; officers issue after a confirmation and
write the Sachbericht, auditors read.

Worked example: Kreis Testland 2023/24, a grant of 1.000,00 EUR paid out on 16.10.2023 and nothing
spent, so 1.000,00 EUR are to be repaid (Hinweise zur zweckentsprechenden Verwendung der
Inklusionspauschale, Teil II).
"""
from __future__ import annotations

import hashlib
import io
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from ledger.core.grants import add_grant, add_payout
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from tests.conftest import NOW, add_web_user, csrf_token, logged_in

PAGE = "/r/testland/2023/abrechnungen"
CONFIRM = "/r/testland/2023/abrechnungen/ausstellen"


def confirmation_fields(client, page: str = PAGE) -> dict[str, str]:
    """The hidden fields (CSRF token, content fingerprint) of the confirmation page of ``page``'s year."""
    confirmation = client.get(page + "/ausstellen").get_data(as_text=True)
    return dict(re.findall(r'name="(csrf_token|inhalt)" value="([^"]+)"', confirmation))


def confirmed_issue(client, page: str = PAGE):
    """Open the confirmation page of ``page``'s year and press "Jetzt verbindlich ausstellen"; the response."""
    return client.post(page, data=confirmation_fields(client, page))


@pytest.fixture
def kreise(app, session, kreis):
    grant = add_grant(session, kreis, SchoolYear(2023), Decimal("1000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("1000.00"), created_by="test", now=NOW)
    neighbour = add_recipient(session, "nachbar", "Kreis Nachbar", "kreis", actor="test", now=NOW)
    session.commit()
    add_web_user(session, "anna", "officer", recipients=[kreis])
    add_web_user(session, "paul", "auditor", recipients=[kreis])
    add_web_user(session, "bernd", "officer", recipients=[neighbour])
    return kreis


def test_an_officer_issues_and_an_auditor_downloads_the_same_bytes(app, kreise, engine):
    anna = logged_in(app, "anna")
    issued = confirmed_issue(anna)
    assert issued.status_code == 302
    page = anna.get("/r/testland/2023/abrechnungen").get_data(as_text=True)
    assert "Verwendungsnachweis Nr. 1 ausgestellt" in page and "1.000,00" in page

    paul = logged_in(app, "paul")
    listing = paul.get("/r/testland/2023/abrechnungen").get_data(as_text=True)
    assert "ausstellen …" not in listing and "Sachbericht speichern" not in listing
    pdf = paul.get("/r/testland/abrechnung/1.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    digest = hashlib.sha256(pdf.data).hexdigest()
    assert digest in listing
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Kreis Testland" in text and "1.000,00" in text and "Verwendungsnachweis Nr. 1 über die" in text
    assert "ENTWURF" not in text and pdf.headers["Content-Disposition"].endswith('_2023-24_Nr1.pdf"')
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT sha256, created_by FROM issued_statements")).one() == (digest, "anna")
    token = csrf_token(paul, "/r/testland/2023/abrechnungen")
    assert paul.post("/r/testland/2023/abrechnungen", data={"csrf_token": token}).status_code == 403
    assert paul.get(CONFIRM).status_code == 403


def test_issued_statements_of_another_kreis_are_not_found(app, kreise):
    anna = logged_in(app, "anna")
    confirmed_issue(anna)
    bernd = logged_in(app, "bernd")
    assert bernd.get("/r/testland/abrechnung/1.pdf").status_code == 404
    assert bernd.get("/r/nachbar/abrechnung/1.pdf").status_code == 404   # id of another recipient's statement


def test_issued_statements_cannot_be_changed(app, kreise, engine):
    anna = logged_in(app, "anna")
    confirmed_issue(anna)
    for statement in ("UPDATE issued_statements SET sha256 = 'x'", "DELETE FROM issued_statements"):
        with pytest.raises(sa.exc.DatabaseError, match="nie geändert"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))


# --- confirmation, numbers and the identical second issue -------------------------------------


def test_the_confirmation_page_names_what_will_be_issued_and_warns_without_sachbericht(app, kreise, engine):
    anna = logged_in(app, "anna")
    listing = anna.get(PAGE).get_data(as_text=True)
    assert f'action="{CONFIRM}"' in listing and "Verwendungsnachweis 2023/24 ausstellen …" in listing
    page = anna.get(CONFIRM).get_data(as_text=True)
    for fact in ("<dt>Schuljahr</dt><dd>2023/24</dd>", "<dt>Nummer</dt><dd>Nr. 1</dd>", "1.000,00", "1 Buchung<",
                 "<dt>Sachbericht</dt><dd>fehlt</dd>", "noch kein Sachbericht geschrieben",
                 "Jetzt verbindlich ausstellen", "Abbrechen"):
        assert fact in page, fact
    with engine.begin() as conn:
        head = conn.execute(sa.text("SELECT entry_hash FROM journal_entries ORDER BY seq DESC")).scalars().first()
    assert head in page
    assert anna.get(PAGE).status_code == 200   # looking at the confirmation issues nothing
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM issued_statements")).scalar() == 0


def test_a_post_without_the_confirmed_content_only_leads_to_the_confirmation(app, kreise, engine):
    anna = logged_in(app, "anna")
    response = anna.post(PAGE, data={"csrf_token": csrf_token(anna, PAGE)})
    assert response.status_code == 302 and response.headers["Location"].endswith(CONFIRM)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM issued_statements")).scalar() == 0


def test_an_identical_second_issue_is_refused_in_german_and_nothing_is_written(app, kreise, engine):
    anna = logged_in(app, "anna")
    stale = confirmation_fields(anna)
    assert confirmed_issue(anna).status_code == 302
    today = date.today().strftime("%d.%m.%Y")
    page = anna.get(CONFIRM).get_data(as_text=True)
    assert f"Nicht ausstellbar:</strong> Der Verwendungsnachweis 2023/24 wurde mit demselben Inhalt bereits als Nr. 1 am " \
           f"{today} ausgestellt" in page
    assert "Jetzt verbindlich ausstellen" not in page
    refused = anna.post(PAGE, data=stale)   # the same content pressed a second time
    assert refused.status_code == 400
    assert f"bereits als Nr. 1 am {today} ausgestellt" in refused.get_data(as_text=True)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM issued_statements")).scalar() == 1


def test_books_changed_after_the_confirmation_are_not_issued_unseen(app, kreise, session, engine):
    anna = logged_in(app, "anna")
    shown = confirmation_fields(anna)
    grant = add_grant(session, kreise, SchoolYear(2024), Decimal("10.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2024, 10, 15), Decimal("10.00"), created_by="test", now=NOW)  # the chain moves
    session.commit()
    refused = anna.post(PAGE, data=shown)
    assert refused.status_code == 400 and "seit der Bestätigung geändert" in refused.get_data(as_text=True)
    assert confirmed_issue(anna).status_code == 302


def test_the_list_shows_the_number_within_the_year_not_the_database_id(app, kreise, session):
    grant = add_grant(session, kreise, SchoolYear(2022), Decimal("10.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2022, 10, 17), Decimal("10.00"), created_by="test", now=NOW)
    session.commit()
    anna = logged_in(app, "anna")
    assert confirmed_issue(anna, "/r/testland/2022/abrechnungen").status_code == 302   # id 1, Nr. 1 of 2022/23
    assert confirmed_issue(anna).status_code == 302                                    # id 2, Nr. 1 of 2023/24
    listing = anna.get(PAGE).get_data(as_text=True)
    assert '<td class="num">1</td>' in listing and '<td class="num">2</td>' not in listing
    assert 'href="/r/testland/abrechnung/2.pdf">PDF Nr. 1</a>' in listing


# --- the Sachbericht --------------------------------------------------------------------------

REPORT = "Zwei systemische Pools der Schulassistenz an drei Grundschulen.\nFortbildung aller Kräfte im Herbst."


def _save(client, text: str):
    return client.post("/r/testland/2023/sachbericht", data={"csrf_token": csrf_token(client, PAGE), "text": text})


def test_an_officer_writes_versions_of_the_sachbericht_and_the_auditor_reads_them(app, kreise):
    anna = logged_in(app, "anna")
    assert "noch kein Sachbericht geschrieben" in anna.get(PAGE).get_data(as_text=True)
    saved = _save(anna, "Erste Fassung.")
    assert saved.status_code == 302 and saved.headers["Location"].endswith(PAGE + "#sachbericht")
    _save(anna, REPORT)
    unchanged = _save(anna, REPORT)
    page = anna.get(PAGE).get_data(as_text=True)
    assert "unverändert; nichts gespeichert" in page
    assert "Fassung 2 von anna" in page and "(2 Fassungen gespeichert)" in page
    assert 'name="text"' in page and "Fortbildung aller Kräfte im Herbst.</textarea>" in page
    assert "Frühere Fassungen (1)" in page and "Erste Fassung." in page
    assert unchanged.status_code == 302

    paul = logged_in(app, "paul")
    listing = paul.get(PAGE).get_data(as_text=True)
    assert "<textarea" not in listing and "Sachbericht speichern" not in listing
    assert f'<div class="reason-text narrative-text">{REPORT}</div>' in listing
    assert _save(paul, "Prüfer schreibt").status_code == 403
    confirmation = anna.get(CONFIRM).get_data(as_text=True)
    assert "<dt>Sachbericht</dt><dd>geschrieben</dd>" in confirmation and "noch kein Sachbericht" not in confirmation
    assert confirmed_issue(anna).status_code == 302
    pdf = paul.get("/r/testland/abrechnung/1.pdf").data
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Fortbildung aller Kräfte im Herbst." in text and "Verfasst von anna" in text


def test_a_sachbericht_with_control_characters_is_refused_with_the_text_kept(app, kreise, engine):
    anna = logged_in(app, "anna")
    response = _save(anna, "Text mit Glocke \x07")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nicht gespeichert: Der Sachbericht enthält Steuerzeichen: U+0007</h3>" in page
    assert "Text mit Glocke" in page
    assert _save(anna, "   ").status_code == 422
    assert anna.post("/r/testland/2023/sachbericht", data={"text": REPORT}).status_code == 400   # no CSRF token
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM narrative_reports")).scalar() == 0

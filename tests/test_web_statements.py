"""Issued statements: the exact PDF kept with its SHA-256; officers issue, auditors read."""
from __future__ import annotations

import hashlib
import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from ledger.core.grants import add_grant, add_payout
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from tests.conftest import NOW, add_web_user, csrf_token, logged_in


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
    issued = anna.post("/r/testland/2023/abrechnungen", data={"csrf_token": csrf_token(anna, "/r/testland/2023/abrechnungen")})
    assert issued.status_code == 302
    page = anna.get("/r/testland/2023/abrechnungen").get_data(as_text=True)
    assert "Abrechnung Nr. 1 ausgestellt" in page and "1.000,00" in page

    paul = logged_in(app, "paul")
    listing = paul.get("/r/testland/2023/abrechnungen").get_data(as_text=True)
    assert "jetzt ausstellen" not in listing
    pdf = paul.get("/r/testland/abrechnung/1.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    digest = hashlib.sha256(pdf.data).hexdigest()
    assert digest in listing
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Kreis Testland" in text and "1.000,00" in text
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT sha256, created_by FROM issued_statements")).one() == (digest, "anna")
    token = csrf_token(paul, "/r/testland/2023/abrechnungen")
    assert paul.post("/r/testland/2023/abrechnungen", data={"csrf_token": token}).status_code == 403


def test_issued_statements_of_another_kreis_are_not_found(app, kreise):
    anna = logged_in(app, "anna")
    anna.post("/r/testland/2023/abrechnungen", data={"csrf_token": csrf_token(anna, "/r/testland/2023/abrechnungen")})
    bernd = logged_in(app, "bernd")
    assert bernd.get("/r/testland/abrechnung/1.pdf").status_code == 404
    assert bernd.get("/r/nachbar/abrechnung/1.pdf").status_code == 404   # id of another recipient's statement


def test_issued_statements_cannot_be_changed(app, kreise, engine):
    anna = logged_in(app, "anna")
    anna.post("/r/testland/2023/abrechnungen", data={"csrf_token": csrf_token(anna, "/r/testland/2023/abrechnungen")})
    for statement in ("UPDATE issued_statements SET sha256 = 'x'", "DELETE FROM issued_statements"):
        with pytest.raises(sa.exc.DatabaseError, match="nie geändert"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))

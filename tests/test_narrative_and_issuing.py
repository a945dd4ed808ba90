"""The Sachbericht in versions and the numbered, never duplicated issue of the statement of use.

Worked example (both databases): Kreis Testland, school year 2023/24, a grant of 1.500,00 EUR
assessed, 1.000,00 EUR of it paid out on 16.10.2023 and nothing spent, so 1.000,00 EUR are to be repaid (Hinweise zur
zweckentsprechenden Verwendung der Inklusionspauschale, Teil II: what is not used for the
purpose goes back). The first statement issued is Nr. 1; a second payout of 500,00 EUR on
15.01.2024 changes the books (1.500,00 EUR to repay), so the next one is Nr. 2; issuing again
without any change is refused and writes nothing. ANBest-G NRW, Nr. 6: the proof of use
includes a Sachbericht; its versions are kept, the latest counts.
"""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from ledger.core.errors import ImmutableEntry, LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import AuditEvent, IssuedStatement, NarrativeVersion
from ledger.core.narrative import MAX_LENGTH, current_narrative, narrative_history, write_narrative
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import add_user
from ledger.reports.statement import build_statement
from ledger.workflows.closing import close_year
from ledger.workflows.issued import issue_statement, list_issued, preview_issue
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from tests.conftest import NOW

YEAR = SchoolYear(2023)
REPORT = ("Die Inklusionspauschale finanzierte im Schuljahr 2023/24 zwei systemische Pools der "
          "Schulassistenz an drei Grundschulen des Kreises.")


@pytest.fixture
def books(session, kreis):
    """Kreis Testland 2023/24: grant of 1.500,00 EUR, 1.000,00 EUR paid out 16.10.2023; officer anna,
    auditor paul."""
    grant = add_grant(session, kreis, YEAR, Decimal("1500.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("1000.00"), created_by="test", now=NOW)
    add_user(session, "anna", "officer", actor="test", now=NOW, recipients=(kreis,))
    add_user(session, "paul", "auditor", actor="test", now=NOW, recipients=(kreis,))
    session.commit()
    return grant


def _user(session, name):
    from ledger.core.users import get_user

    return get_user(session, name)


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _text(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


# --- the Sachbericht ----------------------------------------------------------------------


def test_every_save_is_a_version_the_latest_counts_and_an_identical_save_changes_nothing(session, kreis, books):
    anna = _user(session, "anna")
    assert current_narrative(session, kreis, YEAR) is None
    first = write_narrative(session, kreis, YEAR, "Entwurf des Sachberichts.\r\nZweite Zeile.  \n", user=anna,
                            now=NOW)
    assert first.text == "Entwurf des Sachberichts.\nZweite Zeile."       # line breaks normalised, end trimmed
    second = write_narrative(session, kreis, YEAR, REPORT, user=anna, now=NOW + timedelta(hours=1))
    events = _count(session, AuditEvent)
    assert write_narrative(session, kreis, YEAR, REPORT + "\n", user=anna, now=NOW + timedelta(hours=2)) is None
    session.commit()

    assert _count(session, NarrativeVersion) == 2 and _count(session, AuditEvent) == events
    assert current_narrative(session, kreis, YEAR) == second
    assert [(v.text, v.written_by, v.written_at) for v in narrative_history(session, kreis, YEAR)] == [
        (REPORT, "anna", NOW + timedelta(hours=1)), ("Entwurf des Sachberichts.\nZweite Zeile.", "anna", NOW)]
    assert current_narrative(session, kreis, SchoolYear(2022)) is None
    assert build_statement(session, kreis, YEAR, now=NOW).narrative == second
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "narrative_write")
                            .order_by(AuditEvent.seq.desc())).first()
    assert '"version":2' in event.details and f'"characters":{len(REPORT)}' in event.details


@pytest.mark.parametrize("text, message", [
    ("   \n\t ", "leer"),
    ("x" * (MAX_LENGTH + 1), "zu lang: 20.001 Zeichen, höchstens 20.000"),
    ("Glocke \x07 und Escape \x1b", r"Steuerzeichen: U\+0007, U\+001B"),
])
def test_a_sachbericht_that_is_empty_too_long_or_holds_control_characters_is_refused(session, kreis, books, text,
                                                                                     message):
    with pytest.raises(LedgerError, match=message):
        write_narrative(session, kreis, YEAR, text, user=_user(session, "anna"), now=NOW)
    assert _count(session, NarrativeVersion) == 0


def test_tabs_and_exactly_the_longest_text_are_accepted_and_auditors_never_write(session, kreis, books):
    text = "Pool\tSchulen\n" + "x" * (MAX_LENGTH - 13)
    assert len(text) == MAX_LENGTH
    assert write_narrative(session, kreis, YEAR, text, user=_user(session, "anna"), now=NOW).text == text
    with pytest.raises(LedgerError, match="paul \\(auditor\\) darf das nicht"):
        write_narrative(session, kreis, YEAR, REPORT, user=_user(session, "paul"), now=NOW)


def test_the_sachbericht_of_a_closed_year_is_not_changed(session, kreis, books):
    """Closing needs the repayment confirmed and paid: 1.000,00 EUR paid on 20.03.2024, before it was
    due (02.04.2024), so no interest is owed."""
    anna = _user(session, "anna")
    write_narrative(session, kreis, YEAR, REPORT, user=anna, now=NOW)
    confirm_repayment(session, kreis, YEAR, day=date(2024, 3, 1), created_by="anna", now=NOW)
    pay_repayment(session, kreis, YEAR, Decimal("1000.00"), day=date(2024, 3, 20), created_by="anna", now=NOW)
    close_year(session, kreis, YEAR, user=anna, now=NOW)
    with pytest.raises(LedgerError, match="2023/24 ist abgeschlossen; der Sachbericht ist nicht mehr änderbar"):
        write_narrative(session, kreis, YEAR, REPORT + " Ergänzt.", user=anna, now=NOW)


# --- numbering and no identical second issue -----------------------------------------------


def test_statements_are_numbered_per_year_and_an_identical_second_issue_is_refused(session, kreis, books):
    anna = _user(session, "anna")
    first = issue_statement(session, kreis, YEAR, user=anna, now=NOW)
    session.commit()
    assert (first.number, first.repayment_due_cents) == (1, 100000)

    preview = preview_issue(session, kreis, YEAR, now=NOW + timedelta(hours=1))
    assert (preview.number, preview.identical.number, preview.has_narrative) == (2, 1, False)
    statements, events = _count(session, IssuedStatement), _count(session, AuditEvent)
    with pytest.raises(LedgerError, match=r"bereits als Nr\. 1 am 22\.11\.2026 ausgestellt"):
        issue_statement(session, kreis, YEAR, user=anna, now=NOW + timedelta(hours=1))
    session.rollback()
    assert (_count(session, IssuedStatement), _count(session, AuditEvent)) == (statements, events)

    add_payout(session, books, date(2024, 1, 15), Decimal("500.00"), created_by="test", now=NOW)  # the books change
    second = issue_statement(session, kreis, YEAR, user=anna, now=NOW + timedelta(hours=2))
    session.commit()
    assert (second.number, second.repayment_due_cents) == (2, 150000)
    assert second.content_sha256 != first.content_sha256
    assert [(i.number, i.repayment_due) for i in list_issued(session, kreis, YEAR)] == [
        (2, Decimal("1500.00")), (1, Decimal("1000.00"))]
    assert "Verwendungsnachweis Nr. 2 über die Inklusionspauschale – Schuljahr 2023/24" in _text(second.pdf)[0]

    other_year = add_grant(session, kreis, SchoolYear(2022), Decimal("10.00"), actor="test", now=NOW)
    add_payout(session, other_year, date(2022, 10, 17), Decimal("10.00"), created_by="test", now=NOW)
    assert issue_statement(session, kreis, SchoolYear(2022), user=anna, now=NOW).number == 1   # its own count


def test_a_new_sachbericht_alone_makes_the_content_new(session, kreis, books):
    anna = _user(session, "anna")
    issue_statement(session, kreis, YEAR, user=anna, now=NOW)
    write_narrative(session, kreis, YEAR, REPORT, user=anna, now=NOW)
    assert preview_issue(session, kreis, YEAR, now=NOW).identical is None
    issued = issue_statement(session, kreis, YEAR, user=anna, now=NOW)
    assert issued.number == 2


def test_a_confirmed_content_that_changed_before_issuing_is_refused(session, kreis, books):
    anna = _user(session, "anna")
    shown = preview_issue(session, kreis, YEAR, now=NOW)
    add_payout(session, books, date(2024, 1, 15), Decimal("500.00"), created_by="test", now=NOW)
    with pytest.raises(LedgerError, match="seit der Bestätigung geändert"):
        issue_statement(session, kreis, YEAR, user=anna, now=NOW, expected_content=shown.content_sha256)
    fresh = preview_issue(session, kreis, YEAR, now=NOW)
    assert issue_statement(session, kreis, YEAR, user=anna, now=NOW,
                           expected_content=fresh.content_sha256).number == 1


def test_the_issued_pdf_carries_its_number_and_no_draft_mark_while_the_draft_says_entwurf(session, kreis, books):
    issued = issue_statement(session, kreis, YEAR, user=_user(session, "anna"), now=NOW)
    pages = _text(issued.pdf)
    assert all("ENTWURF" not in p and "Nr. 1 · Erstellt am 22.11.2026 um 10:00" in p for p in pages)
    draft = build_statement(session, kreis, YEAR, now=NOW)
    assert draft.issue_number is None
    from ledger.write.statement_pdf import render_statement

    assert all("ENTWURF" in p for p in _text(render_statement(draft)))


# --- append-only in the database ------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE narrative_reports SET text = 'geändert'", "DELETE FROM narrative_reports",
    "UPDATE issued_statements SET number = 7", "DELETE FROM issued_statements",
])
def test_the_database_refuses_to_change_or_delete_versions_and_issued_statements(session, engine, kreis, books,
                                                                                 statement):
    anna = _user(session, "anna")
    write_narrative(session, kreis, YEAR, REPORT, user=anna, now=NOW)
    issue_statement(session, kreis, YEAR, user=anna, now=NOW)
    session.commit()
    with pytest.raises(sa.exc.DatabaseError, match="nie geändert"):
        with engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_the_session_refuses_to_change_a_version(session, kreis, books):
    write_narrative(session, kreis, YEAR, REPORT, user=_user(session, "anna"), now=NOW)
    session.commit()
    version = session.scalar(sa.select(NarrativeVersion))
    version.text = "umgeschrieben"
    with pytest.raises(ImmutableEntry):
        session.flush()
    session.rollback()


def test_a_second_statement_with_a_taken_number_is_refused_by_the_database(session, engine, kreis, books):
    issued = issue_statement(session, kreis, YEAR, user=_user(session, "anna"), now=NOW)
    session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO issued_statements (recipient_id, school_year, number, sha256, pdf, created_by, "
                "created_at, chain_seq, chain_hash, repayment_due_cents) VALUES (:r, '2023/24', 1, 'x', :pdf, 'x', "
                ":at, 0, 'x', 0)"), {"r": kreis.id, "pdf": b"%PDF", "at": NOW})
    assert issued.number == 1


def test_an_issued_draft_render_stays_byte_identical_for_equal_data(session, kreis, books):
    """The number is part of the PDF but not of the content: equal data, equal bytes."""
    from ledger.write.statement_pdf import render_statement

    data = build_statement(session, kreis, YEAR, now=NOW)
    assert render_statement(replace(data, issue_number=4)) == render_statement(replace(data, issue_number=4))
    assert render_statement(replace(data, issue_number=4)) != render_statement(data)

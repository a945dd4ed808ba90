"""Tamper evidence: the hash chains reveal edits made around the application.

The attacker here has owner rights on the database and switches the triggers off
(SQLite: drops one; PostgreSQL: ``session_replication_role = replica``) before editing
the books. ``inkl verify`` must then name the first broken link and exit with code 1.
"""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from inkl.demo import load_demo
from ledger.core.chain import verify_chain
from ledger.core.recipients import get_recipient


def tamper(engine, *statements: str, triggers: tuple[str, ...]) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            for trigger in triggers:
                conn.execute(sa.text(f"DROP TRIGGER {trigger}"))
        for statement in statements:
            conn.execute(sa.text(statement))


def demo(session):
    list(load_demo(session, user="demo", now=datetime(2026, 11, 22, 9, 0)))
    session.commit()


def test_intact_books_verify(session, cli):
    demo(session)
    report = json.loads(cli("verify", "--json").output)
    assert report["ok"] is True
    journals = {j["recipient"]: j for j in report["journals"]}
    assert journals["musterhausen"]["entries"] == journals["musterhausen"]["head"]["seq"] == 82
    assert report["audit_log"]["ok"] and report["audit_log"]["events"] > 20


def test_changed_amount_is_found_at_its_entry(session, engine, cli):
    demo(session)
    entry_id, seq = session.execute(sa.text(
        "SELECT id, seq FROM journal_entries WHERE voucher_number = 'ER-2024-0205'")).one()
    session.close()
    tamper(engine, f"UPDATE postings SET amount_cents = amount_cents / 2 WHERE entry_id = {entry_id}",
           triggers=("inkl_postings_no_update",))
    result = cli("verify", "--recipient", "musterhausen", "--json", expect=1)
    broken = json.loads(result.stdout)["journals"][0]["broken"]
    assert broken == {"seq": seq, "entry_id": entry_id,
                      "reason": "Inhalt der Buchung oder ihrer Buchungszeilen wurde verändert"}
    assert "Hash-Kette gebrochen" in result.stderr


def test_deleted_entry_breaks_the_next_link(session, engine):
    demo(session)
    recipient = get_recipient(session, "musterhausen")
    entry_id, seq = session.execute(sa.text(
        "SELECT id, seq FROM journal_entries WHERE recipient_id = :r AND seq = 40"), {"r": recipient.id}).one()
    session.rollback()
    tamper(engine, f"DELETE FROM imported_rows WHERE entry_id = {entry_id}",
           f"DELETE FROM postings WHERE entry_id = {entry_id}", f"DELETE FROM journal_entries WHERE id = {entry_id}",
           triggers=("inkl_imported_rows_no_delete", "inkl_postings_no_delete", "inkl_journal_entries_no_delete"))
    report = verify_chain(session, recipient)
    assert (report.ok, report.broken_seq) == (False, 41)
    assert "Lücke" in report.reason


def test_changed_audit_log_is_found(session, engine, cli):
    demo(session)
    session.close()
    tamper(engine, "UPDATE audit_log SET actor = 'jemand anders' WHERE seq = 3", triggers=("inkl_audit_log_no_update",))
    report = json.loads(cli("verify", "--json", expect=1).stdout)
    assert report["journals"][0]["ok"] and report["audit_log"]["broken"]["seq"] == 3


def test_statement_prints_the_head_that_verify_reports(session, cli, tmp_path):
    from pypdf import PdfReader

    demo(session)
    head = json.loads(cli("verify", "--recipient", "musterhausen", "--json").output)["journals"][0]["head"]
    pdf = tmp_path / "abrechnung.pdf"
    cli("statement", "--recipient", "musterhausen", "--school-year", "2023/24", "-o", pdf)
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages).replace("\n", "")
    assert head["hash"] in text and f"{head['seq']} Buchungen" in text

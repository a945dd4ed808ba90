"""Tamper evidence beyond the chains: heads kept outside the database, every stored column covered.

The attacker has owner rights and switches every trigger off (SQLite: drops them all and
edits the file without foreign keys; PostgreSQL: ``session_replication_role = replica``,
which also switches off the foreign keys). Deleting the newest entries, a whole journal,
the last audit events or all books, or rewriting a chain with every hash recomputed leaves
each chain consistent on its own: only a head recorded elsewhere (a heads file, a backup,
an issued statement) reveals it. ``inkl verify --against FILE`` must name each such head
as gone or changed and exit with code 1; appending since is fine.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from inkl.demo import load_demo
from ledger.core.chain import GENESIS, link_hash
from ledger.core.running_totals import rebuild
from ledger.core.users import add_user

NOW = datetime(2026, 11, 22, 9, 0)
KEY = "musterhausen"


def tamper(engine, *statements: str) -> None:
    """Run ``statements`` as an owner who has switched off every trigger and foreign key, and who
    then recomputes the kept account totals from the postings left, so that they give nothing
    away (``inkl verify`` compares them with the postings): only the chains and their heads do."""
    _run_as_owner(engine, *statements)
    with Session(engine) as session:
        rebuild(session)
        session.commit()


def _run_as_owner(engine, *statements: str) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                conn.execute(sa.text(statement))
        return
    engine.dispose()
    conn = sqlite3.connect(engine.url.database, isolation_level=None)  # foreign keys off, as sqlite3 starts
    try:
        conn.execute("BEGIN")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        for statement in statements:
            conn.execute(statement)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.fixture
def books(session):
    """The demo books with an officer for the command line (``INKL_USER``); returns musterhausen's id."""
    list(load_demo(session, user="demo", now=NOW))
    add_user(session, "test-officer", "officer", actor="test", now=NOW)
    session.commit()
    recipient_id = session.scalar(sa.text("SELECT id FROM recipients WHERE key = :k"), {"k": KEY})
    session.close()
    return recipient_id


def heads_file(cli, tmp_path, name="heads.json"):
    path = tmp_path / name
    cli("heads", "export", "-o", path)
    return path


def verify_against(cli, path, expect):
    result = cli("verify", "--against", path, "--json", expect=expect)
    return json.loads(result.stdout), result


def states(report) -> dict[str, str]:
    return {head["name"]: head["state"] for head in report["against"]["heads"]}


def entries_of(recipient_id: int, where: str = "TRUE") -> str:
    return f"(SELECT id FROM journal_entries WHERE recipient_id = {recipient_id} AND {where})"


def delete_entries(recipient_id: int, where: str = "TRUE") -> list[str]:
    """Statements deleting the recipient's entries matching ``where`` and every row pointing to them."""
    ids = entries_of(recipient_id, where)
    postings = f"(SELECT id FROM postings WHERE entry_id IN {ids})"
    return [f"DELETE FROM classification_overrides WHERE posting_id IN {postings}",
            f"DELETE FROM classifications WHERE posting_id IN {postings}",
            *(f"DELETE FROM {table} WHERE entry_id IN {ids}" for table in (
                "imported_rows", "payouts", "allocation_claims", "allocation_commitments", "allocation_payments",
                "budget_advances", "pass_through_claims", "postings")),
            f"UPDATE journal_entries SET reverses_id = NULL WHERE reverses_id IN {ids}",
            f"DELETE FROM journal_entries WHERE id IN {ids}"]


def test_intact_books_verify_against_their_heads_file_and_after_appending(books, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "inkl-heads" and len(document["sha256"]) == 64
    assert document["heads"][f"journal:{KEY}"]["seq"] == 82 and document["heads"]["audit"]["seq"] > 20
    assert document["database"] in ("sqlite", "postgresql")
    report, _ = verify_against(cli, path, expect=0)
    assert report["ok"] and set(states(report).values()) == {"unchanged"}
    assert len(report["against"]["heads"]) == len(document["heads"])

    cli("reverse", str(_an_entry_id(cli)), "--recipient", KEY, "--reason", "Nachtrag", "--date", "2024-07-31")
    report, _ = verify_against(cli, path, expect=0)
    assert report["ok"] and states(report)[f"journal:{KEY}"] == "unchanged"
    journal = next(j for j in report["journals"] if j["recipient"] == KEY)
    assert journal["head"]["seq"] == 83
    text = cli("verify", "--against", path).stdout
    assert "Aufgezeichnete Kettenköpfe (Kopfdatei vom" in text and f"Buchungskette {KEY}: Kopf Nr. 82" in text


def _an_entry_id(cli) -> int:
    from inkl.cli import _engine

    with _engine().connect() as conn:
        return conn.scalar(sa.text(
            "SELECT e.id FROM journal_entries e JOIN recipients r ON r.id = e.recipient_id "
            "WHERE r.key = :k AND e.kind = 'import' ORDER BY e.seq DESC LIMIT 1"),
            {"k": KEY})


def test_deleted_newest_entries_are_gone(books, engine, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    tamper(engine, *delete_entries(books, "seq > 79"))
    plain = json.loads(cli("verify", "--recipient", KEY, "--json").stdout)
    assert plain["journals"][0]["ok"] and plain["journals"][0]["head"]["seq"] == 79  # the chain alone holds
    report, result = verify_against(cli, path, expect=1)
    assert states(report)[f"journal:{KEY}"] == "gone"
    assert {s for name, s in states(report).items() if name != f"journal:{KEY}"} == {"unchanged"}
    gone = next(h for h in report["against"]["heads"] if h["name"] == f"journal:{KEY}")
    assert (gone["recorded"]["seq"], gone["current"]["seq"]) == (82, 79)
    assert "Kettenköpfe fehlen oder wurden verändert" in result.stderr
    text = cli("verify", "--against", path, expect=1).stdout
    assert f"Buchungskette {KEY}: aufgezeichneter Kopf Nr. 82" in text and "fehlt" in text


def test_deleted_journal_of_a_recipient_is_gone(books, engine, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    tamper(engine, *delete_entries(books))
    report, _ = verify_against(cli, path, expect=1)
    assert states(report)[f"journal:{KEY}"] == "gone"
    assert report["journals"] and all(j["ok"] for j in report["journals"])


def test_deleted_recipient_with_its_journal_is_gone(books, engine, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    tamper(engine, *delete_entries(books), f"DELETE FROM audit_log WHERE recipient_id = {books}",
           f"UPDATE audit_log SET recipient_id = NULL WHERE recipient_id = {books}")
    report, _ = verify_against(cli, path, expect=1)
    assert states(report)[f"journal:{KEY}"] == "gone"


def test_deleted_last_audit_events_are_gone(books, engine, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    tamper(engine, "DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 3 FROM audit_log)")
    plain = json.loads(cli("verify", "--json").stdout)
    assert plain["ok"]  # the shortened log is consistent on its own
    report, _ = verify_against(cli, path, expect=1)
    assert states(report)["audit"] == "gone"
    assert {s for name, s in states(report).items() if name != "audit"} == {"unchanged"}


def test_deleted_books_are_gone(books, engine, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    recipients = [books, *_other_recipients(engine, books)]
    tamper(engine, *(s for r in recipients for s in delete_entries(r)), "DELETE FROM audit_log",
           "DELETE FROM record_versions")
    report, _ = verify_against(cli, path, expect=1)
    recorded = json.loads(path.read_text(encoding="utf-8"))["heads"]
    expected = {name: "gone" if head["seq"] else "unchanged" for name, head in recorded.items()}
    assert states(report) == expected and list(expected.values()).count("gone") >= 3


def _other_recipients(engine, recipient_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT id FROM recipients WHERE id <> :r"), {"r": recipient_id}))


def test_changed_posting_date_is_a_broken_link(books, engine, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    with engine.connect() as conn:
        entry_id, seq = conn.execute(sa.text(
            "SELECT id, seq FROM journal_entries WHERE voucher_number = 'ER-2024-0205'")).one()
    tamper(engine, f"UPDATE postings SET date = '2024-09-01' WHERE entry_id = {entry_id}")
    result = cli("verify", "--recipient", KEY, "--json", expect=1)
    broken = json.loads(result.stdout)["journals"][0]["broken"]
    assert broken == {"seq": seq, "entry_id": entry_id,
                      "reason": "Datum einer Buchungszeile weicht vom Datum der Buchung ab"}
    assert "Hash-Kette gebrochen" in result.stderr
    report, _ = verify_against(cli, path, expect=1)
    assert not report["ok"] and set(states(report).values()) == {"unchanged"}


def test_posting_moved_to_another_recipients_account_of_the_same_number_is_a_broken_link(books, engine, cli):
    with engine.connect() as conn:
        posting_id, entry_id, other = conn.execute(sa.text(
            "SELECT p.id, p.entry_id, o.id FROM postings p JOIN accounts a ON a.id = p.account_id "
            "JOIN accounts o ON o.number = a.number AND o.recipient_id <> a.recipient_id "
            "WHERE a.recipient_id = :r ORDER BY p.id LIMIT 1"), {"r": books}).one()
    tamper(engine, f"UPDATE postings SET account_id = {other} WHERE id = {posting_id}")
    broken = json.loads(cli("verify", "--recipient", KEY, "--json", expect=1).stdout)["journals"][0]["broken"]
    assert (broken["entry_id"], broken["reason"]) == (entry_id, "Buchungszeile steht auf dem Konto eines anderen Empfängers")


def test_posting_without_entry_is_found(books, engine, cli):
    with engine.connect() as conn:
        posting_id = conn.scalar(sa.text("SELECT MIN(id) FROM postings"))
    tamper(engine, f"UPDATE postings SET entry_id = 999999 WHERE id = {posting_id}")
    result = cli("verify", "--json", expect=1)
    stray = json.loads(result.stdout)["postings_without_entry"]
    assert stray == {"count": 1, "ids": [posting_id]}
    assert "1 Buchungszeile ohne Buchung" in cli("verify", expect=1).stdout


def test_rewritten_chain_is_changed(books, engine, session, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    updates = _rewrite(session, books, from_seq=40, text="umgeschrieben")
    session.close()
    tamper(engine, *updates)
    plain = json.loads(cli("verify", "--recipient", KEY, "--json").stdout)
    assert plain["journals"][0]["ok"]  # recomputed consistently: the chain alone holds
    report, result = verify_against(cli, path, expect=1)
    assert states(report)[f"journal:{KEY}"] == "changed"
    assert "Kettenköpfe fehlen oder wurden verändert" in result.stderr
    assert "Eintrag Nr. 82 hat nicht mehr den aufgezeichneten SHA-256" in cli("verify", "--against", path, expect=1).stdout


def _rewrite(session, recipient_id: int, *, from_seq: int, text: str) -> list[str]:
    """UPDATE statements giving entry ``from_seq`` a new text and every link a recomputed hash."""
    key = session.scalar(sa.text("SELECT key FROM recipients WHERE id = :r"), {"r": recipient_id})
    rows = session.execute(sa.text(
        "SELECT id, seq, date, voucher_number, text, kind, created_by, created_at, reverses_id, prev_hash "
        "FROM journal_entries WHERE recipient_id = :r ORDER BY seq"), {"r": recipient_id}).all()
    hashes: dict[int, str] = {}
    prev, updates = GENESIS, []
    for row in rows:
        postings = session.execute(sa.text(
            "SELECT a.number, p.amount_cents, p.school_year, p.category, p.cost_centre FROM postings p "
            "JOIN accounts a ON a.id = p.account_id WHERE p.entry_id = :e ORDER BY p.id"), {"e": row.id}).all()
        day = row.date if not isinstance(row.date, str) else datetime.fromisoformat(row.date).date()
        created = row.created_at if not isinstance(row.created_at, str) else datetime.fromisoformat(row.created_at)
        entry_text = text if row.seq == from_seq else row.text
        new = link_hash(prev, recipient_key=key, seq=row.seq, day=day, voucher_number=row.voucher_number,
                        text=entry_text, kind=row.kind, created_by=row.created_by, created_at=created,
                        reverses_hash=None if row.reverses_id is None else hashes[row.reverses_id],
                        postings=[tuple(p) for p in postings])
        hashes[row.id] = new
        if row.seq >= from_seq:
            updates.append(f"UPDATE journal_entries SET text = '{entry_text}', prev_hash = '{prev}', "
                           f"entry_hash = '{new}' WHERE id = {row.id}")
        prev = new
    return updates


def test_heads_file_edited_by_hand_is_refused(books, cli, tmp_path):
    path = heads_file(cli, tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["heads"][f"journal:{KEY}"]["seq"] = 80
    path.write_text(json.dumps(document), encoding="utf-8")
    result = cli("verify", "--against", path, expect=1)
    assert "Kopfdatei beschädigt oder verändert" in result.stderr


def test_against_a_backup(books, engine, cli, tmp_path):
    backup = tmp_path / "sicherung.inkl.gz"
    cli("backup", backup)
    report, _ = verify_against(cli, backup, expect=0)
    assert report["against"]["kind"] == "Sicherung" and set(states(report).values()) == {"unchanged"}
    assert f"journal:{KEY}" in states(report) and "audit" in states(report)
    tamper(engine, *delete_entries(books, "seq > 80"))
    report, _ = verify_against(cli, backup, expect=1)
    assert states(report)[f"journal:{KEY}"] == "gone"


def test_against_an_issued_statement(books, engine, session, cli, tmp_path):
    pdf = tmp_path / "verwendungsnachweis.pdf"
    issued = json.loads(cli("statement-issue", "--recipient", KEY, "--school-year", "2023/24", "--yes", "-o", pdf,
                            "--json").stdout)
    report, _ = verify_against(cli, pdf, expect=0)
    assert report["against"]["kind"] == "Verwendungsnachweis"
    assert report["against"]["heads"] == [{
        "name": f"journal:{KEY}", "source": "Verwendungsnachweis", "state": "unchanged", "ok": True,
        "recorded": {"seq": issued["chain_seq"], "hash": issued["chain_hash"]},
        "current": {"seq": issued["chain_seq"], "hash": issued["chain_hash"]}}]
    updates = _rewrite(session, books, from_seq=1, text="umgeschrieben")
    session.close()
    tamper(engine, *updates)
    report, _ = verify_against(cli, pdf, expect=1)
    assert states(report) == {f"journal:{KEY}": "changed"}
    # the issued statement's row in the database records the same head, so verify finds it without the file
    plain = json.loads(cli("verify", "--recipient", KEY, "--json", expect=1).stdout)
    assert plain["journals"][0]["ok"] and [s["state"] for s in plain["issued_statements"]] == ["changed"]


def test_deleted_newest_versions_of_master_data_are_gone(books, engine, cli, tmp_path):
    """The versions of master data and decisions are the third chain a heads file records:
    deleting the newest version is found against it."""
    path = heads_file(cli, tmp_path)
    recorded = json.loads(path.read_text(encoding="utf-8"))["heads"]
    assert recorded["history"]["seq"] > 0
    tamper(engine, "DELETE FROM record_versions WHERE seq = (SELECT MAX(seq) FROM record_versions)")
    report, _ = verify_against(cli, path, expect=1)
    assert states(report)["history"] == "gone"
    assert {s for name, s in states(report).items() if name != "history"} == {"unchanged"}

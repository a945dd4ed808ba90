"""The database itself enforces the ledger's invariants (migration 0002).

Every test bypasses the ORM and the core with raw SQL, as a careless script or a
direct database edit would, and shows that SQLite and PostgreSQL refuse it. Each
rule has a control case that the database accepts, so a refusal is not an accident.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from ledger.core.chain import GENESIS
from tests.conftest import NOW

CREATED = datetime(2026, 11, 22, 10, 0)


def ids(conn, recipient_key="testland"):
    """Recipient id and the ids of its accounts 5291 (pool), 1810 (bank)."""
    rid = conn.execute(sa.text("SELECT id FROM recipients WHERE key = :k"), {"k": recipient_key}).scalar_one()
    acc = dict(conn.execute(sa.text("SELECT number, id FROM accounts WHERE recipient_id = :r"), {"r": rid}).all())
    return rid, acc["5291"], acc["1810"]


def raw_entry(conn, *, entry_id, recipient_id, postings, seq=1, prev_hash=GENESIS, day=date(2023, 10, 1),
              entry_hash=None, posting_day=None):
    """Insert postings, then their entry, as the application does (postings first)."""
    for account_id, cents, year in postings:
        conn.execute(sa.text("INSERT INTO postings (entry_id, account_id, amount_cents, school_year, date) "
                             "VALUES (:e, :a, :c, :y, :d)"),
                     {"e": entry_id, "a": account_id, "c": cents, "y": year, "d": posting_day or day})
    conn.execute(sa.text(
        "INSERT INTO journal_entries (id, recipient_id, date, voucher_number, text, kind, created_by, created_at, "
        "seq, prev_hash, entry_hash) VALUES (:id, :r, :d, :v, 'roh', 'manual', 'sql', :c, :s, :p, :h)"),
        {"id": entry_id, "r": recipient_id, "d": day, "v": f"R-{entry_id}", "c": CREATED, "s": seq,
         "p": prev_hash, "h": entry_hash or f"{entry_id:064x}"})


def refused(engine, statement, message: str):
    """Run ``statement(conn)`` in a transaction; the database must refuse it (at the latest at commit)."""
    with pytest.raises(sa.exc.IntegrityError, match=message):
        with engine.begin() as conn:
            statement(conn)


@pytest.fixture
def books(engine, kreis):
    """One balanced entry (id 1, seq 1) posted by raw SQL: 100,00 EUR pool personnel paid from the bank."""
    with engine.begin() as conn:
        rid, pool, bank = ids(conn)
        raw_entry(conn, entry_id=1, recipient_id=rid, postings=[(pool, 10000, "2023/24"), (bank, -10000, "2023/24")])
    return rid, pool, bank


def test_balanced_entry_is_accepted(engine, books):
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT SUM(amount_cents) FROM postings WHERE entry_id = 1")).scalar_one() == 0


def test_unbalanced_entry_is_refused(engine, books):
    rid, pool, bank = books
    refused(engine, lambda c: raw_entry(c, entry_id=2, recipient_id=rid, seq=2, prev_hash=f"{1:064x}",
                                        postings=[(pool, 10000, "2023/24"), (bank, -9999, "2023/24")]),
            "unausgeglichen")


def test_postings_must_carry_their_entry_date(engine, books):
    rid, pool, bank = books
    refused(engine, lambda c: raw_entry(c, entry_id=2, recipient_id=rid, seq=2, prev_hash=f"{1:064x}",
                                        postings=[(pool, 500, "2023/24"), (bank, -500, "2023/24")],
                                        posting_day=date(2023, 10, 2)), "Datum ihrer Buchung")


def test_entry_without_postings_is_refused(engine, books):
    """Sums to zero, but has no postings: the count rule alone refuses it."""
    rid, _, _ = books
    refused(engine, lambda c: raw_entry(c, entry_id=2, recipient_id=rid, seq=2, prev_hash=f"{1:064x}",
                                        postings=[]), "unausgeglichen")


def test_postings_without_an_entry_fail_at_commit(engine, books):
    _, pool, bank = books
    def orphans(conn):
        conn.execute(sa.text("INSERT INTO postings (entry_id, account_id, amount_cents, school_year) "
                             "VALUES (99, :a, 5, '2023/24'), (99, :b, -5, '2023/24')"), {"a": pool, "b": bank})
    refused(engine, orphans, "(?i)foreign key")


def test_posting_cannot_be_added_to_a_posted_entry(engine, books):
    _, pool, _ = books
    refused(engine, lambda c: c.execute(sa.text(
        "INSERT INTO postings (entry_id, account_id, amount_cents, school_year) VALUES (1, :a, 1, '2023/24')"),
        {"a": pool}), "gebuchten Buchung")


def test_zero_amount_is_refused(engine, books):
    rid, pool, bank = books
    refused(engine, lambda c: raw_entry(c, entry_id=2, recipient_id=rid, seq=2, prev_hash=f"{1:064x}",
                                        postings=[(pool, 0, "2023/24"), (bank, 0, "2023/24")]), "(?i)ck_posting_nonzero|check")


@pytest.mark.parametrize("statement", [
    "UPDATE journal_entries SET text = 'geändert' WHERE id = 1",
    "UPDATE journal_entries SET date = '2023-10-02' WHERE id = 1",
    "UPDATE postings SET amount_cents = amount_cents * 2",
    "DELETE FROM postings WHERE entry_id = 1",
    "DELETE FROM journal_entries WHERE id = 1",
    "UPDATE audit_log SET actor = 'jemand'",
    "DELETE FROM audit_log",
])
def test_books_and_logs_cannot_be_updated_or_deleted(engine, books, statement):
    refused(engine, lambda c: c.execute(sa.text(statement)), "nie geändert")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT text FROM journal_entries WHERE id = 1")).scalar_one() == "roh"


def test_truncate_is_refused_on_postgresql(engine, books):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    refused(engine, lambda c: c.execute(sa.text("TRUNCATE postings, journal_entries CASCADE")), "nie geändert")


def test_foreign_account_is_refused(engine, books, session):
    from ledger.core.recipients import add_recipient
    add_recipient(session, "anderer-kreis", "Anderer Kreis", "kreis", actor="test", now=NOW)
    session.commit()
    rid, pool, _ = books
    with engine.connect() as conn:
        _, _, other_bank = ids(conn, "anderer-kreis")
    refused(engine, lambda c: raw_entry(c, entry_id=2, recipient_id=rid, seq=2, prev_hash=f"{1:064x}",
                                        postings=[(pool, 10, "2023/24"), (other_bank, -10, "2023/24")]),
            "anderen Empfängers")


@pytest.mark.parametrize("seq, prev_hash", [(2, "a" * 64), (3, f"{1:064x}"), (1, GENESIS)])
def test_hash_chain_cannot_fork_skip_or_relink(engine, books, seq, prev_hash):
    rid, pool, bank = books
    refused(engine, lambda c: raw_entry(c, entry_id=2, recipient_id=rid, seq=seq, prev_hash=prev_hash,
                                        postings=[(pool, 10, "2023/24"), (bank, -10, "2023/24")]),
            "Hash-Kette|uq_entry_seq|UNIQUE|unique")


def test_correct_next_link_is_accepted(engine, books):
    rid, pool, bank = books
    with engine.begin() as conn:
        raw_entry(conn, entry_id=2, recipient_id=rid, seq=2, prev_hash=f"{1:064x}",
                  postings=[(pool, 10, "2023/24"), (bank, -10, "2023/24")])


def close(conn, rid, year="2022/23", action="close"):
    start = int(year[:4])
    conn.execute(sa.text(
        "INSERT INTO period_events (recipient_id, school_year, first_day, last_day, action, actor, reason, created_at) "
        "VALUES (:r, :y, :f, :l, :a, 'sql', '', :c)"),
        {"r": rid, "y": year, "f": date(start, 8, 1), "l": date(start + 1, 7, 31), "a": action, "c": CREATED})


def test_closed_school_year_accepts_no_entries(engine, books):
    rid, pool, bank = books
    with engine.begin() as conn:
        close(conn, rid)
    dated_in_closed = dict(entry_id=2, recipient_id=rid, seq=2, prev_hash=f"{1:064x}", day=date(2023, 3, 1),
                           postings=[(pool, 10, "2023/24"), (bank, -10, "2023/24")])
    posting_of_closed = dict(dated_in_closed, day=date(2023, 9, 1),
                             postings=[(pool, 10, "2022/23"), (bank, -10, "2023/24")])
    refused(engine, lambda c: raw_entry(c, **dated_in_closed), "abgeschlossen")
    refused(engine, lambda c: raw_entry(c, **posting_of_closed), "abgeschlossen")
    refused(engine, lambda c: c.execute(sa.text("UPDATE period_events SET action = 'reopen'")), "nie geändert")
    with engine.begin() as conn:
        close(conn, rid, action="reopen")
        raw_entry(conn, **dated_in_closed)  # re-opened: accepted


def test_audit_log_chain_is_linked(engine, books):
    """The audit log (written by add_recipient) refuses an event that does not link to the previous one."""
    def unlinked(conn):
        conn.execute(sa.text("INSERT INTO audit_log (seq, actor, action, details, created_at, prev_hash, entry_hash) "
                             "VALUES (2, 'sql', 'x', '{}', :c, :p, :h)"), {"c": CREATED, "p": "b" * 64, "h": "c" * 64})
    refused(engine, unlinked, "Hash-Kette")


def test_pass_through_verification_evidence_cannot_be_changed(engine, session, kreis):
    from ledger.workflows.masterdata import add
    add(session, kreis, "municipality", {"Name": "Stadt Lindental", "Träger von GL-Schulen": "ja",
                                         "Geprüft am": "12.09.2023", "Nachweis": "Az. 40.3/2023-17",
                                         "Geprüft von": "Schulamt"}, actor="test", now=NOW)
    session.commit()
    refused(engine, lambda c: c.execute(sa.text("UPDATE pass_through_verifications SET verified_on = '2023-01-01'")),
            "nie geändert")
    refused(engine, lambda c: c.execute(sa.text("DELETE FROM pass_through_verifications")), "nie geändert")

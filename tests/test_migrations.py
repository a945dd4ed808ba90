"""The schema comes from Alembic: the migrations match the models and downgrade cleanly."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.core import db
from ledger.core.models import Base


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(database_url, engine):
    engine.dispose()
    db.downgrade(database_url, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(database_url)
    engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= set(sa.inspect(engine).get_table_names())


def test_0025_records_the_decision_tables_of_its_own_revision(database_url, engine, monkeypatch):
    """A decision table added by a later revision does not exist when 0025 runs on a new
    database: 0025 names its own tables instead of today's ``DECISION_TABLES``."""
    from ledger.core import history

    engine.dispose()
    db.downgrade(database_url, "0024")
    monkeypatch.setitem(history.DECISION_TABLES, "a_later_decision_table", "Spätere Tabelle")
    db.upgrade(database_url)
    engine.dispose()
    assert "record_versions" in sa.inspect(engine).get_table_names()


def test_downgrade_of_0002_removes_the_triggers_and_upgrade_restores_them(database_url, engine, kreis):
    """The invariants live in migration 0002: without it a raw UPDATE passes, with it it is refused."""
    update = sa.text("UPDATE audit_log SET actor = 'geändert'")
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(update)
    engine.dispose()
    db.downgrade(database_url, "0001")
    with engine.begin() as conn:
        conn.execute(update)
    engine.dispose()
    db.upgrade(database_url)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(update)


# --- 0012: grants carry their funding programme ------------------------------------------


def _grant_with_payout(session, recipient):
    """A committed grant of 2023/24 (1.000,00 EUR) with a booked payout; the grant's id."""
    from datetime import date
    from decimal import Decimal

    from ledger.core.grants import add_grant, add_payout
    from ledger.core.schoolyear import SchoolYear
    from tests.conftest import NOW

    grant = add_grant(session, recipient, SchoolYear(2023), Decimal("1000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("1000.00"), created_by="test", now=NOW)
    session.commit()
    return grant.id


def _insert_grant(conn, recipient_id: int, programme: str | None = None) -> None:
    columns = {"recipient_id": recipient_id, "school_year": "2023/24", "assessed_cents": 500}
    if programme is not None:
        columns["programme"] = programme
    names = ", ".join(columns)
    conn.execute(sa.text(f"INSERT INTO grants ({names}) VALUES ({', '.join(':' + n for n in columns)})"), columns)


def test_0012_fills_the_programme_of_existing_grants_and_keeps_their_payouts(database_url, engine, session, kreis):
    grant_id = _grant_with_payout(session, kreis)
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0011")
    assert "programme" not in {c["name"] for c in sa.inspect(engine).get_columns("grants")}
    with pytest.raises(sa.exc.IntegrityError):  # 0011: one grant per recipient and school year
        with engine.begin() as conn:
            _insert_grant(conn, kreis.id)
    engine.dispose()

    db.upgrade(database_url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT id, programme FROM grants")).all() == [(grant_id, "inklusionspauschale")]
        assert conn.execute(sa.text("SELECT grant_id FROM payouts")).scalars().all() == [grant_id]
        if engine.dialect.name == "sqlite":
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        _insert_grant(conn, kreis.id, "kreis_zuweisung")  # another programme, same recipient and year
    with pytest.raises(sa.exc.IntegrityError):  # the same programme twice
        with engine.begin() as conn:
            _insert_grant(conn, kreis.id, "kreis_zuweisung")
    with pytest.raises(sa.exc.IntegrityError):  # payouts stay append-only (migration 0002's triggers)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE payouts SET amount_cents = 1"))
    engine.dispose()


def test_0012_downgrade_refuses_grants_of_other_programmes(database_url, engine, session, kreis):
    _grant_with_payout(session, kreis)
    session.close()
    with engine.begin() as conn:
        _insert_grant(conn, kreis.id, "kreis_zuweisung")
    engine.dispose()
    with pytest.raises(RuntimeError, match="1 grant"):
        db.downgrade(database_url, "0011")
    engine.dispose()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM grants WHERE programme = 'kreis_zuweisung'"))
    engine.dispose()
    db.downgrade(database_url, "0011")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT school_year, assessed_cents FROM grants")).all() == [("2023/24", 100000)]
    engine.dispose()
    db.upgrade(database_url)


# --- 0013: agreements carry their own terms; the Land's notices ------------------------------


def test_0013_keeps_an_existing_agreement_in_force_and_downgrades_cleanly(database_url, engine, session, kreis):
    """An agreement recorded before 0013 decided the figures, so it comes back in force and
    without an agreed repayment (the deemed-conform rule applies); the downgrade keeps it."""
    from decimal import Decimal

    from ledger.core.agreements import add_agreement
    from ledger.core.schoolyear import SchoolYear
    from tests.conftest import NOW

    add_agreement(session, kreis, SchoolYear(2020), deemed_conform=Decimal("422362.00"), reference="§ 1",
                  created_by="test", now=NOW)
    session.commit()
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0012")
    assert "notices" not in sa.inspect(engine).get_table_names()
    assert "status" not in {c["name"] for c in sa.inspect(engine).get_columns("agreements")}
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT school_year, deemed_conform_cents, reference FROM agreements")).all() == [
            ("2020/21", 42236200, "§ 1")]
    engine.dispose()

    db.upgrade(database_url, "0013")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT deemed_conform_cents, repayment_cents, status, effective_date "
                                    "FROM agreements")).all() == [(42236200, None, "in_force", None)]
    with pytest.raises(sa.exc.IntegrityError):  # ck_agreement_status
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE agreements SET status = 'genehmigt'"))
    with pytest.raises(sa.exc.IntegrityError):  # ck_agreement_effective: only in force
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE agreements SET status = 'signed', effective_date = '2022-05-01'"))
    engine.dispose()
    db.upgrade(database_url)
    with engine.begin() as conn:  # 0015: the status became the agreement's first status event
        assert conn.execute(sa.text("SELECT status, effective_date FROM agreement_status_events")).all() == [
            ("in_force", None)]
    engine.dispose()


def test_0013_downgrade_refuses_while_a_notice_exists(database_url, engine, session, kreis):
    from datetime import date
    from decimal import Decimal

    from ledger.core.notices import add_notice
    from ledger.core.schoolyear import SchoolYear
    from tests.conftest import NOW

    add_notice(session, kreis, SchoolYear(2019), notice_date=date(2022, 2, 15), reference="Az. 1",
               amount=Decimal("10.00"), due_date=date(2022, 3, 31), interest_waived=True, created_by="test", now=NOW)
    session.commit()
    session.close()
    engine.dispose()
    with pytest.raises(RuntimeError, match="1 notice"):
        db.downgrade(database_url, "0012")
    engine.dispose()


# --- 0014: the Sachbericht in versions; issue numbers and content fingerprints -----------------


def _insert_issued(conn, recipient_id: int, school_year: str, created_by: str) -> None:
    conn.execute(sa.text(
        "INSERT INTO issued_statements (recipient_id, school_year, sha256, pdf, created_by, created_at, chain_seq, "
        "chain_hash, repayment_due_cents) VALUES (:r, :y, 'abc', :pdf, :by, '2026-11-22 10:00:00', 0, :h, 100)"),
        {"r": recipient_id, "y": school_year, "pdf": b"%PDF-1.4", "by": created_by, "h": "0" * 64})


def test_0014_numbers_the_statements_issued_before_in_id_order_and_keeps_them_append_only(database_url, engine,
                                                                                         session, kreis):
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0013")
    assert "narrative_reports" not in sa.inspect(engine).get_table_names()
    with engine.begin() as conn:
        for year, by in (("2023/24", "erste"), ("2022/23", "andere"), ("2023/24", "zweite")):
            _insert_issued(conn, kreis.id, year, by)
    engine.dispose()

    db.upgrade(database_url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT id, school_year, number, content_sha256, created_by, pdf "
                                    "FROM issued_statements ORDER BY id")).all() == [
            (1, "2023/24", 1, None, "erste", b"%PDF-1.4"), (2, "2022/23", 1, None, "andere", b"%PDF-1.4"),
            (3, "2023/24", 2, None, "zweite", b"%PDF-1.4")]
    for statement in ("UPDATE issued_statements SET number = 9", "DELETE FROM issued_statements"):
        with pytest.raises(sa.exc.DatabaseError, match="nie geändert"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    with pytest.raises(sa.exc.IntegrityError, match="number|UNIQUE|unique"):  # ux_issued_statements_number: 2 is taken
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO issued_statements (recipient_id, school_year, number, sha256, pdf, "
                                 "created_by, created_at, chain_seq, chain_hash, repayment_due_cents) SELECT "
                                 "recipient_id, school_year, 2, sha256, pdf, 'x', created_at, 0, chain_hash, 0 "
                                 "FROM issued_statements WHERE id = 1"))
    engine.dispose()


def test_0014_downgrade_refuses_while_a_sachbericht_is_stored_and_keeps_the_statements(database_url, engine,
                                                                                      session, kreis):
    from ledger.core.narrative import write_narrative
    from ledger.core.schoolyear import SchoolYear
    from ledger.core.users import add_user
    from ledger.workflows.issued import issue_statement
    from tests.conftest import NOW

    anna = add_user(session, "anna", "officer", actor="test", now=NOW, recipients=(kreis,))
    write_narrative(session, kreis, SchoolYear(2023), "Zwei Pools an Grundschulen.", user=anna, now=NOW)
    issue_statement(session, kreis, SchoolYear(2023), user=anna, now=NOW)
    session.commit()
    session.close()
    engine.dispose()
    with pytest.raises(RuntimeError, match="1 narrative report version"):
        db.downgrade(database_url, "0013")
    engine.dispose()

    with engine.begin() as conn:  # only by hand, with the triggers set aside, does a version go
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE narrative_reports DISABLE TRIGGER inkl_narrative_reports_immutable"))
        else:
            conn.execute(sa.text("DROP TRIGGER inkl_narrative_reports_no_delete"))
        conn.execute(sa.text("DELETE FROM narrative_reports"))
    engine.dispose()
    db.downgrade(database_url, "0013")
    assert "narrative_reports" not in sa.inspect(engine).get_table_names()
    assert not {"number", "content_sha256"} & {c["name"] for c in sa.inspect(engine).get_columns("issued_statements")}
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT id, created_by FROM issued_statements")).all() == [(1, "anna")]
    with pytest.raises(sa.exc.DatabaseError, match="nie geändert"):  # 0007's triggers are back
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM issued_statements"))
    engine.dispose()
    db.upgrade(database_url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT id, number FROM issued_statements")).all() == [(1, 1)]
    engine.dispose()


# --- 0020: the Land's role ------------------------------------------------------------------


def test_0020_downgrade_keeps_users_and_their_access_and_the_land_becomes_an_auditor_of_all(database_url, engine,
                                                                                              session, kreis):
    from ledger.core.models import User
    from ledger.core.users import add_user, can_read
    from tests.conftest import NOW

    add_user(session, "anna", "officer", actor="test", now=NOW, password="Sicheres-Passwort-2026", recipients=(kreis,))
    add_user(session, "land", "ministry", actor="test", now=NOW)
    session.commit()
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0019")
    engine.dispose()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT username, role, all_recipients FROM users ORDER BY username")).all()
        assigned = conn.execute(sa.text("SELECT COUNT(*) FROM user_recipients")).scalar()
    assert [(u, r, bool(a)) for u, r, a in rows] == [("anna", "officer", False), ("land", "auditor", True)]
    assert assigned == 1
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE users SET role = 'ministry' WHERE username = 'land'"))
    engine.dispose()
    db.upgrade(database_url)
    engine.dispose()
    from sqlalchemy.orm import Session
    with Session(engine) as fresh:
        anna = fresh.scalar(sa.select(User).where(User.username == "anna"))
        assert anna.password_hash and can_read(anna, anna.recipients[0])
        fresh.execute(sa.update(User).where(User.username == "land").values(role="ministry"))
        fresh.commit()


def test_0028_fills_the_journal_day_totals_from_the_entries_that_exist(database_url, engine, session):
    """Entries with lines of one and of two school years and a reversal, booked before 0028:
    the migration fills the day totals as a recomputation gives them."""
    from sqlalchemy.orm import Session

    from ledger.core.running_totals import recomputed_days
    from ledger.core.schoolyear import SchoolYear
    from tests.test_journal_pages import _journal

    _journal(session, [(10, SchoolYear(2022), None, 100, 0), (10, SchoolYear(2023), SchoolYear(2022), 250, 70),
                       (200, SchoolYear(2023), None, 999, 0)], [(1, 300)])
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0027")
    assert "journal_day_totals" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    db.upgrade(database_url)
    with engine.begin() as conn:
        kept = {(y, str(d)): (n, c) for y, d, n, c in conn.execute(sa.text(
            "SELECT school_year, day, entries, signed_cents FROM journal_day_totals"))}
    assert kept == {("2022/23", "2023-06-11"): (2, 420), ("2023/24", "2023-06-11"): (1, 320),
                    ("2023/24", "2023-12-18"): (1, 999), ("2022/23", "2024-03-27"): (1, -320),
                    ("2023/24", "2024-03-27"): (1, -320)}
    with Session(engine) as fresh:
        assert {(y, str(d)[:10]): (n, c) for _r, y, d, n, c in fresh.execute(recomputed_days(fresh))} == kept
    engine.dispose()

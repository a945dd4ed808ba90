"""Tamper evidence for the tables that decide a figure (issue 18): master data, accounts, grants,
overrides, evaluation runs, agreements and notices carry a hash-chained history
(``ledger.core.history``), and ``inkl verify`` names a change made around the application.

Most attacks here need no more than SQL access with the database's triggers on (an INSERT or
UPDATE the triggers allow); deleting an agreement or changing a stored classification needs
the owner's rights to switch the triggers off (``tamper`` of test_tamper_evidence).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from inkl.demo import load_demo
from ledger.core import db
from ledger.core.chain import GENESIS
from ledger.core.history import DECISION_TABLES, OTHER_TABLES, history_head, verify_history
from ledger.core.models import Base, RecordVersion
from ledger.core.notices import add_notice
from ledger.core.recipients import get_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import add_user
from ledger.rules.evaluation_runs import record_evaluation
from ledger.rules.overrides import add_override
from ledger.workflows import masterdata
from tests.conftest import NOW, add_master_data
from tests.test_tamper_evidence import tamper

YEAR = SchoolYear(2023)


def books(session) -> None:
    """The demo, an evaluation run, an override and a notice of Kreis Musterhausen's 2023/24, committed."""
    list(load_demo(session, user="demo", now=datetime(2026, 11, 22, 9, 0)))
    session.commit()
    musterhausen = get_recipient(session, "musterhausen")
    officer = add_user(session, "sachbearbeiterin", "officer", actor="demo", now=NOW, recipients=(musterhausen,))
    record_evaluation(session, musterhausen, YEAR, actor="demo", now=NOW, reason="Prüfung vor dem Nachweis")
    add_override(session, musterhausen, _expense_postings(session, musterhausen)[0], status="excluded", user=officer,
                 justification="Rechnung betrifft eine Einzelfallhilfe nach § 35a SGB VIII", now=NOW)
    add_notice(session, musterhausen, YEAR, notice_date=date(2026, 3, 2), reference="Az. 48.01-2023",
               amount=Decimal("1000.00"), due_date=date(2026, 4, 30), interest_waived=True, created_by="demo",
               now=NOW)
    session.commit()


def _expense_postings(session, recipient) -> list[int]:
    return list(session.scalars(sa.text(
        "SELECT p.id FROM postings p JOIN accounts a ON a.id = p.account_id JOIN journal_entries e ON e.id = p.entry_id "
        "WHERE a.recipient_id = :r AND a.type = 'expense' AND p.amount_cents > 0 AND p.school_year = '2023/24' "
        "AND e.kind = 'import' ORDER BY p.id"), {"r": recipient.id}))


def refused_by_verify(cli, label: str, what: str) -> dict:
    """``inkl verify --json`` exits 1 and its history names ``label`` (the table's German name) and ``what``."""
    result = cli("verify", "--json", expect=1)
    report = json.loads(result.stdout)
    history = report["history"]
    assert report["ok"] is False and history["ok"] is False
    assert any(label in finding and what in finding for finding in history["broken"]["findings"]), history["broken"]
    assert all(journal["ok"] for journal in report["journals"]) and report["audit_log"]["ok"]
    assert "Hash-Kette gebrochen" in result.stderr
    return history


def test_every_table_is_a_decision_table_or_named_as_none():
    assert set(Base.metadata.tables) == set(DECISION_TABLES) | OTHER_TABLES
    assert not set(DECISION_TABLES) & OTHER_TABLES


def test_every_decision_table_says_how_a_finding_names_its_rows():
    """No finding names a row by its database id: each decision table has its naming columns,
    or is chained per group and named by its group's row."""
    from ledger.core.history import GROUPED, NAMED_BY

    assert set(DECISION_TABLES) == set(NAMED_BY) | set(GROUPED)
    assert not set(NAMED_BY) & set(GROUPED)
    assert all(column in Base.metadata.tables[name].c for name, parts in NAMED_BY.items() for _, column in parts)


def test_a_school_added_to_a_pool_by_sql_is_named_by_the_pool(session, engine, cli):
    books(session)
    pool_id, pool, recipient, school_id = session.execute(sa.text(
        "SELECT p.id, p.name, r.name, MIN(s.id) FROM pools p JOIN recipients r ON r.id = p.recipient_id "
        "JOIN schools s ON s.recipient_id = p.recipient_id "
        "WHERE s.id NOT IN (SELECT school_id FROM pool_schools WHERE pool_id = p.id) "
        "GROUP BY p.id, p.name, r.name ORDER BY p.id LIMIT 1")).one()
    session.close()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO pool_schools (pool_id, school_id) VALUES (:p, :s)"),
                     {"p": pool_id, "s": school_id})
    history = refused_by_verify(cli, f"Schulen eines Förderpools („{pool}“, {recipient}): weicht", "geändert")
    assert len(history["broken"]["findings"]) == 1


def test_an_override_inserted_by_sql_is_found(session, engine, cli):
    books(session)
    musterhausen = get_recipient(session, "musterhausen")
    posting = _expense_postings(session, musterhausen)[1]
    session.close()
    with engine.begin() as conn:  # the triggers are on: they allow an insert
        conn.execute(sa.text(
            "INSERT INTO classification_overrides (recipient_id, posting_id, status, conform_cents, justification, "
            "created_by, created_at) SELECT :r, id, 'permitted', amount_cents, 'passt schon', 'jemand', "
            "'2026-11-22 10:00:00' FROM postings WHERE id = :p"), {"r": musterhausen.id, "p": posting})
    refused_by_verify(cli, "Einstufungs-Übersteuerung", "außerhalb der Anwendung eingefügt")


def test_a_pools_financing_basis_changed_by_sql_is_found(session, engine, cli):
    books(session)
    pool_id = session.scalar(sa.text("SELECT MIN(id) FROM pools WHERE financing_basis = 'systemic'"))
    pool, recipient = session.execute(sa.text(
        "SELECT p.name, r.name FROM pools p JOIN recipients r ON r.id = p.recipient_id WHERE p.id = :p"),
        {"p": pool_id}).one()
    session.close()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE pools SET financing_basis = 'individual_entitlements' WHERE id = :p"),
                     {"p": pool_id})
    history = refused_by_verify(cli, f"Förderpool („{pool}“, {recipient})", "außerhalb der Anwendung geändert")
    assert len(history["broken"]["findings"]) == 1


def test_an_accounts_type_and_number_changed_by_sql_are_found(session, engine, cli):
    books(session)
    account_id = session.scalar(sa.text("SELECT MIN(id) FROM accounts WHERE type = 'expense'"))
    number, name, recipient = session.execute(sa.text(
        "SELECT a.number, a.name, r.name FROM accounts a JOIN recipients r ON r.id = a.recipient_id "
        "WHERE a.id = :a"), {"a": account_id}).one()
    session.close()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE accounts SET type = 'asset', number = '0999' WHERE id = :a"), {"a": account_id})
    # named as the last version knew it (its old number), the recipient by name, never by an id
    refused_by_verify(cli, f"Konto (Nr. {number}, „{name}“, {recipient}): weicht", "geändert")


def test_a_grants_amount_changed_by_sql_is_found(session, engine, cli):
    books(session)
    session.close()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE grants SET assessed_cents = assessed_cents + 100000"))
    history = refused_by_verify(cli, "Zuweisung", "außerhalb der Anwendung geändert")
    assert len(history["broken"]["findings"]) == 2  # both grants of the demo


def test_a_deleted_agreement_and_notice_are_found(session, engine, cli):
    books(session)
    agreement_id, school_year, reference = session.execute(sa.text(
        "SELECT id, school_year, reference FROM agreements ORDER BY id LIMIT 1")).one()
    notice_day = session.scalar(sa.text("SELECT MIN(notice_date) FROM notices"))
    session.close()
    tamper(engine, f"DELETE FROM agreement_status_events WHERE agreement_id = {agreement_id}",
           f"DELETE FROM agreements WHERE id = {agreement_id}", "DELETE FROM notices",
           triggers=("inkl_agreement_status_events_no_delete", "inkl_agreements_no_delete", "inkl_notices_no_delete"))
    findings = refused_by_verify(cli, f"Vereinbarung (Schuljahr {school_year}, Az. {reference}",
                                 "gelöscht")["broken"]["findings"]
    notice_day = notice_day if isinstance(notice_day, date) else date.fromisoformat(notice_day)
    # the notice's reference "Az. 48.01-2023" keeps its own prefix
    assert any(f.startswith(f"Bescheid (vom {notice_day:%d.%m.%Y}, Az. 48.01-2023, ") and "gelöscht" in f
               for f in findings), findings
    assert any(f.startswith("Stand einer Vereinbarung") for f in findings)


def classifications_of(engine, run_id: int) -> str:
    """How a finding names the stored classifications of an evaluation run: by the run's
    school year, time and recipient."""
    with engine.connect() as conn:
        year, created, recipient = conn.execute(sa.text(
            "SELECT e.school_year, e.created_at, r.name FROM evaluation_runs e JOIN recipients r "
            "ON r.id = e.recipient_id WHERE e.id = :r"), {"r": run_id}).one()
    created = created if isinstance(created, datetime) else datetime.fromisoformat(created)
    return f"Einstufungen eines Bewertungslaufs (Schuljahr {year}, vom {created:%d.%m.%Y %H:%M}, {recipient})"


def test_a_stored_classification_changed_around_the_application_is_found(session, engine, cli):
    books(session)
    run_id, classification_id = session.execute(sa.text(
        "SELECT run_id, MIN(id) FROM classifications WHERE status <> 'permitted' GROUP BY run_id")).one()
    session.close()
    tamper(engine, "UPDATE classifications SET status = 'permitted', "
                   "conform_cents = conform_cents + excluded_cents + unclassified_cents, excluded_cents = 0, "
                   f"unclassified_cents = 0 WHERE id = {classification_id}",
           triggers=("inkl_classifications_no_update",))
    refused_by_verify(cli, classifications_of(engine, run_id), "geändert")


def test_a_classification_added_to_a_run_by_sql_is_found(session, engine, cli):
    books(session)
    run_id = session.scalar(sa.text("SELECT MIN(run_id) FROM classifications"))
    session.close()
    with engine.begin() as conn:  # the triggers are on: they refuse changes, not a further row
        conn.execute(sa.text(
            "INSERT INTO classifications (run_id, posting_id, status, conform_cents, excluded_cents, "
            "unclassified_cents, rule, reason, source) SELECT :run, MAX(id), 'permitted', 100, 0, 0, 'x', 'x', 'x' "
            "FROM postings WHERE id NOT IN (SELECT posting_id FROM classifications)"), {"run": run_id})
    refused_by_verify(cli, classifications_of(engine, run_id), "geändert")


def test_the_database_refuses_to_change_or_delete_a_version_or_to_fork_the_chain(session, engine):
    books(session)
    head = history_head(session)
    session.close()
    for statement in ("UPDATE record_versions SET content = NULL WHERE seq = 3", "DELETE FROM record_versions"):
        with pytest.raises(sa.exc.DBAPIError, match="nie geändert oder gelöscht"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    with pytest.raises(sa.exc.DBAPIError, match="Hash-Kette unterbrochen"):
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO record_versions (seq, table_name, row_key, operation, content, actor, created_at, "
                "prev_hash, version_hash) VALUES (:seq, 'grants', '1', 'update', '{}', 'jemand', "
                "'2026-11-22 10:00:00', :prev, :prev)"), {"seq": head.seq + 1, "prev": GENESIS})
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT MAX(seq) FROM record_versions")).scalar() == head.seq


def test_a_version_changed_with_the_triggers_off_breaks_the_chain(session, engine, cli):
    books(session)
    session.close()
    tamper(engine, "UPDATE record_versions SET actor = 'jemand anders' WHERE seq = 5",
           triggers=("inkl_record_versions_no_update",))
    history = json.loads(cli("verify", "--json", expect=1).stdout)["history"]
    assert history["broken"]["seq"] == 5 and history["broken"]["reason"] == "Version Nr. 5 wurde verändert"


def test_the_demo_and_edits_through_the_workflows_verify_clean(session, cli):
    books(session)
    musterhausen = get_recipient(session, "musterhausen")
    pool = masterdata.as_row(session, musterhausen, "pool", masterdata.list_rows(session, musterhausen, "pool")[0]["Kennung"])
    masterdata.save(session, musterhausen, "pool", {**pool, "Name": "Pool umbenannt"}, actor="demo", now=NOW)
    session.commit()
    report = json.loads(cli("verify", "--json").stdout)
    assert report["ok"] is True
    history = report["history"]
    assert history["ok"] and history["broken"] is None
    assert history["versions"] == history["head"]["seq"] > 300
    text = cli("verify").stdout
    assert f"Stammdaten und Entscheidungen: {history['versions']} Versionen, Kette in Ordnung" in text


def test_a_master_data_edit_makes_exactly_one_version_with_the_new_value(session, kreis):
    """Worked example: Pool POOL-A's financing basis changes from systemic to individual
    entitlements through the application; the history gains one version (an update of the
    pool) whose content carries the new basis, by the actor of the change."""
    add_master_data(session, kreis)
    before = history_head(session)
    row = masterdata.as_row(session, kreis, "pool", "POOL-A")
    outcome, pool = masterdata.save(session, kreis, "pool", {**row, "Finanzierungsgrundlage": "individual_entitlements"},
                                    actor="anna", now=datetime(2026, 12, 1, 9, 30))
    session.commit()
    assert outcome == "updated"
    versions = session.scalars(sa.select(RecordVersion).where(RecordVersion.seq > before.seq)).all()
    assert [(v.seq, v.table_name, v.row_key, v.operation, v.actor) for v in versions] == [
        (before.seq + 1, "pools", str(pool.id), "update", "anna")]
    content = json.loads(versions[0].content)
    assert content["financing_basis"] == "individual_entitlements" and content["key"] == "POOL-A"
    assert versions[0].created_at == datetime(2026, 12, 1, 9, 30)
    earlier = json.loads(session.scalars(sa.select(RecordVersion.content).where(
        RecordVersion.table_name == "pools", RecordVersion.row_key == str(pool.id), RecordVersion.operation == "insert"))
        .one())
    assert earlier["financing_basis"] == "systemic"
    assert verify_history(session).ok


def test_an_evaluation_run_is_one_version_of_its_classifications(session):
    books(session)
    run_id, rows = session.execute(sa.text("SELECT run_id, COUNT(*) FROM classifications GROUP BY run_id")).one()
    content = session.scalars(sa.select(RecordVersion.content).where(
        RecordVersion.table_name == "classifications")).one()
    assert json.loads(content)["rows"] == rows > 50
    assert session.scalars(sa.select(RecordVersion.row_key).where(
        RecordVersion.table_name == "classifications")).all() == [str(run_id)]


def test_an_upgraded_database_gets_a_first_version_of_every_row(database_url, engine, session, kreis):
    add_master_data(session, kreis)
    rows = {name: session.scalar(sa.text(f"SELECT COUNT(*) FROM {name}")) for name in ("schools", "pools", "accounts")}
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0024")
    with engine.begin() as conn:  # a change of the old version, before the history existed
        conn.execute(sa.text("UPDATE pools SET name = 'vor dem Upgrade' WHERE key = 'POOL-B'"))
    engine.dispose()
    db.upgrade(database_url)
    with sa.orm.Session(engine) as fresh:
        assert verify_history(fresh).ok
        counts = dict(fresh.execute(sa.text(
            "SELECT table_name, COUNT(*) FROM record_versions WHERE actor = 'Migration 0025' GROUP BY table_name")).all())
        assert {name: counts[name] for name in rows} == rows
        assert json.loads(fresh.scalar(sa.text(
            "SELECT v.content FROM record_versions v JOIN pools p ON v.row_key = CAST(p.id AS VARCHAR(20)) "
            "AND v.table_name = 'pools' WHERE p.key = 'POOL-B'")))["name"] == "vor dem Upgrade"
    engine.dispose()


def test_an_edit_through_the_web_ui_is_versioned_with_its_officer(app, session, kreis):
    from tests.conftest import add_web_user, csrf_token, login

    add_master_data(session, kreis)
    add_web_user(session, "anna", "officer", recipients=[kreis])
    before = history_head(session)
    session.close()
    client = app.test_client()
    login(client, "anna")
    token = csrf_token(client, "/r/testland/stammdaten/pool/POOL-A/bearbeiten")
    assert client.post("/r/testland/stammdaten/pool/POOL-A/bearbeiten", data={
        "csrf_token": token, "Kennung": "POOL-A", "Name": "Pool POOL-A", "Träger": "Träger A", "Schulen": "100001",
        "Beginn": "01.08.2014", "Ende": "31.07.2030", "Finanzierungsgrundlage": "mixed",
        "Systemischer Anteil": "62,5"}).status_code == 302
    [version] = session.scalars(sa.select(RecordVersion).where(RecordVersion.seq > before.seq)).all()
    content = json.loads(version.content)
    assert (version.table_name, version.operation, version.actor) == ("pools", "update", "anna")
    assert (content["financing_basis"], content["systemic_share"]) == ("mixed", "62.5")
    assert verify_history(session).ok

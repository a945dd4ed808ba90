"""Backup and restore (``ledger.write.backup``): the whole database through one portable file.

Every test runs with the source on SQLite and on PostgreSQL (the ``engine`` fixture) and,
where a second database is needed, with the restore target on SQLite and on PostgreSQL
(``target_engine``), so SQLite → PostgreSQL and PostgreSQL → SQLite are both covered.
The PostgreSQL target is the database ``<test database>_restore_target`` on the same
server, dropped and created again for every test.
"""
from __future__ import annotations

import gzip
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from inkl.demo import DEMO_DIR, METTMANN_PLAN, load_demo
from ledger.core import db
from ledger.core.audit import verify_audit_log
from ledger.core.chain import verify_chain
from ledger.core.errors import LedgerError
from ledger.core.bank import set_account_iban
from ledger.core.models import ApiToken, Base, Commitment, ImportBatch, JournalEntry, ParkedBankEntry, Posting, Recipient
from ledger.core.narrative import write_narrative
from ledger.core.notices import add_notice, withdraw_notice
from ledger.core.periods import closed_years
from ledger.core.posting import PostingLine, post_entry, reverse_entry
from ledger.core.recipients import add_recipient, find_account, get_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import add_user
from ledger.reports.repayment import compute_all, compute_repayment
from ledger.rules.overrides import add_override
from ledger.rules.packs import allocation_plan
from ledger.rules.pass_through_plan import load_pass_through_plan
from ledger.workflows.allocation import add_claim, pay_claim
from ledger.workflows.allocation_commitment import commit_plan
from ledger.workflows.pass_through import add_pass_through_claim
from ledger.workflows.closing import close_year, reopen_year
from ledger.workflows.issued import issue_statement
from ledger.workflows.masterdata import add as add_master_data
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from ledger.write.backup import (
    FORMAT_NAME,
    NOT_BACKED_UP,
    FORMAT_VERSION,
    BackupManifest,
    RestoreReport,
    backup,
    restore,
    table_order,
)
from tests.conftest import BACKENDS, NOW, POSTGRES_URL

RHEIN_SIEG_YEAR = SchoolYear(2020)
MUSTERHAUSEN_YEAR = SchoolYear(2023)

#: The demo's recipients of allocation plan mettmann-2014 (the grantor and its ten cities).
_PLAN = allocation_plan(METTMANN_PLAN)[1]
METTMANN_KEYS = (_PLAN.grantor_key, *(r.key for r in _PLAN.recipients))


# --- fixtures and helpers -------------------------------------------------------------


def _fresh_postgres_database() -> str:
    """Drop and create ``<test database>_restore_target``; return its URL (not yet migrated)."""
    if not POSTGRES_URL:
        pytest.fail("CI: INKL_TEST_POSTGRES_URL is not set, the PostgreSQL tests cannot run")
    base = sa.make_url(POSTGRES_URL)
    name = f"{base.database}_restore_target"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS, ids=lambda backend: f"to-{backend}")
def target_url(request, tmp_path) -> str:
    """A second, empty database migrated to the newest revision: the restore target."""
    url = f"sqlite:///{tmp_path / 'target.sqlite'}" if request.param == "sqlite" else _fresh_postgres_database()
    db.upgrade(url)
    return url


@pytest.fixture
def target_engine(target_url) -> sa.Engine:
    engine = db.make_engine(target_url)
    yield engine
    engine.dispose()


@pytest.fixture
def books(session) -> None:
    """The demo books plus a reversal, a notice of the Land, a confirmed and paid repayment, and a school year that
    was closed, re-opened for a late booking and closed again; committed. Every table has rows."""
    list(load_demo(session, user="demo", now=NOW))
    admin = add_user(session, "admin", "admin", actor="test", now=NOW)
    add_user(session, "pruefer", "auditor", actor="admin", now=NOW)
    musterhausen, rhein_sieg = get_recipient(session, "musterhausen"), get_recipient(session, "rhein-sieg")

    first_import = session.scalar(sa.select(JournalEntry).where(
        JournalEntry.recipient_id == musterhausen.id, JournalEntry.kind == "import").order_by(JournalEntry.seq))
    reverse_entry(session, first_import, day=date(2024, 7, 31), reason="falsches Konto", created_by="test", now=NOW)

    _master_data(session, rhein_sieg)
    first = add_notice(session, rhein_sieg, SchoolYear(2019), notice_date=date(2022, 3, 1), reference="48.01-2019/20",
                       amount=Decimal("1000.00"), due_date=date(2022, 4, 1), interest_waived=True, created_by="test",
                       now=NOW)
    amended = add_notice(session, rhein_sieg, SchoolYear(2019), notice_date=date(2022, 3, 15),
                         reference="48.01-2019/20-Ä", amount=Decimal("800.00"), due_date=date(2022, 4, 15),
                         interest_waived=True, replaces=first.id, created_by="test", now=NOW)
    withdraw_notice(session, amended, withdrawal_date=date(2022, 5, 2), reference="48.01-2019/20-A",
                    created_by="test", now=NOW)
    confirm_repayment(session, rhein_sieg, RHEIN_SIEG_YEAR, day=date(2021, 3, 1), created_by="test", now=NOW)
    due = compute_repayment(session, rhein_sieg, RHEIN_SIEG_YEAR).repayment_due
    pay_repayment(session, rhein_sieg, RHEIN_SIEG_YEAR, due, day=date(2021, 3, 20), created_by="test", now=NOW)
    close_year(session, rhein_sieg, RHEIN_SIEG_YEAR, user=admin, now=NOW, reason="Schlussabrechnung")
    reopen_year(session, rhein_sieg, RHEIN_SIEG_YEAR, user=admin, reason="Nachbuchung Pool", now=NOW)
    post_entry(session, rhein_sieg, day=date(2021, 7, 30), voucher_number="NB-1", text="Nachbuchung Pool Juli",
               lines=[PostingLine(find_account(session, rhein_sieg, "5291"), Decimal("100.00"), RHEIN_SIEG_YEAR,
                                  "pool_personnel", "3631-P01"),
                      PostingLine(find_account(session, rhein_sieg, "1810"), Decimal("-100.00"), RHEIN_SIEG_YEAR)],
               kind="manual", created_by="test", now=NOW)
    late = session.scalar(sa.select(Posting).join(JournalEntry).where(JournalEntry.voucher_number == "NB-1",
                                                                      Posting.amount_cents > 0))
    add_override(session, rhein_sieg, late.id, status="permitted", user=admin, now=NOW,
                 justification="Poolvertrag sieht ausschließlich systemische Stellen vor (Vertrag § 2)")
    close_year(session, rhein_sieg, RHEIN_SIEG_YEAR, user=admin, now=NOW, reason="Schlussabrechnung, erneut")
    issue_statement(session, rhein_sieg, RHEIN_SIEG_YEAR, user=admin, now=NOW)  # a PDF: binary column
    write_narrative(session, musterhausen, SchoolYear(2023), "Pools an drei Grundschulen.", user=admin, now=NOW)
    _bank_and_api(session, musterhausen, admin)
    # the commitment of plan mettmann-2014 and a claim of Haan against it (rows of migration 0017's and
    # 0022's tables), one helper cut to 5.000 EUR, one with a pseudonymous case reference
    commit_plan(session, METTMANN_PLAN, date(2014, 7, 1), actor="test", now=NOW)
    claim = add_claim(session, METTMANN_PLAN, "haan", date(2014, 7, 7), [Decimal("5000.00"), Decimal("5000.01")],
                      "Anlage 2 Haan vom 07.07.2014", material_costs=Decimal("10.00"), cases=[["HA-2014-01"]],
                      actor="test", now=NOW)
    pay_claim(session, claim.id, date(2014, 8, 1), actor="test", now=NOW)
    # a pass-through claim of Stadt Lindental against the demo plan of Kreis Musterhausen (migration 0022)
    add_pass_through_claim(session, load_pass_through_plan(DEMO_DIR / "verteilung" / "weiterleitung-2023.toml"),
                           "Stadt Lindental", date(2023, 10, 2), Decimal("100.00"), "Abruf vom 02.10.2023",
                           actor="test", now=NOW)
    _provider_budget(session, musterhausen)
    session.commit()


def _provider_budget(session, recipient) -> None:
    """A provider budget with an advance, hours, a judgement, a case with a record, financing the
    pool contract V-1 (rows of migrations 0018 and 0020)."""
    from ledger.workflows.budget import add_budget_agreement, add_hours_report, book_advances, record_judgement
    from ledger.workflows.budget_cases import add_case, add_record

    agreement = add_budget_agreement(
        session, recipient, "tb-2025", title="Trägerbudget", provider_name="Träger", start=date(2025, 1, 1),
        end=date(2029, 12, 31), budget=Decimal("600000.00"), specialist_hours_year=Decimal("1000.5"),
        semi_professional_hours_year=Decimal("0"), reference="§ 3", created_by="test", now=NOW)
    book_advances(session, agreement, until=date(2025, 1, 31), created_by="test", now=NOW)
    add_hours_report(session, agreement, "2025-Q1", specialist="200,25", semi_professional="0", created_by="test",
                     now=NOW)
    record_judgement(session, agreement, "2025-Q1", persists=False, reasoning="Anlauf", created_by="test", now=NOW)
    case = add_case(session, agreement, "F-1", start=date(2025, 2, 3), created_by="test", now=NOW)
    add_record(session, agreement, "meeting", date(2025, 8, 4), case=case, created_by="test", now=NOW)
    commitment = session.scalar(sa.select(Commitment).where(Commitment.recipient_id == recipient.id))
    commitment.budget_agreement_id = agreement.id


def _bank_and_api(session, recipient, user) -> None:
    """An IBAN on the bank account, a parked bank entry and an API token (rows of migration 0016's tables)."""
    set_account_iban(session, recipient, "1810", "DE89 3704 0044 0532 0130 00", actor="test", now=NOW)
    batch = session.scalar(sa.select(ImportBatch).where(ImportBatch.recipient_id == recipient.id))
    session.add(ParkedBankEntry(
        recipient_id=recipient.id, row_key="a" * 64, content_hash="b" * 64, batch_id=batch.id, line=12,
        account_id=find_account(session, recipient, "1810").id, date=date(2024, 3, 4), amount_cents=-12_345,
        counterparty="Sozialwerk Musterhausen e.V.", counterparty_iban="DE02120300000000202051",
        remittance="Rechnung 2024-117", reference="E2E-117", reason="keine Regel des Importprofils trifft zu",
        created_by="test", created_at=NOW))
    session.add(ApiToken(user_id=user.id, name="Monatsimport", token_hash="c" * 64, prefix="inkl_abcd",
                         created_at=NOW, expires_on=date(2027, 12, 31)))


def _master_data(session, recipient) -> None:
    """One item of every master-data kind, a mixed pool (Decimal share) and a verification included."""
    for kind, row in (
        ("school", {"Schulnummer": "123456", "Name": "GGS Am Lindenhof", "Schulträger": "Stadt Musterstadt",
                    "Schulform": "Grundschule", "GL-Schule": "ja"}),
        ("provider", {"Name": "Sozialwerk Musterhausen e.V."}),
        ("pool", {"Kennung": "P01", "Name": "Pool Lindenhof", "Träger": "Sozialwerk Musterhausen e.V.",
                  "Schulen": "123456", "Beginn": "01.08.2023", "Ende": "31.07.2024",
                  "Finanzierungsgrundlage": "mixed", "Systemischer Anteil": "62,5"}),
        ("municipality", {"Name": "Stadt Lindental", "Träger von GL-Schulen": "ja", "Geprüft am": "12.09.2023",
                          "Nachweis": "Az. 40.3/2023-17", "Geprüft von": "Schulamt"}),
        ("commitment", {"Referenz": "V-1", "Beschreibung": "Poolvertrag", "Kategorie": "pool_personnel",
                        "Monatsbetrag": "9.840,00", "Beginn": "01.08.2023", "Ende": "31.07.2024", "Pool": "P01"}),
        ("costcentre", {"Kostenstelle": "3631-P01", "Pool": "P01"}),
    ):
        add_master_data(session, recipient, kind, row, actor="test", now=NOW)


def _backup_bytes(engine: sa.Engine, progress: Callable[[str], None] | None = None) -> tuple[bytes, BackupManifest]:
    out = io.BytesIO()
    with Session(engine) as session:
        manifest = backup(session, out, now=NOW, progress=progress)
    return out.getvalue(), manifest


def _restore(engine: sa.Engine, data: bytes, **kwargs) -> RestoreReport:
    with db.session_scope(engine, write=True) as session:
        return restore(session, io.BytesIO(data), **kwargs)


def _snapshot(engine: sa.Engine) -> dict[str, Any]:
    """Every row of every table a backup holds (``table_order``: all but the log-in sessions, in
    primary-key order), the verified chains, the audit log and every recipient's repayment
    figures for every school year."""
    with Session(engine) as session:
        rows = {t.name: [tuple(r) for r in session.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for t in table_order()}
        recipients = session.scalars(sa.select(Recipient).order_by(Recipient.key)).all()
        return {
            "rows": rows,
            "chains": {r.key: verify_chain(session, r) for r in recipients},
            "audit_log": verify_audit_log(session),
            "repayments": {r.key: compute_all(session, r) for r in recipients},
            "closed": {r.key: closed_years(session, r) for r in recipients},
        }


def _row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.scalar(sa.select(sa.func.count()).select_from(t)) for t in table_order()}


def _lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(data).decode("utf-8").splitlines()]


def _pack(lines: list[dict]) -> bytes:
    return gzip.compress("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8"))


def _assert_no_floats(value: Any) -> None:
    assert not isinstance(value, float), value
    if isinstance(value, dict):
        for item in value.values():
            _assert_no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _assert_no_floats(item)


# --- round trips ----------------------------------------------------------------------


def test_round_trip_restores_every_row_chain_and_repayment(engine, books, target_engine):
    lines: list[str] = []
    data, manifest = _backup_bytes(engine, progress=lines.append)
    source = _snapshot(engine)
    assert all(source["rows"][name] for name in source["rows"]), "the books must fill every table"
    assert any("postings" in line for line in lines)

    restore_lines: list[str] = []
    report = _restore(target_engine, data, progress=restore_lines.append)

    target = _snapshot(target_engine)
    for name in source["rows"]:
        assert target["rows"][name] == source["rows"][name], name
    assert all(r.ok for r in target["chains"].values())
    assert target["chains"] == source["chains"]
    assert target["audit_log"] == source["audit_log"] and target["audit_log"][2] is None
    assert target["repayments"] == source["repayments"]
    # the demo's Kreis Mettmann and its ten cities (plan mettmann-2014) and Bremerhaven have no closed year
    assert target["closed"] == source["closed"] == {"bremerhaven": set(), "musterhausen": set(), "rhein-sieg": {"2020/21"},
                                                    **{key: set() for key in METTMANN_KEYS}}

    assert report.rows == manifest.tables == {name: len(rows) for name, rows in source["rows"].items()}
    assert report.chains == manifest.chains == {key: r.head for key, r in source["chains"].items()}
    assert report.audit_head == manifest.audit_head == source["audit_log"][1]
    assert report.audit_event_seq is None
    assert any("in Ordnung" in line for line in restore_lines)


def test_restored_books_take_new_bookings(engine, books, target_engine):
    """Sequences and chains continue after a restore (on PostgreSQL: serial sequences were reset)."""
    data, manifest = _backup_bytes(engine)
    _restore(target_engine, data)
    with db.session_scope(target_engine, write=True) as session:
        musterhausen = get_recipient(session, "musterhausen")
        max_id = session.scalar(sa.select(sa.func.max(JournalEntry.id)))
        entry = post_entry(
            session, musterhausen, day=date(2024, 7, 15), voucher_number="NACH-1", text="Fortbildung Juli",
            lines=[PostingLine(find_account(session, musterhausen, "5291"), Decimal("250.00"), MUSTERHAUSEN_YEAR,
                               "pool_personnel"),
                   PostingLine(find_account(session, musterhausen, "1810"), Decimal("-250.00"), MUSTERHAUSEN_YEAR)],
            kind="manual", created_by="test", now=NOW)
        assert entry.id == max_id + 1
        assert entry.seq == manifest.chains["musterhausen"].seq + 1
        assert entry.prev_hash == manifest.chains["musterhausen"].entry_hash
        reversal = reverse_entry(session, entry, day=date(2024, 7, 16), reason="doppelt", created_by="test", now=NOW)
        assert reversal.id == entry.id + 1
        add_recipient(session, "lindental", "Stadt Lindental", "stadt", actor="test", now=NOW)
        add_user(session, "neu", "officer", actor="admin", now=NOW)
    with Session(target_engine) as session:
        for recipient in session.scalars(sa.select(Recipient)):
            assert verify_chain(session, recipient).ok, recipient.key
        count, head, broken, _ = verify_audit_log(session)
        assert broken is None and head.seq > manifest.audit_head.seq
        # The closed school year of the backup is still closed in the restored database.
        rhein_sieg = get_recipient(session, "rhein-sieg")
        with pytest.raises(LedgerError, match="abgeschlossen"):
            post_entry(session, rhein_sieg, day=date(2021, 7, 30), voucher_number="NB-2", text="zu spät",
                       lines=[PostingLine(find_account(session, rhein_sieg, "5291"), Decimal("1.00"),
                                          RHEIN_SIEG_YEAR, "pool_personnel"),
                              PostingLine(find_account(session, rhein_sieg, "1810"), Decimal("-1.00"),
                                          RHEIN_SIEG_YEAR)],
                       kind="manual", created_by="test", now=NOW)


def test_restore_with_actor_appends_a_restore_event(engine, books, target_engine):
    data, manifest = _backup_bytes(engine)
    report = _restore(target_engine, data, actor="admin", now=datetime(2026, 11, 23, 8, 0))
    assert report.audit_event_seq == manifest.audit_head.seq + 1
    assert report.audit_head == manifest.audit_head
    with Session(target_engine) as session:
        count, head, broken, _ = verify_audit_log(session)
        assert broken is None and head.seq == manifest.audit_head.seq + 1
        details = session.execute(sa.text("SELECT action, actor, details FROM audit_log ORDER BY seq DESC")).first()
    assert details.action == "restore" and details.actor == "admin"
    assert json.loads(details.details)["rows"] == manifest.total_rows


def test_empty_database_round_trip(engine, target_engine):
    data, manifest = _backup_bytes(engine)
    assert manifest.total_rows == 0 and manifest.chains == {} and manifest.audit_head.seq == 0
    report = _restore(target_engine, data)
    assert report.total_rows == 0 and set(report.rows) == set(Base.metadata.tables) - NOT_BACKED_UP
    with db.session_scope(target_engine, write=True) as session:
        recipient = add_recipient(session, "testland", "Kreis Testland", "kreis", actor="test", now=NOW)
        assert recipient.id == 1


# --- the file format ------------------------------------------------------------------


def test_backup_file_format(engine, books):
    data, manifest = _backup_bytes(engine)
    assert data[:2] == b"\x1f\x8b", "gzip"
    lines = _lines(data)
    head = lines[0]
    assert head["format"] == FORMAT_NAME and head["format_version"] == FORMAT_VERSION == 1
    assert head["schema_revision"] == manifest.schema_revision and head["schema_revision"]
    assert head["created_at"] == NOW.isoformat()
    assert BackupManifest.from_json(head) == manifest
    assert set(head["chains"]) == {"bremerhaven", "musterhausen", "rhein-sieg", *METTMANN_KEYS}
    for line in lines:
        _assert_no_floats(line)

    order = [t.name for t in table_order()]
    assert set(order) == set(Base.metadata.tables) - NOT_BACKED_UP == set(Base.metadata.tables) - {
        "login_sessions", "account_year_totals", "journal_day_totals"}
    assert order.index("postings") < order.index("journal_entries") < order.index("period_events")
    assert order[-1] == "audit_log"
    rows = lines[1:]
    assert [line["t"] for line in rows] == sorted((line["t"] for line in rows), key=order.index)
    assert {name: sum(1 for line in rows if line["t"] == name) for name in order} == head["tables"]

    entries = [line["r"] for line in rows if line["t"] == "journal_entries"]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    assert all(e["reverses_id"] < e["id"] for e in entries if e["reverses_id"] is not None)
    assert any(e["reverses_id"] is not None for e in entries)
    seqs = [line["r"]["seq"] for line in rows if line["t"] == "audit_log"]
    assert seqs == list(range(1, len(seqs) + 1))
    posting = next(line["r"] for line in rows if line.get("t") == "postings")
    assert isinstance(posting["amount_cents"], int)
    entry = entries[0]
    assert date.fromisoformat(entry["date"]) and datetime.fromisoformat(entry["created_at"])
    agreement = next(line["r"] for line in rows if line["t"] == "agreements")
    assert isinstance(agreement["waived"], bool)


def test_backup_needs_one_snapshot_on_postgresql(session, books):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("only PostgreSQL has READ COMMITTED transactions")
    session.scalar(sa.select(sa.func.count()).select_from(Recipient))  # a READ COMMITTED transaction is open
    with pytest.raises(LedgerError, match="einheitlichen Datenstand"):
        backup(session, io.BytesIO(), now=NOW)


# --- refusals -------------------------------------------------------------------------


def test_restore_refuses_a_non_empty_target(engine, books, target_engine):
    data, _ = _backup_bytes(engine)
    with db.session_scope(target_engine, write=True) as session:
        add_recipient(session, "testland", "Kreis Testland", "kreis", actor="test", now=NOW)
    before = _row_counts(target_engine)
    with pytest.raises(LedgerError, match="Zieldatenbank ist nicht leer"):
        _restore(target_engine, data)
    assert _row_counts(target_engine) == before


def _first_entry_with_two_postings(lines: list[dict]) -> list[dict]:
    by_entry: dict[int, list[dict]] = {}
    for line in lines:
        if line.get("t") == "postings":
            by_entry.setdefault(line["r"]["entry_id"], []).append(line["r"])
    return next(postings for postings in by_entry.values() if len(postings) == 2)


def _tamper_balanced(lines: list[dict]) -> list[dict]:
    """Both postings of one entry changed by 1,00 EUR: still balanced, but not what was hashed."""
    for posting in _first_entry_with_two_postings(lines):
        posting["amount_cents"] += 100 if posting["amount_cents"] > 0 else -100
    return lines


def _tamper_one_amount(lines: list[dict]) -> list[dict]:
    """One posting's sign flipped: the entry no longer balances."""
    posting = _first_entry_with_two_postings(lines)[0]
    posting["amount_cents"] = -posting["amount_cents"]
    return lines


@pytest.mark.parametrize("tamper, message", [
    (_tamper_balanced, "Hash-Kette von .* gebrochen"),
    (_tamper_one_amount, "unausgeglichen"),
], ids=["balanced-change", "flipped-sign"])
def test_restore_refuses_a_corrupted_backup_and_leaves_the_target_empty(engine, books, target_engine, tamper,
                                                                         message):
    data, _ = _backup_bytes(engine)
    with pytest.raises(LedgerError, match=message):
        _restore(target_engine, _pack(tamper(_lines(data))))
    assert set(_row_counts(target_engine).values()) == {0}
    # Nothing stayed behind: the genuine backup restores into the same database afterwards.
    report = _restore(target_engine, data)
    assert report.total_rows == sum(_row_counts(target_engine).values())


def _set(key: str, value: Any) -> Callable[[list[dict]], list[dict]]:
    def edit(lines: list[dict]) -> list[dict]:
        lines[0][key] = value
        return lines
    return edit


def _drop_last(lines: list[dict]) -> list[dict]:
    return lines[:-1]


def _changed_audit_head(lines: list[dict]) -> list[dict]:
    lines[0]["audit_log"]["hash"] = "f" * 64
    return lines


def _users_last(lines: list[dict]) -> list[dict]:
    """The users' lines (and their recipient assignments) moved behind the audit log."""
    moved = ("users", "user_recipients")
    return [line for line in lines if line.get("t") not in moved] + [line for line in lines if line.get("t") in moved]


def _postings_after_entries(lines: list[dict]) -> list[dict]:
    """journal_entries before postings: the postings would arrive after their entries."""
    postings = [line for line in lines if line.get("t") == "postings"]
    rest = [line for line in lines if line.get("t") != "postings"]
    position = max(i for i, line in enumerate(rest) if line.get("t") == "journal_entries") + 1
    return rest[:position] + postings + rest[position:]


def _float_amount(lines: list[dict]) -> list[dict]:
    posting = next(line for line in lines if line.get("t") == "postings")
    posting["r"]["amount_cents"] = float(posting["r"]["amount_cents"])
    return lines


@pytest.mark.parametrize("edit, message", [
    (_set("format", "something-else"), "keine inkl-Sicherung: Formatkennung"),
    (_set("format_version", 2), "Version 2 wird nicht unterstützt"),
    (_set("schema_revision", "0001"), "Schemastand passt nicht"),
    (_drop_last, "Tabelle audit_log hat .* Zeilen, laut Kopfzeile"),
    (_changed_audit_head, "Protokollkopf weicht von der Sicherung ab"),
    (_users_last, "Tabelle users steht in Zeile .* an unerwarteter Stelle|lehnt Zeilen .* ab \\(Tabelle api_tokens\\)"),
    (_postings_after_entries, "unausgeglichen|Buchungszeilen nur vor ihrer Buchung|an unerwarteter Stelle"),
    (_float_amount, "Spalte amount_cents: ganze Zahl erwartet"),
], ids=["format", "version", "revision", "truncated", "audit-head", "order", "postings-late", "float"])
def test_restore_refuses_a_damaged_manifest_or_file(engine, books, target_engine, edit, message):
    data, _ = _backup_bytes(engine)
    with pytest.raises(LedgerError, match=message):
        _restore(target_engine, _pack(edit(_lines(data))))
    assert set(_row_counts(target_engine).values()) == {0}


@pytest.mark.parametrize("content, message", [
    (b"", "nicht gzip-komprimiert|Datei ist leer"),
    (b'{"format": "inkl-backup", "format_version": 1}\n', "nicht gzip-komprimiert"),
    (gzip.compress(b""), "Datei ist leer"),
    (gzip.compress(b"kein json\n"), "Zeile 1 ist kein gültiges JSON"),
], ids=["empty", "plain-json", "empty-gzip", "not-json"])
def test_restore_refuses_files_that_are_no_backup(target_engine, content, message):
    with pytest.raises(LedgerError, match=message):
        _restore(target_engine, content)


def test_restore_refuses_a_cut_off_file(engine, books, target_engine):
    data, _ = _backup_bytes(engine)
    with pytest.raises(LedgerError, match="unvollständig"):
        _restore(target_engine, data[: len(data) // 2])
    assert set(_row_counts(target_engine).values()) == {0}


def test_restore_refuses_an_unmigrated_target(engine, books, tmp_path):
    data, _ = _backup_bytes(engine)
    target = db.make_engine(f"sqlite:///{tmp_path / 'bare.sqlite'}")
    try:
        with pytest.raises(LedgerError, match="kein Schema"):
            _restore(target, data)
    finally:
        target.dispose()


def test_a_restore_opens_no_log_in_session(engine, target_engine, session, kreis):
    """Log-in sessions are not backed up: a cookie of the source never opens the restored database."""
    from ledger.core.models import LoginSession
    from ledger.core.sessions import start_session
    from ledger.core.users import add_user

    start_session(session, add_user(session, "anna", "officer", actor="test", now=NOW), now=NOW)
    session.commit()
    data, _ = _backup_bytes(engine)
    _restore(target_engine, data)
    with Session(target_engine) as restored:
        assert restored.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_backup_and_restore_through_the_cli(cli, engine, books, target_url, target_engine, tmp_path, monkeypatch):
    """``inkl backup DATEI`` writes the file whole (no ``.part`` left); ``inkl restore DATEI`` into an
    empty database restores every row (plus its own event in the audit log) and says so in German."""
    file = tmp_path / "sicherung.jsonl.gz"
    source = _row_counts(engine)
    total = sum(source.values())
    written = cli("backup", file)
    assert file.exists() and not file.with_name(file.name + ".part").exists()
    assert written.stdout.startswith(f"Sicherung geschrieben: {file} ({total} Zeilen, Schemastand ")
    assert "postings" in written.stderr   # progress on stderr

    monkeypatch.setenv("INKL_DATABASE_URL", target_url)
    restored = cli("restore", file)
    target = _row_counts(target_engine)
    assert target == {**source, "audit_log": source["audit_log"] + 1}
    with Session(engine) as session:
        journals = session.scalar(sa.select(sa.func.count()).select_from(Recipient))   # one chain each
        audit_head = verify_audit_log(session)[1].seq
    assert restored.stdout == (f"Sicherung {file} wiederhergestellt: {total} Zeilen, {journals} Journale geprüft, "
                               f"Protokoll bis Nr. {audit_head}.\n")
    # a second restore into the now filled database is refused, on stderr, and changes nothing
    again = cli("restore", file, expect=1)
    assert again.stdout == "" and "Zieldatenbank ist nicht leer" in again.stderr
    assert _row_counts(target_engine) == target

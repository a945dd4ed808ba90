"""Notices and agreements are evidence: append-only, with their history

The Land's notices and the settlement agreements decide a year's repayment, so they are never
updated or deleted, like the books (DOMAIN.md "Repayment", "Settlement agreements"):

- ``notices`` loses the rule "one notice per recipient and school year" (``uq_notice_year``,
  now the plain index ``ix_notices_year``) and gains ``replaces_id``: an amending notice
  (Änderungsbescheid) is a new row naming the notice it replaces, each notice replaced at most
  once (``uq_notice_replaces``). ``notice_withdrawals`` records the withdrawal (Aufhebung) of a
  notice without a replacement (§§ 48, 49, 49a VwVfG NRW). The notice in force of a year is the
  one neither replaced nor withdrawn.
- ``agreements`` loses ``status`` and ``effective_date``: a change of status (Vereinbarung § 9:
  signed, awaiting the finance ministry's consent, in force from a date) is a new row of
  ``agreement_status_events``; the latest event is the current status. Each existing agreement
  gets one event carrying its status and effective date (by its creator, at its creation time).
- UPDATE and DELETE of the four tables are refused by triggers (and TRUNCATE on PostgreSQL,
  with ``inkl_refuse_change()`` of migration 0002), as migrations 0002, 0004 and 0007 do.

SQLite cannot drop a table constraint or a column used by a CHECK, so ``agreements`` and
``notices`` are rebuilt as in migration 0013 (rows saved aside, table created anew under its
own name, rows put back), before any table refers to them.

The downgrade refuses while a notice was replaced or withdrawn (one notice per year could not
hold them); it puts each agreement's latest status back on its row (the earlier steps stay in
the audit log).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

APPEND_ONLY = ("agreements", "agreement_status_events", "notices", "notice_withdrawals")
MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
AGREEMENT_COLUMNS = ("id, recipient_id, school_year, deemed_conform_cents, waived, reference, created_by, created_at, "
                     "repayment_cents, payment_date, payment_reference")
NOTICE_COLUMNS = ("id, recipient_id, school_year, notice_date, reference, amount_cents, due_date, interest_start, "
                  "interest_rate_bp, interest_waived, created_by, created_at")
KIND = ("(waived AND deemed_conform_cents IS NULL) OR "
        "(NOT waived AND deemed_conform_cents IS NOT NULL AND deemed_conform_cents >= 0)")
REPAYMENT = "repayment_cents IS NULL OR (NOT waived AND repayment_cents >= 0)"
STATUS = "status IN ('signed', 'awaiting_consent', 'in_force')"
EFFECTIVE = "effective_date IS NULL OR status = 'in_force'"
INTEREST = ("(interest_waived AND interest_start IS NULL AND interest_rate_bp IS NULL) OR "
            "(NOT interest_waived AND interest_start IS NOT NULL AND interest_rate_bp IS NOT NULL "
            "AND interest_rate_bp >= 0)")
LATEST = ("(SELECT e.{column} FROM agreement_status_events e WHERE e.agreement_id = agreements.id "
          "ORDER BY e.id DESC LIMIT 1)")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        _create_status_events()
        op.execute("INSERT INTO agreement_status_events (agreement_id, status, effective_date, created_by, created_at) "
                   "SELECT id, status, effective_date, created_by, created_at FROM agreements ORDER BY id")
        op.drop_constraint("ck_agreement_effective", "agreements", type_="check")
        op.drop_constraint("ck_agreement_status", "agreements", type_="check")
        op.drop_column("agreements", "effective_date")
        op.drop_column("agreements", "status")
        op.drop_constraint("uq_notice_year", "notices", type_="unique")
        op.add_column("notices", sa.Column("replaces_id", sa.Integer(), sa.ForeignKey("notices.id"), nullable=True))
        op.create_unique_constraint("uq_notice_replaces", "notices", ["replaces_id"])
        op.create_index("ix_notices_year", "notices", ["recipient_id", "school_year"])
    else:
        op.execute("PRAGMA defer_foreign_keys = ON")
        op.execute("CREATE TABLE agreements_0015 AS SELECT * FROM agreements")
        op.execute("DROP TABLE agreements")
        _create_agreements(with_status=False)
        op.execute(f"INSERT INTO agreements ({AGREEMENT_COLUMNS}) SELECT {AGREEMENT_COLUMNS} FROM agreements_0015")
        _create_status_events()
        op.execute("INSERT INTO agreement_status_events (agreement_id, status, effective_date, created_by, created_at) "
                   "SELECT id, status, effective_date, created_by, created_at FROM agreements_0015 ORDER BY id")
        op.execute("DROP TABLE agreements_0015")
        op.execute("CREATE TABLE notices_0015 AS SELECT * FROM notices")
        op.execute("DROP TABLE notices")
        _create_notices(with_history=True)
        op.execute(f"INSERT INTO notices ({NOTICE_COLUMNS}) SELECT {NOTICE_COLUMNS} FROM notices_0015")
        op.execute("DROP TABLE notices_0015")
    op.create_table(
        "notice_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("withdrawal_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id"),
    )
    for table in APPEND_ONLY:
        _create_triggers(table, postgresql)


def downgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    replaced = bind.scalar(sa.text("SELECT COUNT(*) FROM notices WHERE replaces_id IS NOT NULL"))
    withdrawn = bind.scalar(sa.text("SELECT COUNT(*) FROM notice_withdrawals"))
    if replaced or withdrawn:
        raise RuntimeError(f"downgrade below 0015 refused: {replaced} notice(s) replaced by an amending notice, "
                           f"{withdrawn} notice(s) withdrawn")
    for table in APPEND_ONLY:
        _drop_triggers(table, postgresql)
    op.drop_table("notice_withdrawals")
    if postgresql:
        op.drop_index("ix_notices_year", table_name="notices")
        op.drop_constraint("uq_notice_replaces", "notices", type_="unique")
        op.drop_column("notices", "replaces_id")
        op.create_unique_constraint("uq_notice_year", "notices", ["recipient_id", "school_year"])
        op.add_column("agreements", sa.Column("status", sa.String(length=20), nullable=True))
        op.add_column("agreements", sa.Column("effective_date", sa.Date(), nullable=True))
        op.execute(f"UPDATE agreements SET status = {LATEST.format(column='status')}, "
                   f"effective_date = {LATEST.format(column='effective_date')}")
        op.execute("UPDATE agreements SET status = 'in_force' WHERE status IS NULL")
        op.alter_column("agreements", "status", nullable=False)
        op.create_check_constraint("ck_agreement_status", "agreements", STATUS)
        op.create_check_constraint("ck_agreement_effective", "agreements", EFFECTIVE)
        op.drop_table("agreement_status_events")
    else:
        op.execute("PRAGMA defer_foreign_keys = ON")
        op.execute("CREATE TABLE notices_0015 AS SELECT * FROM notices")
        op.execute("DROP TABLE notices")
        _create_notices(with_history=False)
        op.execute(f"INSERT INTO notices ({NOTICE_COLUMNS}) SELECT {NOTICE_COLUMNS} FROM notices_0015")
        op.execute("DROP TABLE notices_0015")
        op.execute(f"CREATE TABLE agreements_0015 AS SELECT {AGREEMENT_COLUMNS}, "
                   f"COALESCE({LATEST.format(column='status')}, 'in_force') AS status, "
                   f"{LATEST.format(column='effective_date')} AS effective_date FROM agreements")
        op.drop_table("agreement_status_events")
        op.execute("DROP TABLE agreements")
        _create_agreements(with_status=True)
        op.execute(f"INSERT INTO agreements ({AGREEMENT_COLUMNS}, status, effective_date) "
                   f"SELECT {AGREEMENT_COLUMNS}, status, effective_date FROM agreements_0015")
        op.execute("DROP TABLE agreements_0015")


def _create_status_events() -> None:
    op.create_table(
        "agreement_status_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(STATUS, name="ck_agreement_event_status"),
        sa.CheckConstraint(EFFECTIVE, name="ck_agreement_event_effective"),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agreement_status_events_agreement", "agreement_status_events", ["agreement_id"])


def _create_agreements(*, with_status: bool) -> None:
    """``agreements`` as migration 0013 left it (``with_status``) or without its status (SQLite)."""
    status = [sa.Column("status", sa.String(length=20), nullable=False),
              sa.Column("effective_date", sa.Date(), nullable=True),
              sa.CheckConstraint(STATUS, name="ck_agreement_status"),
              sa.CheckConstraint(EFFECTIVE, name="ck_agreement_effective")] if with_status else []
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("deemed_conform_cents", sa.BigInteger(), nullable=True),
        sa.Column("waived", sa.Boolean(), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("repayment_cents", sa.BigInteger(), nullable=True),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("payment_reference", sa.String(length=140), nullable=True),
        sa.CheckConstraint(KIND, name="ck_agreement_kind"),
        sa.CheckConstraint(REPAYMENT, name="ck_agreement_repayment"),
        *status,
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient_id", "school_year", name="uq_agreement_year"),
    )


def _create_notices(*, with_history: bool) -> None:
    """``notices`` with ``replaces_id`` (``with_history``) or as migration 0013 created it (SQLite)."""
    history = [sa.Column("replaces_id", sa.Integer(), nullable=True),
               sa.ForeignKeyConstraint(["replaces_id"], ["notices.id"]),
               sa.UniqueConstraint("replaces_id", name="uq_notice_replaces")] if with_history else [
        sa.UniqueConstraint("recipient_id", "school_year", name="uq_notice_year")]
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("notice_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("interest_start", sa.Date(), nullable=True),
        sa.Column("interest_rate_bp", sa.Integer(), nullable=True),
        sa.Column("interest_waived", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount_cents >= 0", name="ck_notice_amount"),
        sa.CheckConstraint(INTEREST, name="ck_notice_interest"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        *history,
    )
    if with_history:
        op.create_index("ix_notices_year", "notices", ["recipient_id", "school_year"])


def _create_triggers(table: str, postgresql: bool) -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of ``table``."""
    if postgresql:  # inkl_refuse_change() comes from migration 0002
        op.execute(f"CREATE TRIGGER inkl_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_refuse_change()")
        op.execute(f"CREATE TRIGGER inkl_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION inkl_refuse_change()")
        return
    for action in ("update", "delete"):
        op.execute(f"CREATE TRIGGER inkl_{table}_no_{action} BEFORE {action.upper()} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def _drop_triggers(table: str, postgresql: bool) -> None:
    if postgresql:
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_immutable ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_truncate ON {table}")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_{action}")

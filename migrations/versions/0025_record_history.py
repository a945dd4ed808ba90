"""The history of the tables that decide a figure: ``record_versions``, append-only and hash-chained

``record_versions`` holds one row per version of a row of a decision table
(``ledger.core.history.DECISION_TABLES``: master data, accounts, grants, overrides, evaluation
runs, agreements, notices, …): table, row key, operation, the canonical JSON of the row, actor,
time, and the link of one hash chain over all tables (``seq``, ``prev_hash``,
``version_hash``). The database refuses UPDATE and DELETE of a version (and TRUNCATE on
PostgreSQL) and a version whose ``prev_hash`` is not the hash of the version with ``seq - 1``
(or, for ``seq`` 1, 64 zeros), as migration 0002 does for the journal and the audit log.

Every row that exists before this revision gets an ``insert`` version (actor "Migration
0025"), so that an upgraded database verifies clean.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
IMMUTABLE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
CHAIN = "inkl: Hash-Kette unterbrochen (prev_hash passt nicht zum Vorgänger)"
LINK_OK = (f"(NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}') OR EXISTS (SELECT 1 FROM record_versions p "
           "WHERE p.seq = NEW.seq - 1 AND p.version_hash = NEW.prev_hash)")


#: The decision tables at this revision (``ledger.core.history.DECISION_TABLES`` then): a later
#: revision's new decision table does not exist yet when this migration runs.
DECISION_TABLES_0025 = (
    "recipients",
    "accounts",
    "grants",
    "payouts",
    "agreements",
    "agreement_status_events",
    "notices",
    "notice_withdrawals",
    "period_events",
    "schools",
    "providers",
    "pools",
    "pool_schools",
    "municipalities",
    "pass_through_verifications",
    "pass_through_claims",
    "commitments",
    "cost_centres",
    "classification_overrides",
    "evaluation_runs",
    "classifications",
    "budget_agreements",
    "budget_advances",
    "budget_hours_reports",
    "budget_judgements",
    "budget_cases",
    "budget_records",
    "allocation_claims",
    "allocation_claim_lines",
    "allocation_claim_cases",
    "allocation_commitments",
    "allocation_payments",
)


def upgrade() -> None:
    op.create_table(
        "record_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_key", sa.String(length=100), nullable=False),
        sa.Column("operation", sa.String(length=10), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("version_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("operation IN ('insert', 'update', 'delete')", name="ck_record_version_operation"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq", name="uq_record_version_seq"),
    )
    op.create_index("ix_record_versions_row", "record_versions", ["table_name", "row_key", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        raise_ = "RAISE EXCEPTION '{}' USING ERRCODE = 'integrity_constraint_violation';"
        op.execute(f"""
            CREATE FUNCTION inkl_record_version_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT ({LINK_OK}) THEN {raise_.format(CHAIN)} END IF;
                RETURN NEW;
            END $$""")
        op.execute("CREATE TRIGGER inkl_record_versions_before_insert BEFORE INSERT ON record_versions "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_record_version_before_insert()")
        op.execute("CREATE TRIGGER inkl_record_versions_immutable BEFORE UPDATE OR DELETE ON record_versions "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_refuse_change()")
        op.execute("CREATE TRIGGER inkl_record_versions_no_truncate BEFORE TRUNCATE ON record_versions "
                   "FOR EACH STATEMENT EXECUTE FUNCTION inkl_refuse_change()")
    else:
        refuse = "BEGIN SELECT RAISE(ABORT, '{}'); END"
        op.execute(f"CREATE TRIGGER inkl_record_versions_no_update BEFORE UPDATE ON record_versions "
                   f"{refuse.format(IMMUTABLE)}")
        op.execute(f"CREATE TRIGGER inkl_record_versions_no_delete BEFORE DELETE ON record_versions "
                   f"{refuse.format(IMMUTABLE)}")
        op.execute(f"CREATE TRIGGER inkl_record_versions_chain BEFORE INSERT ON record_versions "
                   f"WHEN NOT ({LINK_OK}) {refuse.format(CHAIN)}")

    from ledger.core.history import catch_up

    catch_up(op.get_bind(), actor="Migration 0025", now=datetime.now().replace(microsecond=0), reflect=True,
             tables=DECISION_TABLES_0025)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE record_versions")
        op.execute("DROP FUNCTION inkl_record_version_before_insert()")
    else:
        op.drop_table("record_versions")

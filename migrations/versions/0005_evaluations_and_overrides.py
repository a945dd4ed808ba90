"""Evaluation runs, stored classifications and overrides; all append-only

Every run of the rules engine that matters (confirmation, closing, an explicit
re-evaluation) is recorded with the rule pack's id, version and file digest and each
posting's classification, so that a changed rule pack never rewrites history without a
visible record. Overrides by an officer carry a written justification and who/when;
a withdrawal is a new row. The database refuses UPDATE, DELETE and TRUNCATE on all
three tables, like on the books (migration 0002).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("classification_overrides", "evaluation_runs", "classifications")
MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"


def upgrade() -> None:
    op.create_table(
        "classification_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("conform_cents", sa.BigInteger(), nullable=True),
        sa.Column("justification", sa.String(length=2000), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("withdraws_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(withdraws_id IS NULL) = (status IS NOT NULL)", name="ck_override_kind"),
        sa.CheckConstraint("status IS NULL OR status IN ('permitted', 'excluded', 'split')",
                           name="ck_override_status"),
        sa.CheckConstraint("(status IS NULL) = (conform_cents IS NULL)", name="ck_override_amount"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.ForeignKeyConstraint(["posting_id"], ["postings.id"]),
        sa.ForeignKeyConstraint(["withdraws_id"], ["classification_overrides.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("withdraws_id"),
    )
    op.create_index("ix_overrides_posting", "classification_overrides", ["posting_id"])
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("pack_id", sa.String(length=60), nullable=False),
        sa.Column("pack_version", sa.String(length=20), nullable=False),
        sa.Column("pack_digest", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("postings", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("conform_cents", sa.BigInteger(), nullable=False),
        sa.Column("excluded_cents", sa.BigInteger(), nullable=False),
        sa.Column("unclassified_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.ForeignKeyConstraint(["previous_id"], ["evaluation_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evaluation_runs_year", "evaluation_runs", ["recipient_id", "school_year"])
    op.create_table(
        "classifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("conform_cents", sa.BigInteger(), nullable=False),
        sa.Column("excluded_cents", sa.BigInteger(), nullable=False),
        sa.Column("unclassified_cents", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=2500), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("review", sa.String(length=300), nullable=True),
        sa.Column("override_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('permitted', 'capped', 'excluded', 'unclassified', 'split')",
                           name="ck_classification_status"),
        sa.ForeignKeyConstraint(["run_id"], ["evaluation_runs.id"]),
        sa.ForeignKeyConstraint(["posting_id"], ["postings.id"]),
        sa.ForeignKeyConstraint(["override_id"], ["classification_overrides.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "posting_id", name="uq_classification_posting"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgres:  # inkl_refuse_change() comes from migration 0002
            op.execute(f"CREATE TRIGGER inkl_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION inkl_refuse_change()")
            op.execute(f"CREATE TRIGGER inkl_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION inkl_refuse_change()")
        else:
            for action in ("update", "delete"):
                op.execute(f"CREATE TRIGGER inkl_{table}_no_{action} BEFORE {action.upper()} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_truncate ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_{action}")
    op.drop_table("classifications")
    op.drop_index("ix_evaluation_runs_year", table_name="evaluation_runs")
    op.drop_table("evaluation_runs")
    op.drop_index("ix_overrides_posting", table_name="classification_overrides")
    op.drop_table("classification_overrides")

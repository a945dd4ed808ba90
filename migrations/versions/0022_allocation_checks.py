"""Formula allocation: schools and case references of claim lines, commitments of a plan

Completes the claims (Mittelabruf) of migration 0017 with what the Rahmenbedingungen of the
Kreis Mettmann require (Nr. 3 and 4.4):

- ``allocation_claim_lines`` gains ``school_id`` (the school where a helper is deployed, a
  school of the recipient's master data, NULL if the claim names none) and
  ``mainstream_basis`` (``master_data``: the school's form was checked against the pack's list
  of forms that are not mainstream schools; ``declaration``: no school was named, the binding
  declaration covers it; NULL on material lines and on lines recorded before this migration);
- ``allocation_claim_cases``: the pseudonymous case references of the pupils a helper line
  supports (never names), so that no pupil is counted twice against integration aid; one row
  per line and reference, with the plan key for the look-up across recipients;
- ``allocation_commitments``: the booking of a plan's ceilings as a commitment
  (Mittelbindung, ``kind`` ``commit``) and the release of its rest at the end of the claim
  window (``release``), each at most once per plan, with its journal entry;
- ``pass_through_claims``: a member municipality's claim against a Kreis's pass-through plan
  (Weiterleitung nach Verteilungsschlüssel; the plan is an instance plan file): claimed,
  accepted, refused in cents with the reason, and the pass-through booking of the accepted part.

The new tables are append-only (triggers, as migration 0017 does). Adding nullable columns
keeps the existing lines and their triggers.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
TABLES = ("allocation_claim_cases", "allocation_commitments", "pass_through_claims")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.add_column("allocation_claim_lines", sa.Column("school_id", sa.Integer(),
                                                          sa.ForeignKey("schools.id"), nullable=True))
    else:  # SQLite: ADD COLUMN with REFERENCES keeps the table (and its triggers)
        op.execute("ALTER TABLE allocation_claim_lines ADD COLUMN school_id INTEGER REFERENCES schools (id)")
    op.add_column("allocation_claim_lines", sa.Column("mainstream_basis", sa.String(length=20), nullable=True))
    op.create_table(
        "allocation_claim_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(length=60), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["allocation_claim_lines.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_id", "case_ref", name="uq_claim_case_line"),
    )
    op.create_index("ix_allocation_claim_cases_plan_ref", "allocation_claim_cases", ["plan_key", "case_ref"])
    op.create_table(
        "allocation_commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('commit', 'release')", name="ck_allocation_commitment_kind"),
        sa.CheckConstraint("amount_cents >= 0", name="ck_allocation_commitment_amount"),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_key", "kind", name="uq_allocation_commitment_plan_kind"),
    )
    op.create_table(
        "pass_through_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(length=60), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("claim_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("claimed_cents", sa.BigInteger(), nullable=False),
        sa.Column("accepted_cents", sa.BigInteger(), nullable=False),
        sa.Column("refused_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("claimed_cents > 0 AND accepted_cents >= 0 AND refused_cents >= 0",
                           name="ck_pass_through_claim_amounts"),
        sa.CheckConstraint("claimed_cents = accepted_cents + refused_cents", name="ck_pass_through_claim_balance"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.ForeignKeyConstraint(["municipality_id"], ["municipalities.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pass_through_claims_plan_municipality", "pass_through_claims", ["plan_key", "municipality_id"])
    for table in TABLES:
        _create_triggers(table, postgresql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in reversed(TABLES):
        _drop_triggers(table, postgresql)
    op.drop_index("ix_pass_through_claims_plan_municipality", table_name="pass_through_claims")
    op.drop_table("pass_through_claims")
    op.drop_table("allocation_commitments")
    op.drop_index("ix_allocation_claim_cases_plan_ref", table_name="allocation_claim_cases")
    op.drop_table("allocation_claim_cases")
    op.drop_column("allocation_claim_lines", "mainstream_basis")
    op.drop_column("allocation_claim_lines", "school_id")


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

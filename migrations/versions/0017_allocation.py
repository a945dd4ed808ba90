"""Formula allocation: claims (Mittelabruf) against an allocation plan, as evidence

The plans themselves (grantor, period, recipients with their pupil counts) and the formula are
rule-pack data (``rules/kreis-mettmann-inklusionshilfe.toml``, ``[allocation]``): a plan is a
document of the grantor that the ledger quotes, not something it books. What the ledger records
are the claims and how its rules judged them:

- ``allocation_claims``: one claim of a recipient against a plan (date, the reference of its
  binding declaration, claimed/accepted/refused in cents, the journal entry of the accepted
  amount, the pack and version that judged it);
- ``allocation_claim_lines``: its lines (each deployed helper's personnel costs, material costs),
  with the accepted part and the reason of any refusal;
- ``allocation_payments``: the payment of a claim's accepted amount to its recipient (one per
  claim), with its journal entry.

Both are append-only (triggers refuse UPDATE and DELETE, and TRUNCATE on PostgreSQL), like the
other evidence tables.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
TABLES = ("allocation_claims", "allocation_claim_lines", "allocation_payments")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "allocation_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(length=60), nullable=False),
        sa.Column("pack_id", sa.String(length=60), nullable=False),
        sa.Column("pack_version", sa.String(length=20), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("claim_date", sa.Date(), nullable=False),
        sa.Column("declaration", sa.String(length=200), nullable=False),
        sa.Column("claimed_cents", sa.BigInteger(), nullable=False),
        sa.Column("accepted_cents", sa.BigInteger(), nullable=False),
        sa.Column("refused_cents", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("accepted_cents >= 0 AND refused_cents >= 0", name="ck_claim_amounts"),
        sa.CheckConstraint("claimed_cents = accepted_cents + refused_cents", name="ck_claim_balance"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_allocation_claims_plan_recipient", "allocation_claims", ["plan_key", "recipient_id"])
    op.create_table(
        "allocation_claim_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("accepted_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("kind IN ('helper', 'material')", name="ck_claim_line_kind"),
        sa.CheckConstraint("amount_cents > 0 AND accepted_cents >= 0 AND accepted_cents <= amount_cents",
                           name="ck_claim_line_amounts"),
        sa.ForeignKeyConstraint(["claim_id"], ["allocation_claims.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "position", name="uq_claim_line_position"),
    )
    op.create_table(
        "allocation_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["allocation_claims.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", name="uq_allocation_payment_claim"),
    )
    for table in TABLES:
        _create_triggers(table, postgresql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in reversed(TABLES):
        _drop_triggers(table, postgresql)
    op.drop_table("allocation_payments")
    op.drop_table("allocation_claim_lines")
    op.drop_index("ix_allocation_claims_plan_recipient", table_name="allocation_claims")
    op.drop_table("allocation_claims")


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

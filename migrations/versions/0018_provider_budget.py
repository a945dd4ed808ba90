"""Provider budgets (Trägerbudget): agreements, advances, quarterly hours, judgements

The Bremerhaven model of seed 004 (DOMAIN.md "Bremerhaven Trägerbudget"): a public body (a
recipient) agrees a fixed budget with a provider for a term, pays it in equal monthly advances
on the first of each month, and the provider reports its delivered client hours per quarter.

- ``budget_agreements``: key, recipient (the public body), provider name, term, budget in
  cents, the services it replaces and those outside it (texts), the agreed client hours per
  year of specialist and semi-professional staff (the quarter is a fourth), the reading of
  the indirect hours (``client_hours`` or ``working_time``, see ``ledger.workflows.budget``).
- ``budget_advances``: one row per booked advance (due day, cents, journal entry), unique per
  agreement and day, so an advance is never booked twice.
- ``budget_hours_reports``: a provider's quarterly report of delivered client hours; a
  correction is a new row, the latest of a quarter counts.
- ``budget_judgements``: the officer's recorded judgement whether a shortfall persists.
- ``journal_entries.kind`` gains ``budget_advance`` (an advance) and ``budget_outside``
  (§ 39 SGB VIII special needs, booked apart from the budget). On SQLite the CHECK constraint
  is rewritten in the schema text (``PRAGMA writable_schema``, the procedure of the SQLite
  documentation "Making Other Kinds Of Table Schema Changes"), since rebuilding the
  journal would drop its triggers and hash-chain checks.

All four tables are append-only (triggers, as migrations 0015 and 0016 do).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
APPEND_ONLY = ("budget_agreements", "budget_advances", "budget_hours_reports", "budget_judgements")
OLD_KINDS = "kind IN ('import', 'manual', 'payout', 'repayment_obligation', 'repayment_payment', 'reversal')"
NEW_KINDS = ("kind IN ('import', 'manual', 'payout', 'repayment_obligation', 'repayment_payment', 'reversal', "
             "'budget_advance', 'budget_outside')")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _entry_kinds(OLD_KINDS, NEW_KINDS, postgresql)
    op.create_table(
        "budget_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("provider_name", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=False),
        sa.Column("replaces", sa.Text(), nullable=False),
        sa.Column("outside", sa.Text(), nullable=False),
        sa.Column("specialist_hours_year", sa.Numeric(12, 2), nullable=False),
        sa.Column("semi_professional_hours_year", sa.Numeric(12, 2), nullable=False),
        sa.Column("indirect_reading", sa.String(length=20), nullable=False),
        sa.Column("pack_id", sa.String(length=60), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("budget_cents > 0", name="ck_budget_positive"),
        sa.CheckConstraint("end_date > start_date", name="ck_budget_term"),
        sa.CheckConstraint("specialist_hours_year >= 0 AND semi_professional_hours_year >= 0",
                           name="ck_budget_hours"),
        sa.CheckConstraint("indirect_reading IN ('client_hours', 'working_time')", name="ck_budget_reading"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_budget_key"),
    )
    op.create_table(
        "budget_advances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name="ck_budget_advance_positive"),
        sa.ForeignKeyConstraint(["agreement_id"], ["budget_agreements.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agreement_id", "due_date", name="uq_budget_advance_day"),
        sa.UniqueConstraint("entry_id", name="uq_budget_advance_entry"),
    )
    op.create_table(
        "budget_hours_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("specialist_hours", sa.Numeric(12, 2), nullable=False),
        sa.Column("semi_professional_hours", sa.Numeric(12, 2), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("specialist_hours >= 0 AND semi_professional_hours >= 0", name="ck_budget_report_hours"),
        sa.ForeignKeyConstraint(["agreement_id"], ["budget_agreements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budget_hours_reports_quarter", "budget_hours_reports", ["agreement_id", "quarter"])
    op.create_table(
        "budget_judgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("persists", sa.Boolean(), nullable=False),
        sa.Column("reasoning", sa.String(length=1000), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["budget_agreements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budget_judgements_agreement", "budget_judgements", ["agreement_id"])
    for table in APPEND_ONLY:
        _create_triggers(table, postgresql)


def downgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    booked = bind.scalar(sa.text("SELECT COUNT(*) FROM journal_entries WHERE kind IN ('budget_advance', 'budget_outside')"))
    if booked:
        raise RuntimeError(f"downgrade below 0018 refused: {booked} journal entr(y/ies) of a provider budget")
    for table in APPEND_ONLY:
        _drop_triggers(table, postgresql)
    op.drop_index("ix_budget_judgements_agreement", table_name="budget_judgements")
    op.drop_table("budget_judgements")
    op.drop_index("ix_budget_hours_reports_quarter", table_name="budget_hours_reports")
    op.drop_table("budget_hours_reports")
    op.drop_table("budget_advances")
    op.drop_table("budget_agreements")
    _entry_kinds(NEW_KINDS, OLD_KINDS, postgresql)


def _entry_kinds(old: str, new: str, postgresql: bool) -> None:
    """Replace the CHECK ``ck_entry_kind`` of ``journal_entries``: ``old`` → ``new``."""
    if postgresql:
        op.drop_constraint("ck_entry_kind", "journal_entries", type_="check")
        op.create_check_constraint("ck_entry_kind", "journal_entries", new)
        return
    bind = op.get_bind()
    sql = bind.scalar(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'journal_entries'"))
    if old not in sql:
        raise RuntimeError("journal_entries: the CHECK of the entry kinds is not as migration 0001 wrote it")
    version = bind.scalar(sa.text("PRAGMA schema_version"))
    op.execute("PRAGMA writable_schema = ON")
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'journal_entries'"),
                 {"sql": sql.replace(old, new)})
    op.execute(f"PRAGMA schema_version = {version + 1}")
    op.execute("PRAGMA writable_schema = OFF")


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

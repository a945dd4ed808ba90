"""Real inputs: bank accounts by IBAN, the import profile of a batch, parked bank entries, API tokens

- ``accounts.iban``: the IBAN of a bank account of the chart (compact, upper case, checked
  with schwifty by ``ledger.core.bank``), unique over all recipients, so a bank statement
  (camt.053) finds the one account it belongs to.
- ``import_batches.profile``: the key of the import profile the file was read with
  (``ledger.read.profiles``); NULL for batches imported before profiles existed.
- ``parked_bank_entries``: the entries of a bank statement that no rule of the profile
  could book, kept for the officer's decision (the profile's ``unmatched = "park"``). A
  parked entry is resolved when an imported row of the same ``row_key`` exists (the entry
  the officer booked); the parked row itself is never changed or deleted (triggers, as for
  ``imported_rows``). Its reference to the import batch is checked at commit, like the
  imported rows' (migration 0008).
- ``api_tokens``: personal access tokens of the API (``/api/v1``); only the SHA-256 of a
  token is stored. A token is revoked by setting ``revoked_at``; it is never deleted, so
  the audit log's references stay resolvable.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("accounts", sa.Column("iban", sa.String(length=34), nullable=True))
    op.create_index("uq_account_iban", "accounts", ["iban"], unique=True)
    op.add_column("import_batches", sa.Column("profile", sa.String(length=40), nullable=True))
    op.create_table(
        "parked_bank_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("counterparty", sa.String(length=140), nullable=True),
        sa.Column("counterparty_iban", sa.String(length=34), nullable=True),
        sa.Column("remittance", sa.String(length=500), nullable=True),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount_cents <> 0", name="ck_parked_amount"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batches.id"], deferrable=True, initially="DEFERRED"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient_id", "row_key", name="uq_parked_row"),
    )
    op.create_index("ix_parked_bank_entries_batch", "parked_bank_entries", ["batch_id"])
    _create_triggers("parked_bank_entries", postgresql)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_hash"),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id"])


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    op.drop_table("api_tokens")
    _drop_triggers("parked_bank_entries", postgresql)
    op.drop_index("ix_parked_bank_entries_batch", table_name="parked_bank_entries")
    op.drop_table("parked_bank_entries")
    op.drop_column("import_batches", "profile")  # SQLite >= 3.35 drops a column in place, triggers kept
    op.drop_index("uq_account_iban", table_name="accounts")
    op.drop_column("accounts", "iban")


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

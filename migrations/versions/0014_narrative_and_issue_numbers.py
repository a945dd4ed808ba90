"""The Sachbericht in versions; issued statements get their number and a content fingerprint

``narrative_reports`` is new: every saved version of a school year's Sachbericht (ANBest-G
NRW, Nr. 6), with who wrote it and when. Like the books it is append-only: the database
refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) with the triggers of migration 0002's
kind, so the latest version counts and the earlier ones stay for the auditor.

``issued_statements`` gains ``number`` (NOT NULL; 1, 2, … per recipient and school year,
unique with them, index ``ux_issued_statements_number``, which replaces the plain index
``ix_issued_statements_year`` it begins with) and ``content_sha256`` (the fingerprint of the
statement's content without creation time and number; NULL for the rows before this
migration, which were not fingerprinted). The existing rows are numbered in id order, which
is the order they were issued in. Numbering them updates rows of an append-only table, so
its triggers are set aside for that one statement: PostgreSQL disables them and alters the
table in place; SQLite rebuilds the table as migrations 0012 and 0013 do (rows saved aside,
triggers and table dropped, the table created anew under its own name, the rows put back
numbered, the triggers created again). No table refers to ``issued_statements``.

The downgrade refuses while a Sachbericht is stored (it would be lost); issue numbers and
fingerprints are dropped (the numbers follow from the id order again).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NARRATIVES = "narrative_reports"
ISSUED = "issued_statements"
MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
OLD_COLUMNS = ("id, recipient_id, school_year, sha256, pdf, created_by, created_at, chain_seq, chain_hash, "
               "repayment_due_cents")
NUMBERED = "ROW_NUMBER() OVER (PARTITION BY recipient_id, school_year ORDER BY id)"


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _protect(table: str) -> None:
    """The append-only triggers of ``table`` (as migrations 0002, 0004 and 0007 create them)."""
    if _postgresql():  # inkl_refuse_change() comes from migration 0002
        op.execute(f"CREATE TRIGGER inkl_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_refuse_change()")
        op.execute(f"CREATE TRIGGER inkl_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION inkl_refuse_change()")
    else:
        for action in ("update", "delete"):
            op.execute(f"CREATE TRIGGER inkl_{table}_no_{action} BEFORE {action.upper()} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def _unprotect(table: str) -> None:
    if _postgresql():
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_immutable ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_truncate ON {table}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_{action}")


def upgrade() -> None:
    op.create_table(
        NARRATIVES,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(length=80), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_narrative_reports_year", NARRATIVES, ["recipient_id", "school_year"])
    _protect(NARRATIVES)

    if _postgresql():
        op.add_column(ISSUED, sa.Column("number", sa.Integer(), nullable=True))
        op.add_column(ISSUED, sa.Column("content_sha256", sa.String(length=64), nullable=True))
        op.execute(f"ALTER TABLE {ISSUED} DISABLE TRIGGER inkl_{ISSUED}_immutable")
        op.execute(f"UPDATE {ISSUED} AS s SET number = n.number FROM "
                   f"(SELECT id, {NUMBERED} AS number FROM {ISSUED}) AS n WHERE s.id = n.id")
        op.execute(f"ALTER TABLE {ISSUED} ENABLE TRIGGER inkl_{ISSUED}_immutable")
        op.alter_column(ISSUED, "number", nullable=False)
        op.drop_index("ix_issued_statements_year", table_name=ISSUED)
    else:
        _rebuild_sqlite(numbered=True, refill=(
            f"INSERT INTO {ISSUED} ({OLD_COLUMNS}, number) SELECT {OLD_COLUMNS}, {NUMBERED} FROM {ISSUED}_0014"))
    op.create_index("ux_issued_statements_number", ISSUED, ["recipient_id", "school_year", "number"], unique=True)


def downgrade() -> None:
    narratives = op.get_bind().scalar(sa.text(f"SELECT COUNT(*) FROM {NARRATIVES}"))
    if narratives:
        raise RuntimeError(f"downgrade below 0014 refused: {narratives} narrative report version(s) recorded")
    _unprotect(NARRATIVES)
    op.drop_index("ix_narrative_reports_year", table_name=NARRATIVES)
    op.drop_table(NARRATIVES)
    op.drop_index("ux_issued_statements_number", table_name=ISSUED)
    if _postgresql():
        op.drop_column(ISSUED, "content_sha256")
        op.drop_column(ISSUED, "number")
        op.create_index("ix_issued_statements_year", ISSUED, ["recipient_id", "school_year"])
    else:
        _rebuild_sqlite(numbered=False,
                        refill=f"INSERT INTO {ISSUED} ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM {ISSUED}_0014")


def _rebuild_sqlite(*, numbered: bool, refill: str) -> None:
    """Recreate ``issued_statements`` with or without ``number`` and ``content_sha256``, refilled by
    the statement ``refill`` from the rows saved in ``issued_statements_0014``, and protect it again."""
    op.execute(f"CREATE TABLE {ISSUED}_0014 AS SELECT * FROM {ISSUED}")
    _unprotect(ISSUED)
    op.execute(f"DROP TABLE {ISSUED}")
    new = [sa.Column("number", sa.Integer(), nullable=False),
           sa.Column("content_sha256", sa.String(length=64), nullable=True)] if numbered else []
    op.create_table(
        ISSUED,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("repayment_due_cents", sa.BigInteger(), nullable=False),
        *new,
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    if not numbered:
        op.create_index("ix_issued_statements_year", ISSUED, ["recipient_id", "school_year"])
    op.execute(refill)
    op.execute(f"DROP TABLE {ISSUED}_0014")
    _protect(ISSUED)

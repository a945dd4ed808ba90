"""Settlement agreements carry their own terms; the Land's notices are recorded

``agreements`` gains the agreement's own terms (seed 002_17056edfca8550ce.txt, Vereinbarung):
``repayment_cents`` (the agreed repayment, § 1 Abs. 2 "zu mindern auf insgesamt …"; NULL for
the rows before this migration, for which the deemed-conform rule applies as before),
``payment_date`` and ``payment_reference`` (§ 3), ``status`` (``signed``, ``awaiting_consent``,
``in_force``) and ``effective_date`` (§ 9: effective only once the finance ministry consented
and the Kreis's bodies resolved). Existing rows decided the figures until now, so they become
``in_force`` (without an effective date: it was not recorded).

``notices`` is new: the revocation or repayment notice of the Land for a recipient's school
year (amount, due date, interest start and rate in hundredths of a percentage point above the
base rate, or interest waived, § 49a Abs. 3 VwVfG NRW).

PostgreSQL alters ``agreements`` in place. SQLite cannot add a table constraint, so the table is
rebuilt as in migration 0012 (rows saved aside, table dropped and created anew under its own
name, rows put back); no table refers to ``agreements`` and it has no triggers (migration 0002
guards the booked tables, not the master data), so nothing else is touched.

The downgrade refuses while an agreement is not in force or a notice exists: without the new
columns and table they would silently change the figures of their years.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_COLUMNS = "id, recipient_id, school_year, deemed_conform_cents, waived, reference, created_by, created_at"
KIND = ("(waived AND deemed_conform_cents IS NULL) OR "
        "(NOT waived AND deemed_conform_cents IS NOT NULL AND deemed_conform_cents >= 0)")
NEW_CHECKS = (
    ("ck_agreement_repayment", "repayment_cents IS NULL OR (NOT waived AND repayment_cents >= 0)"),
    ("ck_agreement_status", "status IN ('signed', 'awaiting_consent', 'in_force')"),
    ("ck_agreement_effective", "effective_date IS NULL OR status = 'in_force'"),
)


def _new_columns(status_default: str | None = None) -> list[sa.Column]:
    """The agreement's terms; ``status_default`` fills ``status`` of the existing rows."""
    default = None if status_default is None else sa.text(f"'{status_default}'")
    return [sa.Column("repayment_cents", sa.BigInteger(), nullable=True),
            sa.Column("payment_date", sa.Date(), nullable=True),
            sa.Column("payment_reference", sa.String(length=140), nullable=True),
            sa.Column("status", sa.String(length=20), nullable=False, server_default=default),
            sa.Column("effective_date", sa.Date(), nullable=True)]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in _new_columns(status_default="in_force"):
            op.add_column("agreements", column)
        op.alter_column("agreements", "status", server_default=None)
        for name, condition in NEW_CHECKS:
            op.create_check_constraint(name, "agreements", condition)
    else:
        _rebuild_sqlite(with_terms=True, refill=(
            f"INSERT INTO agreements ({OLD_COLUMNS}, status) SELECT {OLD_COLUMNS}, 'in_force' FROM agreements_0013"))
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
        sa.CheckConstraint(
            "(interest_waived AND interest_start IS NULL AND interest_rate_bp IS NULL) OR "
            "(NOT interest_waived AND interest_start IS NOT NULL AND interest_rate_bp IS NOT NULL "
            "AND interest_rate_bp >= 0)", name="ck_notice_interest"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient_id", "school_year", name="uq_notice_year"),
    )


def downgrade() -> None:
    bind = op.get_bind()
    pending = bind.scalar(sa.text("SELECT COUNT(*) FROM agreements WHERE status <> 'in_force'"))
    notices = bind.scalar(sa.text("SELECT COUNT(*) FROM notices"))
    if pending or notices:
        raise RuntimeError(f"downgrade below 0013 refused: {pending} agreement(s) not in force, "
                           f"{notices} notice(s) recorded")
    op.drop_table("notices")
    if bind.dialect.name == "postgresql":
        for name, _condition in NEW_CHECKS:
            op.drop_constraint(name, "agreements", type_="check")
        for column in _new_columns():
            op.drop_column("agreements", column.name)
    else:
        _rebuild_sqlite(with_terms=False,
                        refill=f"INSERT INTO agreements ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM agreements_0013")


def _rebuild_sqlite(*, with_terms: bool, refill: str) -> None:
    """Recreate ``agreements`` with or without the agreement's terms, refilled by the statement
    ``refill`` from the saved rows in ``agreements_0013`` (see migration 0012 for why not
    Alembic's batch mode)."""
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TABLE agreements_0013 AS SELECT * FROM agreements")
    op.execute("DROP TABLE agreements")
    terms = _new_columns() if with_terms else []
    checks = [sa.CheckConstraint(condition, name=name) for name, condition in NEW_CHECKS] if with_terms else []
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
        *terms,
        sa.CheckConstraint(KIND, name="ck_agreement_kind"),
        *checks,
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient_id", "school_year", name="uq_agreement_year"),
    )
    op.execute(refill)
    op.execute("DROP TABLE agreements_0013")

"""Running totals of the postings, kept with them (issue 18)

``account_year_totals``: per account, school year, category, cost centre (``""`` for none),
booking month and reversal entry or not, the sum of the postings in cents, their number and
the first and last booking day (``ledger.core.running_totals``; the journal writer keeps them
in the same transaction as the postings). Filled here from the postings that exist.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_FILL = """
INSERT INTO account_year_totals (account_id, school_year, category, cost_centre, month, reversal, recipient_id,
                                 amount_cents, postings, first_day, last_day)
SELECT p.account_id, p.school_year, COALESCE(p.category, ''), COALESCE(p.cost_centre, ''), {month},
       e.reverses_id IS NOT NULL, a.recipient_id, SUM(p.amount_cents), COUNT(*), MIN(p.date), MAX(p.date)
FROM postings p JOIN journal_entries e ON e.id = p.entry_id JOIN accounts a ON a.id = p.account_id
GROUP BY p.account_id, p.school_year, COALESCE(p.category, ''), COALESCE(p.cost_centre, ''), {month},
         e.reverses_id IS NOT NULL, a.recipient_id
"""
_MONTH = {"postgresql": "CAST(date_trunc('month', p.date) AS DATE)", "sqlite": "date(p.date, 'start of month')"}


def upgrade() -> None:
    op.create_table(
        "account_year_totals",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("cost_centre", sa.String(length=40), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("postings", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("account_id", "school_year", "category", "cost_centre", "month", "reversal"),
    )
    op.create_index("ix_account_year_totals_recipient", "account_year_totals", ["recipient_id", "school_year"])
    dialect = op.get_bind().dialect.name
    op.execute(_FILL.format(month=_MONTH.get(dialect, _MONTH["postgresql"])))


def downgrade() -> None:
    op.drop_index("ix_account_year_totals_recipient", table_name="account_year_totals")
    op.drop_table("account_year_totals")

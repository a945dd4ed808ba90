"""Running totals of the journal, kept with the entries (issue 18)

``journal_day_totals``: per recipient, school year and booking day, the number of journal
entries dated that day with a posting of that school year and the sum of their signed
amounts in cents (an entry's debits, negative for a reversal;
``ledger.core.running_totals``; the journal writer keeps them in the same transaction as
the entries). The journal's school-year filter counts, sums and pages by them. Filled here
from the entries that exist.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# Each entry's debits by ``ix_postings_entry``, once per (entry, school year): joining two
# grouped subqueries of the postings instead ran for more than 15 minutes on SQLite at
# 1 000 000 postings (no index on either side).
_FILL = """
INSERT INTO journal_day_totals (recipient_id, school_year, day, entries, signed_cents)
SELECT e.recipient_id, y.school_year, e.date, COUNT(*),
       SUM(CASE WHEN e.reverses_id IS NULL THEN 1 ELSE -1 END
           * (SELECT COALESCE(SUM(d.amount_cents), 0) FROM postings d WHERE d.entry_id = e.id AND d.amount_cents > 0))
FROM (SELECT DISTINCT entry_id, school_year FROM postings) y
JOIN journal_entries e ON e.id = y.entry_id
GROUP BY e.recipient_id, y.school_year, e.date
"""


def upgrade() -> None:
    op.create_table(
        "journal_day_totals",
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("signed_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("recipient_id", "school_year", "day"),
    )
    op.execute(_FILL)


def downgrade() -> None:
    op.drop_table("journal_day_totals")

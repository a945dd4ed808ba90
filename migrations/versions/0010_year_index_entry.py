"""The year-totals index also holds the posting's entry

``ix_postings_year_totals`` (account, school year, category, cost centre, date, amount)
gains the entry id as its last column. The journal filtered by school year
(``ledger.reports.journal``) then counts and pages the year's entries from the index range of the
recipient's accounts and that year, ordered by date and entry, without reading the
postings or scanning the recipient's whole journal. One index is widened rather than a
second one added, so an import maintains no more indexes than before. The integrity
triggers are untouched.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NAME = "ix_postings_year_totals"
COLUMNS = ["account_id", "school_year", "category", "cost_centre", "date", "amount_cents"]


def upgrade() -> None:
    op.drop_index(NAME, table_name="postings")
    op.create_index(NAME, "postings", [*COLUMNS, "entry_id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="postings")
    op.create_index(NAME, "postings", COLUMNS)

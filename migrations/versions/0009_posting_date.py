"""Postings carry their entry's booking date; a covering index for a year's totals

A school year's classification totals (``ledger.reports.year_totals``) are summed from the
postings alone: category, cost centre, booking date and amount per expense account and
school year, all in one index (``ix_postings_year_totals``, which replaces the index on
account and school year it starts with). For that the postings carry their journal
entry's date (``postings.date``), filled here for every existing posting. The database
refuses an entry whose postings' date differs from its own (checked when the entry
arrives, like the balance), so the copy cannot drift. The column stays nullable in the
schema (SQLite cannot add a NOT NULL column without rebuilding the table); the check
refuses NULL for every new entry.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

IMMUTABLE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
MESSAGE = "inkl: Buchungszeilen müssen das Datum ihrer Buchung tragen"
DATE_DIFFERS = "EXISTS (SELECT 1 FROM postings WHERE entry_id = NEW.id AND date IS DISTINCT FROM NEW.date)"
BACKFILL = "UPDATE postings SET date = (SELECT e.date FROM journal_entries e WHERE e.id = postings.entry_id)"


def upgrade() -> None:
    op.add_column("postings", sa.Column("date", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE postings DISABLE TRIGGER inkl_postings_immutable")
        op.execute(BACKFILL)
        op.execute("ALTER TABLE postings ENABLE TRIGGER inkl_postings_immutable")
        op.execute(f"""
            CREATE FUNCTION inkl_entry_posting_date() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {DATE_DIFFERS} THEN
                    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER inkl_entry_posting_date AFTER INSERT ON journal_entries "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_entry_posting_date()")
    else:
        op.execute("DROP TRIGGER inkl_postings_no_update")
        op.execute(BACKFILL)
        op.execute("CREATE TRIGGER inkl_postings_no_update BEFORE UPDATE ON postings "
                   f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END")
        op.execute(f"CREATE TRIGGER inkl_entry_posting_date AFTER INSERT ON journal_entries "
                   f"WHEN {DATE_DIFFERS.replace('IS DISTINCT FROM', 'IS NOT')} "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    op.drop_index("ix_postings_account_year", table_name="postings")
    op.create_index("ix_postings_year_totals", "postings",
                    ["account_id", "school_year", "category", "cost_centre", "date", "amount_cents"])


def downgrade() -> None:
    op.drop_index("ix_postings_year_totals", table_name="postings")
    op.create_index("ix_postings_account_year", "postings", ["account_id", "school_year"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER inkl_entry_posting_date ON journal_entries")
        op.execute("DROP FUNCTION inkl_entry_posting_date()")
    else:
        op.execute("DROP TRIGGER inkl_entry_posting_date")
    op.drop_column("postings", "date")

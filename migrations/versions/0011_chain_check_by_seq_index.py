"""The hash-chain check of a new journal entry finds its predecessor through ``uq_entry_seq``

On PostgreSQL the trigger ``inkl_entry_before_insert`` (migration 0002) looked the
predecessor up with ``recipient_id = … AND seq = NEW.seq - 1``. PL/pgSQL caches the plan
of that query per connection; planned while ``journal_entries`` had no statistics (a new
installation, or autovacuum off), PostgreSQL could pick ``ix_journal_entries_recipient_date``
instead, which matches only the recipient and filters every entry of the recipient: each
insert then read the recipient's whole journal, and a large import slowed down with every
row (measured: 1,1 ms per entry at 5 000 entries, growing linearly). The predecessor is now
the recipient's entry with the highest ``seq`` below the new one (``ORDER BY seq DESC
LIMIT 1``), which only ``uq_entry_seq`` delivers in order, so the planner takes it whatever
the statistics say. The rule is unchanged: the predecessor must have ``seq = NEW.seq - 1``
and ``entry_hash = NEW.prev_hash`` (or the entry is the genesis entry). SQLite's trigger is
unchanged (its planner already uses the unique index).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
CHAIN_MESSAGE = "inkl: Hash-Kette unterbrochen (prev_hash passt nicht zum Vorgänger)"
CLOSED_MESSAGE = "inkl: Schuljahr ist abgeschlossen; keine Buchungen mehr"
DATE_CLOSED = """EXISTS (SELECT 1 FROM period_events c WHERE
    c.recipient_id = NEW.recipient_id AND c.action = 'close'
    AND NOT EXISTS (SELECT 1 FROM period_events r WHERE r.recipient_id = c.recipient_id
                    AND r.school_year = c.school_year AND r.id > c.id AND r.action = 'reopen')
    AND NEW.date BETWEEN c.first_day AND c.last_day)"""
LINK_BY_ORDER = (f"(NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}') OR EXISTS (SELECT 1 FROM ("
                 "SELECT p.seq, p.entry_hash FROM journal_entries p WHERE p.recipient_id = NEW.recipient_id "
                 "AND p.seq < NEW.seq ORDER BY p.seq DESC LIMIT 1) prev "
                 "WHERE prev.seq = NEW.seq - 1 AND prev.entry_hash = NEW.prev_hash)")
LINK_BY_EQUALITY = (f"(NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}') OR EXISTS (SELECT 1 FROM journal_entries p "
                    "WHERE p.recipient_id = NEW.recipient_id AND p.seq = NEW.seq - 1 AND p.entry_hash = NEW.prev_hash)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_function(LINK_BY_ORDER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_function(LINK_BY_EQUALITY)


def _raise(message: str) -> str:
    return f"RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';"


def _replace_function(link_ok: str) -> None:
    op.execute(f"""
        CREATE OR REPLACE FUNCTION inkl_entry_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT ({link_ok}) THEN {_raise(CHAIN_MESSAGE)} END IF;
            IF {DATE_CLOSED} THEN {_raise(CLOSED_MESSAGE)} END IF;
            RETURN NEW;
        END $$""")

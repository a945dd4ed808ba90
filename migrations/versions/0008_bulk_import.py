"""Bulk import: the imported rows' batch reference is checked at commit; FK indexes

The streaming import (``ledger.read.importer``) writes an import batch's row last, when its
counts are known, after the imported rows that refer to it. The reference is still
checked, at the end of the transaction instead of per row: ``imported_rows.batch_id``
becomes DEFERRABLE INITIALLY DEFERRED, like ``postings.entry_id``. PostgreSQL alters
the constraint; SQLite cannot, so the table is rebuilt (same columns, data and
append-only triggers).

Indexes on the referencing columns that had none (``imported_rows.entry_id`` and
``batch_id``, ``classifications.posting_id``): while a deferred reference is open,
SQLite looks up the children of every parent row inserted, which without an index is a
scan of the child table per row. They also serve the payout recognition and the
classification of one posting.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CONSTRAINT = "imported_rows_batch_id_fkey"
INDEXES = (
    ("ix_imported_rows_entry", "imported_rows", ["entry_id"]),
    ("ix_imported_rows_batch", "imported_rows", ["batch_id"]),
    ("ix_classifications_posting", "classifications", ["posting_id"]),
)
IMMUTABLE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
SQLITE_TABLE = """
CREATE TABLE imported_rows_new (
    id INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    row_key VARCHAR(64) NOT NULL,
    content_hash VARCHAR(64) NOT NULL,
    batch_id INTEGER NOT NULL,
    line INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(batch_id) REFERENCES import_batches (id){deferrable},
    FOREIGN KEY(entry_id) REFERENCES journal_entries (id),
    FOREIGN KEY(recipient_id) REFERENCES recipients (id),
    CONSTRAINT uq_imported_row UNIQUE (recipient_id, row_key)
)"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE imported_rows ALTER CONSTRAINT {CONSTRAINT} DEFERRABLE INITIALLY DEFERRED")
    else:
        _rebuild_sqlite(" DEFERRABLE INITIALLY DEFERRED")
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE imported_rows ALTER CONSTRAINT {CONSTRAINT} NOT DEFERRABLE")
    else:
        _rebuild_sqlite("")


def _rebuild_sqlite(deferrable: str) -> None:
    """Recreate ``imported_rows`` with the batch reference ``deferrable`` (SQLite's way to
    change a constraint); its append-only triggers (migration 0002) are recreated."""
    op.execute(SQLITE_TABLE.format(deferrable=deferrable))
    op.execute("INSERT INTO imported_rows_new SELECT id, recipient_id, row_key, content_hash, batch_id, line, entry_id "
               "FROM imported_rows")
    op.execute("DROP TABLE imported_rows")  # drops its triggers; DROP TABLE fires none
    op.execute("ALTER TABLE imported_rows_new RENAME TO imported_rows")
    for action in ("update", "delete"):
        op.execute(f"CREATE TRIGGER inkl_imported_rows_no_{action} BEFORE {action.upper()} ON imported_rows "
                   f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END")

"""Pass-through verifications are evidence: the database refuses to change or delete them

The Kreis's verification that a member municipality has purpose-conform projects
(date, document, who) decides whether a pass-through is conform (seed
002_17056edfca8550ce.txt, Hinweise Teil II). Like the books, it is append-only: a
correction is a new verification record.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "pass_through_verifications"
MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # inkl_refuse_change() comes from migration 0002
        op.execute(f"CREATE TRIGGER inkl_{TABLE}_immutable BEFORE UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_refuse_change()")
        op.execute(f"CREATE TRIGGER inkl_{TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION inkl_refuse_change()")
    else:
        for action in ("update", "delete"):
            op.execute(f"CREATE TRIGGER inkl_{TABLE}_no_{action} BEFORE {action.upper()} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{TABLE}_immutable ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{TABLE}_no_truncate ON {TABLE}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS inkl_{TABLE}_no_{action}")

"""The Land's role (Ministerium, Bezirksregierung): reads every recipient and the overview across them

``users.role`` may now be ``ministry`` (check constraint ``ck_user_role``).

PostgreSQL replaces the constraint in place. SQLite cannot alter a constraint, and Alembic's
batch mode would drop ``users`` with foreign keys on, which the rows of ``user_recipients``
and ``api_tokens`` referring to it refuse (see migration 0012). So the table is rebuilt from
its own stored definition with only the constraint's text changed: the rows are saved aside,
foreign-key checks wait for COMMIT (``PRAGMA defer_foreign_keys``), ``users`` is dropped,
created anew under its name with its indexes and triggers, and refilled, so every reference
finds its user again before COMMIT checks.

The downgrade turns the Land's users into auditors with read access to all recipients: they
keep exactly what they could see, and nothing is deleted.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

OLD = "role IN ('officer', 'auditor', 'admin')"
NEW = "role IN ('officer', 'auditor', 'ministry', 'admin')"


def upgrade() -> None:
    _replace_check(OLD, NEW)


def downgrade() -> None:
    op.execute("UPDATE users SET role = 'auditor', all_recipients = TRUE WHERE role = 'ministry'")
    _replace_check(NEW, OLD)


def _replace_check(old: str, new: str) -> None:
    """Replace the check constraint ``ck_user_role``'s condition ``old`` by ``new``."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint("ck_user_role", "users", type_="check")
        op.create_check_constraint("ck_user_role", "users", new)
        return
    table_sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'")).scalar()
    if table_sql.count(old) != 1:
        raise RuntimeError(f"users: constraint ck_user_role is not {old!r}")
    extras = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                                  "AND tbl_name = 'users' AND sql IS NOT NULL")).scalars().all()
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TABLE users_0020 AS SELECT * FROM users")
    op.execute("DROP TABLE users")  # deletes the rows first: the references wait for COMMIT
    op.execute(table_sql.replace(old, new))
    for sql in extras:
        op.execute(sql)
    op.execute("INSERT INTO users SELECT * FROM users_0020")
    op.execute("DROP TABLE users_0020")

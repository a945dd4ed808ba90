"""Initial passwords: a password set by someone else must be changed at the first log-in

``users.password_change_required`` (NOT NULL, default false): true while the user's password
is one the administration set (a new account's initial password, a reset). Existing users
keep their passwords as they are (false).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_change_required", sa.Boolean(), server_default=sa.false(),
                                     nullable=False))


def downgrade() -> None:
    op.drop_column("users", "password_change_required")  # SQLite >= 3.35 drops a column in place

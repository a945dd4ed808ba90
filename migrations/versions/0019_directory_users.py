"""Directory users: accounts that log in against the municipality's LDAP / Active Directory

- ``users.directory_dn``: the distinguished name of the user's directory entry, set for an
  account that logs in with its directory password (``ledger.core.directory``); NULL for a
  local account (Argon2id password, ``users.password_hash``). A directory account keeps no
  password: ``password_hash`` stays NULL, the directory checks the password at each log-in
  and its groups set the role and recipients anew.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("directory_dn", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "directory_dn")  # SQLite >= 3.35 drops a column in place

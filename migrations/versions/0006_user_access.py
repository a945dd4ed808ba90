"""Users log in: password hash, active flag, and the recipients each user works on

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("all_recipients", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "user_recipients",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("user_id", "recipient_id"),
    )


def downgrade() -> None:
    op.drop_table("user_recipients")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("active")
        batch.drop_column("all_recipients")
        batch.drop_column("password_hash")

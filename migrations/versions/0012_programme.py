"""Grants carry their funding programme; one grant per recipient, programme and school year

``grants.programme`` (NOT NULL) holds the key of the programme the grant belongs to, as its
rule packs name it (``[pack] programme``); every existing grant is a grant of the
Inklusionspauschale (``inklusionspauschale``). The unique constraint ``uq_grant_year``
(recipient, school year) becomes ``uq_grant_programme_year`` (recipient, programme, school
year), so that a recipient can hold grants of several programmes for one school year.

PostgreSQL alters the table in place. SQLite cannot drop a table's constraint, so the table
is rebuilt. Not with Alembic's batch mode: it copies the rows into a new table, drops
``grants`` and renames the copy, and with foreign keys on (``ledger.core.db.make_engine``)
dropping ``grants`` deletes its rows first, which the payouts referring to them refuse
(``PRAGMA foreign_keys`` cannot be switched off inside the migration's transaction). Here
the rows are saved aside, the foreign-key checks are deferred to COMMIT
(``PRAGMA defer_foreign_keys``, reset by SQLite at COMMIT), ``grants`` is dropped and
created anew under its own name and the rows are put back, so every payout finds its grant
again before COMMIT checks. ``grants`` has no triggers (migration 0002 guards the booked
tables, not the master data); the payouts' triggers are untouched.

The downgrade refuses while grants of another programme exist (they would otherwise
silently become grants of the Inklusionspauschale or collide with one).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INKLUSIONSPAUSCHALE = "inklusionspauschale"  # ledger.core.grants.INKLUSIONSPAUSCHALE when written
OLD_UNIQUE = ("uq_grant_year", ["recipient_id", "school_year"])
NEW_UNIQUE = ("uq_grant_programme_year", ["recipient_id", "programme", "school_year"])
OLD_COLUMNS = "id, recipient_id, school_year, assessed_cents, notice_date"
NEW_COLUMNS = "id, recipient_id, programme, school_year, assessed_cents, notice_date"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("grants", sa.Column("programme", sa.String(length=40), nullable=False,
                                          server_default=INKLUSIONSPAUSCHALE))
        op.alter_column("grants", "programme", server_default=None)
        op.drop_constraint(OLD_UNIQUE[0], "grants", type_="unique")
        op.create_unique_constraint(NEW_UNIQUE[0], "grants", NEW_UNIQUE[1])
    else:
        _rebuild_sqlite(with_programme=True, refill=(
            f"INSERT INTO grants ({NEW_COLUMNS}) SELECT id, recipient_id, '{INKLUSIONSPAUSCHALE}', school_year, "
            "assessed_cents, notice_date FROM grants_0012"))


def downgrade() -> None:
    others = op.get_bind().scalar(sa.text("SELECT COUNT(*) FROM grants WHERE programme <> :key"),
                                  {"key": INKLUSIONSPAUSCHALE})
    if others:
        raise RuntimeError(f"downgrade below 0012 refused: {others} grant(s) of programmes other than "
                           f"{INKLUSIONSPAUSCHALE!r} exist")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(NEW_UNIQUE[0], "grants", type_="unique")
        op.create_unique_constraint(OLD_UNIQUE[0], "grants", OLD_UNIQUE[1])
        op.drop_column("grants", "programme")
    else:
        _rebuild_sqlite(with_programme=False,
                        refill=f"INSERT INTO grants ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM grants_0012")


def _rebuild_sqlite(*, with_programme: bool, refill: str) -> None:
    """Recreate ``grants`` with or without ``programme``, refilled by the statement ``refill``
    from the saved rows in ``grants_0012``; see the module docstring for why not batch mode."""
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TABLE grants_0012 AS SELECT * FROM grants")
    op.execute("DROP TABLE grants")  # deletes the rows first: the payouts' references wait for COMMIT
    programme = [sa.Column("programme", sa.String(length=40), nullable=False)] if with_programme else []
    name, columns = NEW_UNIQUE if with_programme else OLD_UNIQUE
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        *programme,
        sa.Column("school_year", sa.String(length=7), nullable=False),
        sa.Column("assessed_cents", sa.BigInteger(), nullable=False),
        sa.Column("notice_date", sa.Date(), nullable=True),
        sa.CheckConstraint("assessed_cents > 0", name="ck_grant_positive"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(*columns, name=name),
    )
    op.execute(refill)
    op.execute("DROP TABLE grants_0012")

"""Provider budgets: hours in hundredths, pseudonymous cases with their dates, pool contracts as budgets

The provider budget of migration 0018 (the Bremerhaven model project, DOMAIN.md "Bremerhaven
Trägerbudget"), continued:

- Hours become exact integers: ``budget_agreements.specialist_hours_year`` and
  ``semi_professional_hours_year`` become ``specialist_centihours_year`` and
  ``semi_professional_centihours_year``, ``budget_hours_reports.specialist_hours`` and
  ``semi_professional_hours`` become ``specialist_centihours`` and
  ``semi_professional_centihours`` (BigInteger, hundredths of an hour: 2.249,95 h = 224995),
  as money is integer cents. Existing rows are converted (hours × 100, rounded).
- ``budget_cases``: a case of the budget by its pseudonymous reference only (no personal data),
  with its start day (Hilfebeginn).
- ``budget_records``: the dated records the reporting deadlines need, each a row:
  ``provider_report`` (the provider's report on the budget, no case), and per case
  ``meeting`` (a scheduled Hilfeplan meeting), ``case_report`` (a case report received),
  ``action_plan`` (the action plan received) and ``case_end`` (the case ended).
- ``commitments.budget_agreement_id``: a pool contract (commitment) financed by a provider
  budget of the same recipient (nullable).

``budget_agreements`` and ``budget_hours_reports`` are append-only: their triggers are dropped
for the conversion and created again; the two new tables are append-only as well. SQLite cannot
drop a column used by a CHECK, so there the two tables are rebuilt as in migration 0015 (rows
saved aside, table created anew under its own name, rows put back).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

MESSAGE = "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)"
CONVERTED = ("budget_agreements", "budget_hours_reports")
NEW = ("budget_cases", "budget_records")
AGREEMENT_COLUMNS = ("id, recipient_id, key, title, provider_name, start_date, end_date, budget_cents, replaces, "
                     "outside, indirect_reading, pack_id, reference, created_by, created_at")
REPORT_COLUMNS = "id, agreement_id, quarter, created_by, created_at"
#: (table, old column, new column) of the conversion.
HOURS = (("budget_agreements", "specialist_hours_year", "specialist_centihours_year"),
         ("budget_agreements", "semi_professional_hours_year", "semi_professional_centihours_year"),
         ("budget_hours_reports", "specialist_hours", "specialist_centihours"),
         ("budget_hours_reports", "semi_professional_hours", "semi_professional_centihours"))
CHECKS = {"budget_agreements": ("ck_budget_hours", "specialist_{0}_year >= 0 AND semi_professional_{0}_year >= 0"),
          "budget_hours_reports": ("ck_budget_report_hours", "specialist_{0} >= 0 AND semi_professional_{0} >= 0")}
RECORD_KINDS = "kind IN ('provider_report', 'meeting', 'case_report', 'action_plan', 'case_end')"
RECORD_CASE = "(kind = 'provider_report') = (case_id IS NULL)"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in CONVERTED:
        _drop_triggers(table, postgresql)
    if postgresql:
        _convert_postgresql(to_centihours=True)
    else:
        _rebuild_sqlite(to_centihours=True)
    op.create_table(
        "budget_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["budget_agreements.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agreement_id", "reference", name="uq_budget_case_reference"),
    )
    op.create_table(
        "budget_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_date", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(RECORD_KINDS, name="ck_budget_record_kind"),
        sa.CheckConstraint(RECORD_CASE, name="ck_budget_record_case"),
        sa.ForeignKeyConstraint(["agreement_id"], ["budget_agreements.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["budget_cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budget_records_agreement", "budget_records", ["agreement_id"])
    with op.batch_alter_table("commitments") as batch:
        batch.add_column(sa.Column("budget_agreement_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_commitment_budget", "budget_agreements", ["budget_agreement_id"], ["id"])
    for table in (*CONVERTED, *NEW):
        _create_triggers(table, postgresql)


def downgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    cases = bind.scalar(sa.text("SELECT COUNT(*) FROM budget_records")) + bind.scalar(
        sa.text("SELECT COUNT(*) FROM budget_cases"))
    if cases:
        raise RuntimeError(f"downgrade below 0023 refused: {cases} case(s) or dated record(s) of a provider budget")
    for table in (*CONVERTED, *NEW):
        _drop_triggers(table, postgresql)
    with op.batch_alter_table("commitments") as batch:
        batch.drop_constraint("fk_commitment_budget", type_="foreignkey")
        batch.drop_column("budget_agreement_id")
    op.drop_index("ix_budget_records_agreement", table_name="budget_records")
    op.drop_table("budget_records")
    op.drop_table("budget_cases")
    if postgresql:
        _convert_postgresql(to_centihours=False)
    else:
        _rebuild_sqlite(to_centihours=False)
    for table in CONVERTED:
        _create_triggers(table, postgresql)


def _convert_postgresql(*, to_centihours: bool) -> None:
    """Add the new hour columns, fill them from the old ones, drop the old ones (PostgreSQL)."""
    for table, (name, check) in CHECKS.items():
        op.drop_constraint(name, table, type_="check")
    for table, old, new in HOURS:
        source, target = (old, new) if to_centihours else (new, old)
        kind = sa.BigInteger() if to_centihours else sa.Numeric(12, 2)
        op.add_column(table, sa.Column(target, kind, nullable=True))
        value = f"ROUND({source} * 100)" if to_centihours else f"{source} / 100.0"
        op.execute(f"UPDATE {table} SET {target} = {value}")
        op.alter_column(table, target, nullable=False)
        op.drop_column(table, source)
    for table, (name, check) in CHECKS.items():
        op.create_check_constraint(name, table, check.format("centihours" if to_centihours else "hours"))


def _rebuild_sqlite(*, to_centihours: bool) -> None:
    """Rebuild the two tables with the new hour columns, converting the rows (SQLite)."""
    op.execute("PRAGMA defer_foreign_keys = ON")
    unit = "centihours" if to_centihours else "hours"
    for table, columns, create in (("budget_agreements", AGREEMENT_COLUMNS, _create_agreements),
                                   ("budget_hours_reports", REPORT_COLUMNS, _create_reports)):
        moves = [(old, new) if to_centihours else (new, old) for name, old, new in HOURS if name == table]
        values = ", ".join(f"CAST(ROUND({source} * 100) AS INTEGER)" if to_centihours else f"{source} / 100.0"
                           for source, _ in moves)
        op.execute(f"CREATE TABLE {table}_0023 AS SELECT * FROM {table}")
        if table == "budget_hours_reports":
            op.drop_index("ix_budget_hours_reports_quarter", table_name=table)
        op.execute(f"DROP TABLE {table}")
        create(unit)
        op.execute(f"INSERT INTO {table} ({columns}, {', '.join(target for _, target in moves)}) "
                   f"SELECT {columns}, {values} FROM {table}_0023")
        op.execute(f"DROP TABLE {table}_0023")


def _hours_column(name: str, unit: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger() if unit == "centihours" else sa.Numeric(12, 2), nullable=False)


def _create_agreements(unit: str) -> None:
    op.create_table(
        "budget_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("provider_name", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=False),
        sa.Column("replaces", sa.Text(), nullable=False),
        sa.Column("outside", sa.Text(), nullable=False),
        _hours_column(f"specialist_{unit}_year", unit),
        _hours_column(f"semi_professional_{unit}_year", unit),
        sa.Column("indirect_reading", sa.String(length=20), nullable=False),
        sa.Column("pack_id", sa.String(length=60), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("budget_cents > 0", name="ck_budget_positive"),
        sa.CheckConstraint("end_date > start_date", name="ck_budget_term"),
        sa.CheckConstraint(CHECKS["budget_agreements"][1].format(unit), name="ck_budget_hours"),
        sa.CheckConstraint("indirect_reading IN ('client_hours', 'working_time')", name="ck_budget_reading"),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_budget_key"),
    )


def _create_reports(unit: str) -> None:
    op.create_table(
        "budget_hours_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        _hours_column(f"specialist_{unit}", unit),
        _hours_column(f"semi_professional_{unit}", unit),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(CHECKS["budget_hours_reports"][1].format(unit), name="ck_budget_report_hours"),
        sa.ForeignKeyConstraint(["agreement_id"], ["budget_agreements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budget_hours_reports_quarter", "budget_hours_reports", ["agreement_id", "quarter"])


def _create_triggers(table: str, postgresql: bool) -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of ``table``."""
    if postgresql:  # inkl_refuse_change() comes from migration 0002
        op.execute(f"CREATE TRIGGER inkl_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_refuse_change()")
        op.execute(f"CREATE TRIGGER inkl_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION inkl_refuse_change()")
        return
    for action in ("update", "delete"):
        op.execute(f"CREATE TRIGGER inkl_{table}_no_{action} BEFORE {action.upper()} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def _drop_triggers(table: str, postgresql: bool) -> None:
    if postgresql:
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_immutable ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_truncate ON {table}")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_{action}")

"""The schema comes from Alembic: the migrations match the models and downgrade cleanly."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger import db
from ledger.models import Base


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(database_url, engine):
    engine.dispose()
    db.downgrade(database_url, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(database_url)
    engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= set(sa.inspect(engine).get_table_names())

"""The schema comes from Alembic: the migrations match the models and downgrade cleanly."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.core import db
from ledger.core.models import Base


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


def test_downgrade_of_0002_removes_the_triggers_and_upgrade_restores_them(database_url, engine, kreis):
    """The invariants live in migration 0002: without it a raw UPDATE passes, with it it is refused."""
    update = sa.text("UPDATE audit_log SET actor = 'geändert'")
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(update)
    engine.dispose()
    db.downgrade(database_url, "0001")
    with engine.begin() as conn:
        conn.execute(update)
    engine.dispose()
    db.upgrade(database_url)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(update)

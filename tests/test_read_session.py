"""The web pages' reading session (``webapp.db.get_session`` on ``ledger.core.db.read_engine``):
what a page reads is never written, and on PostgreSQL the server itself refuses a write on it."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from ledger.core.db import make_engine, read_engine
from ledger.core.models import Recipient
from webapp.db import close_session, get_session


def _name(engine, recipient_id: int) -> str:
    with engine.connect() as connection:
        return connection.scalar(select(Recipient.name).where(Recipient.id == recipient_id))


def test_a_write_through_the_reading_session_never_reaches_the_books(app, engine, kreis):
    before = _name(engine, kreis.id)
    with app.test_request_context():
        session = get_session()
        change = update(Recipient).where(Recipient.id == kreis.id).values(name="Geändert")
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="read-only transaction"):
                session.execute(change)
        else:
            session.execute(change)            # SQLite: inside the page's transaction, rolled back at its end
        close_session()
    assert _name(engine, kreis.id) == before


def test_on_postgresql_a_page_reads_without_a_transaction_of_its_own(app, engine, kreis):
    """No ``BEGIN`` and ``ROLLBACK`` round trips: after a statement the connection is idle,
    not in a transaction (each statement ran in its own, as under read committed anyway).
    SQLite reads on the application's one engine: a ``BEGIN`` there costs no round trip."""
    if engine.dialect.name != "postgresql":
        assert app.extensions["inkl_read_engine"] is app.extensions["inkl_engine"]
        return
    from psycopg.pq import TransactionStatus

    with app.test_request_context():
        session = get_session()
        assert session.scalar(select(Recipient.name).where(Recipient.id == kreis.id)) == kreis.name
        status = session.connection().connection.dbapi_connection.info.transaction_status
        close_session()
    assert status == TransactionStatus.IDLE


def test_the_urls_own_connection_options_stay_on_the_reading_connections(engine):
    """A PostgreSQL URL may carry connection options (``?options=-c …``, a search path, say):
    the reading engine keeps them and adds the refusal of writes."""
    if engine.dialect.name != "postgresql":
        assert read_engine(engine) is engine
        return
    url = engine.url.update_query_dict({"options": "-c application_name=inkl-pruefung"})
    reading = read_engine(make_engine(url.render_as_string(hide_password=False)))
    try:
        with reading.connect() as connection:
            assert connection.scalar(text("SHOW application_name")) == "inkl-pruefung"
            assert connection.scalar(text("SHOW default_transaction_read_only")) == "on"
    finally:
        reading.dispose()

"""Figures kept per server process until the books may have changed (``webapp.books_cache``).

Kreis Testland's school year 2022/23 as worked in tests/test_repayment.py: repayment due
116.453,01 EUR. Excluding the brochure of 1.999,99 EUR (an officer's override) makes it
116.453,01 + 1.999,99 = 118.453,00 EUR.
"""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ledger.core.grants import add_grant
from ledger.core.models import Account, JournalEntry, Posting
from ledger.core.schoolyear import SchoolYear
from ledger.rules.overrides import add_override
from tests.conftest import NOW, add_web_user, logged_in
from tests.test_repayment import year  # noqa: F401  (the worked example's books)


def test_the_dashboard_shows_a_change_of_the_books_at_once(app, session, year, monkeypatch):  # noqa: F811
    """A year's repayment is computed once per state of the books, and what it reads of the
    recipient for all school years (``RepaymentInputs``) once for every year: the same page
    again is not computed anew, and an override (an audit event, no journal entry) shows on
    the next request."""
    from webapp.views import dashboard

    computed, read = [], []
    compute, load = dashboard.compute_repayment, dashboard.RepaymentInputs.load
    monkeypatch.setattr(dashboard, "compute_repayment", lambda *args, **kwargs: computed.append(1) or compute(
        *args, **kwargs))
    monkeypatch.setattr(dashboard.RepaymentInputs, "load", lambda *args: read.append(1) or load(*args))
    app.config["TODAY"] = date(2023, 3, 1)
    add_grant(session, year, SchoolYear(2021), Decimal("1000.00"), notice_date=date(2021, 10, 20), actor="t", now=NOW)
    officer = add_web_user(session, "anna", "officer", recipients=[year])
    client = logged_in(app, "anna")
    for _ in range(2):
        assert "116.453,01" in client.get("/r/testland/2022/").get_data(as_text=True)
    # another school year of the recipient: computed from the inputs read for the first
    assert "1.000,00" in client.get("/r/testland/2021/").get_data(as_text=True)
    assert (len(computed), len(read)) == (2, 1)
    brochure = session.scalar(sa.select(Posting).join(JournalEntry).join(Account).where(
        JournalEntry.voucher_number == "BR-1", Account.type == "expense"))
    add_override(session, year, brochure.id, status="excluded", user=officer,
                 justification="Broschüre ohne Bezug zur Schulbegleitung", now=NOW)
    session.commit()
    page = client.get("/r/testland/2022/").get_data(as_text=True)
    assert "118.453,00" in page and "116.453,01" not in page
    assert (len(computed), len(read)) == (3, 2)


def test_a_request_reads_the_books_state_once_and_forgets_it_with_its_own_write(app, session, kreis):
    """Within one request the books' state is read once: another transaction's write does not
    change what the request saw. The request's own write (``write_session``) empties what the
    request kept, so that its next read sees its own write where the database shows it (on
    PostgreSQL at once; SQLite's read transaction keeps its snapshot until the request ends)."""
    from ledger.core.audit import record
    from webapp.books_cache import books_state
    from webapp.db import get_session, request_memo, write_session

    with app.test_request_context():
        before = books_state(get_session())
        record(session, actor="test", action="recipient.update", now=NOW, recipient=kreis, details={"name": "x"})
        session.commit()
        assert books_state(get_session()) == before
        with write_session() as writing:
            record(writing, actor="test", action="recipient.update", now=NOW, details={"name": "y"})
        assert request_memo() == {}
    with app.test_request_context():
        after = books_state(get_session())
    assert after[0] == before[0] + 2 and after[2] == before[2]

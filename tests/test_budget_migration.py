"""Migration 0023: the hours of provider budgets become integer hundredths; rows are converted."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ledger.core import db
from ledger.core.models import BudgetAgreement, BudgetHoursReport
from ledger.core.recipients import add_recipient
from ledger.workflows.budget import add_budget_agreement, add_hours_report, budget_status
from tests.conftest import NOW


def test_0023_converts_existing_hours_to_hundredths_and_keeps_the_tables_append_only(database_url, engine, session):
    city = add_recipient(session, "bremerhaven", "Stadt Bremerhaven", "stadt", actor="test", now=NOW)
    session.commit()
    city_id = city.id
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0022")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO budget_agreements (recipient_id, key, title, provider_name, start_date, end_date, budget_cents, "
            "replaces, outside, specialist_hours_year, semi_professional_hours_year, indirect_reading, pack_id, "
            "reference, created_by, created_at) VALUES (:r, 'b', 't', 'p', :s, :e, 100, '', '', 8000.5, 2000.25, "
            "'client_hours', 'traegerbudget-bremerhaven', 'r', 'test', :now)"),
            {"r": city_id, "s": date(2025, 1, 1), "e": date(2029, 12, 31), "now": NOW})
        agreement_id = conn.scalar(sa.text("SELECT id FROM budget_agreements"))
        conn.execute(sa.text(
            "INSERT INTO budget_hours_reports (agreement_id, quarter, specialist_hours, semi_professional_hours, "
            "created_by, created_at) VALUES (:a, '2025-Q1', 1799.99, 449.96, 'test', :now)"),
            {"a": agreement_id, "now": NOW})
    engine.dispose()
    db.upgrade(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT specialist_centihours_year, semi_professional_centihours_year "
                                    "FROM budget_agreements")).one() == (800050, 200025)
        assert conn.execute(sa.text("SELECT specialist_centihours, semi_professional_centihours "
                                    "FROM budget_hours_reports")).one() == (179999, 44996)
    with pytest.raises(sa.exc.DBAPIError):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE budget_hours_reports SET specialist_centihours = 1"))
    with pytest.raises(sa.exc.DBAPIError):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM budget_agreements"))
    with sa.orm.Session(engine) as fresh:
        agreement = fresh.scalar(sa.select(BudgetAgreement))
        assert agreement.specialist_hours_year == Decimal("8000.50")
        assert budget_status(fresh, agreement, as_of=date(2025, 10, 1))["quarters"][0]["delivered"]["total"] == "2249.95"


def test_hours_are_stored_as_integer_hundredths(session):
    city = add_recipient(session, "bremerhaven", "Stadt Bremerhaven", "stadt", actor="test", now=NOW)
    agreement = add_budget_agreement(
        session, city, "b", title="t", provider_name="p", start=date(2025, 1, 1), end=date(2029, 12, 31),
        budget=Decimal("100"), specialist_hours_year=Decimal("8000.01"), semi_professional_hours_year=Decimal("0"),
        reference="r", created_by="test", now=NOW)
    add_hours_report(session, agreement, "2025-Q1", specialist="0,01", semi_professional="1234.56", created_by="t",
                     now=NOW)
    session.commit()
    row = session.execute(sa.select(BudgetHoursReport.specialist_centihours,
                                    BudgetHoursReport.semi_professional_centihours)).one()
    assert row == (1, 123456) and all(type(v) is int for v in row)
    assert session.scalar(sa.select(BudgetAgreement.specialist_centihours_year)) == 800001

"""The running totals kept with the postings (``ledger.core.running_totals``, issue 18) equal a
full recomputation after any sequence of bookings and reversals; the reports that read them
give the figures the postings give; ``inkl verify`` and a restore check and rebuild them."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledger.core import db
from ledger.core.models import AccountYearTotal, JournalDayTotal, JournalEntry
from ledger.core.posting import reverse_entry
from ledger.core.running_totals import rebuild, recomputed, recomputed_days, verify_totals
from ledger.reports import spending, year_totals as year_totals_module
from ledger.reports.totals import Totals
from ledger.reports.year_totals import year_totals
from ledger.rules.evaluate import evaluate
from ledger.write.backup import backup, restore
from tests.conftest import NOW
from tests.test_year_totals import YEAR, books, rows

#: Reversals dated in the year, before it and after it (a Storno may be booked in a later school year).
REVERSAL_DAYS = st.sampled_from([date(2023, 9, 30), date(2024, 3, 1), date(2024, 9, 2), date(2023, 7, 15)])


def kept(session) -> dict:
    """The kept totals by key, values (cents, postings, first day, last day) as Python values."""
    table = AccountYearTotal.__table__.c
    return {(r.account_id, r.school_year, r.category, r.cost_centre, r.month, bool(r.reversal)):
            (r.amount_cents, r.postings, r.first_day, r.last_day)
            for r in session.execute(sa.select(table))}


def kept_days(session) -> dict:
    """The journal's kept day totals by (recipient id, school year, day): (entries, signed cents)."""
    return {(r.recipient_id, r.school_year, r.day): (r.entries, r.signed_cents)
            for r in session.execute(sa.select(JournalDayTotal.__table__.c))}


def days_recomputed(session) -> dict:
    return {(r, y, d if isinstance(d, date) else date.fromisoformat(d)): (n, c)
            for r, y, d, n, c in session.execute(recomputed_days(session))}


def by_postings(session, monkeypatch, recipient, **options):
    """``year_totals`` and the spending chart as they come from the postings (the running
    totals' readers switched off)."""
    with monkeypatch.context() as patch:
        patch.setattr(spending, "_kept_months", lambda *args: None)
        patch.setattr(year_totals_module, "_live_totals", _postings_live_totals)
        return (year_totals(session, recipient, YEAR, **options)[0],
                spending.cumulative_spending(session, recipient, YEAR))


_kept_live_totals = year_totals_module._live_totals


def _postings_live_totals(session, recipient, school_year, packs, overrides, booked_until, centres, kept=None):
    # a booked_until after every booking day: the same postings, summed from the postings
    return _kept_live_totals(session, recipient, school_year, packs, overrides,
                             booked_until or date(2999, 12, 31), centres)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, reversals=st.lists(st.tuples(st.integers(0, 29), REVERSAL_DAYS), max_size=5),
       overrides=st.sets(st.integers(0, 29), max_size=3))
def test_kept_totals_equal_the_recomputation_and_the_reports_figures(session, monkeypatch, data, reversals,
                                                                      overrides):
    kreis = books(session, data, [], overrides)
    entries = session.scalars(sa.select(JournalEntry).where(JournalEntry.recipient_id == kreis.id)
                              .order_by(JournalEntry.id)).all()
    for index, day in reversals:   # one by one, each a call of the journal writer after the import's
        entry = entries[index % len(entries)]
        if not session.scalar(sa.select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)):
            reverse_entry(session, entry, day=day, reason="Fehlbuchung", created_by="t", now=NOW)
    session.commit()

    check = verify_totals(session)
    assert check.ok, check.findings
    assert check.postings == session.scalar(sa.text("SELECT COUNT(*) FROM postings"))
    fresh, fresh_days = kept(session), kept_days(session)
    assert fresh_days == days_recomputed(session)
    assert rebuild(session) == len(fresh) + len(fresh_days)
    assert kept(session) == fresh              # the writer's totals are what a recomputation writes
    assert kept_days(session) == fresh_days

    fast = year_totals(session, kreis, YEAR)[0]
    assert fast == Totals.of_items(evaluate(session, kreis, YEAR))
    assert (fast, spending.cumulative_spending(session, kreis, YEAR)) == by_postings(session, monkeypatch, kreis)
    until = date(2024, 1, 15)
    assert spending.cumulative_spending(session, kreis, YEAR, until=until) == by_postings_until(
        session, monkeypatch, kreis, until)
    session.rollback()


def by_postings_until(session, monkeypatch, recipient, until):
    with monkeypatch.context() as patch:
        patch.setattr(spending, "_kept_months", lambda *args: None)
        return spending.cumulative_spending(session, recipient, YEAR, until=until)


def test_the_chart_reads_the_kept_months(session, monkeypatch):
    """A kept total changed by hand shows in the chart: it reads the totals, not the postings
    (and so a test comparing both could fail)."""
    kreis = books(session, [(10, "training", "", 100_00, "5292")], [], set())
    session.execute(sa.update(AccountYearTotal).where(AccountYearTotal.recipient_id == kreis.id,
                                                      AccountYearTotal.category == "training")
                    .values(amount_cents=AccountYearTotal.amount_cents + 1))
    points = spending.cumulative_spending(session, kreis, YEAR)
    assert points[-1].spent == by_postings_until(session, monkeypatch, kreis, None)[-1].spent + Decimal("0.01")
    assert year_totals(session, kreis, YEAR)[0].sum("amount") == points[-1].spent


def test_verify_names_a_changed_total_and_fails(session, cli):
    kreis = books(session, [(10, "training", "", 100_00, "5292"), (40, "", "", 5_00, "5291")], [], set())
    assert json.loads(cli("verify", "--json").output)["totals"]["ok"] is True
    session.execute(sa.update(AccountYearTotal).where(AccountYearTotal.recipient_id == kreis.id,
                                                      AccountYearTotal.category == "training")
                    .values(amount_cents=AccountYearTotal.amount_cents - 50))
    session.commit()
    result = cli("verify", "--json", expect=1)
    totals = json.loads(result.stdout)["totals"]
    assert totals["ok"] is False
    [finding] = totals["findings"]
    assert finding.startswith("Konto 5292, Schuljahr 2023/24, Kategorie Qualifizierung")   # the pack's label
    assert finding.endswith(", Kostenstelle –, Monat 08/2023: "
                            "gespeichert 99,50 EUR in 1 Buchungszeile (11.08.2023–11.08.2023), "
                            "nachgerechnet 100,00 EUR in 1 Buchungszeile (11.08.2023–11.08.2023)")
    assert "training" not in finding
    assert "gespeicherte Summen weichen von den Buchungen ab" in result.stderr
    text = cli("verify", expect=1).stdout
    assert "Kontensummen: " in text and "nachgerechnet 1 Abweichung" in text and f"  {finding}" in text


def test_verify_names_a_changed_journal_day_and_fails(session, cli):
    """Two entries on 11.08.2023 of 100,00 and 5,00 EUR; the kept day total is changed by hand."""
    kreis = books(session, [(10, "training", "", 100_00, "5292"), (10, "", "", 5_00, "5291")], [], set())
    assert kept_days(session) == {(kreis.id, "2023/24", date(2023, 8, 11)): (2, 105_00)}
    session.execute(sa.update(JournalDayTotal).where(JournalDayTotal.recipient_id == kreis.id)
                    .values(entries=3))
    session.commit()
    totals = json.loads(cli("verify", "--json", expect=1).stdout)["totals"]
    assert totals["ok"] is False and totals["days"] == 1
    assert totals["findings"] == ["Journal Kreis Zufall, Schuljahr 2023/24, Buchungstag 11.08.2023: gespeichert "
                                  "3 Buchungen über 105,00 EUR, nachgerechnet 2 Buchungen über 105,00 EUR"]


def test_a_restore_rebuilds_the_totals(session, engine, tmp_path):
    books(session, [(10, "training", "", 100_00, "5292"), (400, "", "WL-SPAET", 5_00, "5291")], [0], set())
    before, before_days = kept(session), kept_days(session)
    session.commit()
    out = io.BytesIO()
    with Session(engine) as reader:   # a backup reads one snapshot, from a new session
        backup(reader, out, now=NOW)
    target = db.make_engine(f"sqlite:///{tmp_path / 'restored.sqlite'}")
    db.upgrade(str(target.url))
    with db.session_scope(target, write=True) as fresh:
        restore(fresh, io.BytesIO(out.getvalue()))
    with db.session_scope(target) as fresh:
        assert kept(fresh) == before and kept_days(fresh) == before_days and verify_totals(fresh).ok
        assert len(before) == len(list(fresh.execute(recomputed(fresh))))
    target.dispose()


def test_month_keys_are_first_days(session):
    books(session, [(offset, "training", "", 1_00, "5292") for offset in (0, 30, 31, 61)], [], set())
    months = {key[4] for key in kept(session) if key[2] == "training"}
    assert months == {date(2023, 8, 1), date(2023, 9, 1), date(2023, 10, 1)}
    first = date(2023, 8, 1)
    assert {(v[2], v[3]) for k, v in kept(session).items() if k[2] == "training" and k[4] == date(2023, 8, 1)} == {
        (first, first + timedelta(days=30))}

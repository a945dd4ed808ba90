"""The Land's notices and the settlement agreements are evidence (issue 14): append-only, a
changed notice is a new notice, an agreement's status moves by events; and § 193 BGB's
holiday calendar is pack data. On both databases.

Sources: § 49a VwVfG NRW (the authority's notice decides amount, due date and interest;
Abs. 3 Satz 1: three points above the base rate) and §§ 48, 49 VwVfG NRW (an administrative
act is changed or revoked by a new one: Änderungsbescheid, Aufhebung); the Vereinbarung
Rhein-Sieg-Kreis – Land NRW (seed 002_17056edfca8550ce.txt) § 1 Abs. 2 (469.569,68 EUR) and
§ 9 (effective only with the finance ministry's consent and the Kreis's resolution, "am Tag
des Vorliegens aller dieser Voraussetzungen"); § 193 BGB (a payment day on a Sunday, a
Saturday or a public holiday "am Leistungsort" moves to the next working day); the base
rates of rules/basiszinssatz.toml (1,62 % from 1 January 2023).
"""
from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal as D

import holidays
import pytest
import sqlalchemy as sa

from ledger.core import db
from ledger.core.agreements import add_agreement, change_status, status_history
from ledger.core.audit import ACTION_LABELS
from ledger.core.errors import ImmutableEntry, LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import AuditEvent
from ledger.core.notices import add_notice, find_notice, notice_history, withdraw_notice
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_repayment
from ledger.rules.deadline import repayment_due_date
from ledger.rules.packs import RULES_DIR, load_pack, load_packs
from tests.conftest import NOW

STATUTE_YEAR = SchoolYear(2019)     # 2019/20: nothing owed without a notice or an agreement
RS_YEAR = SchoolYear(2020)          # 2020/21, the year of the Vereinbarung § 1
AGREED = D("469569.68")             # § 1 Abs. 2


def _notice(session, recipient, year=STATUTE_YEAR, **terms):
    terms = {"notice_date": date(2023, 2, 15), "reference": "48.01-12/2023", "amount": D("100000.00"),
             "due_date": date(2023, 3, 31), "interest_waived": True, **terms}
    notice = add_notice(session, recipient, year, created_by="test", now=NOW, **terms)
    session.commit()
    return notice


# --- amending notices and withdrawals (§§ 48, 49, 49a VwVfG NRW) --------------------------


def test_an_amending_notice_replaces_amount_due_date_and_interest(session, kreis):
    """The Land first reclaims 100.000,00 EUR by 31.03.2023 without interest; its amending
    notice of 10.03.2023 reduces the claim to 60.000,00 EUR by 28.04.2023, interest from
    01.05.2023 at 3 points above the base rate (§ 49a Abs. 3 Satz 1 VwVfG NRW). Unpaid on
    10.05.2023: 10 days at 1,62 + 3 = 4,62 %: 60.000,00 × 4,62 % × 10 / 365 = 75,945… → 75,95 EUR."""
    first = _notice(session, kreis)
    amended = _notice(session, kreis, notice_date=date(2023, 3, 10), reference="48.01-12/2023-Ä",
                      amount=D("60000.00"), due_date=date(2023, 4, 28), interest_waived=False,
                      interest_start=date(2023, 5, 1), interest_points=D("3"), replaces=first.id)
    result = compute_repayment(session, kreis, STATUTE_YEAR, as_of=date(2023, 5, 10))
    assert result.decided_by == "notice"
    assert (result.repayment_due, result.due_date) == (D("60000.00"), date(2023, 4, 28))  # a Friday
    assert result.notice.replaces == ("48.01-12/2023", date(2023, 2, 15))
    [interest] = result.interest
    assert (interest.days, interest.periods[0].applied_rate) == (10, D("4.62"))
    assert result.late_interest == D("75.95")
    assert find_notice(session, kreis, STATUTE_YEAR).id == amended.id
    # the first notice stays, as evidence, with what replaced it
    assert [(s.notice.reference, s.replaced_by and s.replaced_by.id, s.in_force)
            for s in notice_history(session, kreis, STATUTE_YEAR)] == [
        ("48.01-12/2023", amended.id, False), ("48.01-12/2023-Ä", None, True)]


def test_a_second_notice_must_name_the_notice_in_force_it_replaces(session, kreis):
    first = _notice(session, kreis)
    other_year = _notice(session, kreis, SchoolYear(2018), reference="48.01-3/2023")
    with pytest.raises(LedgerError, match="muss angeben, welchen Bescheid er ersetzt"):
        _notice(session, kreis, reference="48.01-13/2023")
    session.rollback()
    with pytest.raises(LedgerError, match="kein Bescheid von testland für 2019/20"):
        _notice(session, kreis, reference="48.01-13/2023", replaces=other_year.id)
    session.rollback()
    with pytest.raises(LedgerError, match="vor dem Bescheid 48.01-12/2023"):
        _notice(session, kreis, notice_date=date(2023, 2, 1), reference="48.01-13/2023", replaces=first.id)
    session.rollback()
    _notice(session, kreis, notice_date=date(2023, 3, 1), reference="48.01-13/2023", replaces=first.id)
    with pytest.raises(LedgerError, match="gilt nicht mehr"):  # already replaced
        _notice(session, kreis, notice_date=date(2023, 3, 2), reference="48.01-14/2023", replaces=first.id)


def test_a_withdrawn_notice_falls_back_to_the_agreement_in_force(session, kreis):
    """Vereinbarung § 1 Abs. 2: 469.569,68 EUR for 2020/21. A notice of the Land decides
    instead (100.000,00 EUR); once the Land withdraws it without a new one, the agreement
    decides again, with its own payment date (§ 3, example 30.06.2022)."""
    add_agreement(session, kreis, RS_YEAR, deemed_conform=D("422362.00"), repayment=AGREED,
                  payment_date=date(2022, 6, 30), reference="Vereinbarung, § 1", created_by="test", now=NOW)
    notice = _notice(session, kreis, RS_YEAR)
    assert compute_repayment(session, kreis, RS_YEAR).repayment_due == D("100000.00")
    withdraw_notice(session, notice, withdrawal_date=date(2023, 5, 2), reference="48.01-20/2023",
                    created_by="test", now=NOW)
    session.commit()
    result = compute_repayment(session, kreis, RS_YEAR)
    assert (result.decided_by, result.repayment_due, result.due_date, result.notice) == (
        "agreement", AGREED, date(2022, 6, 30), None)
    with pytest.raises(LedgerError, match="gilt nicht mehr"):
        withdraw_notice(session, notice, withdrawal_date=date(2023, 5, 3), reference="x", created_by="t", now=NOW)
    # after a withdrawal a new notice is a first notice again: it names none
    _notice(session, kreis, RS_YEAR, notice_date=date(2023, 6, 1), reference="48.01-30/2023", amount=D("5.00"),
            due_date=date(2023, 6, 30))
    assert compute_repayment(session, kreis, RS_YEAR).repayment_due == D("5.00")


def test_a_withdrawn_notice_falls_back_to_the_computation(session, kreis):
    """2021/22 (Hinweise): 1.000,00 EUR paid out on 15.10.2021 and nothing spent, so the
    computation reclaims 1.000,00 EUR by 1 April 2022 (Vereinbarung § 4 Abs. 2); a notice of
    500,00 EUR decides until it is withdrawn (§ 49 VwVfG NRW)."""
    year = SchoolYear(2021)
    grant = add_grant(session, kreis, year, D("1000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2021, 10, 15), D("1000.00"), created_by="test", now=NOW)
    notice = _notice(session, kreis, year, notice_date=date(2022, 1, 10), reference="Az. 7", amount=D("500.00"),
                     due_date=date(2022, 2, 28))
    assert compute_repayment(session, kreis, year).repayment_due == D("500.00")
    with pytest.raises(LedgerError, match="Aufhebung liegt vor dem Bescheid"):
        withdraw_notice(session, notice, withdrawal_date=date(2022, 1, 9), reference="Az. 8", created_by="t", now=NOW)
    withdraw_notice(session, notice, withdrawal_date=date(2022, 2, 1), reference="Az. 8", created_by="test", now=NOW)
    session.commit()
    result = compute_repayment(session, kreis, year)
    assert (result.decided_by, result.repayment_due, result.due_date) == ("computation", D("1000.00"), date(2022, 4, 1))


# --- append-only, in the ORM and in the database ------------------------------------------


def test_notices_and_agreements_cannot_be_changed_through_the_orm(session, kreis):
    agreement = add_agreement(session, kreis, RS_YEAR, deemed_conform=D("1.00"), created_by="test", now=NOW)
    notice = _notice(session, kreis)
    notice.amount_cents = 1
    with pytest.raises(ImmutableEntry):
        session.flush()
    session.rollback()
    session.delete(agreement)
    with pytest.raises(ImmutableEntry):
        session.flush()


@pytest.mark.parametrize("statement", [
    "UPDATE notices SET amount_cents = 1", "DELETE FROM notices",
    "UPDATE notice_withdrawals SET reference = 'x'", "DELETE FROM notice_withdrawals",
    "UPDATE agreements SET repayment_cents = 1", "DELETE FROM agreements",
    "UPDATE agreement_status_events SET status = 'signed'", "DELETE FROM agreement_status_events",
])
def test_the_database_refuses_update_and_delete(engine, session, kreis, statement):
    add_agreement(session, kreis, RS_YEAR, deemed_conform=D("1.00"), created_by="test", now=NOW)
    withdraw_notice(session, _notice(session, kreis), withdrawal_date=date(2023, 5, 2), reference="Az. 2",
                    created_by="test", now=NOW)
    session.commit()
    session.close()
    with pytest.raises(sa.exc.IntegrityError, match="nie geändert oder gelöscht"):
        with engine.begin() as conn:
            conn.execute(sa.text(statement))


# --- the agreement's status history (Vereinbarung § 9) -------------------------------------


def test_the_agreements_status_moves_by_events_and_its_history_stays(session, kreis):
    """§ 9: signed on 01.03.2022, awaiting the finance ministry's consent, in force from
    01.05.2022 (the day all conditions were met, Abs. 2). Only then does the agreed
    469.569,68 EUR decide; before, 2020/21 (a statute year) owes nothing automatically."""
    agreement = add_agreement(session, kreis, RS_YEAR, deemed_conform=D("422362.00"), repayment=AGREED,
                              status="signed", reference="Vereinbarung, § 1", created_by="test", now=NOW)
    session.commit()
    assert compute_repayment(session, kreis, RS_YEAR).decided_by == "computation"
    change_status(session, agreement, "awaiting_consent", created_by="test", now=NOW)
    with pytest.raises(LedgerError, match="Datum des Wirksamwerdens fehlt"):
        change_status(session, agreement, "in_force", created_by="test", now=NOW)
    change_status(session, agreement, "in_force", effective_date=date(2022, 5, 1), created_by="test", now=NOW)
    with pytest.raises(LedgerError, match="kann nur fortschreiten"):
        change_status(session, agreement, "signed", created_by="test", now=NOW)
    session.commit()
    result = compute_repayment(session, kreis, RS_YEAR)
    assert (result.decided_by, result.repayment_due) == ("agreement", AGREED)
    assert (result.agreement.status, result.agreement.effective_date) == ("in_force", date(2022, 5, 1))
    assert [(s.status, s.effective_date) for s in result.agreement.history] == [
        ("signed", None), ("awaiting_consent", None), ("in_force", date(2022, 5, 1))]
    assert [s.status for s in status_history(session, agreement)] == ["signed", "awaiting_consent", "in_force"]
    audited = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert audited.count("agreement_status") == 2 and ACTION_LABELS["agreement_status"] == "Stand der Vereinbarung erfasst"


def test_status_notices_and_withdrawal_through_the_cli_and_the_dashboard(cli, app, session, kreis):
    from tests.conftest import add_web_user, logged_in

    cli("agreement", "add", "--recipient", "testland", "--school-year", "2020/21", "--deemed-conform", "422362,00",
        "--repayment", "469569,68", "--status", "signed")
    cli("agreement", "status", "--recipient", "testland", "--school-year", "2020/21", "--status", "in_force",
        "--effective-date", "2022-05-01")
    history = cli("agreement", "history", "--recipient", "testland", "--school-year", "2020/21").stdout
    assert "unterzeichnet" in history and "wirksam, wirksam seit 01.05.2022" in history
    out = cli("notice", "add", "--recipient", "testland", "--school-year", "2019/20", "--date", "2023-02-15",
              "--reference", "48.01-12/2023", "--amount", "100000,00", "--due-date", "2023-03-31", "--no-interest")
    first = out.stdout.split("Nr. ")[1].split()[0]
    cli("notice", "add", "--recipient", "testland", "--school-year", "2019/20", "--date", "2023-03-10",
        "--reference", "48.01-12/2023-Ä", "--amount", "60000,00", "--due-date", "2023-04-28", "--no-interest",
        expect=1)  # the year has a notice in force: an amending notice names it
    cli("notice", "add", "--recipient", "testland", "--school-year", "2019/20", "--date", "2023-03-10",
        "--reference", "48.01-12/2023-Ä", "--amount", "60000,00", "--due-date", "2023-04-28", "--no-interest",
        "--replaces", first)
    listing = cli("notice", "list", "--recipient", "testland", "--school-year", "2019/20").stdout
    assert f"Nr. {first}: Bescheid vom 15.02.2023, 48.01-12/2023, 100.000,00 EUR bis 31.03.2023: geändert" in listing
    assert "60.000,00 EUR bis 28.04.2023: gilt" in listing

    add_web_user(session, "olga", "officer", recipients=(kreis,))
    session.commit()
    client = logged_in(app, "olga")
    page = " ".join(client.get("/r/testland/2019/").get_data(as_text=True).split())
    assert "Der Bescheid ändert den Bescheid vom 15.02.2023 (Aktenzeichen 48.01-12/2023)" in page
    assert "Frühere Bescheide" in page and "geändert durch den Bescheid vom 10.03.2023" in page
    page = " ".join(client.get("/r/testland/2020/").get_data(as_text=True).split())
    assert "Stand der Vereinbarung (§ 9): unterzeichnet (erfasst am" in page

    cli("notice", "withdraw", "--recipient", "testland", "--school-year", "2019/20", "--date", "2023-05-02",
        "--reference", "48.01-20/2023")
    assert "aufgehoben am 02.05.2023 (48.01-20/2023)" in cli(
        "notice", "list", "--recipient", "testland", "--school-year", "2019/20").stdout
    page = " ".join(client.get("/r/testland/2019/").get_data(as_text=True).split())
    assert "Für dieses Schuljahr gilt kein Bescheid des Landes mehr" in page
    assert "aufgehoben am 02.05.2023 (Aktenzeichen 48.01-20/2023)" in page
    cli("notice", "withdraw", "--recipient", "testland", "--school-year", "2019/20", "--date", "2023-05-03",
        "--reference", "x", expect=1)


# --- migration 0015 with existing rows, on both databases ---------------------------------


def _day_text(row) -> tuple:
    """A raw row with its dates as ISO text (SQLite returns the stored text, PostgreSQL a date)."""
    return tuple(value.isoformat() if isinstance(value, date) else value for value in row)


def test_0015_migrates_existing_agreements_and_notices_and_downgrades(database_url, engine, session, kreis):
    """Rows recorded under 0013 (an agreement in force since 01.05.2022, one awaiting consent,
    a notice) keep deciding as before: each agreement gets one status event with its status
    and effective date; the notice is in force. The downgrade puts the latest status back."""
    session.close()
    engine.dispose()
    db.downgrade(database_url, "0013")
    with engine.begin() as conn:
        for year, status, effective in (("2020/21", "in_force", "2022-05-01"), ("2019/20", "awaiting_consent", None)):
            conn.execute(sa.text(
                "INSERT INTO agreements (recipient_id, school_year, deemed_conform_cents, waived, reference, "
                "created_by, created_at, repayment_cents, status, effective_date) VALUES (:r, :y, 42236200, false, "
                "'Vereinbarung, § 1', 'alt', :now, 46956968, :s, :e)"),
                {"r": kreis.id, "y": year, "now": NOW, "s": status, "e": effective})
        conn.execute(sa.text(
            "INSERT INTO notices (recipient_id, school_year, notice_date, reference, amount_cents, due_date, "
            "interest_waived, created_by, created_at) VALUES (:r, '2018/19', '2023-02-15', 'Az. 1', 1000, "
            "'2023-03-31', true, 'alt', :now)"), {"r": kreis.id, "now": NOW})
    engine.dispose()
    db.upgrade(database_url)
    with engine.begin() as conn:
        assert [_day_text(row) for row in conn.execute(sa.text(
            "SELECT a.school_year, e.status, e.effective_date, e.created_by FROM agreement_status_events e "
            "JOIN agreements a ON a.id = e.agreement_id ORDER BY a.school_year"))] == [
            ("2019/20", "awaiting_consent", None, "alt"), ("2020/21", "in_force", "2022-05-01", "alt")]
        assert conn.execute(sa.text("SELECT reference, replaces_id FROM notices")).all() == [("Az. 1", None)]
    assert not {"status", "effective_date"} & {c["name"] for c in sa.inspect(engine).get_columns("agreements")}
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE agreements SET reference = 'geändert'"))
    engine.dispose()
    with db.session_scope(db.make_engine(database_url)) as check:
        assert (compute_repayment(check, kreis, RS_YEAR).repayment_due,
                compute_repayment(check, kreis, SchoolYear(2019)).decided_by,
                compute_repayment(check, kreis, SchoolYear(2018)).repayment_due) == (AGREED, "computation", D("10.00"))

    db.downgrade(database_url, "0013")
    with engine.begin() as conn:
        assert [_day_text(row) for row in conn.execute(sa.text(
            "SELECT school_year, status, effective_date FROM agreements ORDER BY school_year"))] == [
            ("2019/20", "awaiting_consent", None), ("2020/21", "in_force", "2022-05-01")]
    engine.dispose()
    db.upgrade(database_url)


def test_0015_downgrade_refuses_while_a_notice_was_replaced(database_url, engine, session, kreis):
    first = _notice(session, kreis)
    _notice(session, kreis, notice_date=date(2023, 3, 10), reference="Az. 2", replaces=first.id)
    session.close()
    engine.dispose()
    with pytest.raises(RuntimeError, match="1 notice"):
        db.downgrade(database_url, "0013")
    engine.dispose()


# --- § 193 BGB: the holiday calendar is the pack's ----------------------------------------


def _variant(tmp_path, name: str, *replacements: tuple[str, str]):
    """The shipped pack ``name`` with ``replacements`` applied, loaded from ``tmp_path``."""
    text = (RULES_DIR / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    tmp_path.mkdir(exist_ok=True)
    shutil.copy(RULES_DIR / "basiszinssatz.toml", tmp_path / "basiszinssatz.toml")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load_pack(tmp_path / name)


def test_holidays_come_from_the_pack_and_shift_the_deadline_by_land(tmp_path):
    """§ 193 BGB counts the holidays "am Leistungsort". 01.11.2022 (Tuesday) is Allerheiligen,
    a holiday in NRW, not in Niedersachsen; 31.10.2022 (Monday) is Reformationstag, a holiday
    in Niedersachsen, not in NRW. A deadline of 1 November moves to 2 November only with NRW's
    calendar; one of 31 October moves to 1 November only with Niedersachsen's."""
    nw = holidays.country_holidays("DE", subdiv="NW", years=2022)
    ni = holidays.country_holidays("DE", subdiv="NI", years=2022)
    assert date(2022, 11, 1) in nw and date(2022, 11, 1) not in ni
    assert date(2022, 10, 31) in ni and date(2022, 10, 31) not in nw
    payout = date(2021, 10, 15)
    for month, day, in_nw, in_ni in ((11, 1, date(2022, 11, 2), date(2022, 11, 1)),
                                     (10, 31, date(2022, 10, 31), date(2022, 11, 1))):
        deadline = ("month = 4\nday = 1\n", f"month = {month}\nday = {day}\n")
        nrw = _variant(tmp_path / f"nw{month}", "inklfoeg-nrw-hinweise.toml", deadline)
        lower_saxony = _variant(tmp_path / f"ni{month}", "inklfoeg-nrw-hinweise.toml", deadline,
                                ('subdivision = "NW"', 'subdivision = "NI"'))
        assert (nrw.holidays.subdivision, lower_saxony.holidays.subdivision) == ("NW", "NI")
        assert repayment_due_date(payout, nrw.deadline)[1] == in_nw
        assert repayment_due_date(payout, lower_saxony.deadline)[1] == in_ni


def test_a_statute_year_payment_date_moves_by_the_packs_calendar(tmp_path, session, kreis):
    """The statute's pack has no deadline, yet its calendar moves an agreed payment date:
    16.06.2022 (Thursday) was Fronleichnam, a holiday in NRW, not in Niedersachsen."""
    assert date(2022, 6, 16) in holidays.country_holidays("DE", subdiv="NW", years=2022)
    assert date(2022, 6, 16) not in holidays.country_holidays("DE", subdiv="NI", years=2022)
    add_agreement(session, kreis, RS_YEAR, deemed_conform=D("422362.00"), repayment=AGREED,
                  payment_date=date(2022, 6, 16), created_by="test", now=NOW)
    session.commit()
    hinweise = load_pack(RULES_DIR / "inklfoeg-nrw-hinweise.toml")
    lower_saxony = _variant(tmp_path, "inklfoeg-nrw-gesetz.toml", ('subdivision = "NW"', 'subdivision = "NI"'))
    assert compute_repayment(session, kreis, RS_YEAR, load_packs()).due_date == date(2022, 6, 17)
    assert compute_repayment(session, kreis, RS_YEAR, (lower_saxony, hinweise)).due_date == date(2022, 6, 16)


def test_the_statement_names_the_replaced_notice_and_the_earlier_statuses(session, kreis):
    """The statement shows the amending notice in force with the notice it changed, and the
    agreement's earlier statuses (§ 9)."""
    import io

    from pypdf import PdfReader

    from ledger.reports.statement import build_statement
    from ledger.write.statement_pdf import render_statement

    def text(year):
        pdf = render_statement(build_statement(session, kreis, year, now=NOW))
        return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)

    first = _notice(session, kreis)
    _notice(session, kreis, notice_date=date(2023, 3, 10), reference="48.01-12/2023-Ä", amount=D("60000.00"),
            due_date=date(2023, 4, 28), replaces=first.id)
    noticed = text(STATUTE_YEAR)
    assert "Ändert den Bescheid vom 15. Februar 2023, Aktenzeichen 48.01-12/2023" in noticed
    assert "Rückzahlung laut Bescheid 60.000,00 EUR" in noticed
    agreement = add_agreement(session, kreis, RS_YEAR, deemed_conform=D("422362.00"), status="signed",
                              created_by="test", now=NOW)
    change_status(session, agreement, "in_force", effective_date=date(2022, 5, 1), created_by="test", now=NOW)
    session.commit()
    agreed = text(RS_YEAR)
    assert "Stand wirksam seit 1. Mai 2022" in agreed
    assert "Frühere Stände (§ 9) unterzeichnet (erfasst am 22. November 2026)" in agreed

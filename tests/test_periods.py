"""Closing a settled school year; closed years accept nothing; re-opening needs an admin."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import AuditEvent
from ledger.core.periods import closed_years
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import find_account
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import add_user
from ledger.workflows.closing import close_year, reopen_year
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from tests.conftest import NOW, add_master_data, import_bytes

SY = SchoolYear(2023)
AFTER = datetime(2024, 9, 15, 12, 0)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"


@pytest.fixture
def settled(session, kreis):
    """2023/24: grant 10.000,00; pool 8.000,00 spent; 2.000,00 confirmed and repaid."""
    add_master_data(session, kreis)
    grant = add_grant(session, kreis, SY, D("10000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("10000.00"), created_by="test", now=NOW)
    assert import_bytes(session, kreis, (HEADER + "31.10.2023;P-1;Pool;5291;1810;8.000,00;POOL-A;;\n").encode(),
                        "x.csv", created_by="test", now=NOW).ok
    confirm_repayment(session, kreis, SY, day=date(2024, 3, 1), created_by="test", now=NOW)
    pay_repayment(session, kreis, SY, D("2000.00"), day=date(2024, 3, 20), created_by="test", now=NOW)
    users = {role: add_user(session, f"{role}-1", role, actor="test", now=NOW) for role in ("officer", "auditor", "admin")}
    session.commit()
    return kreis, users


def test_only_a_settled_year_can_be_closed(session, kreis):
    grant = add_grant(session, kreis, SY, D("10000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), D("10000.00"), created_by="test", now=NOW)
    import_bytes(session, kreis, (HEADER + "31.10.2023;S-1;ohne Kategorie;5299;1810;100,00;;;\n").encode(), "x.csv",
                 created_by="test", now=NOW)
    officer = add_user(session, "officer-1", "officer", actor="test", now=NOW)
    with pytest.raises(LedgerError) as raised:
        close_year(session, kreis, SY, user=officer, now=datetime(2024, 7, 31, 23, 0))
    message = str(raised.value)
    for part in ("endet erst am 31.07.2024", "100,00 EUR sind nicht klassifiziert", "nicht bestätigt",
                 "10.000,00 EUR sind noch offen"):
        assert part in message


def test_closed_year_refuses_entries_and_rows_until_an_admin_reopens_it(session, settled):
    kreis, users = settled
    with pytest.raises(LedgerError, match="darf das nicht"):
        close_year(session, kreis, SY, user=users["auditor"], now=AFTER)
    close_year(session, kreis, SY, user=users["officer"], now=AFTER, reason="Schlussabrechnung 2023/24")
    session.commit()
    assert closed_years(session, kreis) == {"2023/24"}

    pool, bank = find_account(session, kreis, "5291"), find_account(session, kreis, "1810")
    with pytest.raises(LedgerError, match="abgeschlossen"):
        post_entry(session, kreis, day=date(2024, 9, 1), voucher_number="N-1", text="Nachzügler",
                   lines=[PostingLine(pool, D("1"), SY), PostingLine(bank, D("-1"), SY)],
                   kind="manual", created_by="test", now=NOW)
    late = HEADER + "15.07.2024;N-2;Rechnung Juli;5291;1810;10,00;;;\n01.09.2024;N-3;Juli-Rechnung;5291;1810;5,00;;;2023/24\n"
    summary = import_bytes(session, kreis, late.encode(), "spaet.csv", created_by="test", now=NOW)
    assert [(e.line, e.column) for e in summary.errors] == [(2, "Buchungsdatum"), (3, "Schuljahr")]

    with pytest.raises(LedgerError, match="darf das nicht"):
        reopen_year(session, kreis, SY, user=users["officer"], reason="Nachzügler", now=AFTER)
    with pytest.raises(LedgerError, match="Begründung"):
        reopen_year(session, kreis, SY, user=users["admin"], reason=" ", now=AFTER)
    reopen_year(session, kreis, SY, user=users["admin"], reason="Rechnung Juli nachgereicht", now=AFTER)
    assert import_bytes(session, kreis, late.encode(), "spaet.csv", created_by="test", now=NOW).imported == 2
    session.commit()

    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("period_%")).order_by(AuditEvent.seq)).all()
    assert [(e.action, e.actor, json.loads(e.details)["reason"]) for e in events] == [
        ("period_close", "officer-1", "Schlussabrechnung 2023/24"),
        ("period_reopen", "admin-1", "Rechnung Juli nachgereicht")]


def test_user_and_period_commands_through_the_cli(settled, cli, monkeypatch):
    cli("user", "add", "pruefer-2", "--role", "auditor", "--no-password")
    users = json.loads(cli("user", "list", "--json").output)
    assert {"username": "pruefer-2", "role": "auditor", "active": True, "password_set": False,
            "all_recipients": False, "recipients": []} in users
    year = ("--recipient", "testland", "--school-year", "2023/24")
    monkeypatch.setenv("INKL_USER", "niemand")
    assert "nicht gefunden" in cli("period", "close", *year, expect=1).stderr
    monkeypatch.setenv("INKL_USER", "officer-1")
    cli("period", "close", *year, "--reason", "Schlussabrechnung")
    assert "bereits abgeschlossen" in cli("period", "close", *year, expect=1).stderr
    assert "darf das nicht" in cli("period", "reopen", *year, "--reason", "x", expect=1).stderr
    monkeypatch.setenv("INKL_USER", "admin-1")
    cli("period", "reopen", *year, "--reason", "Korrektur der Kostenstelle")
    assert "nicht abgeschlossen" in cli("period", "reopen", *year, "--reason", "x", expect=1).stderr


def test_reopen_book_and_close_again_in_one_transaction(session, settled):
    """Both databases check a closed year when the entry arrives, not at commit."""
    kreis, users = settled
    close_year(session, kreis, SY, user=users["officer"], now=AFTER)
    reopen_year(session, kreis, SY, user=users["admin"], reason="Umbuchung", now=AFTER)
    pool, training = find_account(session, kreis, "5291"), find_account(session, kreis, "5292")
    post_entry(session, kreis, day=date(2024, 7, 1), voucher_number="U-1", text="Umbuchung Fortbildung",
               lines=[PostingLine(training, D("100"), SY, "training"), PostingLine(pool, D("-100"), SY, "pool_personnel", "POOL-A")],
               kind="manual", created_by="test", now=NOW)
    close_year(session, kreis, SY, user=users["officer"], now=AFTER)
    session.commit()
    assert closed_years(session, kreis) == {"2023/24"}

"""The example import script (``docs/examples/monatsimport.py``) end to end: the app served by
waitress on a free port, the demo Kreis Musterhausen booked through June 2024, and the script,
run as its own process with only an access token, checks and books the July export (the demo's
``2024-07.csv``, unchanged). Afterwards the year's repayment is the demo's 112.206,21 EUR
(tests/test_demo_and_worked_examples.py computes it by hand)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from inkl.demo import DEMO_DIR, MUSTERHAUSEN_KEY, MUSTERHAUSEN_YEAR, load_demo
from ledger.core.models import AuditEvent, ImportBatch
from ledger.core.recipients import get_recipient
from ledger.core.tokens import create_token
from ledger.core.users import get_user
from ledger.reports.repayment import compute_repayment
from tests.conftest import served

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "examples" / "monatsimport.py"
JULY = DEMO_DIR / "2024-07.csv"


@pytest.fixture
def until_june(app, engine, tmp_path):
    """The demo data without its last month (July 2024), the officer's token in a file (mode 0600),
    the app served on a free port: (base URL, token file)."""
    app.instance_path = str(tmp_path / "instance")
    months = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, months, ignore=shutil.ignore_patterns(JULY.name))
    now = datetime(2026, 11, 22, 9, 0)
    with Session(engine) as session:
        list(load_demo(session, user="demo", now=now, directory=months))
        secret = create_token(session, get_user(session, "demo-sachbearbeitung"), "Monatsimport", actor="demo",
                              now=now).secret
        session.commit()
    token_file = tmp_path / "zugangstoken"
    token_file.write_text(secret + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    with served(app) as url:
        yield url, token_file


def _run(url: str, token_file: Path | None, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INKL_")}
    if token_file is not None:
        env["INKL_API_TOKEN_FILE"] = str(token_file)
    return subprocess.run([sys.executable, str(SCRIPT), "--url", url, "--recipient", MUSTERHAUSEN_KEY, *args],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def _repayment(engine) -> Decimal:
    with Session(engine) as session:
        return compute_repayment(session, get_recipient(session, MUSTERHAUSEN_KEY), MUSTERHAUSEN_YEAR).repayment_due


def test_the_script_checks_and_books_a_month(until_june, engine):
    url, token_file = until_june
    before = _repayment(engine)

    checked = _run(url, token_file, "--nur-pruefen", str(JULY))
    assert checked.returncode == 0, checked.stderr
    assert "Probelauf 2024-07.csv: 5 Zeilen, 5 neu, 0 bereits gebucht" in checked.stdout
    assert "Nur geprüft" in checked.stdout and _repayment(engine) == before

    booked = _run(url, token_file, str(JULY))
    assert booked.returncode == 0, booked.stderr
    lines = booked.stdout.splitlines()
    assert lines[0].startswith("Probelauf 2024-07.csv: 5 Zeilen, 5 neu")
    assert lines[1].startswith("Gebucht 2024-07.csv: 5 Zeilen, 5 neu, 0 bereits gebucht")
    assert _repayment(engine) == Decimal("112206.21")              # the demo year, complete
    with engine.connect() as conn:
        batch = conn.execute(sa.select(ImportBatch.filename, ImportBatch.created_by)
                             .order_by(ImportBatch.id.desc()).limit(1)).one()
        actor = conn.execute(sa.select(AuditEvent.actor).where(AuditEvent.action == "import")
                             .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert tuple(batch) == ("2024-07.csv", "demo-sachbearbeitung") and actor == "demo-sachbearbeitung"

    again = _run(url, token_file, str(JULY))                        # cron ran twice: nothing booked twice
    assert again.returncode == 0 and "Nichts Neues zu buchen." in again.stdout
    assert "0 neu, 5 bereits gebucht" in again.stdout and _repayment(engine) == Decimal("112206.21")


def test_the_script_lists_every_error_and_books_nothing(until_june, engine, tmp_path):
    url, token_file = until_june
    broken = tmp_path / "2024-07-fehlerhaft.csv"
    rows = JULY.read_text(encoding="utf-8").splitlines()
    broken.write_text("\n".join([rows[0], rows[1].replace("15.07.2024", "31.07.2024x"),
                                 rows[2].replace(";5291;", ";9999;")]) + "\n", encoding="utf-8")
    before = _repayment(engine)
    result = _run(url, token_file, str(broken))
    assert result.returncode == 2
    assert "Fehler (422): 2024-07-fehlerhaft.csv: 2 Fehler, nichts gebucht." in result.stderr
    assert "  Zeile 2, Spalte Buchungsdatum: " in result.stderr and "  Zeile 3, Spalte Sollkonto: " in result.stderr
    assert _repayment(engine) == before


def test_the_script_without_a_valid_token_stops_with_exit_code_1(until_june, tmp_path):
    url, _token_file = until_june
    missing = _run(url, None, str(JULY))
    assert missing.returncode == 1 and "kein Zugangstoken" in missing.stderr
    wrong = tmp_path / "falsch"
    wrong.write_text("inkl_" + "x" * 43, encoding="utf-8")
    refused = _run(url, wrong, str(JULY))
    assert refused.returncode == 1 and "Fehler (401): Zugangstoken ist ungültig." in refused.stderr

"""Long operations in the background (``webapp.jobs``): an import or a statement that takes
longer than ``JOB_WAIT_SECONDS`` answers with its progress page at once, reports its
progress, and shows its result there when it is done. Only the user who started a job
sees it. Here ``JOB_WAIT_SECONDS`` is 0, so every job takes the progress-page path, and a
gate holds the import until the test has looked at the running job.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

import webapp.jobs as jobs
import webapp.staging as staging
from ledger.workflows import import_preview
from ledger.core.errors import LedgerError
from ledger.core.models import ImportBatch, IssuedStatement, JournalEntry
from tests.conftest import logged_in
from tests.test_web_imports import (
    GOOD,
    _confirm_fields,
    _count,
    _staged,
    _text,
    _upload,
    users,  # noqa: F401  (fixture)
)
from tests.test_web_statements import confirmation_fields, kreise  # noqa: F401  (fixture)
import webapp

JOB_PAGE = "/r/testland/import/vorgang/"


@pytest.fixture
def app(app):
    app.config["JOB_WAIT_SECONDS"] = 0
    return app


@pytest.fixture
def gate(monkeypatch):
    """Holds every import after its first progress report (``gate.reached``) until ``gate.open``."""
    gate = SimpleNamespace(reached=threading.Event(), open=threading.Event())
    real = staging.import_file

    def held(*args, progress, **kwargs):
        progress(0, 3)
        gate.reached.set()
        assert gate.open.wait(30), "the test never opened the gate"
        return real(*args, progress=progress, **kwargs)

    monkeypatch.setattr(staging, "import_file", held)          # the booking
    monkeypatch.setattr(import_preview, "import_file", held)    # the dry run's preview
    yield gate
    gate.open.set()


def _job(app, location: str):
    job = app.extensions["inkl_jobs"].get(location.rsplit("/", 1)[-1])
    assert job is not None
    return job


def test_a_long_dry_run_shows_its_progress_then_its_result(app, users, gate, session):
    olga = logged_in(app, "olga")
    started = _upload(olga, GOOD)
    assert started.status_code == 303 and started.headers["Location"].startswith(JOB_PAGE)
    location = started.headers["Location"]
    assert gate.reached.wait(30)

    running = olga.get(location)
    text = _text(running)
    assert running.status_code == 200 and "Probelauf: export-2023-11.csv" in text and "Der Vorgang läuft" in text
    assert "Zeilen geprüft: 0 von 3" in text and '<progress id="job-fortschritt" max="3" value="0">' in running.text
    assert '<script src="/static/job.js" defer></script>' in running.text
    job_id = location.rsplit("/", 1)[-1]
    state = olga.get(f"/vorgang/{job_id}").get_json()
    assert state == {"id": job_id, "status": "running", "phase": "Zeilen geprüft", "done": 0, "total": 3,
                     "error": None}

    gate.open.set()
    assert _job(app, location).wait(30)
    done = olga.get(location)
    text = _text(done)
    assert done.status_code == 200 and "davon neu zu buchen 3" in text and "Jetzt buchen" in text
    assert olga.get(f"/vorgang/{job_id}").get_json()["status"] == "done"
    assert _count(session, JournalEntry) == 0 and len(_staged(app)) == 1

    booking = olga.post("/r/testland/import/buchen", data=_confirm_fields(done))
    assert booking.status_code == 303
    assert _job(app, booking.headers["Location"]).wait(30)
    finished = olga.get(booking.headers["Location"], follow_redirects=True)
    assert "export-2023-11.csv: 3 Zeilen, 3 neu gebucht, 0 bereits vorhanden." in _text(finished)
    assert _count(session, JournalEntry) == 3 and _count(session, ImportBatch) == 1 and _staged(app) == []


def test_only_the_user_who_started_a_job_sees_it(app, users, gate):
    olga = logged_in(app, "olga")
    location = _upload(olga, GOOD).headers["Location"]
    job_id = location.rsplit("/", 1)[-1]
    paul, bernd = logged_in(app, "paul"), logged_in(app, "bernd")
    assert paul.get(f"/vorgang/{job_id}").status_code == 404      # auditor of every Kreis: not his job
    assert bernd.get(f"/vorgang/{job_id}").status_code == 404     # officer of another Kreis
    assert bernd.get(location).status_code == 404
    assert bernd.get(f"/r/nachbar/import/vorgang/{job_id}").status_code == 404
    assert olga.get(f"/vorgang/{job_id}").status_code == 200
    assert olga.get(f"/vorgang/{'x' * 22}").status_code == 404
    assert app.test_client().get(f"/vorgang/{job_id}").status_code == 302   # not logged in: to the log-in page


@pytest.mark.parametrize("failure, message, status", [
    (RuntimeError("Festplatte voll"), "unerwarteter Fehler", 500),
    (LedgerError("Das Schuljahr 2023/24 ist abgeschlossen."), "Das Schuljahr 2023/24 ist abgeschlossen.", 400),
])
def test_a_failed_job_reports_its_error_and_writes_nothing(app, users, session, monkeypatch, failure, message, status):
    def broken(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(staging, "import_file", broken)
    monkeypatch.setattr(import_preview, "import_file", broken)
    olga = logged_in(app, "olga")
    location = _upload(olga, GOOD).headers["Location"]
    assert _job(app, location).wait(30)
    page = olga.get(location)
    assert page.status_code == status and message in _text(page)
    assert "Festplatte" not in _text(page)        # internal details stay in the log
    assert olga.get(f"/vorgang/{location.rsplit('/', 1)[-1]}").get_json()["status"] == "failed"
    assert _count(session, JournalEntry) == 0 and _count(session, ImportBatch) == 0


def test_a_statement_issued_in_the_background_appears_in_the_list(app, kreise, session):
    anna = logged_in(app, "anna")
    page = "/r/testland/2023/abrechnungen"
    started = anna.post(page, data=confirmation_fields(anna, page))
    assert started.status_code == 303
    location = started.headers["Location"]
    assert location.startswith("/r/testland/2023/abrechnungen/vorgang/")
    job = _job(app, location)
    assert job.wait(60) and job.status == "done"
    listing = anna.get(location, follow_redirects=True)
    number, digest = job.result
    assert f"Verwendungsnachweis Nr. {number} ausgestellt (SHA-256 {digest})." in _text(listing)
    session.rollback()
    assert session.scalar(sa.select(IssuedStatement.sha256)) == digest
    assert logged_in(app, "paul").get(location).status_code == 403   # auditors never issue, nor see the job
    job_id = location.rsplit("/", 1)[-1]
    assert anna.get(f"/r/testland/import/vorgang/{job_id}").status_code == 404   # not an import job


def _second_process(app, database_url):
    """Another server process of the same installation: its own application object (own
    job runner, own memory) on the same database, instance folder and secret key."""
    other = webapp.create_app({"TESTING": True, "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False,
                        "SECRET_KEY": app.config["SECRET_KEY"]})
    other.instance_path = app.instance_path
    return other


def test_any_server_process_answers_for_a_job(app, users, gate, session, database_url):
    """``inkl serve`` runs several processes: the progress page and the result of a job
    started in one are answered by another, from the job's state file."""
    olga = logged_in(app, "olga")
    # log in there first: a log-in writes its session, and on SQLite it would wait for the held
    # job's write transaction (one writer at a time); reading pages never waits
    elsewhere = logged_in(_second_process(app, database_url), "olga")
    location = _upload(olga, GOOD).headers["Location"]
    job_id = location.rsplit("/", 1)[-1]
    assert gate.reached.wait(30)
    assert elsewhere.get(f"/vorgang/{job_id}").get_json() == {
        "id": job_id, "status": "running", "phase": "Zeilen geprüft", "done": 0, "total": 3, "error": None}
    running = _text(elsewhere.get(location))
    assert "Der Vorgang läuft" in running and "Zeilen geprüft: 0 von 3" in running

    gate.open.set()
    assert _job(app, location).wait(30)
    done = elsewhere.get(location)
    assert done.status_code == 200 and "davon neu zu buchen 3" in _text(done) and "Jetzt buchen" in _text(done)
    assert logged_in(_second_process(app, database_url), "bernd").get(f"/vorgang/{job_id}").status_code == 404


def test_a_job_whose_process_ended_is_reported_as_interrupted(app, users):
    """A state file still saying "running" whose process is gone (a restart): the job failed,
    and the page says where to see whether its transaction was committed."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    olga = logged_in(app, "olga")
    job_id = "A" * 22
    folder = app.extensions["inkl_jobs"].folder
    (folder / f"{job_id}.json").write_text(json.dumps({
        "id": job_id, "kind": "import_check", "username": "olga", "recipient_key": "testland", "title": "Probelauf: x.csv",
        "status": "running", "phase": "Zeilen geprüft", "done": 10, "total": 20, "result": None, "error": None,
        "error_status": 500, "pid": int(gone.stdout), "started_at": "2026-11-29T10:00:00", "finished_at": None}))
    assert olga.get(f"/vorgang/{job_id}").get_json()["status"] == "failed"
    page = olga.get(f"{JOB_PAGE}{job_id}")
    assert page.status_code == 500 and "mit seinem Serverprozess beendet" in _text(page)
    assert "Importhistorie" in _text(page)


def test_a_finished_job_is_kept_an_hour_then_forgotten(app, tmp_path, monkeypatch):
    """The boundary of ``KEEP_SECONDS`` (webapp.jobs): when the next job starts, a finished job whose
    state file was last written exactly an hour ago is kept, one written a second earlier is
    removed; a running job is kept however old it is."""
    app.instance_path = str(tmp_path)
    runner = app.extensions["inkl_jobs"]
    folder = runner.folder
    clock = 2_000_000_000
    for job_id, status, age in (("A" * 22, jobs.DONE, 3600), ("B" * 22, jobs.FAILED, 3601),
                                ("C" * 22, jobs.RUNNING, 7200)):
        job = jobs.Job(id=job_id, kind="import_check", username="olga", recipient_key="testland",
                       title="Probelauf: x.csv", started_at=datetime(2026, 11, 22, 9), status=status, folder=folder)
        job._save()
        os.utime(folder / f"{job_id}.json", (clock - age, clock - age))
    monkeypatch.setattr(jobs, "time", SimpleNamespace(time=lambda: clock))
    new = runner.start("import_check", "Probelauf: y.csv", username="olga", recipient_key="testland",
                       work=lambda job: None)
    assert new.wait(30)
    assert sorted(path.stem for path in folder.glob("*.json")) == sorted(["A" * 22, "C" * 22, new.id])

"""Long operations of the web UI (an import, issuing a statement) run in the background.

A view that starts one hands a function to the application's ``JobRunner`` (a thread
pool of ``JOB_WORKERS`` threads per server process, default 2) and answers with
``answer``: it waits up to ``JOB_WAIT_SECONDS`` (default 2 s); if the job has finished by
then, the view shows its result at once, as for any short request; otherwise it redirects
to the job's ``page``, which shows a progress bar (updated by ``static/job.js`` from
``GET /vorgang/<id>``, or by reloading the page without JavaScript) and the result when
the job is done. So a large import or a long statement never holds a request, and the
page stays usable.

A job's function runs without a request: it gets every value it needs as arguments
(engine, rule packs, ids, user name, time) and opens its own database session, so what
it writes is one transaction, all or nothing. It returns its result as JSON-ready data.

``inkl serve`` runs several server processes, and the next request may reach any of
them, so a job's state lives in a file: ``<instance>/jobs/<id>.json``, rewritten whole
(write and rename) by the process running the job at each progress report and at its
end, read by whichever process answers. A job whose process ended while it ran (a
restart) is reported as interrupted: its one transaction was either committed or not,
and the import history and the issued statements show which. Finished jobs are
forgotten after ``KEEP_SECONDS``.

Only the user who started a job sees it; its page answers 404 to everyone else.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
)
from flask_babel import format_decimal
from flask_login import current_user

from ledger.core.errors import LedgerError
from ledger.rules.packs import NoRulePack
from webapp.errors import error_page

#: Threads that run jobs in each server process (config ``JOB_WORKERS``).
DEFAULT_WORKERS = 2
#: Seconds a view waits for its job before it redirects to the progress page (config ``JOB_WAIT_SECONDS``).
DEFAULT_WAIT_SECONDS = 2.0
#: Finished jobs are kept this many seconds for their page, then forgotten.
KEEP_SECONDS = 60 * 60
RUNNING, DONE, FAILED = "running", "done", "failed"
#: A job's id: ``secrets.token_urlsafe(16)``; nothing else is ever made into a file name.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_INTERNAL_ERROR = "Es ist ein unerwarteter Fehler aufgetreten; die Bücher sind unverändert. Bitte erneut versuchen."
_INTERRUPTED = ("Der Vorgang wurde mit seinem Serverprozess beendet (z. B. bei einem Neustart). Ob er gebucht bzw. "
                "ausgestellt hat, zeigen die Importhistorie und die Liste der Verwendungsnachweise; sonst bitte erneut starten.")
_STORED = ("id", "kind", "username", "recipient_key", "title", "status", "phase", "done", "total", "result", "error",
           "error_status", "pid")

bp = Blueprint("jobs", __name__)


@dataclass
class Job:
    """One background operation: who started it for which recipient, its progress and outcome.

    ``done``/``total`` count the job's units (rows of an import; 0 of 0 while unknown),
    ``phase`` says in German what it is doing. When it ends, ``status`` is ``DONE`` with
    ``result`` (what the function returned, JSON-ready) or ``FAILED`` with ``error`` (a
    German message) and ``error_status`` (400: the books refused the request, 409: no rule
    pack is in force for the school year, 500: an internal error). ``pid``: the server process running it. ``folder``: where its state
    file is written (None for a job read from another process's file).
    """

    id: str
    kind: str
    username: str
    recipient_key: str
    title: str
    started_at: datetime
    status: str = RUNNING
    phase: str = "wartet auf Ausführung"
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    error_status: int = 500
    finished_at: datetime | None = None
    pid: int = field(default_factory=os.getpid)
    folder: Path | None = field(default=None, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def report(self, phase: str, done: int = 0, total: int = 0) -> None:
        """Record progress: ``phase`` (German), ``done`` of ``total`` units."""
        self.phase, self.done, self.total = phase, done, total
        self._save()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the job to end; True if it has (only in the job's own process)."""
        return self._finished.wait(seconds)

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def as_dict(self) -> dict:
        """The job's state for the status endpoint (JSON)."""
        return {"id": self.id, "status": self.status, "phase": self.phase, "done": self.done, "total": self.total,
                "error": self.error}

    def _end(self, status: str, *, result: Any = None, error: str | None = None) -> None:
        self.status, self.result, self.error, self.finished_at = status, result, error, datetime.now()
        self._save()
        self._finished.set()

    def _save(self) -> None:
        """Write the state file whole: a temporary file in the folder, renamed over the old one."""
        if self.folder is None:
            return
        state = {name: getattr(self, name) for name in _STORED}
        state["started_at"] = self.started_at.isoformat()
        state["finished_at"] = self.finished_at and self.finished_at.isoformat()
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{self.id}-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(state, out, ensure_ascii=False)
        os.replace(temporary, self.folder / f"{self.id}.json")

    @classmethod
    def load(cls, path: Path) -> "Job | None":
        """The job in the state file ``path`` as its process last wrote it; None if there is
        none. A running job whose process is gone is reported as failed (interrupted)."""
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        started, finished = state.pop("started_at"), state.pop("finished_at")
        job = cls(**state, started_at=datetime.fromisoformat(started),
                  finished_at=finished and datetime.fromisoformat(finished))
        if job.running and not _process_alive(job.pid):
            job.status, job.error, job.error_status = FAILED, _INTERRUPTED, 500
        if not job.running:
            job._finished.set()
        return job


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:    # a process of another user has that id now
        return True
    return True


class JobRunner:
    """The application's background jobs: a thread pool in this process, and the jobs'
    state files in ``<instance>/jobs`` (shared by every server process)."""

    def __init__(self, app: Flask, workers: int) -> None:
        self._app = app
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inkl-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        """``<instance>/jobs`` (created on first use)."""
        folder = Path(self._app.instance_path) / "jobs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def start(self, kind: str, title: str, *, username: str, recipient_key: str,
              work: Callable[[Job], Any]) -> Job:
        """Run ``work(job)`` in the background; returns the job at once.

        ``work`` must not use Flask's request or application context and returns its
        result as JSON-ready data. A ``LedgerError`` it raises ends the job as failed with
        that (German) message; any other exception is logged and reported as an internal error.
        """
        folder = self.folder
        self._forget_old(folder)
        job = Job(id=secrets.token_urlsafe(16), kind=kind, username=username, recipient_key=recipient_key,
                  title=title, started_at=datetime.now(), folder=folder)
        job._save()
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def shutdown(self) -> None:
        """Wait for this process's running jobs to end; start no new ones (the server stops)."""
        self._pool.shutdown(wait=True)

    def get(self, job_id: str) -> Job | None:
        """The job with ``job_id``, if it is still known: this process's own, else from its state file."""
        if not JOB_ID.fullmatch(job_id):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None else Job.load(self.folder / f"{job_id}.json")

    def _run(self, job: Job, work: Callable[[Job], Any]) -> None:
        try:
            job.report("läuft")
            result = work(job)
            json.dumps(result)      # JSON-ready, or it is a programming error reported below
        except LedgerError as exc:
            job.error_status = 409 if isinstance(exc, NoRulePack) else 400
            job._end(FAILED, error=str(exc))
        except Exception:  # the job's thread must report every failure, never die silently
            self._app.logger.exception("Vorgang %s (%s) für %s fehlgeschlagen", job.id, job.title, job.recipient_key)
            job._end(FAILED, error=_INTERNAL_ERROR)
        else:
            job._end(DONE, result=result)

    def _forget_old(self, folder: Path) -> None:
        """Remove the state files of jobs finished more than ``KEEP_SECONDS`` ago, and of
        jobs interrupted that long ago; forget this process's finished jobs."""
        with self._lock:
            for job_id in [j.id for j in self._jobs.values() if not j.running]:
                del self._jobs[job_id]
        limit = time.time() - KEEP_SECONDS
        for path in folder.glob("*.json"):
            try:
                if path.stat().st_mtime < limit:
                    job = Job.load(path)
                    if job is None or not job.running:
                        path.unlink(missing_ok=True)
            except (OSError, ValueError, TypeError):
                continue


def phase_text(job: Job) -> str:
    """What the job is doing, in German: ``"Zeilen geprüft: 20.000 von 500.000"``."""
    if not job.total:
        return job.phase
    return f"{job.phase}: {format_decimal(job.done)} von {format_decimal(job.total)}"


def init_app(app: Flask) -> None:
    """Create the application's job runner, register the status endpoint and ``job_phase`` for templates."""
    app.extensions["inkl_jobs"] = JobRunner(app, int(app.config.get("JOB_WORKERS", DEFAULT_WORKERS)))
    app.add_template_global(phase_text, "job_phase")
    app.register_blueprint(bp)


def start(kind: str, title: str, recipient_key: str, work: Callable[[Job], Any]) -> Job:
    """Start ``work`` as a job of the logged-in user for ``recipient_key`` (see ``JobRunner.start``)."""
    return current_app.extensions["inkl_jobs"].start(kind, title, username=current_user.username,
                                                     recipient_key=recipient_key, work=work)


def answer(job: Job, show: Callable[[Job], Any], progress_url: str):
    """The response right after starting ``job``: ``show(job)`` if it ends within
    ``JOB_WAIT_SECONDS``, else a redirect (303) to its progress page ``progress_url``.
    With ``JOB_WAIT_SECONDS`` 0 every job answers with the redirect, even one that has
    already ended (its page then shows the result)."""
    seconds = float(current_app.config.get("JOB_WAIT_SECONDS", DEFAULT_WAIT_SECONDS))
    if seconds > 0 and job.wait(seconds):
        return show(job)
    return redirect(progress_url, 303)


def page(job: Job, result: Callable[[Job], Any], **context):
    """A job's page: while it runs, the progress page (``job.html`` with ``context``: recipient,
    year, nav); if it failed, the error page with its message; when done, ``result(job)``."""
    if job.running:
        return render_template("job.html", job=job, **context)
    if job.status == FAILED:
        return error_page(job.error_status, job.error)
    return result(job)


def own_job(job_id: str, kinds: tuple[str, ...] = (), recipient_key: str | None = None) -> Job:
    """The logged-in user's job ``job_id`` (of one of ``kinds``, for ``recipient_key``), else 404."""
    job = current_app.extensions["inkl_jobs"].get(job_id)
    if (job is None or job.username != current_user.username or (kinds and job.kind not in kinds)
            or (recipient_key and job.recipient_key != recipient_key)):
        abort(404, "Diesen Vorgang gibt es nicht (mehr). Abgeschlossene Vorgänge werden nach einer Stunde "
                   "vergessen; ihr Ergebnis steht in der Importhistorie bzw. bei den Verwendungsnachweisen.")
    return job


@bp.get("/vorgang/<job_id>")
def status(job_id: str):
    """The state of one of the user's jobs as JSON: status, phase, done, total, error."""
    return jsonify(own_job(job_id).as_dict())

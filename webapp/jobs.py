"""Long operations of the web UI (an import, issuing a statement) run in the background.

A view that starts one hands a function to the application's ``JobRunner`` (a thread
pool of ``JOB_WORKERS`` threads, default 2) and answers with ``answer``: it waits up to
``JOB_WAIT_SECONDS`` (default 2 s); if the job has finished by then, the view shows its
result at once, as for any short request; otherwise it redirects to the job's ``page``, which shows a progress
bar (updated by ``static/job.js`` from ``GET /vorgang/<id>``, or by reloading the page
without JavaScript) and the result when the job is done. So a large import or a long
statement never holds a request, and the page stays usable.

A job's function runs without a request: it gets every value it needs as arguments
(engine, rule packs, ids, user name, time) and opens its own database session, so what
it writes is one transaction, all or nothing. Jobs live in the memory of the server
process (``inkl serve`` is one process with threads): a job lost with its process has
written either nothing or everything, and the import history and the issued statements
show which. Finished jobs are forgotten after ``KEEP_SECONDS``.

Only the user who started a job sees it; its page answers 404 to everyone else.
"""
from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template
from flask_babel import format_decimal
from flask_login import current_user

from ledger.errors import LedgerError
from webapp.errors import error_page

#: Threads that run jobs (config ``JOB_WORKERS``).
DEFAULT_WORKERS = 2
#: Seconds a view waits for its job before it redirects to the progress page (config ``JOB_WAIT_SECONDS``).
DEFAULT_WAIT_SECONDS = 2.0
#: Finished jobs are kept this many seconds for their page, then forgotten.
KEEP_SECONDS = 60 * 60
RUNNING, DONE, FAILED = "running", "done", "failed"
_INTERNAL_ERROR = "Es ist ein unerwarteter Fehler aufgetreten; die Bücher sind unverändert. Bitte erneut versuchen."

bp = Blueprint("jobs", __name__)


@dataclass
class Job:
    """One background operation: who started it for which recipient, its progress and outcome.

    ``done``/``total`` count the job's units (rows of an import; 0 of 0 while unknown),
    ``phase`` says in German what it is doing. When it ends, ``status`` is ``DONE`` with
    ``result`` (what the function returned) or ``FAILED`` with ``error`` (a German message)
    and ``error_status`` (400: the books refused the request, 500: an internal error).
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
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def report(self, phase: str, done: int = 0, total: int = 0) -> None:
        """Record progress: ``phase`` (German), ``done`` of ``total`` units."""
        self.phase, self.done, self.total = phase, done, total

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the job to end; True if it has."""
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
        self._finished.set()


class JobRunner:
    """The application's background jobs: a thread pool and the jobs it ran lately (in memory)."""

    def __init__(self, app: Flask, workers: int) -> None:
        self._app = app
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inkl-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, title: str, *, username: str, recipient_key: str,
              work: Callable[[Job], Any]) -> Job:
        """Run ``work(job)`` in the background; returns the job at once.

        ``work`` must not use Flask's request or application context. A ``LedgerError``
        it raises ends the job as failed with that (German) message; any other exception
        is logged and reported as an internal error.
        """
        job = Job(id=secrets.token_urlsafe(16), kind=kind, username=username, recipient_key=recipient_key,
                  title=title, started_at=datetime.now())
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with ``job_id``, if it is still known."""
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, work: Callable[[Job], Any]) -> None:
        job.report("läuft")
        try:
            result = work(job)
        except LedgerError as exc:
            job.error_status = 400
            job._end(FAILED, error=str(exc))
        except Exception:  # the job's thread must report every failure, never die silently
            self._app.logger.exception("Vorgang %s (%s) für %s fehlgeschlagen", job.id, job.title, job.recipient_key)
            job._end(FAILED, error=_INTERNAL_ERROR)
        else:
            job._end(DONE, result=result)

    def _forget_old(self) -> None:
        now = datetime.now()
        for job_id in [j.id for j in self._jobs.values()
                       if j.finished_at and (now - j.finished_at).total_seconds() > KEEP_SECONDS]:
            del self._jobs[job_id]


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
                   "vergessen; ihr Ergebnis steht in der Importhistorie bzw. bei den Abrechnungen.")
    return job


@bp.get("/vorgang/<job_id>")
def status(job_id: str):
    """The state of one of the user's jobs as JSON: status, phase, done, total, error."""
    return jsonify(own_job(job_id).as_dict())

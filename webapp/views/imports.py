"""Import of monthly finance-system exports through the web UI (upload, dry run, commit, history).

``GET /r/<key>/import``: the recipient's import history (every applied ``ImportBatch``,
newest first) for everyone who may read the recipient; officers who may write it also
get the upload form.

``POST /r/<key>/import``: the dry run. The upload is streamed to the instance folder
(``uploads/<recipient id>/<sha256>.csv``; the name is the hash, never the user's file
name), then checked by ``ledger.read.importer.import_file(dry_run=True)`` as a background job
(``webapp.jobs``; nothing is written): counts and every error by line and column. If
the file is valid and holds something new, it stays staged and a confirm form carries
its hash and original name; otherwise it is removed.

``POST /r/<key>/import/buchen``: the commit. The staged file is found by its hash, its
SHA-256 checked again and imported as a background job in one write transaction; the
staged file is removed. Errors that arose meanwhile (e.g. a school year closed) write
nothing and are shown; success goes back to the import page with a message.

A job that ends within ``JOB_WAIT_SECONDS`` shows its result in the response itself;
a longer one redirects to ``GET /r/<key>/import/vorgang/<id>``, its progress page, which
shows the result once the job is done.

Uploads are limited to ``IMPORT_MAX_BYTES`` (config, default 20 MB): the request body
limit is set per request before anything reads the body.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import Engine, select
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length, Regexp

from ledger.core.db import session_scope
from ledger.core.models import ImportBatch, Recipient
from ledger.core.users import can_write
from ledger.read.importer import ImportSummary, import_file
from ledger.rules.packs import RulePack
from webapp import jobs
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_engine, get_packs, get_session
from webapp.errors import error_page
from webapp.views import default_school_year

bp = Blueprint("imports", __name__, url_prefix="/r/<key>")

#: Default upload limit (bytes); config ``IMPORT_MAX_BYTES`` overrides it.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Room for the multipart envelope and the small form fields around the file.
_FORM_SLACK = 64 * 1024
#: Staged uploads nobody confirmed are removed after this many seconds.
STAGE_MAX_AGE = 24 * 60 * 60
#: At most this many errors are listed on the page (the count is always given).
MAX_LISTED_ERRORS = 5000
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COPY_BLOCK = 1024 * 1024
#: Job kinds: the dry run and the booking.
CHECK, BOOK = "import_check", "import_book"


def _max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES))


def _size_de(size: int) -> str:
    """``20971520`` → ``"20 MB"``; small limits (tests) in KB or bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} Bytes"


def _too_large_message() -> str:
    return f"Die Datei ist zu groß: höchstens {_size_de(_max_bytes())} sind erlaubt."


class UploadForm(FlaskForm):
    """The export file to check (dry run)."""

    file = FileField("Exportdatei aus dem Finanzverfahren", validators=[
        FileRequired("Bitte eine Datei auswählen."),
        FileAllowed(["csv", "txt"], "Nur CSV- oder Textdateien (Endung .csv oder .txt) können importiert werden."),
    ], render_kw={"accept": ".csv,.txt,text/csv,text/plain"})


class ConfirmForm(FlaskForm):
    """Book the staged file with this SHA-256 (from the dry run), under its original name."""

    sha256 = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}\Z")])
    filename = HiddenField(validators=[DataRequired(), Length(max=300)])


@bp.url_value_preprocessor
def _limit_request_body(endpoint: str | None, _values: dict | None) -> None:
    """Cap the body of this blueprint's POSTs before CSRF protection or a form reads it."""
    if request.method == "POST":
        request.max_content_length = _max_bytes() + _FORM_SLACK if endpoint == "imports.upload" else _FORM_SLACK


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge):
    """A body over the limit: the upload form again, with a German error at the file field."""
    key = (request.view_args or {}).get("key")
    if request.endpoint != "imports.upload" or key is None or not current_user.is_authenticated:
        return error_page(413, _too_large_message())
    try:
        recipient = recipient_for(key, write=True)
    except HTTPException as exc:
        return error_page(exc.code or 400, exc.description)
    form = UploadForm(formdata=None)
    form.file.errors = [_too_large_message()]
    return _page(recipient, form), 413


@bp.get("/import")
def index(key: str):
    """The import history; for officers who may write, the upload form above it."""
    recipient = recipient_for(key)
    form = UploadForm(formdata=None) if can_write(current_user.user, recipient) else None
    return _page(recipient, form)


@bp.post("/import")
def upload(key: str):
    """Stage the uploaded file and start its dry run (a background job)."""
    recipient = recipient_for(key, write=True)
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(recipient, form), 400
    staged = _stage(recipient, form.file.data.stream, _max_bytes())
    if staged is None:
        form.file.errors.append(_too_large_message())
        return _page(recipient, form), 413
    filename = _display_name(form.file.data.filename)
    job = jobs.start(CHECK, f"Probelauf: {filename}", recipient.key,
                     partial(_check_file, get_engine(), get_packs(), recipient.id, staged,
                             filename, current_user.username, timestamp()))
    return _outcome(recipient, job)


@bp.post("/import/buchen")
def commit(key: str):
    """Book the staged file of the dry run (one write transaction, a background job)."""
    recipient = recipient_for(key, write=True)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "Die Bestätigung ist unvollständig oder die Prüfsumme ist ungültig. "
                   "Bitte die Datei erneut hochladen.")
    sha256 = form.sha256.data
    path = _staged_path(recipient, sha256)
    try:
        with path.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
    except FileNotFoundError:
        abort(400, "Zu dieser Prüfsumme liegt keine hochgeladene Datei vor (bereits gebucht oder verworfen). "
                   "Bitte die Datei erneut hochladen.")
    if digest != sha256:
        path.unlink(missing_ok=True)
        abort(400, "Die zwischengespeicherte Datei passt nicht zu ihrer Prüfsumme. Bitte die Datei erneut hochladen.")
    filename = _display_name(form.filename.data)
    job = jobs.start(BOOK, f"Buchung: {filename}", recipient.key,
                     partial(_book_file, get_engine(), get_packs(), recipient.id, path,
                             filename, current_user.username, timestamp()))
    return _outcome(recipient, job)


@bp.get("/import/vorgang/<job_id>")
def job(key: str, job_id: str):
    """A dry run's or booking's progress page while it runs, its result when it is done."""
    recipient = recipient_for(key, write=True)
    return _job_page(recipient, jobs.own_job(job_id, (CHECK, BOOK), recipient.key))


def _check_file(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, path: Path, filename: str,
                username: str, now: datetime, job: jobs.Job) -> dict:
    """The dry-run job: check the staged file; keep it staged only if it can be booked.
    Returns the summary as ``ImportSummary.as_dict``."""
    with session_scope(engine) as session:
        summary = import_file(session, session.get(Recipient, recipient_id), path, filename=filename,
                              created_by=username, now=now, dry_run=True, packs=packs,
                              progress=lambda done, total: job.report("Zeilen geprüft", done, total))
    if not _bookable(summary):
        path.unlink(missing_ok=True)
    return summary.as_dict()


def _book_file(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, path: Path, filename: str,
               username: str, now: datetime, job: jobs.Job) -> dict:
    """The booking job: import the staged file in one write transaction, then remove it.
    Returns the summary as ``ImportSummary.as_dict``."""
    job.report("wartet auf die Schreibsperre der Bücher")
    with session_scope(engine, write=True) as session:
        summary = import_file(session, session.get(Recipient, recipient_id), path, filename=filename,
                              created_by=username, now=now, dry_run=False, packs=packs,
                              progress=lambda done, total: job.report("Zeilen gebucht", done, total))
    path.unlink(missing_ok=True)
    return summary.as_dict()


def _bookable(summary: ImportSummary) -> bool:
    return summary.ok and bool(summary.imported or summary.payouts_recognised or summary.repayments_recognised
                               or summary.parked)


def _outcome(recipient: Recipient, job: jobs.Job):
    """The job's result if it ends within the wait, else a redirect to its progress page."""
    return jobs.answer(job, partial(_job_page, recipient), url_for("imports.job", key=recipient.key, job_id=job.id))


def _job_page(recipient: Recipient, job: jobs.Job):
    return jobs.page(job, partial(_result, recipient), recipient=recipient, year=default_school_year(recipient),
                     nav="import")


def _result(recipient: Recipient, job: jobs.Job):
    """A finished dry run: its counts and errors (and the confirm form); a finished booking:
    back to the history with a message, or its errors (409)."""
    summary = ImportSummary.from_dict(job.result)
    log = current_app.logger
    if job.kind == CHECK:
        log.info("Import-Probelauf %s für %s durch %s: %s Zeilen, %s neu, %s Fehler", summary.sha256,
                 recipient.key, job.username, summary.rows, summary.imported, len(summary.errors))
        confirm = (ConfirmForm(formdata=None, sha256=summary.sha256, filename=summary.file)
                   if _bookable(summary) else None)
        return _page(recipient, UploadForm(formdata=None), summary=summary, confirm=confirm)
    if not summary.ok:
        log.warning("Import %s für %s abgelehnt: %s Fehler", summary.sha256, recipient.key, len(summary.errors))
        return _page(recipient, UploadForm(formdata=None), summary=summary), 409
    log.info("Import %s für %s durch %s: %s Zeilen, %s neu, %s Duplikate", summary.sha256, recipient.key,
             job.username, summary.rows, summary.imported, summary.duplicates)
    message = (f"{summary.file}: {summary.rows} Zeilen, {summary.imported} neu gebucht, "
               f"{summary.duplicates} bereits vorhanden")
    if summary.payouts_recognised:
        message += f", {summary.payouts_recognised} als erfasste Auszahlung erkannt"
    flash(message + ".")
    return redirect(url_for("imports.index", key=recipient.key))


def _page(recipient: Recipient, form: UploadForm | None, *, summary: ImportSummary | None = None,
          confirm: ConfirmForm | None = None) -> str:
    batches = get_session().scalars(
        select(ImportBatch).where(ImportBatch.recipient_id == recipient.id)
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())).all()
    return render_template(
        "imports.html", recipient=recipient, year=default_school_year(recipient), form=form, summary=summary,
        confirm=confirm, batches=batches, max_size=_size_de(_max_bytes()), max_errors=MAX_LISTED_ERRORS,
    )


def _display_name(name: str | None) -> str:
    """The uploaded file's own name (no directories, no control characters, at most 300 characters)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable()).strip()
    return base[:300] or "upload.csv"


def _stage_dir(recipient: Recipient) -> Path:
    return Path(current_app.instance_path) / "uploads" / str(recipient.id)


def _staged_path(recipient: Recipient, sha256: str) -> Path:
    if not _SHA256.fullmatch(sha256):
        abort(400, "Ungültige Prüfsumme.")
    return _stage_dir(recipient) / f"{sha256}.csv"


def _stage(recipient: Recipient, stream: BinaryIO, limit: int) -> Path | None:
    """Copy the upload to ``uploads/<id>/<sha256>.csv`` (atomically, mode 0600), hashing it on the
    way, and drop stale staged files. Returns the path, or None if it exceeds ``limit`` bytes."""
    directory = _stage_dir(recipient)
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STAGE_MAX_AGE
    for old in directory.glob("*.csv"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            pass
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".tmp")
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as handle:
            while block := stream.read(_COPY_BLOCK):
                size += len(block)
                if size > limit:
                    Path(tmp).unlink()
                    return None
                digest.update(block)
                handle.write(block)
        path = _staged_path(recipient, digest.hexdigest())
        os.replace(tmp, path)
        return path
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

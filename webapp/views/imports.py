"""Import of monthly finance-system exports through the web UI (upload, dry run, commit, history).

``GET /r/<key>/import``: the recipient's import history (every applied ``ImportBatch``,
newest first) for everyone who may read the recipient; officers who may write it also
get the upload form.

``POST /r/<key>/import``: the dry run. The upload is checked with
``ledger.importer.import_bytes(dry_run=True)`` in the request's read session (nothing is
written) and the result is shown: counts and every error by line and column. If the
file is valid and holds something new, its bytes are staged under the instance folder
(``uploads/<recipient id>/<sha256>.csv``; the name is the hash, never the user's file
name) and a confirm form carries the hash and the original file name.

``POST /r/<key>/import/buchen``: the commit. The staged file is read by its hash, its
SHA-256 checked again and imported in one write transaction; the staged file is
removed. Errors that arose meanwhile (e.g. a school year closed) write nothing and are
shown; success redirects to the import page with a message (post/redirect/get).

Uploads are limited to ``IMPORT_MAX_BYTES`` (config, default 20 MB): the request body
limit is set per request before anything reads the body.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length, Regexp

from ledger.importer import ImportSummary, import_bytes
from ledger.models import ImportBatch, Recipient
from ledger.users import can_write
from webapp.auth import recipient_for
from webapp.db import get_packs, get_session, write_session
from webapp.errors import error_page
from webapp.views import default_school_year, timestamp

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
    """Dry run of the uploaded file: counts and errors; stage it if it can be booked."""
    recipient = recipient_for(key, write=True)
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(recipient, form), 400
    limit = _max_bytes()
    data = form.file.data.read(limit + 1)
    if len(data) > limit:
        form.file.errors.append(_too_large_message())
        return _page(recipient, form), 413
    filename = _display_name(form.file.data.filename)
    summary = import_bytes(get_session(), recipient, data, filename, created_by=current_user.username,
                           now=timestamp(), dry_run=True, packs=get_packs())
    confirm = None
    if summary.ok and (summary.imported or summary.payouts_recognised):
        _stage(recipient, summary.sha256, data)
        confirm = ConfirmForm(formdata=None, sha256=summary.sha256, filename=filename)
    current_app.logger.info("Import-Probelauf %s für %s durch %s: %s Zeilen, %s neu, %s Fehler", summary.sha256,
                            recipient.key, current_user.username, summary.rows, summary.imported, len(summary.errors))
    return _page(recipient, UploadForm(formdata=None), summary=summary, confirm=confirm)


@bp.post("/import/buchen")
def commit(key: str):
    """Book the staged file of the dry run (one write transaction), then back to the import page."""
    recipient = recipient_for(key, write=True)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "Die Bestätigung ist unvollständig oder die Prüfsumme ist ungültig. "
                   "Bitte die Datei erneut hochladen.")
    sha256 = form.sha256.data
    path = _staged_path(recipient, sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        abort(400, "Zu dieser Prüfsumme liegt keine hochgeladene Datei vor (bereits gebucht oder verworfen). "
                   "Bitte die Datei erneut hochladen.")
    if hashlib.sha256(data).hexdigest() != sha256:
        path.unlink(missing_ok=True)
        abort(400, "Die zwischengespeicherte Datei passt nicht zu ihrer Prüfsumme. Bitte die Datei erneut hochladen.")
    filename = _display_name(form.filename.data)
    with write_session() as session:
        target = session.get(Recipient, recipient.id)
        summary = import_bytes(session, target, data, filename, created_by=current_user.username,
                               now=timestamp(), dry_run=False, packs=get_packs())
    path.unlink(missing_ok=True)
    if not summary.ok:
        current_app.logger.warning("Import %s für %s abgelehnt: %s Fehler", sha256, recipient.key, len(summary.errors))
        return _page(recipient, UploadForm(formdata=None), summary=summary), 409
    current_app.logger.info("Import %s für %s durch %s: %s Zeilen, %s neu, %s Duplikate", sha256, recipient.key,
                            current_user.username, summary.rows, summary.imported, summary.duplicates)
    message = (f"{filename}: {summary.rows} Zeilen, {summary.imported} neu gebucht, "
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


def _stage(recipient: Recipient, sha256: str, data: bytes) -> None:
    """Keep the upload until it is confirmed (atomically, mode 0600); drop stale ones."""
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
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, _staged_path(recipient, sha256))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


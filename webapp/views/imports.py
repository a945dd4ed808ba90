"""Import of monthly finance-system exports through the web UI (upload, dry run, commit, history).

``GET /r/<key>/import``: the recipient's import history (every applied ``ImportBatch``,
newest first) for everyone who may read the recipient; officers who may write it also
get the upload form.

``POST /r/<key>/import``: the dry run. The upload is staged in the instance folder
(``webapp.staging``: ``uploads/<recipient id>/<sha256>.csv``; the name is the hash, never the
user's file name; the API stages there too), then checked by ``ledger.read.importer.import_file(dry_run=True)`` as a background job
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

from datetime import datetime
from functools import partial
from pathlib import Path

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
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired, Length, Regexp

from ledger.core.models import ImportBatch, Recipient
from ledger.core.users import can_write
from ledger.read.importer import ImportSummary
from ledger.read.profiles import DEFAULT_PROFILE, load_profiles
from ledger.workflows.import_preview import ImportPreview
from ledger.workflows.parked import parked_entries
from ledger.rules.packs import RulePack
from webapp import jobs
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_engine, get_packs, get_session
from webapp.errors import error_page
from webapp.staging import (
    FORM_SLACK,
    StagingError,
    bookable,
    display_name,
    max_bytes,
    run_import,
    run_preview,
    size_de,
    stage,
    staged_file,
    staged_meta,
    too_large_message,
)
from webapp.views import default_school_year

bp = Blueprint("imports", __name__, url_prefix="/r/<key>")

#: At most this many errors are listed on the page (the count is always given).
MAX_LISTED_ERRORS = 5000
#: Job kinds: the dry run and the booking.
CHECK, BOOK = "import_check", "import_book"
#: Rows of the dry run shown per page.
ROWS_PER_PAGE = 100
#: What the import does with a row, in German (``ledger.workflows.import_preview.PreviewRow.outcome``).
OUTCOMES = {"new": "wird gebucht", "duplicate": "bereits vorhanden", "payout": "erfasste Auszahlung",
            "repayment": "Rückzahlung an die Landeskasse", "parked": "zur Klärung zurückgestellt"}


class UploadForm(FlaskForm):
    """The file to check (dry run) and the import profile to read it with."""

    profile = SelectField("Importprofil", default=DEFAULT_PROFILE)
    file = FileField("Exportdatei oder Kontoauszug", validators=[
        FileRequired("Bitte eine Datei auswählen."),
        FileAllowed(["csv", "txt", "xml", "zip"], "Nur Exportdateien (.csv, .txt) und Kontoauszüge (.xml, .zip) "
                                                  "können importiert werden."),
    ], render_kw={"accept": ".csv,.txt,.xml,.zip,text/csv,text/plain,application/xml,application/zip"})

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.profile.choices = [(p.key, p.title) for p in load_profiles().values()]


class ConfirmForm(FlaskForm):
    """Book the staged file with this SHA-256 (from the dry run), under its original name."""

    sha256 = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}\Z")])
    filename = HiddenField(validators=[DataRequired(), Length(max=300)])


@bp.url_value_preprocessor
def _limit_request_body(endpoint: str | None, _values: dict | None) -> None:
    """Cap the body of this blueprint's POSTs before CSRF protection or a form reads it."""
    if request.method == "POST":
        request.max_content_length = max_bytes() + FORM_SLACK if endpoint == "imports.upload" else FORM_SLACK


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge):
    """A body over the limit: the upload form again, with a German error at the file field."""
    key = (request.view_args or {}).get("key")
    if request.endpoint != "imports.upload" or key is None or not current_user.is_authenticated:
        return error_page(413, too_large_message())
    try:
        recipient = recipient_for(key, write=True)
    except HTTPException as exc:
        return error_page(exc.code or 400, exc.description)
    form = UploadForm(formdata=None)
    form.file.errors = [too_large_message()]
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
    filename = display_name(form.file.data.filename)
    staged = stage(recipient, form.file.data.stream, max_bytes(), meta={"file": filename, "profile": form.profile.data})
    if staged is None:
        form.file.errors.append(too_large_message())
        return _page(recipient, form), 413
    job = jobs.start(CHECK, f"Probelauf: {filename}", recipient.key,
                     partial(_check_file, get_engine(), get_packs(), recipient.id, staged,
                             filename, current_user.username, timestamp(), form.profile.data))
    return _outcome(recipient, job)


@bp.post("/import/buchen")
def commit(key: str):
    """Book the staged file of the dry run (one write transaction, a background job)."""
    recipient = recipient_for(key, write=True)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "Die Bestätigung ist unvollständig oder die Prüfsumme ist ungültig. "
                   "Bitte die Datei erneut hochladen.")
    try:
        path = staged_file(recipient, form.sha256.data)
    except StagingError as exc:
        abort(400, str(exc))
    filename = display_name(form.filename.data)
    job = jobs.start(BOOK, f"Buchung: {filename}", recipient.key,
                     partial(_book_file, get_engine(), get_packs(), recipient.id, path,
                             filename, current_user.username, timestamp(), staged_meta(path).get("profile")))
    return _outcome(recipient, job)


@bp.get("/import/vorgang/<job_id>")
def job(key: str, job_id: str):
    """A dry run's or booking's progress page while it runs, its result when it is done."""
    recipient = recipient_for(key, write=True)
    return _job_page(recipient, jobs.own_job(job_id, (CHECK, BOOK), recipient.key))


def _check_file(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, path: Path, filename: str,
                username: str, now: datetime, profile: str, job: jobs.Job) -> dict:
    """The dry-run job: the staged file's preview with ``profile`` (``webapp.staging.run_preview``);
    the file stays staged only if it can be booked. Returns ``ImportPreview.as_dict``."""
    job.report("wartet auf die Schreibsperre der Bücher")
    return run_preview(engine, packs, recipient_id, path, filename=filename, username=username, now=now,
                       profile=profile, progress=lambda done, total: job.report("Zeilen geprüft", done, total)).as_dict()


def _book_file(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, path: Path, filename: str,
               username: str, now: datetime, profile: str | None, job: jobs.Job) -> dict:
    """The booking job: import the staged file with the dry run's ``profile`` in one write
    transaction, then remove it. Returns the summary as ``ImportSummary.as_dict``."""
    job.report("wartet auf die Schreibsperre der Bücher")
    return run_import(engine, packs, recipient_id, path, filename=filename, username=username, now=now, dry_run=False,
                      profile=profile,
                      progress=lambda done, total: job.report("Zeilen gebucht", done, total)).as_dict()


def _outcome(recipient: Recipient, job: jobs.Job):
    """The job's result if it ends within the wait, else a redirect to its progress page."""
    return jobs.answer(job, partial(_job_page, recipient), url_for("imports.job", key=recipient.key, job_id=job.id))


def _job_page(recipient: Recipient, job: jobs.Job):
    return jobs.page(job, partial(_result, recipient), recipient=recipient, year=default_school_year(recipient),
                     nav="import")


def _result(recipient: Recipient, job: jobs.Job):
    """A finished dry run: its counts and errors (and the confirm form); a finished booking:
    back to the history with a message, or its errors (409)."""
    log = current_app.logger
    if job.kind == CHECK:
        preview = ImportPreview.from_dict(job.result)
        summary = preview.summary
        log.info("Import-Probelauf %s für %s durch %s: %s Zeilen, %s neu, %s Fehler", summary.sha256,
                 recipient.key, job.username, summary.rows, summary.imported, len(summary.errors))
        confirm = (ConfirmForm(formdata=None, sha256=summary.sha256, filename=summary.file)
                   if bookable(summary) else None)
        return _page(recipient, UploadForm(formdata=None, profile=summary.profile), summary=summary, confirm=confirm,
                     preview=preview, page=_page_of(preview), job_id=job.id)
    summary = ImportSummary.from_dict(job.result)
    if not summary.ok:
        log.warning("Import %s für %s abgelehnt: %s Fehler", summary.sha256, recipient.key, len(summary.errors))
        return _page(recipient, UploadForm(formdata=None), summary=summary), 409
    log.info("Import %s für %s durch %s: %s Zeilen, %s neu, %s Duplikate", summary.sha256, recipient.key,
             job.username, summary.rows, summary.imported, summary.duplicates)
    message = (f"{summary.file}: {summary.rows} Zeilen, {summary.imported} neu gebucht, "
               f"{summary.duplicates} bereits vorhanden")
    for count, text in ((summary.payouts_recognised, "als erfasste Auszahlung erkannt"),
                        (summary.repayments_recognised, "der bestätigten Rückzahlung zugeordnet"),
                        (summary.parked, "zur Klärung zurückgestellt"),
                        (summary.skipped, "nach dem Importprofil übersprungen")):
        if count:
            message += f", {count} {text}"
    flash(message + ".")
    return redirect(url_for("imports.index", key=recipient.key))


def _page_of(preview: ImportPreview) -> int:
    """The page of the preview's rows to show (``?seite=``), within its pages."""
    last = max((len(preview.rows) + ROWS_PER_PAGE - 1) // ROWS_PER_PAGE, 1)
    return min(max(request.args.get("seite", 1, type=int), 1), last)


def _page(recipient: Recipient, form: UploadForm | None, *, summary: ImportSummary | None = None,
          confirm: ConfirmForm | None = None, preview: ImportPreview | None = None, page: int = 1,
          job_id: str | None = None) -> str:
    session = get_session()
    batches = session.scalars(
        select(ImportBatch).where(ImportBatch.recipient_id == recipient.id)
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())).all()
    return render_template(
        "imports.html", recipient=recipient, year=default_school_year(recipient), form=form, summary=summary,
        confirm=confirm, batches=batches, max_size=size_de(max_bytes()), max_errors=MAX_LISTED_ERRORS,
        preview=preview, page=page, per_page=ROWS_PER_PAGE, job_id=job_id,
        profiles={p.key: p.title for p in load_profiles().values()},
        parked=len(parked_entries(session, recipient)), outcomes=OUTCOMES,
    )

"""Imports through the API: upload a month's export (dry run or booking) and commit a dry run.

``POST /api/v1/recipients/{key}/imports`` (multipart/form-data: ``file``, ``profile``,
``dry_run``) stages the file exactly as the web's import page does (``webapp.staging``:
``uploads/<recipient id>/<sha256>.csv`` in the instance folder, with the file's name and
profile beside it) and checks it (``dry_run``, the default) or books it at once. A dry run
that can be booked answers with its ``id`` (the file's SHA-256) and the path to commit it;
``POST /api/v1/recipients/{key}/imports/{id}/commit`` then books that staged file, with the
name and profile the dry run was given: all or nothing, as on the web. A file with errors
answers 422 with every error (line, column, message) and nothing is written.

Imports in the API run synchronously: the request returns when the file is checked or
booked (the web runs them as background jobs instead). A file may have up to
``IMPORT_MAX_BYTES`` (default 20 MB), which a monthly export stays far below; a larger
upload is refused with 413 before it is read. Booking needs a token of an officer assigned
to the recipient (else 403); the import is audited in the core (``import``, with the token's
user as actor), like the web's.
"""
from __future__ import annotations

from flask import request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from ledger.read.importer import ImportSummary
from ledger.read.profiles import ProfileError
from webapp.api.access import api_user, recipient
from webapp.api.base import ApiBlueprint
from webapp.api.schemas import ImportSchema, UploadForm
from webapp.clock import timestamp
from webapp.db import get_engine, get_packs
from webapp.problems import API_PREFIX, DEFAULT_DETAILS, problem
from webapp.staging import (
    FORM_SLACK,
    StagingError,
    bookable,
    display_name,
    max_bytes,
    profile_key,
    run_import,
    stage,
    staged_file,
    staged_meta,
    too_large_message,
)

bp = ApiBlueprint("api_imports", __name__, url_prefix=f"{API_PREFIX}/recipients/<key>/imports",
                  description="Monatsexporte importieren: Probelauf, dann buchen (synchron, alles oder nichts).")


@bp.before_request
def _limit_request_body() -> None:
    """Cap the body before anything reads it: the upload limit plus the form around it."""
    request.max_content_length = max_bytes() + FORM_SLACK


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge):
    """A body over the limit, refused before it is read: the limit in German."""
    return problem(413, too_large_message())


@bp.route("", methods=["POST"])
@bp.arguments(UploadForm, location="multipart")
@bp.response(200, ImportSchema)
@bp.alt_response(422, description="Die Datei enthält Fehler (errors: jeder mit Zeile, Spalte und Meldung); "
                                  "nichts gebucht.")
def upload(form: dict, key: str):
    """Datei hochladen: Probelauf (dry_run=true, Vorgabe) oder sofort buchen (dry_run=false).

    Der Probelauf prüft die Datei, bucht nichts und hält sie zum Buchen bereit: die Antwort nennt
    ihre Kennung (id) und den Pfad zum Buchen (commit). Ist nichts Neues darin, sind beide null.
    Die Anfrage wartet, bis die Datei geprüft bzw. gebucht ist.
    """
    target = recipient(key, write=True)
    try:
        profile = profile_key(form["profile"])
    except ProfileError as exc:       # an unknown key, or a broken profile file: named without its path
        return problem(422, DEFAULT_DETAILS[422],
                       invalid_params=[{"name": "profile", "in": "body", "reason": exc.without_file}])
    upload_file = form["file"]
    filename = display_name(upload_file.filename)
    path = stage(target, upload_file.stream, max_bytes(), meta={"file": filename, "profile": profile})
    if path is None:
        return problem(413, too_large_message())
    summary = run_import(get_engine(), get_packs(), target.id, path, filename=filename, username=api_user().username,
                         now=timestamp(), dry_run=form["dry_run"], profile=profile)
    return _answer(key, summary)


@bp.route("/<sha256>/commit", methods=["POST"])
@bp.response(200, ImportSchema)
@bp.alt_response(422, description="Die Datei kann nicht gebucht werden (errors: jeder Fehler); nichts gebucht.")
@bp.alt_response(404, description="Kein Probelauf mit dieser Kennung (nie hochgeladen, gebucht oder verworfen).")
def commit(key: str, sha256: str):
    """Den Probelauf mit dieser Kennung buchen: alles oder nichts, mit Dateiname und Profil des Probelaufs."""
    target = recipient(key, write=True)
    try:
        path = staged_file(target, sha256)
    except StagingError as exc:
        if exc.missing:
            return problem(404, f"Kein Probelauf mit der Kennung {sha256[:64]!r}: {exc}")
        return problem(409, str(exc))
    meta = staged_meta(path)
    profile = meta.get("profile")
    summary = run_import(get_engine(), get_packs(), target.id, path, filename=meta.get("file") or f"{sha256}.csv",
                         username=api_user().username, now=timestamp(), dry_run=False, profile=profile)
    return _answer(key, summary)


def _answer(key: str, summary: ImportSummary):
    """The summary with the id and path to commit (a dry run that can be booked), or a 422 problem."""
    data = summary.as_dict()
    if not summary.ok:
        count = len(summary.errors)
        return problem(422, f"{summary.file}: {count} Fehler, nichts gebucht", errors=data.pop("errors"),
                       summary=data)
    ready = summary.dry_run and bookable(summary)
    return {**data, "id": summary.sha256 if ready else None,
            "commit": url_for("api_imports.commit", key=key, sha256=summary.sha256) if ready else None}

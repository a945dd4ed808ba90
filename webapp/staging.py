"""Uploaded exports staged for a dry run and its commit: shared by the web's import page
(``webapp.views.imports``) and the API (``webapp.api.imports``).

An upload is streamed to ``<instance>/uploads/<recipient id>/<sha256>.csv`` (written to a
temporary file and renamed, mode 0600, hashed on the way, never held in memory; the name is
the hash, never the user's file name). Beside it, ``<sha256>.json`` may keep what the dry run
was told (the file's own name, the import profile), so that a commit by hash alone books the
file as it was checked. Staged files nobody committed are removed after ``STAGE_MAX_AGE``
(on the recipient's next upload). Staging is per recipient: a hash names a file only within
the recipient it was uploaded for.

``run_import`` checks (dry run) or books a staged file through ``ledger.read.importer.import_file``,
in its own session (a dry run writes nothing; a booking is one write transaction), then keeps
the file only if it was a dry run that can be booked.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable

from flask import current_app
from sqlalchemy import Engine

from ledger.core.db import session_scope
from ledger.core.errors import LedgerError
from ledger.core.models import Recipient
from ledger.read.importer import ImportSummary, import_file
from ledger.read.profiles import get_profile
from ledger.workflows.import_preview import ImportPreview, preview_import
from ledger.rules.packs import RulePack

#: Default upload limit (bytes); config ``IMPORT_MAX_BYTES`` overrides it.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Room for the multipart envelope and the small form fields around the file (request body limit).
FORM_SLACK = 64 * 1024
#: Staged uploads nobody confirmed are removed after this many seconds.
STAGE_MAX_AGE = 24 * 60 * 60
SHA256 = re.compile(r"[0-9a-f]{64}")
_COPY_BLOCK = 1024 * 1024


class StagingError(LedgerError):
    """A staged file that cannot be used (German message): ``missing`` is True when none can be
    staged under the hash (malformed) or none is (never uploaded, booked, discarded or
    expired), False when the file no longer matches its hash."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def max_bytes() -> int:
    """The upload limit in bytes: config ``IMPORT_MAX_BYTES``, else ``MAX_UPLOAD_BYTES``."""
    return int(current_app.config.get("IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES))


def size_de(size: int) -> str:
    """``20971520`` → ``"20 MB"``; small limits (tests) in KB or bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} Bytes"


def too_large_message() -> str:
    """German: the file exceeds the upload limit, which it names."""
    return f"Die Datei ist zu groß: höchstens {size_de(max_bytes())} sind erlaubt."


def display_name(name: str | None) -> str:
    """The uploaded file's own name (no directories, no control characters, at most 300 characters)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable()).strip()
    return base[:300] or "upload.csv"


def stage_dir(recipient: Recipient) -> Path:
    """``<instance>/uploads/<recipient id>``."""
    return Path(current_app.instance_path) / "uploads" / str(recipient.id)


def staged_path(recipient: Recipient, sha256: str) -> Path:
    """Where the upload with SHA-256 ``sha256`` (64 lower-case hex digits) of ``recipient`` is
    staged. Raises StagingError for anything else (so no name ever leaves the folder)."""
    if not SHA256.fullmatch(sha256 or ""):
        raise StagingError("Ungültige Prüfsumme.", missing=True)
    return stage_dir(recipient) / f"{sha256}.csv"


def stage(recipient: Recipient, stream: BinaryIO, limit: int, *, meta: dict | None = None) -> Path | None:
    """Copy the upload to ``uploads/<id>/<sha256>.csv`` (atomically, mode 0600), hashing it on the
    way, and drop stale staged files. ``meta`` (JSON-ready) is kept beside it (``staged_meta``).
    Returns the path, or None if it exceeds ``limit`` bytes (nothing is kept then)."""
    directory = stage_dir(recipient)
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STAGE_MAX_AGE
    for old in [*directory.glob("*.csv"), *directory.glob("*.json")]:
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
        path = staged_path(recipient, digest.hexdigest())
        if meta is not None:
            _write_meta(path, meta)
        os.replace(tmp, path)
        return path
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def staged_file(recipient: Recipient, sha256: str) -> Path:
    """The staged upload ``sha256`` of ``recipient``, its content checked against the hash again.

    Raises StagingError: malformed hash; nothing staged under it (``missing``); content no longer
    matching (the file is removed)."""
    path = staged_path(recipient, sha256)
    try:
        with path.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
    except FileNotFoundError:
        raise StagingError("Zu dieser Prüfsumme liegt keine hochgeladene Datei vor (bereits gebucht oder verworfen). "
                           "Bitte die Datei erneut hochladen.", missing=True) from None
    if digest != sha256:
        discard(path)
        raise StagingError("Die zwischengespeicherte Datei passt nicht zu ihrer Prüfsumme. "
                           "Bitte die Datei erneut hochladen.")
    return path


def staged_meta(path: Path) -> dict:
    """What ``stage`` kept beside the staged file ``path`` (``{}`` if nothing)."""
    try:
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def discard(path: Path) -> None:
    """Remove the staged file ``path`` and what was kept beside it."""
    path.unlink(missing_ok=True)
    path.with_suffix(".json").unlink(missing_ok=True)


def bookable(summary: ImportSummary) -> bool:
    """Whether a dry run's file can be committed: no error, and something to book, recognise or park."""
    return summary.ok and bool(summary.imported or summary.payouts_recognised or summary.repayments_recognised
                               or summary.parked)


def profile_key(profile: str | None) -> str:
    """The import profile's key to stage with a file: ``DEFAULT_PROFILE`` for none, else the key,
    checked to name a profile (``ledger.read.profiles``). Raises ProfileError (German) for a key
    no profile has."""
    return get_profile((profile or "").strip() or None).key


def run_import(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, path: Path, *, filename: str,
               username: str, now: datetime, dry_run: bool, profile: str | None = None,
               progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Check (``dry_run``) or book the staged file ``path`` for recipient ``recipient_id`` as
    ``filename`` by ``username`` at ``now``, with the import profile ``profile`` (its key, as
    ``profile_key`` gives it; None: ``DEFAULT_PROFILE``). A booking is one write transaction,
    all or nothing. Afterwards the staged file is kept only for a dry run that can be booked
    (``bookable``).

    Returns the summary (its errors, if any: nothing written). Raises LedgerError as
    ``import_file`` does; the staged file is then kept (a booking may be retried)."""
    with session_scope(engine, write=not dry_run) as session:
        summary = import_file(session, session.get(Recipient, recipient_id), path, filename=filename,
                              created_by=username, now=now, dry_run=dry_run, packs=packs, progress=progress,
                              profile=get_profile(profile))
    if not (dry_run and bookable(summary)):
        discard(path)
    return summary


def run_preview(engine: Engine, packs: tuple[RulePack, ...], recipient_id: int, path: Path, *, filename: str,
                username: str, now: datetime, profile: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportPreview:
    """The dry run the web shows (``ledger.workflows.import_preview.preview_import``): each row's
    outcome and classification and the repayment before and after, computed by booking the
    file in a transaction that is rolled back. Keeps the staged file only if it can be booked."""
    with session_scope(engine, write=True) as session:
        preview = preview_import(session, session.get(Recipient, recipient_id), path, profile=get_profile(profile),
                                 created_by=username, now=now, filename=filename, packs=packs, progress=progress)
        session.rollback()
    if not bookable(preview.summary):
        discard(path)
    return preview


def _write_meta(path: Path, meta: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".meta-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(meta, handle, ensure_ascii=False)
    os.replace(tmp, path.with_suffix(".json"))

"""The chain heads recorded in a file outside the database, for ``inkl verify --against FILE``.

Three kinds of file record heads (``ledger.core.integrity``): a heads file (``inkl heads
export``, JSON format ``inkl-heads``), a backup (``inkl backup``: its manifest, line 1) and an
issued settlement statement (its PDF's keywords, ``ledger.write.statement_pdf``). The kind is
recognised by the file's first bytes: gzip for a backup, ``%PDF`` for a statement, JSON
otherwise.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ledger.core.errors import LedgerError
from ledger.core.integrity import Heads, heads_from_keywords, read_heads_document
from ledger.write.backup import read_manifest

_GZIP = b"\x1f\x8b"
_PDF = b"%PDF"


def read_recorded_heads(path: Path) -> Heads:
    """The chain heads recorded in the file at ``path``: a heads file, a backup or a statement PDF.

    Raises LedgerError (German) for a file that is none of them, is damaged, or (a PDF)
    records no chain head; OSError if it cannot be read.
    """
    with path.open("rb") as source:
        start = source.read(4)
        source.seek(0)
        if start.startswith(_GZIP):
            return read_manifest(source).recorded_heads()
        if start.startswith(_PDF):
            return statement_heads(source.read())
        try:
            data = json.loads(source.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise LedgerError("weder Kopfdatei noch Sicherung noch Verwendungsnachweis (PDF): "
                              "die Datei ist kein JSON, nicht gzip-komprimiert und kein PDF") from exc
    return read_heads_document(data)


def statement_heads(pdf: bytes) -> Heads:
    """The journal head an issued statement's PDF records in its keywords, with the PDF's creation date.

    Raises LedgerError (German) for a damaged PDF or one without a recorded head (a statement
    rendered before the heads were added to its keywords: its printed head can still be
    compared by eye, or the ``issued_statements`` row, which ``inkl verify`` always checks).
    """
    try:
        metadata = PdfReader(io.BytesIO(pdf)).metadata
    except PdfReadError as exc:
        raise LedgerError(f"PDF beschädigt: {exc}") from exc
    heads = heads_from_keywords(str((metadata or {}).get("/Keywords") or ""))
    if not heads:
        raise LedgerError("Das PDF verzeichnet keinen Kettenkopf (kein mit dieser Version ausgestellter "
                          "Verwendungsnachweis); den abgedruckten Kopf bitte von Hand vergleichen")
    created = metadata.creation_date if metadata is not None else None
    return Heads(heads=heads, kind="Verwendungsnachweis", created_at=None if created is None else created.replace(tzinfo=None))

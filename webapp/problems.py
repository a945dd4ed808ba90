"""Errors of the JSON API as RFC 7807 problem details (``application/problem+json``), in German.

Every error response under ``API_PREFIX`` is one JSON object::

    {"type": "about:blank", "title": "Nicht gefunden", "status": 404,
     "detail": "Empfänger 'x' nicht gefunden"}

``title`` names the status in German, ``detail`` says what went wrong (German, for the person
running the script). Extension members where they apply: ``invalid_params`` (a request field
the API refused: ``[{"name": "school_year", "in": "query", "reason": "…"}]``), ``errors`` (the
rows of an import that cannot be booked: ``[{"line": 3, "column": "Betrag", "message": "…"}]``)
with ``summary`` (the import's counts). The web pages keep their HTML error pages
(``webapp.errors``); ``is_api_request`` tells the two apart.
"""
from __future__ import annotations

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

#: Where the API lives.
API_PREFIX = "/api/v1"
#: The media type of problem details (RFC 7807).
PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Ungültige Anfrage",
    401: "Nicht angemeldet",
    403: "Zugriff verweigert",
    404: "Nicht gefunden",
    405: "Methode nicht erlaubt",
    409: "Konflikt mit dem Stand der Bücher",
    413: "Anfrage zu groß",
    415: "Nicht unterstütztes Format",
    422: "Nicht verarbeitbar",
    500: "Interner Fehler",
}
DEFAULT_DETAILS = {
    400: "Die Anfrage konnte nicht verarbeitet werden.",
    401: "Bitte ein gültiges Zugangstoken senden (Kopfzeile Authorization: Bearer …).",
    403: "Dieses Zugangstoken darf das nicht.",
    404: "Diese Adresse gibt es in der Schnittstelle nicht.",
    405: "Diese Adresse kann mit dieser Methode nicht aufgerufen werden.",
    413: "Die Anfrage ist zu groß.",
    415: "Dieses Format der Anfrage wird nicht unterstützt.",
    422: "Die Angaben der Anfrage sind ungültig.",
    500: "Es ist ein unerwarteter Fehler aufgetreten; die Bücher sind unverändert.",
}


def is_api_request() -> bool:
    """Whether the current request's path lies under ``API_PREFIX``."""
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def problem(status: int, detail: str | None = None, *, headers: dict | None = None, **extra) -> Response:
    """A problem-details response: ``status``, its German title, ``detail`` (German, made a
    sentence; default per status) and the ``extra`` members (JSON-ready)."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Fehler"), "status": status,
            "detail": sentence(detail or DEFAULT_DETAILS.get(status, "Es ist ein Fehler aufgetreten.")), **extra}
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def sentence(text: str) -> str:
    """``text`` as a sentence (the core's messages often lack both): a capital first letter
    unless it begins with a name (a first word with a dot, digit or quote, such as a file
    name), and a final full stop."""
    text = text.strip()
    if not text:
        return text
    first = text.split(" ", 1)[0]
    if first.isalpha():
        text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def http_problem(exc: HTTPException) -> Response:
    """An HTTP error as problem details: its own German description if it has one (else the
    status's), and its headers (e.g. ``Allow`` of a 405) but for the content type."""
    status = exc.code or 500
    custom = exc.description if exc.description != type(exc).description and status != 500 else None
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    return problem(status, custom, headers=headers)

"""The JSON API for import scripts, under ``/api/v1`` (flask-smorest).

Endpoints (``{key}``: the recipient's key; every request needs ``Authorization: Bearer <token>``,
a personal access token, ``ledger.core.tokens``):

- ``GET /api/v1/recipients``: the recipients the token may read;
- ``POST /api/v1/recipients/{key}/imports``: upload a file (multipart: ``file``, ``profile``,
  ``dry_run`` default true) and check it (dry run: staged, an ``id`` to commit) or book it;
- ``POST /api/v1/recipients/{key}/imports/{id}/commit``: book a dry run (all or nothing);
- ``GET /api/v1/recipients/{key}/repayments[?school_year=&as_of=]``,
  ``GET …/forecast?school_year=[&as_of=]``, ``GET …/review?school_year=``: the command line's JSON;
- ``GET /api/v1/recipients/{key}/statements?school_year=`` and ``GET …/statements/{id}/pdf``:
  the issued statements of use and their PDFs.

``GET /api/v1/openapi.json`` is the OpenAPI 3 document, generated from the marshmallow
schemas (``webapp.api.schemas``); it needs no token. Errors are RFC 7807 problem details in
German (``webapp.problems``). The API uses no session cookie and so needs no CSRF token
(``init_app`` exempts its blueprints from Flask-WTF's check); a token acts with its user's
role and recipients (``webapp.api.access``). Its writes are audited like the web's (the core
audits every import, with the token's user as actor).
"""
from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from webapp.api import books, imports, statements
from webapp.api.base import InklApi
from webapp.problems import API_PREFIX

#: The API's version (``info.version`` of the OpenAPI document).
VERSION = "1.0.0"
DESCRIPTION = """Schnittstelle für Importskripte der Buchführung der Inklusionspauschale NRW.

Jede Anfrage braucht ein persönliches Zugangstoken in der Kopfzeile `Authorization: Bearer <Token>`
(erstellt auf der Seite „Zugangstoken für Importskripte“ oder mit `inkl token create`). Das Token
handelt mit der Rolle und den Empfängern seines Benutzers: die Sachbearbeitung importiert für ihre
Empfänger, die Prüfung liest nur.

Fehler antworten als Problem Details nach RFC 7807 (`application/problem+json`) mit deutschem
`title` und `detail`; abgelehnte Angaben stehen in `invalid_params`, die Fehler einer Importdatei
in `errors` (Zeile, Spalte, Meldung). Beträge sind Zeichenketten mit zwei Nachkommastellen
(`"45154.33"`), Datumsangaben ISO (`2024-04-02`).

Importe laufen synchron: die Anfrage kehrt zurück, wenn die Datei geprüft bzw. gebucht ist
(höchstens `IMPORT_MAX_BYTES`, Vorgabe 20 MB)."""


def init_app(app: Flask, csrf: CSRFProtect) -> InklApi:
    """Register the API's blueprints and its OpenAPI document on ``app``; exempt them from
    ``csrf`` (token authentication, no cookie). Returns the ``Api``."""
    app.config.setdefault("API_TITLE", "Inklusionspauschale NRW – Schnittstelle für Importskripte")
    app.config.setdefault("API_VERSION", VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": DESCRIPTION},
        "security": [{"token": []}],
        "components": {"securitySchemes": {"token": {
            "type": "http", "scheme": "bearer",
            "description": "Persönliches Zugangstoken (beginnt mit inkl_), nur als Hash gespeichert."}}},
    })
    api = InklApi(app)
    for area in (books, imports, statements):
        api.register_blueprint(area.bp)
        csrf.exempt(area.bp)
    return api

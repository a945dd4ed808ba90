"""German error pages: 404 for unknown pages and ``NotFound``, 400 for other ledger errors, 500 for
a faulty rule pack (a year no pack covers: ``webapp.views.year_error_page``, 409). Under the
JSON API's prefix, problem details instead (``webapp.problems``; the API's own blueprints
answer their errors themselves, ``webapp.api.base``)."""
from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from ledger.core.errors import LedgerError, NotFound
from ledger.read.profiles import ProfileError
from ledger.rules.packs import RulePackError
from webapp.problems import http_problem, is_api_request

TITLES = {
    400: "Ungültige Anfrage",
    403: "Zugriff verweigert",
    404: "Seite nicht gefunden",
    405: "Methode nicht erlaubt",
    409: "Schuljahr nicht berechenbar",
    500: "Interner Fehler",
}
DEFAULT_MESSAGES = {
    400: "Die Anfrage konnte nicht verarbeitet werden.",
    403: "Sie haben keinen Zugriff auf diese Seite.",
    404: "Die angeforderte Seite gibt es nicht. Bitte prüfen Sie die Adresse.",
    405: "Diese Seite kann so nicht aufgerufen werden.",
    409: "Die Zahlen dieses Schuljahres können nicht berechnet werden.",
    500: "Es ist ein unerwarteter Fehler aufgetreten.",
}


def as_sentence(exc: LedgerError) -> str:
    """A core error's German message as a sentence for a page: ``"ungültige IBAN …"`` →
    ``"Ungültige IBAN …."``."""
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def error_page(status: int, message: str | None = None):
    """Render the German error page for ``status`` with ``message``."""
    title = TITLES.get(status, "Fehler")
    text = message or DEFAULT_MESSAGES.get(status, "Es ist ein Fehler aufgetreten.")
    return render_template("error.html", status=status, title=title, message=text), status


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return error_page(404, str(exc))

    @app.errorhandler(LedgerError)
    def _ledger_error(exc: LedgerError):
        return error_page(400, str(exc))

    @app.errorhandler(RulePackError)
    def _rule_pack_error(exc: RulePackError):
        app.logger.error("Regelwerk fehlerhaft: %s", exc)
        return error_page(500, f"Das Regelwerk ist fehlerhaft oder deckt das Schuljahr nicht ab: {exc.message}")

    @app.errorhandler(ProfileError)
    def _profile_error(exc: ProfileError):
        """A broken import profile in the instance folder: logged with its file, shown without it."""
        app.logger.error("Importprofil fehlerhaft: %s", exc)
        where = f" ({exc.without_file})"
        return error_page(500, f"Ein Importprofil dieser Installation ist fehlerhaft{where}. "
                               "Bitte wenden Sie sich an die Administration.")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        custom = exc.description if exc.description != type(exc).description else None
        if is_api_request():  # e.g. an address under /api/v1 that no endpoint answers
            return http_problem(exc)
        return error_page(status, custom or DEFAULT_MESSAGES.get(status))


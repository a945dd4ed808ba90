"""The API's flask-smorest classes: the ``Api`` that writes the OpenAPI document with problem
details as its error responses, and the ``ApiBlueprint`` every area of the API is, which
authenticates each request (``webapp.api.access``), reads multipart forms (file and fields in one
schema) and answers every error as problem details in German (``webapp.problems``).
"""
from __future__ import annotations

import http

import marshmallow as ma
from flask import current_app
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import HTTPException

from ledger.core.errors import LedgerError, NotFound
from ledger.rules.packs import NoRulePack, RulePackError
from webapp.api import access
from webapp.api.schemas import ProblemSchema
from webapp.problems import DEFAULT_DETAILS, PROBLEM_JSON, http_problem, problem

#: Where webargs' locations appear in a problem's ``invalid_params`` (``in``).
_PLACES = {"query": "query", "querystring": "query", "view_args": "path", "multipart": "body", "form": "body",
           "files": "body", "json": "body"}


class InklApi(Api):
    """flask-smorest's ``Api`` whose documented error responses are problem details
    (``ProblemSchema``, ``application/problem+json``). It registers no error handler of its own:
    the web pages keep their German HTML errors, the API's blueprints answer theirs."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Nothing app-wide (flask-smorest would answer every page's errors in JSON)."""

    def _register_responses(self) -> None:
        """Each HTTP status (and the default error) as a response component; errors are problem details."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not 100 <= status < 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Fehler (RFC 7807, deutsch)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


class ApiParser(FlaskParser):
    """webargs' Flask parser with the location ``multipart`` (the form's fields and files in one
    schema) that refuses unknown fields of the query and the body (a mistyped field name is an
    error, 422, not silently ignored)."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE,
                                   "querystring": ma.RAISE, "multipart": ma.RAISE}

    def load_multipart(self, req, schema):
        """The form fields and the uploaded files of a multipart request."""
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class ApiBlueprint(Blueprint):
    """A blueprint of the API: token authentication before each view, problem details for errors."""

    ARGUMENTS_PARSER = ApiParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(access.authenticate)
        self.register_error_handler(HTTPException, invalid_or_http_problem)
        self.register_error_handler(LedgerError, ledger_problem)


def invalid_or_http_problem(exc: HTTPException):
    """An HTTP error as problem details; a request field refused by webargs (422) as ``invalid_params``."""
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        invalid = [{"name": name, "in": _PLACES.get(place, place), "reason": reason}
                   for place, by_field in data["messages"].items() for name, reason in _flat(by_field)]
        return problem(exc.code or 422, DEFAULT_DETAILS[422], invalid_params=invalid)
    return http_problem(exc)


def ledger_problem(exc: LedgerError):
    """A ledger error as problem details: not found 404, no rule pack for the year 409, a faulty
    rule pack 500, any other refusal of the books 400."""
    if isinstance(exc, NotFound):
        return problem(404, str(exc))
    if isinstance(exc, NoRulePack):
        return problem(409, f"Die Zahlen können nicht berechnet werden: {exc.message}")
    if isinstance(exc, RulePackError):
        current_app.logger.error("Regelwerk fehlerhaft: %s", exc)
        return problem(500, f"Das Regelwerk ist fehlerhaft: {exc.message}")
    return problem(400, str(exc))


def _flat(messages, prefix: str = ""):
    """``(field name, German reason)`` pairs of marshmallow's nested error messages."""
    if isinstance(messages, dict):
        for name, inner in messages.items():
            yield from _flat(inner, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        yield prefix, " ".join(messages)
    elif isinstance(messages, list):
        for item in messages:
            yield from _flat(item, prefix)
    else:
        yield prefix, str(messages)

"""schemathesis against the API's own OpenAPI document (``/api/v1/openapi.json``), through the WSGI
app on both databases: for generated requests of every operation, with a valid officer's token,
the API answers no server error, only documented status codes and content types, bodies that
conform to their schemas, and refuses the requests without the token (``ignored_auth``).

The books hold a Kreis with a grant, bookings, an issued statement and a staged dry run, so the
generated requests also reach the code behind a found recipient (its key and the ids are given
as examples); a second Kreis's token never sees them (``tests/test_api.py``)."""
from __future__ import annotations

import io
from collections import Counter
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.core.grants import add_grant, add_payout
from ledger.core.schoolyear import SchoolYear
from ledger.core.tokens import create_token
from ledger.core.users import get_user
from ledger.workflows.issued import issue_statement
from tests.conftest import NOW, add_web_user, import_bytes
from tests.test_api import BOOKED, MONTH

#: Generated requests per operation (each one runs against the real books).
EXAMPLES = 60
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection, ignored_auth]


@pytest.fixture
def api_books(app, session, kreis, tmp_path):
    """Kreis Testland's books, an officer's token, and a dry run staged through the API."""
    app.instance_path = str(tmp_path / "instance")
    grant = add_grant(session, kreis, SchoolYear(2023), Decimal("1000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("1000.00"), created_by="test", now=NOW)
    import_bytes(session, kreis, BOOKED, "2023-11.csv", created_by="test", now=NOW)
    session.commit()
    add_web_user(session, "olga", "officer", recipients=[kreis])
    statement = issue_statement(session, kreis, SchoolYear(2023), user=get_user(session, "olga"), now=NOW)
    secret = create_token(session, get_user(session, "olga"), "schemathesis", actor="olga", now=NOW).secret
    session.commit()
    staged = app.test_client().post("/api/v1/recipients/testland/imports",
                                    headers={"Authorization": f"Bearer {secret}"},
                                    data={"file": (io.BytesIO(MONTH), "2023-12.csv")})
    assert staged.status_code == 200
    return SimpleNamespace(secret=secret, staged=staged.get_json()["id"], statement=statement.id)


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document (read from an app without books)."""
    from webapp import create_app

    spec = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).test_client().get(
        "/api/v1/openapi.json").get_json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")]


@pytest.mark.parametrize("method, path", _operations())
def test_the_api_conforms_to_its_openapi_document(app, api_books, method, path):
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    # positive cases address Testland's own books half of the time; negative ones stay as generated
    strategy = st.one_of(st.tuples(operation.as_strategy(GenerationMode.POSITIVE), st.booleans()),
                         st.tuples(operation.as_strategy(GenerationMode.NEGATIVE), st.just(False)))

    seen = Counter()

    @given(drawn=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def conforms(drawn):
        case, ours = drawn
        if ours and case.path_parameters and "key" in case.path_parameters:
            case.path_parameters["key"] = "testland"
            if "sha256" in case.path_parameters:
                case.path_parameters["sha256"] = api_books.staged
            if "statement_id" in case.path_parameters:
                case.path_parameters["statement_id"] = api_books.statement
            if case.query and "school_year" in case.query:
                case.query["school_year"] = "2023/24"
            if isinstance(case.body, dict) and "file" in case.body:
                case.body = {**case.body, "file": MONTH.decode(), "profile": "inkl-csv"}
        response = case.call_and_validate(headers={"Authorization": f"Bearer {api_books.secret}"}, checks=CHECKS)
        seen[ours, response.status_code] += 1

    conforms()
    # the generated requests reached Testland's books and were answered there, not only refused
    assert seen[True, 200] > 0, sorted(seen.items())

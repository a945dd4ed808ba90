"""Who calls the API: the user of the access token in ``Authorization: Bearer <token>``.

Every API request (except the OpenAPI document) must carry a token; ``authenticate`` runs
before each view of the API's blueprints and answers 401 (problem details, German, with a
``WWW-Authenticate: Bearer`` header) when the header is missing or malformed, or the token is
unknown, revoked or expired, or its user locked (``ledger.core.tokens.authenticate``). A session
cookie is never looked at, so no CSRF token is needed and none is checked. The token acts with
its user's role and recipients: ``recipient`` answers 404 for a recipient the user may not read
(exactly as for an unknown one) and 403 for writing one the user may only read
(``webapp.auth.recipient_for``, the web's rule).
"""
from __future__ import annotations

from flask import g, request

from ledger.core import tokens
from ledger.core.models import Recipient, User
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_session, write_session
from webapp.problems import problem

#: The challenge of a 401 (RFC 6750).
REALM = 'Bearer realm="inkl"'


def authenticate():
    """``before_request`` of the API: the token's user in ``g.api_user``, else a 401 response.
    Records the token's use (``last_used_at``, at most once a minute) in its own short write
    transaction."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return problem(401, "Bitte ein Zugangstoken senden: Kopfzeile „Authorization: Bearer <Token>“. "
                            "Zugangstoken erstellt man auf der Seite „Zugangstoken für Importskripte“.",
                       headers={"WWW-Authenticate": REALM})
    now = timestamp()
    try:
        token = tokens.authenticate(get_session(), secret, now=now, touch=False)
        if tokens.needs_touch(token, now):
            with write_session() as session:
                tokens.authenticate(session, secret, now=now)
    except tokens.TokenRefused as exc:
        return problem(401, str(exc), headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    g.api_user = token.user
    return None


def api_user() -> User:
    """The user the request's token acts for (after ``authenticate``)."""
    return g.api_user


def recipient(key: str, *, write: bool = False) -> Recipient:
    """The recipient ``key`` if the token's user may read it (else 404) and, with ``write``,
    write it (else 403)."""
    return recipient_for(key, write=write, user=api_user())

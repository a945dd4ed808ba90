"""The JSON API for import scripts (``/api/v1``): token authentication, the Kreise kept apart on
every endpoint, the import's dry run and commit (all or nothing, audited), the command line's JSON
shapes, problem details in German, no cookies and no CSRF."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from ledger.core.grants import add_grant, add_payout
from ledger.core.posting import PostingLine, post_entry
from ledger.core.models import ApiToken, AuditEvent, ImportBatch, JournalEntry
from ledger.core.recipients import add_recipient, find_account
from ledger.core.schoolyear import SchoolYear
from ledger.core.tokens import create_token, revoke_token
from ledger.core.users import get_user, set_active
from ledger.workflows.closing import close_year
from ledger.workflows.issued import issue_statement
from tests.conftest import NOW, add_web_user, import_bytes, login

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
BOOKED = (HEADER
          + "02.11.2023;A-1;Workshop Autismus;5292;1810;250,00;;training;\n"
          + "03.11.2023;A-2;Honorar ohne Kategorie;5299;1810;80,00;;;\n").encode()
MONTH = (HEADER
         + "04.12.2023;A-3;Fortbildung Dezember;5292;1810;120,00;;training;\n"
         + "05.12.2023;A-4;Broschüre Druck;5299;1810;45,50;;brochures;\n").encode()
BAD = (HEADER
       + "31.13.2023;B-2;Datum falsch;5291;1810;100,00;;;\n"
       + "01.11.2023;B-3;Konto unbekannt;9999;1810;12,345;;;\n").encode()
YEAR = "2023/24"
API = "/api/v1"


def _add_kreis(session, key: str, name: str):
    recipient = add_recipient(session, key, name, "kreis", actor="test", now=NOW)
    grant = add_grant(session, recipient, SchoolYear(2023), Decimal("1000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("1000.00"), created_by="test", now=NOW)
    import_bytes(session, recipient, BOOKED, f"{key}-2023-11.csv", created_by="test", now=NOW)
    session.commit()
    return recipient


def _token(session, username: str) -> str:
    secret = create_token(session, get_user(session, username), f"Skript {username}", actor=username, now=NOW).secret
    session.commit()
    return secret


@pytest.fixture
def books(app, session, kreis, tmp_path):
    """Kreis Testland and Kreis Nachbar with a grant, bookings and an issued statement each; the
    officers olga (Testland) and bernd (Nachbar), the auditor paul (Testland), the admin ada; one
    token each."""
    app.instance_path = str(tmp_path / "instance")
    grant = add_grant(session, kreis, SchoolYear(2023), Decimal("1000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("1000.00"), created_by="test", now=NOW)
    import_bytes(session, kreis, BOOKED, "testland-2023-11.csv", created_by="test", now=NOW)
    session.commit()
    neighbour = _add_kreis(session, "nachbar", "Kreis Nachbar")
    add_web_user(session, "olga", "officer", recipients=[kreis])
    add_web_user(session, "bernd", "officer", recipients=[neighbour])
    add_web_user(session, "paul", "auditor", recipients=[kreis])
    add_web_user(session, "ada", "admin")
    own = issue_statement(session, kreis, SchoolYear(2023), user=get_user(session, "olga"), now=NOW)
    other = issue_statement(session, neighbour, SchoolYear(2023), user=get_user(session, "bernd"), now=NOW)
    session.commit()
    return SimpleNamespace(
        kreis=kreis, neighbour=neighbour, statement=own.id, other_statement=other.id,
        olga=_token(session, "olga"), bernd=_token(session, "bernd"), paul=_token(session, "paul"),
        ada=_token(session, "ada"))


def _auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _upload(client, secret: str, data: bytes, key: str = "testland", name: str = "2023-12.csv", **fields):
    return client.post(f"{API}/recipients/{key}/imports", headers=_auth(secret),
                       data={"file": (io.BytesIO(data), name), **fields}, content_type="multipart/form-data")


def _staged(app) -> list[Path]:
    return sorted((Path(app.instance_path) / "uploads").rglob("*.csv"))


def _count(session, model) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _requests(books, key: str = "testland", staged: str = "0" * 64) -> dict[str, tuple[str, str, dict]]:
    """One request per API endpoint (by endpoint name) on recipient ``key``'s data."""
    upload = {"file": (io.BytesIO(MONTH), "2023-12.csv")}
    base = f"{API}/recipients/{key}"
    return {
        "api_books.recipients": ("GET", f"{API}/recipients", {}),
        "api_books.repayments": ("GET", f"{base}/repayments", {}),
        "api_books.forecast_view": ("GET", f"{base}/forecast?school_year={YEAR}&as_of=2024-02-15", {}),
        "api_books.review": ("GET", f"{base}/review?school_year={YEAR}", {}),
        "api_imports.upload": ("POST", f"{base}/imports", {"data": upload, "content_type": "multipart/form-data"}),
        "api_imports.commit": ("POST", f"{base}/imports/{staged}/commit", {}),
        "api_statements.index": ("GET", f"{base}/statements?school_year={YEAR}", {}),
        "api_statements.pdf": ("GET", f"{base}/statements/{books.statement}/pdf", {}),
    }


def test_the_request_list_covers_every_endpoint_of_the_api(app, books):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith(API)}
    assert endpoints - {"api-docs.openapi_json"} == set(_requests(books))


def test_a_token_of_one_kreis_never_reads_or_writes_another_kreis(app, books, session):
    client = app.test_client()
    staged = _upload(client, books.olga, MONTH).get_json()["id"]          # Testland's dry run, waiting to be booked
    entries, batches, events = _count(session, JournalEntry), _count(session, ImportBatch), _count(session, AuditEvent)
    for endpoint, (method, path, options) in _requests(books, staged=staged).items():
        response = client.open(path, method=method, headers=_auth(books.bernd), **options)
        if endpoint == "api_books.recipients":
            assert response.status_code == 200
            assert [r["key"] for r in response.get_json()] == ["nachbar"], endpoint
            continue
        assert response.status_code == 404, endpoint
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"] == "Empfänger 'testland' nicht gefunden.", endpoint
    # Nachbar's own address with Testland's statement id or Testland's staged file: not found either
    assert client.get(f"{API}/recipients/nachbar/statements/{books.statement}/pdf",
                      headers=_auth(books.bernd)).status_code == 404
    assert client.post(f"{API}/recipients/nachbar/imports/{staged}/commit",
                       headers=_auth(books.bernd)).status_code == 404
    assert (_count(session, JournalEntry), _count(session, ImportBatch), _count(session, AuditEvent)) == (
        entries, batches, events)
    assert [p.name for p in _staged(app)] == [f"{staged}.csv"]           # Testland's dry run is still there

    # the same requests with Testland's own officer succeed (so the refusals above are the Kreis's)
    for endpoint, (method, path, options) in _requests(books, staged=staged).items():
        response = client.open(path, method=method, headers=_auth(books.olga), **options)
        assert response.status_code == 200, (endpoint, response.get_data(as_text=True))
    assert _count(session, ImportBatch) == batches + 1


def test_an_admin_reads_every_kreis_but_imports_nowhere(app, books):
    client = app.test_client()
    listed = client.get(f"{API}/recipients", headers=_auth(books.ada)).get_json()
    assert [(r["key"], r["may_write"]) for r in listed] == [("nachbar", False), ("testland", False)]
    assert client.get(f"{API}/recipients/nachbar/repayments", headers=_auth(books.ada)).status_code == 200
    assert _upload(client, books.ada, MONTH).status_code == 403


def test_auditors_read_but_cannot_import_or_commit(app, books, session):
    client = app.test_client()
    staged = _upload(client, books.olga, MONTH).get_json()["id"]
    refused = _upload(client, books.paul, MONTH, dry_run="true")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["title"] == "Zugriff verweigert"
    commit = client.post(f"{API}/recipients/testland/imports/{staged}/commit", headers=_auth(books.paul))
    assert commit.status_code == 403
    assert _count(session, ImportBatch) == 2 and [p.name for p in _staged(app)] == [f"{staged}.csv"]
    for endpoint, (method, path, options) in _requests(books).items():
        if method == "GET":
            assert client.get(path, headers=_auth(books.paul)).status_code == 200, endpoint


@pytest.mark.parametrize("case", ["revoked", "expired", "locked", "unknown", "missing", "basic"])
def test_revoked_expired_and_unknown_tokens_are_refused_on_every_endpoint(app, books, session, case):
    headers = _auth(books.olga)
    if case == "revoked":
        revoke_token(session, get_user(session, "olga"), session.scalar(
            sa.select(ApiToken.id).where(ApiToken.name == "Skript olga")), actor="olga", now=NOW)
    elif case == "expired":
        headers = _auth(create_token(session, get_user(session, "olga"), "alt", actor="olga",
                                     now=datetime.now() - timedelta(days=30),
                                     expires_on=date.today() - timedelta(days=1)).secret)
    elif case == "locked":
        set_active(session, get_user(session, "olga"), False, actor="ada", now=NOW)
    elif case == "unknown":
        headers = _auth("inkl_" + "x" * 43)
    elif case == "missing":
        headers = {}
    else:
        headers = {"Authorization": "Basic b2xnYTpnZWhlaW0="}
    session.commit()
    client = app.test_client()
    for endpoint, (method, path, options) in _requests(books).items():
        response = client.open(path, method=method, headers=headers, **options)
        assert response.status_code == 401, endpoint
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="inkl"')
        body = response.get_json()
        assert body["title"] == "Nicht angemeldet" and body["status"] == 401
    expected = {"revoked": "wurde widerrufen", "expired": "abgelaufen", "locked": "olga ist gesperrt",
                "unknown": "Zugangstoken ist ungültig", "missing": "Authorization: Bearer",
                "basic": "Authorization: Bearer"}[case]
    assert expected in body["detail"]
    assert _staged(app) == [] and _count(session, ImportBatch) == 2


def test_dry_run_then_commit_books_the_month_once_and_is_audited(app, books, session):
    client = app.test_client()
    dry = _upload(client, books.olga, MONTH, name="export/2023-12.csv")
    assert dry.status_code == 200
    summary = dry.get_json()
    sha256 = hashlib.sha256(MONTH).hexdigest()
    assert summary == {"id": sha256, "commit": f"{API}/recipients/testland/imports/{sha256}/commit",
                       "profile": "inkl-csv", "file": "2023-12.csv", "sha256": sha256, "rows": 2, "imported": 2,
                       "duplicates": 0, "payouts_recognised": 0, "repayments_recognised": 0, "parked": 0,
                       "skipped": 0, "dry_run": True, "errors": []}
    assert _count(session, ImportBatch) == 2                                   # a dry run writes nothing
    assert [p.name for p in _staged(app)] == [f"{sha256}.csv"]

    booked = client.post(summary["commit"], headers=_auth(books.olga))
    assert booked.status_code == 200
    assert booked.get_json() | {"errors": []} == {**summary, "dry_run": False, "id": None, "commit": None}
    assert _staged(app) == [] and _count(session, ImportBatch) == 3
    batch = session.scalar(sa.select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))
    assert (batch.filename, batch.sha256, batch.created_by, batch.imported) == ("2023-12.csv", sha256, "olga", 2)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.seq.desc())
                           .limit(1))
    assert event.actor == "olga" and json.loads(event.details)["file"] == "2023-12.csv"

    again = client.post(summary["commit"], headers=_auth(books.olga))
    assert again.status_code == 404 and "Kein Probelauf" in again.get_json()["detail"]
    repeat = _upload(client, books.olga, MONTH).get_json()                    # the month again: nothing new
    assert (repeat["imported"], repeat["duplicates"], repeat["id"], repeat["commit"]) == (0, 2, None, None)
    assert _staged(app) == []


def test_dry_run_false_books_at_once(app, books, session):
    booked = _upload(app.test_client(), books.olga, MONTH, dry_run="false")
    assert booked.status_code == 200
    assert (booked.get_json()["dry_run"], booked.get_json()["imported"], booked.get_json()["id"]) == (False, 2, None)
    assert _count(session, ImportBatch) == 3 and _staged(app) == []


def test_a_file_with_errors_is_422_with_every_error_and_nothing_staged(app, books, session):
    refused = _upload(app.test_client(), books.olga, BAD, name="fehler.csv")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["detail"] == "fehler.csv: 3 Fehler, nichts gebucht."
    assert [(e["line"], e["column"]) for e in body["errors"]] == [(2, "Buchungsdatum"), (3, "Betrag"), (3, "Sollkonto")]
    assert "ungültiges Datum '31.13.2023' (erwartet TT.MM.JJJJ; Importprofil: date.format)" in body["errors"][0]["message"]
    assert body["summary"]["rows"] == 2 and "errors" not in body["summary"]
    assert _staged(app) == [] and _count(session, ImportBatch) == 2


def test_a_commit_the_books_refuse_meanwhile_is_422_and_writes_nothing(app, books, session):
    empty = add_recipient(session, "leer", "Kreis Leer", "kreis", actor="test", now=NOW)
    session.commit()
    olga = get_user(session, "olga")
    olga.recipients.append(empty)
    session.commit()
    client = app.test_client()
    one_row = (HEADER + "15.11.2023;B-9;Pool November;5291;1810;100,00;;;\n").encode()
    staged = _upload(client, books.olga, one_row, key="leer").get_json()
    close_year(session, empty, SchoolYear(2023), user=olga, now=datetime(2024, 9, 1, 12, 0))
    session.commit()
    refused = client.post(staged["commit"], headers=_auth(books.olga))
    assert refused.status_code == 422
    body = refused.get_json()
    assert [e["line"] for e in body["errors"]] == [2] and "abgeschlossen" in body["errors"][0]["message"]
    assert _count(session, ImportBatch) == 2


def test_requests_the_api_refuses_are_explained_in_german(app, books, session):
    client = app.test_client()
    missing = client.post(f"{API}/recipients/testland/imports", headers=_auth(books.olga), data={"datei": "x"},
                          content_type="multipart/form-data")
    assert missing.status_code == 422
    assert missing.get_json()["invalid_params"] == [
        {"name": "datei", "in": "body", "reason": "Unbekanntes Feld."},
        {"name": "file", "in": "body", "reason": "Dieses Feld fehlt."}] or missing.get_json()["invalid_params"] == [
        {"name": "file", "in": "body", "reason": "Dieses Feld fehlt."},
        {"name": "datei", "in": "body", "reason": "Unbekanntes Feld."}]
    flag = _upload(client, books.olga, MONTH, dry_run="vielleicht").get_json()
    assert flag["invalid_params"] == [{"name": "dry_run", "in": "body",
                                       "reason": "Kein gültiger Wahrheitswert (true oder false)."}]
    year = client.get(f"{API}/recipients/testland/review?school_year=2023/25", headers=_auth(books.olga)).get_json()
    assert year["invalid_params"] == [{"name": "school_year", "in": "query",
                                       "reason": "Ungültiges Schuljahr '2023/25': auf 2023 folgt 24."}]
    day = client.get(f"{API}/recipients/testland/repayments?as_of=15.02.2024", headers=_auth(books.olga)).get_json()
    assert day["invalid_params"][0]["reason"] == "Kein gültiges Datum (erwartet JJJJ-MM-TT)."
    assert client.get(f"{API}/recipients/testland/review", headers=_auth(books.olga)).get_json()[
        "invalid_params"] == [{"name": "school_year", "in": "query", "reason": "Dieses Feld fehlt."}]
    nowhere = client.get(f"{API}/gibt-es-nicht", headers=_auth(books.olga))
    assert nowhere.status_code == 404 and nowhere.get_json()["title"] == "Nicht gefunden"
    method = client.delete(f"{API}/recipients", headers=_auth(books.olga))
    assert method.status_code == 405 and method.mimetype == "application/problem+json"
    assert "GET" in method.headers["Allow"].split(", ")
    no_pack = client.get(f"{API}/recipients/testland/forecast?school_year=2010/11", headers=_auth(books.olga))
    assert no_pack.status_code == 409 and "Die Zahlen können nicht berechnet werden" in no_pack.get_json()["detail"]
    assert _count(session, ImportBatch) == 2


def test_the_profile_is_checked_at_upload(app, books):
    client = app.test_client()
    assert _upload(client, books.olga, MONTH, profile="inkl-csv").get_json()["profile"] == "inkl-csv"
    assert _upload(client, books.olga, MONTH).get_json()["profile"] == "inkl-csv"   # the default
    other = _upload(client, books.olga, MONTH, profile="datev")
    assert other.status_code == 422
    assert other.get_json()["invalid_params"][0]["reason"].startswith(
        "unbekanntes Importprofil „datev“ (vorhanden: camt053, datev-extf")
    datev = _upload(client, books.olga, MONTH, profile="datev-extf")
    assert datev.status_code == 422 and "DATEV-Format" in datev.get_json()["errors"][0]["message"]


def test_the_profile_of_the_dry_run_is_the_one_its_commit_books_with(app, books, monkeypatch):
    """The upload's profile reaches ``import_file``, and the commit (by hash alone) books with the
    profile the dry run was checked with."""
    import webapp.staging as staging

    real, given = staging.import_file, []

    def with_profile(*args, profile=None, **kwargs):
        given.append((kwargs["dry_run"], profile.key))
        return real(*args, profile=profile, **kwargs)

    monkeypatch.setattr(staging, "import_file", with_profile)
    client = app.test_client()
    dry = _upload(client, books.olga, MONTH, profile="inkl-csv").get_json()
    assert dry["profile"] == "inkl-csv" and dry["id"]
    assert client.post(dry["commit"], headers=_auth(books.olga)).status_code == 200
    assert given == [(True, "inkl-csv"), (False, "inkl-csv")]


def test_an_upload_over_the_limit_is_refused_before_it_is_read(app, books, session):
    app.config["IMPORT_MAX_BYTES"] = 100
    client = app.test_client()
    too_big = _upload(client, books.olga, MONTH)
    assert too_big.status_code == 413 and too_big.get_json()["detail"] == (
        "Die Datei ist zu groß: höchstens 100 Bytes sind erlaubt.")
    huge = _upload(client, books.olga, MONTH * 2000)
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"
    assert huge.get_json()["detail"] == "Die Datei ist zu groß: höchstens 100 Bytes sind erlaubt."
    assert _staged(app) == [] and _count(session, ImportBatch) == 2


def test_the_reads_answer_the_command_line_s_json(app, books, cli):
    client = app.test_client()

    def api(path: str):
        response = client.get(f"{API}/recipients/testland/{path}", headers=_auth(books.olga))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def command(*args: str):
        return json.loads(cli(*args, "--recipient", "testland", "--json").stdout)

    assert api("repayments") == command("repayments")
    assert api(f"repayments?school_year={YEAR}&as_of=2026-11-22") == command(
        "repayments", "--school-year", YEAR, "--as-of", "2026-11-22")
    assert api(f"forecast?school_year={YEAR}&as_of=2024-02-15") == command(
        "forecast", "--school-year", YEAR, "--as-of", "2024-02-15")
    review = api(f"review?school_year={YEAR}")
    assert review == command("review", "--school-year", YEAR)
    assert [item["voucher_number"] for item in review] == ["A-2"]                # the posting without category


def test_a_year_without_figures_is_listed_with_its_error(app, books, session):
    """2012/13: no rule pack covers it (the packs begin with 2014/15), as in tests/test_amount_limit.py."""
    expense, bank = find_account(session, books.kreis, "5292"), find_account(session, books.kreis, "1810")
    post_entry(session, books.kreis, day=date(2012, 11, 2), voucher_number="W-2012", text="Workshop",
               lines=[PostingLine(expense, Decimal("100.00"), SchoolYear(2012), "training"),
                      PostingLine(bank, Decimal("-100.00"), SchoolYear(2012))],
               kind="manual", created_by="test", now=NOW)
    session.commit()
    response = app.test_client().get(f"{API}/recipients/testland/repayments", headers=_auth(books.olga))
    assert response.status_code == 200
    old, good = response.get_json()
    assert set(old) == {"school_year", "error"} and old["school_year"] == "2012/13"
    assert old["error"].startswith("kein Regelwerk gilt für das Schuljahr 2012/13")
    # 1.000,00 received − 250,00 training; the 80,00 without category are unclassified, not conform
    assert good["school_year"] == YEAR and good["repayment_due"] == "750.00"


def test_an_issued_statement_downloads_byte_for_byte(app, books, session):
    client = app.test_client()
    listed = client.get(f"{API}/recipients/testland/statements?school_year={YEAR}", headers=_auth(books.paul))
    assert listed.status_code == 200
    (entry,) = listed.get_json()
    assert entry["number"] == 1 and entry["created_by"] == "olga" and entry["school_year"] == YEAR
    pdf = client.get(entry["pdf"], headers=_auth(books.paul))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == entry["sha256"] and len(pdf.data) == entry["size"]
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="Verwendungsnachweis_testland_2023-24_Nr1.pdf"'
    assert client.get(f"{API}/recipients/testland/statements/{books.other_statement}/pdf",
                      headers=_auth(books.paul)).status_code == 404
    assert client.get(f"{API}/recipients/testland/statements/2147483648/pdf",
                      headers=_auth(books.paul)).status_code == 404


def test_the_api_uses_no_cookie_and_no_csrf_token(app, books, session):
    client = app.test_client()
    assert login(client, "olga").status_code == 302                          # a browser session …
    no_token = client.get(f"{API}/recipients")
    assert no_token.status_code == 401                                         # … does not authenticate the API
    dry = client.post(f"{API}/recipients/testland/imports", headers=_auth(books.olga),
                      data={"file": (io.BytesIO(MONTH), "m.csv")}, content_type="multipart/form-data")
    assert dry.status_code == 200                                              # no CSRF token needed
    fresh = app.test_client()
    for response in (fresh.get(f"{API}/recipients", headers=_auth(books.olga)),
                     fresh.post(dry.get_json()["commit"], headers=_auth(books.olga))):
        assert response.status_code == 200 and "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"
    session.rollback()
    used = session.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.name == "Skript olga"))
    assert used is not None and abs((datetime.now() - used).total_seconds()) < 120


def test_the_openapi_document_describes_the_api(app, books):
    response = app.test_client().get(f"{API}/openapi.json")                    # no token needed
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"] == "3.0.3" and spec["info"]["title"].startswith("Inklusionspauschale NRW")
    assert "RFC 7807" in spec["info"]["description"] and "synchron" in spec["info"]["description"]
    assert set(spec["paths"]) == {
        f"{API}/recipients", f"{API}/recipients/{{key}}/repayments", f"{API}/recipients/{{key}}/forecast",
        f"{API}/recipients/{{key}}/review", f"{API}/recipients/{{key}}/imports",
        f"{API}/recipients/{{key}}/imports/{{sha256}}/commit", f"{API}/recipients/{{key}}/statements",
        f"{API}/recipients/{{key}}/statements/{{statement_id}}/pdf"}
    assert spec["components"]["securitySchemes"]["token"] == {
        "type": "http", "scheme": "bearer",
        "description": "Persönliches Zugangstoken (beginnt mit inkl_), nur als Hash gespeichert."}
    assert spec["security"] == [{"token": []}]
    upload = spec["paths"][f"{API}/recipients/{{key}}/imports"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][form]["properties"]) == {"file", "profile", "dry_run"}
    assert spec["components"]["schemas"][form]["properties"]["file"] == {"type": "string", "format": "binary",
                                                                         "description": spec["components"]["schemas"][
                                                                             form]["properties"]["file"]["description"]}
    assert list(spec["components"]["responses"]["DEFAULT_ERROR"]["content"]) == ["application/problem+json"]

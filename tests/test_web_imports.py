"""Web import page: upload, dry run (counts, every error by line and column), commit, history.

Kreis Testland (default chart): officer "olga" works on it, auditor "paul" reads every
recipient, officer "bernd" works on Kreis Nachbar only. Staged uploads go to the test's
own instance folder.
"""
from __future__ import annotations

import hashlib
import html
import io
import os
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from ledger.core.bank import set_account_iban
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import ImportBatch, JournalEntry
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import get_user
from ledger.workflows.closing import close_year
from tests.conftest import NOW, add_web_user, csrf_token, login
import webapp.staging as staging

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
GOOD = (HEADER
        + "31.10.2023;B-1;Pool Oktober Träger A;5291;1810;40.000,00;KS-POOL-1;;\n"
        + "02.11.2023;B-2;Workshop Autismus;5292;1810;1.250,00;;;\n"
        + "15.11.2023;B-3;Fall 2023-017 Schulbegleitung;5291;1810;5.000,00;;individual_claim_sgb_viii;\n").encode()
BAD = (HEADER
       + "31.10.2023;B-1;Pool Oktober;5291;1810;40.000,00;;;\n"
       + "31.13.2023;B-2;Datum falsch;5291;1810;100,00;;;\n"
       + "01.11.2023;B-3;Konto unbekannt;9999;1810;12,345;;;\n").encode()
PAGE = "/r/testland/import"


def _text(response) -> str:
    """The response's HTML without tags, whitespace collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


def _count(session, model) -> int:
    session.rollback()  # end the test session's read transaction: see what the app committed
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _upload(client, data: bytes, name: str = "export-2023-11.csv", token: str | None = None,
            profile: str | None = None):
    form = {"csrf_token": token or csrf_token(client, PAGE), "file": (io.BytesIO(data), name)}
    if profile is not None:
        form["profile"] = profile
    return client.post(PAGE, data=form, content_type="multipart/form-data")


def _confirm_fields(response) -> dict[str, str]:
    page = response.get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/r/testland/import/buchen".*?</form>', page, re.S).group(0)
    return {name: html.unescape(value) for name, value in
            re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)}


@pytest.fixture
def users(app, session, kreis, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    neighbour = add_recipient(session, "nachbar", "Kreis Nachbar", "kreis", actor="test", now=NOW)
    session.commit()
    add_web_user(session, "olga", "officer", recipients=[kreis])
    add_web_user(session, "paul", "auditor", all_recipients=True)
    add_web_user(session, "bernd", "officer", recipients=[neighbour])
    return kreis


@pytest.fixture
def olga(client, users):
    assert login(client, "olga").status_code == 302
    return client


def _staged(app) -> list[Path]:
    return sorted((Path(app.instance_path) / "uploads").rglob("*.csv"))


def test_dry_run_then_commit_books_the_file_and_lists_it_in_the_history(app, olga, session):
    page = olga.get(PAGE)
    assert page.status_code == 200
    text = _text(page)
    assert "Monatsexport oder Kontoauszug hochladen" in text and "noch keine Datei importiert" in text
    assert 'enctype="multipart/form-data"' in page.get_data(as_text=True)

    dry = _upload(olga, GOOD)
    assert dry.status_code == 200
    text = _text(dry)
    assert "Probelauf: export-2023-11.csv" in text
    assert "Buchungszeilen in der Datei 3" in text and "davon neu zu buchen 3" in text
    assert "bereits vorhanden (werden übersprungen) 0" in text and "Fehler 0" in text
    assert "Jetzt buchen" in text
    # the preview: each row with what the import does and its classification, and the year's repayment
    assert "2023/24 0,00 € 0,00 €" in text          # no grant recorded: nothing to repay before or after
    assert "B-2 Workshop Autismus 5292 1810 1.250,00 € 2023/24 wird gebucht zulässig – " in text
    assert "B-3 Fall 2023-017 Schulbegleitung 5291 1810 5.000,00 € 2023/24 wird gebucht ausgeschlossen – " in text
    assert _count(session, JournalEntry) == 0 and _count(session, ImportBatch) == 0   # nothing booked yet
    sha256 = hashlib.sha256(GOOD).hexdigest()
    assert [p.name for p in _staged(app)] == [f"{sha256}.csv"]                        # named by hash only
    ids = re.findall(r'\sid="([^"]+)"', dry.get_data(as_text=True))
    assert len(ids) == len(set(ids)), "two forms on the page, but every id once"
    fields = _confirm_fields(dry)
    assert fields["sha256"] == sha256 and fields["filename"] == "export-2023-11.csv" and fields["csrf_token"]

    booked = olga.post("/r/testland/import/buchen", data=fields)
    assert booked.status_code == 302 and booked.headers["Location"] == PAGE
    assert _count(session, JournalEntry) == 3 and _count(session, ImportBatch) == 1
    assert _staged(app) == []
    batch = session.scalar(sa.select(ImportBatch))
    assert (batch.filename, batch.sha256, batch.created_by, batch.rows, batch.imported) == (
        "export-2023-11.csv", sha256, "olga", 3, 3)
    assert batch.created_at.microsecond == 0 and abs((datetime.now() - batch.created_at).total_seconds()) < 120

    history = olga.get(PAGE)
    text = _text(history)
    assert "export-2023-11.csv: 3 Zeilen, 3 neu gebucht, 0 bereits vorhanden." in text
    assert sha256 in text and "olga" in text and "Bisherige Importe" in text
    row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", history.get_data(as_text=True), re.S).group(1)
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1:] == ["export-2023-11.csv", "Journalexport dieser Buchführung (Semikolon-CSV)", sha256, "3", "3", "0",
                         "olga"]


def test_the_same_file_again_books_nothing_new(app, olga, session):
    fields = _confirm_fields(_upload(olga, GOOD))
    staged = _staged(app)[0]
    content = staged.read_bytes()
    olga.post("/r/testland/import/buchen", data=fields)

    again = _upload(olga, GOOD, name="nochmal.csv")
    text = _text(again)
    assert again.status_code == 200
    assert "davon neu zu buchen 0" in text and "bereits vorhanden (werden übersprungen) 3" in text
    assert "nichts Neues" in text and "Jetzt buchen" not in text
    assert _staged(app) == []

    # a confirm sent twice (e.g. a second tab) books nothing twice
    staged.write_bytes(content)
    replay = olga.post("/r/testland/import/buchen", data=fields, follow_redirects=True)
    assert "export-2023-11.csv: 3 Zeilen, 0 neu gebucht, 3 bereits vorhanden." in _text(replay)
    assert _count(session, JournalEntry) == 3 and _count(session, ImportBatch) == 1

    # the staged file is gone after booking: the same confirm again is refused
    assert olga.post("/r/testland/import/buchen", data=fields).status_code == 400


def test_a_file_with_errors_lists_each_by_line_and_column_and_offers_no_commit(app, olga, session):
    response = _upload(olga, BAD, name="fehler.csv")
    assert response.status_code == 200
    text = _text(response)
    assert "Es wurde nichts gebucht" in text and "Jetzt buchen" not in text
    assert "Fehler 3" in text
    rows = re.findall(r"<tr>\s*<td class=\"num\">(\d+)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
                      response.get_data(as_text=True), re.S)
    errors = [(int(line), html.unescape(column), html.unescape(message)) for line, column, message in rows]
    assert [(line, column) for line, column, _ in errors] == [(3, "Buchungsdatum"), (4, "Betrag"), (4, "Sollkonto")]
    assert "ungültiges Datum '31.13.2023' (erwartet TT.MM.JJJJ; Importprofil: date.format)" in errors[0][2]
    assert "unbekanntes Konto 9999" in errors[2][2]
    assert _staged(app) == [] and _count(session, JournalEntry) == 0


def test_header_errors_are_reported_for_the_whole_line(olga):
    text = _text(_upload(olga, b"Datum,Betrag\n01.01.2024,5\n", name="komma.csv"))
    assert "Trennzeichen muss ein Semikolon sein" in text and "ganze Zeile" in text


def test_the_upload_form_checks_file_presence_type_and_size(app, olga):
    token = csrf_token(olga, PAGE)
    missing = olga.post(PAGE, data={"csrf_token": token}, content_type="multipart/form-data")
    assert missing.status_code == 400
    page = missing.get_data(as_text=True)
    assert "Bitte eine Datei auswählen." in page
    assert re.search(r'<input[^>]*aria-describedby="datei-hinweis datei-fehler"[^>]*aria-invalid="true"', page) \
        or re.search(r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="datei-hinweis datei-fehler"', page)
    assert 'id="datei-fehler"' in page and '<label for="file">' in page

    wrong = _upload(olga, GOOD, name="export.pdf")
    assert wrong.status_code == 400 and "Nur Exportdateien (.csv, .txt) und Kontoauszüge" in _text(wrong)

    app.config["IMPORT_MAX_BYTES"] = 100
    too_big = _upload(olga, GOOD)
    assert too_big.status_code == 413
    assert "Die Datei ist zu groß: höchstens 100 Bytes sind erlaubt." in _text(too_big)
    # a body far over the limit is refused before anything reads it, with the same form and message
    huge = _upload(olga, GOOD * 1000)
    assert huge.status_code == 413
    assert "Die Datei ist zu groß: höchstens 100 Bytes sind erlaubt." in _text(huge)
    assert 'type="file"' in huge.get_data(as_text=True)
    assert _staged(app) == []


def test_a_year_closed_before_the_commit_books_nothing_and_shows_why(app, olga, session, users):
    one_row = HEADER.encode() + "15.11.2023;B-9;Pool November;5291;1810;100,00;;;\n".encode()
    fields = _confirm_fields(_upload(olga, one_row))
    close_year(session, users, SchoolYear(2023), user=get_user(session, "olga"), now=datetime(2024, 9, 1, 12, 0))
    session.commit()
    refused = olga.post("/r/testland/import/buchen", data=fields)
    assert refused.status_code == 409
    text = _text(refused)
    assert "Buchung abgelehnt" in text and "Schuljahr 2023/24 ist abgeschlossen" in text and "Jetzt buchen" not in text
    assert _count(session, JournalEntry) == 0 and _count(session, ImportBatch) == 0


def test_an_auditor_sees_the_history_but_cannot_upload(app, client, users, session):
    from tests.conftest import import_bytes

    import_bytes(session, users, GOOD, "aus-der-cli.csv", created_by="olga", now=NOW)
    session.commit()
    assert login(client, "paul").status_code == 302
    page = client.get(PAGE)
    text = _text(page)
    assert page.status_code == 200 and "aus-der-cli.csv" in text and hashlib.sha256(GOOD).hexdigest() in text
    assert "22.11.2026, 10:00 Uhr" in text
    assert 'type="file"' not in page.get_data(as_text=True) and "Monatsexport oder Kontoauszug hochladen" not in text
    token = csrf_token(client, "/passwort")
    assert _upload(client, GOOD, token=token).status_code == 403
    assert client.post("/r/testland/import/buchen", data={"csrf_token": token, "sha256": "0" * 64,
                                                          "filename": "x.csv"}).status_code == 403
    assert _staged(app) == []


def test_an_officer_of_another_kreis_gets_not_found(client, users):
    assert login(client, "bernd").status_code == 302
    assert client.get(PAGE).status_code == 404
    token = csrf_token(client, "/r/nachbar/import")
    assert _upload(client, GOOD, token=token).status_code == 404
    assert client.post("/r/testland/import/buchen", data={"csrf_token": token, "sha256": "0" * 64,
                                                          "filename": "x.csv"}).status_code == 404
    assert client.get("/r/unbekannt/import").status_code == 404


def test_posts_without_csrf_token_are_refused(app, olga, session):
    response = olga.post(PAGE, data={"file": (io.BytesIO(GOOD), "export.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400 and _staged(app) == []
    fields = _confirm_fields(_upload(olga, GOOD))
    del fields["csrf_token"]
    assert olga.post("/r/testland/import/buchen", data=fields).status_code == 400
    assert _count(session, JournalEntry) == 0


def test_a_tampered_hash_is_refused(app, olga, session):
    fields = _confirm_fields(_upload(olga, GOOD))
    for bad in ("../../secret_key", "A" * 64, "0" * 63, "", fields["sha256"][:-1] + "g"):
        assert olga.post("/r/testland/import/buchen", data={**fields, "sha256": bad}).status_code == 400
    other = hashlib.sha256(b"etwas anderes").hexdigest()
    assert olga.post("/r/testland/import/buchen", data={**fields, "sha256": other}).status_code == 400
    # a staged file whose content no longer matches its name is refused and removed
    staged = _staged(app)[0]
    staged.write_bytes(GOOD + "30.11.2023;B-4;untergeschoben;5291;1810;1,00;;;\n".encode())
    assert olga.post("/r/testland/import/buchen", data=fields).status_code == 400
    assert _staged(app) == [] and _count(session, JournalEntry) == 0


def test_the_page_needs_a_log_in_and_has_no_inline_code(client, users):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden")
    assert login(client, "olga").status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "<script" not in page and "style=" not in page and " on" + "click=" not in page


# --- profiles, bank statements and the paged preview ---------------------------------------------

STATEMENT = Path(__file__).parent / "samples" / "camt053" / "auszug_2024-11-28_bis_2024-12-02.xml"


def test_a_bank_statement_with_its_profile_previews_payout_and_parked_entries(app, olga, session, users):
    set_account_iban(session, users, "1810", "DE89370502990000123456", actor="test", now=NOW)
    grant = add_grant(session, users, SchoolYear(2024), Decimal("824700.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2024, 11, 27), Decimal("412350.00"), created_by="test", now=NOW)
    session.commit()
    page = olga.get(PAGE).get_data(as_text=True)
    assert '<option value="camt053">Kontoauszug camt.053 (ISO 20022)</option>' in page
    dry = _upload(olga, STATEMENT.read_bytes(), name=STATEMENT.name, profile="camt053")
    text = _text(dry)
    assert dry.status_code == 200, text
    assert "Importprofil: Kontoauszug camt.053 (ISO 20022)" in text
    assert "davon als erfasste Auszahlung der Pauschale erkannt 1" in text
    assert "davon zur Klärung zurückgestellt (kein Gegenkonto) 4" in text
    assert "Landeskasse Düsseldorf: Inklusionspauschale 2024/25 1. Rate 1810 4141 412.350,00 € 2024/25 " \
           "erfasste Auszahlung" in text
    assert "zur Klärung zurückgestellt" in text
    booked = olga.post("/r/testland/import/buchen", data=_confirm_fields(dry))
    assert booked.status_code == 302
    history = _text(olga.get(PAGE))
    assert "4 Kontoumsätze sind zur Klärung zurückgestellt" in history
    assert "1 als erfasste Auszahlung erkannt, 4 zur Klärung zurückgestellt" in history
    assert "Kontoauszug camt.053 (ISO 20022)" in history   # the profile in the history


def test_the_preview_is_paged(app, olga, session):
    rows = "".join(f"{1 + n % 28:02d}.10.2023;B-{n};Pool Oktober;5291;1810;{n + 1},00;;;\n" for n in range(150))
    dry = _upload(olga, (HEADER + rows).encode())
    text = _text(dry)
    assert "Zeilen der Datei, Seite 1 von 2" in text and "nächste Seite" in text
    link = re.search(r'href="([^"]*seite=2)"', dry.get_data(as_text=True)).group(1)
    second = _text(olga.get(html.unescape(link)))
    assert "Seite 2 von 2" in second and "B-149 " in second and "B-0 " not in second


def test_a_staged_upload_is_dropped_a_day_after_it_was_staged(app, kreis, tmp_path, monkeypatch):
    """The boundary of ``STAGE_MAX_AGE`` (webapp.staging): when the next upload is staged, a file
    staged exactly 24 hours ago stays (it can still be booked), one a second older is removed
    together with its metadata."""
    app.instance_path = str(tmp_path)
    clock = 2_000_000_000
    with app.app_context():
        folder = staging.stage_dir(kreis)
        folder.mkdir(parents=True)
        kept, dropped = folder / f"{'a' * 64}.csv", folder / f"{'b' * 64}.csv"
        for path, age in ((kept, 86400), (kept.with_suffix(".json"), 86400),
                          (dropped, 86401), (dropped.with_suffix(".json"), 86401)):
            path.write_text("{}", encoding="utf-8")
            os.utime(path, (clock - age, clock - age))
        monkeypatch.setattr(staging, "time", SimpleNamespace(time=lambda: clock))
        new = staging.stage(kreis, io.BytesIO(GOOD), 1024 * 1024)
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [kept.name, kept.with_suffix(".json").name, new.name])

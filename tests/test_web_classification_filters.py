"""The Einstufung page filtered and paged, with the sums of what the filters keep.

Books: those of ``tests/test_web_review.py`` (the worked example of
``tests/test_classification_runs.py`` plus X-1 and X-2 on the unknown cost centre XYZ),
school year 2023/24, in booking order:

    voucher  cost centre  category        amount       status                conform
    P-AC     AC           pool_personnel  100.000,00   zulässig            100.000,00
    P-H      H            pool_personnel   40.000,00   ausgeschlossen            0,00
    P-M      M            pool_personnel   10.000,00   teilweise zulässig    6.250,00
    F-FS     FS-100002    training          2.000,00   ausgeschlossen            0,00
    W-1      WL-BEISPIEL  pass_through      3.000,00   zulässig              3.000,00
    W-2      WL-OHNE      pass_through      5.000,00   ausgeschlossen            0,00
    O-1      –            overhead         20.000,00   bis zur Obergrenze   20.000,00 (before the cap)
    X-1      XYZ          pool_personnel    1.000,00   nicht eingestuft          0,00
    X-2      XYZ          pool_personnel      500,00   nicht eingestuft          0,00

    all nine: 181.500,00, conform 129.250,00 (before the overhead cap)
"""
from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest
import sqlalchemy as sa

from ledger.core.models import AuditEvent

from tests.test_web_review import BASE, _text, books, officer  # noqa: F401  (fixtures)

PAGE = f"{BASE}/einstufung"


def _get(client, **args):
    """The page with the query ``args``: the response, its text, and the vouchers its table lists
    (each links to its journal entry), in order."""
    response = client.get(PAGE, query_string=args)
    return response, _text(response), re.findall(r'/journal/\d+">([^<]+)</a>', response.get_data(as_text=True))


def test_unfiltered_page_lists_every_posting_with_the_sum(officer):
    response, text, vouchers = _get(officer)
    assert response.status_code == 200
    assert "9 Ausgaben: Summe 181.500,00 €, davon zweckentsprechend 129.250,00 €" in text
    assert "Summe aller 9 Ausgaben 181.500,00 € 129.250,00 €" in text
    assert vouchers == ["P-AC", "P-H", "P-M", "F-FS", "W-1", "W-2", "O-1", "X-1", "X-2"]


@pytest.mark.parametrize(("args", "vouchers", "amount", "conform"), [
    # status: P-H 40.000 + F-FS 2.000 + W-2 5.000 = 47.000,00, nothing conform
    ({"status": "excluded"}, ["P-H", "F-FS", "W-2"], "47.000,00", "0,00"),
    ({"status": "unclassified"}, ["X-1", "X-2"], "1.500,00", "0,00"),
    ({"status": "capped"}, ["O-1"], "20.000,00", "20.000,00"),
    ({"status": "split"}, ["P-M"], "10.000,00", "6.250,00"),
    ({"status": "permitted"}, ["P-AC", "W-1"], "103.000,00", "103.000,00"),
    # category: the two pass-throughs, 3.000 + 5.000, only the verified one conform
    ({"category": "pass_through"}, ["W-1", "W-2"], "8.000,00", "3.000,00"),
    # cost centre: the unknown one the postings carry (not in the master data), and none
    ({"kst": "XYZ"}, ["X-1", "X-2"], "1.500,00", "0,00"),
    ({"kst": "none"}, ["O-1"], "20.000,00", "20.000,00"),
    # amount range, both ends inclusive: 3.000 (W-1), 5.000 (W-2), 10.000 (P-M); conform 3.000 + 6.250
    ({"betrag_von": "3.000,00", "betrag_bis": "10.000,00"}, ["P-M", "W-1", "W-2"], "18.000,00", "9.250,00"),
    ({"betrag_von": "3000.01", "betrag_bis": "10.000,00"}, ["P-M", "W-2"], "15.000,00", "6.250,00"),
    ({"betrag_von": "3.000,00", "betrag_bis": "9.999,99"}, ["W-1", "W-2"], "8.000,00", "3.000,00"),
    # text in the booking text, case-insensitive; and in the voucher number
    ({"q": "WEITERLEITUNG"}, ["W-1", "W-2"], "8.000,00", "3.000,00"),
    ({"q": "x-2"}, ["X-2"], "500,00", "0,00"),
    # filters combined: excluded pool personnel = P-H only
    ({"status": "excluded", "category": "pool_personnel"}, ["P-H"], "40.000,00", "0,00"),
])
def test_filters_keep_the_matching_postings_and_sum_them(officer, args, vouchers, amount, conform):
    response, text, listed = _get(officer, **args)
    assert response.status_code == 200
    count = len(vouchers)
    noun = "Ausgabe" if count == 1 else "Ausgaben"
    assert f"{count} {noun} (gefiltert aus 9): Summe {amount} €, davon zweckentsprechend {conform} €" in text
    assert f"Summe der gefilterten {count} {noun} {amount} € {conform} €" in text
    assert listed == vouchers


def test_no_match_says_so(officer):
    _response, text, vouchers = _get(officer, betrag_von="200.000,00")
    assert "0 Ausgaben (gefiltert aus 9): Summe 0,00 €" in text and "Keine Ausgaben zu diesen Filtern." in text


@pytest.mark.parametrize(("args", "message"), [
    ({"betrag_von": "zehn"}, "„zehn“ ist kein gültiger Betrag (z. B. 1.234,56)."),
    ({"betrag_bis": "1,2,3"}, "„1,2,3“ ist kein gültiger Betrag (z. B. 1.234,56)."),
    ({"betrag_von": "10.000,00", "betrag_bis": "3.000,00"}, "Der Betrag bis liegt unter dem Betrag ab."),
    ({"status": "verboten"}, "Unbekannte Einstufung „verboten“."),
    ({"category": "gibt_es_nicht"}, "Unbekannte Kategorie „gibt_es_nicht“."),
    ({"kst": "KS-999"}, "Kostenstelle „KS-999“ gibt es weder in den Stammdaten noch in diesem Schuljahr."),
])
def test_invalid_filters_are_named_in_german_and_filter_nothing(officer, args, message):
    response, text, vouchers = _get(officer, **args)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in text and 'aria-invalid="true"' in body
    if "betrag_von" in args and "betrag_bis" in args:   # the valid lower bound still filters (10.000 and more)
        assert vouchers == ["P-AC", "P-H", "P-M", "O-1"]
    else:
        assert "9 Ausgaben: Summe 181.500,00 €" in text


def test_filter_form_offers_german_labels_and_no_ids_as_text(officer):
    response, text, _vouchers = _get(officer, status="excluded")
    body = response.get_data(as_text=True)
    assert '<option value="excluded" selected>ausgeschlossen</option>' in body
    assert '<option value="capped">zulässig bis zur Obergrenze</option>' in body
    assert '<option value="pass_through">' in body and "pass_through" not in text
    assert '<option value="XYZ">XYZ</option>' in body and '<option value="WL-OHNE">WL-OHNE</option>' in body


def test_page_two_with_the_filters_kept(officer, monkeypatch):
    monkeypatch.setattr("webapp.views.review.PER_PAGE", 4)
    _response, text, vouchers = _get(officer, page=2)
    assert vouchers == ["W-1", "W-2", "O-1", "X-1"]
    assert "9 Ausgaben: Summe 181.500,00 €" in text and "Seite 2 von 3" in text   # the sum of all pages

    _response, text, vouchers = _get(officer, status="excluded", page=1)
    assert vouchers == ["P-H", "F-FS", "W-2"]
    monkeypatch.setattr("webapp.views.review.PER_PAGE", 2)
    response, text, vouchers = _get(officer, status="excluded", page=2)
    body = response.get_data(as_text=True)
    assert vouchers == ["W-2"] and "Seite 2 von 2" in text
    assert "3 Ausgaben (gefiltert aus 9): Summe 47.000,00 €" in text
    assert f'href="{PAGE}?page=1&amp;status=excluded"' in body and 'aria-current="page"' in body
    assert officer.get(PAGE, query_string={"status": "excluded", "page": 3}).status_code == 404
    assert officer.get(PAGE, query_string={"page": 0}).status_code == 404


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    """The download's rows by heading (German CSV: UTF-8 with BOM, semicolons)."""
    text = data.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    return [dict(zip(lines[0], line)) for line in lines[1:]]


def test_download_link_keeps_the_filters_and_the_file_holds_the_selection(officer, session):
    response, _text_, _vouchers = _get(officer, status="excluded", kst="")
    body = response.get_data(as_text=True)
    assert "Diese Auswahl herunterladen" in body
    link = re.search(r'href="(/r/testland/downloads/einstufung\?[^"]*format=csv[^"]*)"', body).group(1)
    assert "status=excluded" in link and "kst=" not in link          # only the filters that are set
    download = officer.get(link.replace("&amp;", "&"))
    assert download.status_code == 200
    rows = _csv_rows(download.get_data())
    # the excluded postings: P-H 40.000 + F-FS 2.000 + W-2 5.000, nothing conform
    assert [r["Belegnummer"] for r in rows] == ["P-H", "F-FS", "W-2"]
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "download")).all()
    assert json.loads(events[-1].details)["filters"] == {"status": "excluded"}


def test_unfiltered_download_holds_every_posting(officer):
    response, _text_, _vouchers = _get(officer)
    assert "Alle Ausgaben herunterladen" in response.get_data(as_text=True)
    download = officer.get("/r/testland/downloads/einstufung", query_string={"format": "csv", "year": 2023})
    assert len(_csv_rows(download.get_data())) == 9


def test_download_with_an_invalid_filter_is_refused(officer, session):
    response = officer.get("/r/testland/downloads/einstufung",
                           query_string={"format": "csv", "year": 2023, "kst": "KS-999"})
    assert response.status_code == 400
    assert "Kostenstelle „KS-999“ gibt es weder in den Stammdaten noch in diesem Schuljahr." in _text(response)
    assert session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "download")).all() == []


def test_filtered_workbook_says_it_is_a_selection(officer):
    download = officer.get("/r/testland/downloads/einstufung",
                           query_string={"format": "xlsx", "year": 2023, "status": "unclassified"})
    workbook = openpyxl.load_workbook(io.BytesIO(download.get_data()))
    assert workbook.sheetnames == ["Einstufung 2023-24, Auswahl"]
    assert workbook.properties.title == "Einstufung 2023/24, Auswahl"
    assert [row[3] for row in workbook.active.iter_rows(min_row=2, values_only=True)] == ["X-1", "X-2"]

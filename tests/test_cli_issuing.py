"""``inkl narrative`` and ``inkl statement-issue``: the Sachbericht in versions and the numbered issue.

Worked example: Kreis Testland 2023/24, a grant of 1.000,00 EUR paid out on 16.10.2023 and
nothing spent, so 1.000,00 EUR are to be repaid (Hinweise zur zweckentsprechenden Verwendung der
Inklusionspauschale, Teil II); the books hold one journal entry, the payout.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from pypdf import PdfReader

YEAR = ("--recipient", "testland", "--year", "2023/24")


def _books(cli) -> None:
    cli("recipient", "add", "testland", "--name", "Kreis Testland", "--kind", "kreis")
    cli("grant", "add", "--recipient", "testland", "--school-year", "2023/24", "--amount", "1000,00",
        "--payout-date", "2023-10-16")
    cli("user", "add", "test-officer", "--role", "officer", "--recipient", "testland", "--no-password")


def _issued(engine) -> list[tuple]:
    with engine.begin() as conn:
        return conn.execute(sa.text("SELECT number, created_by FROM issued_statements ORDER BY id")).all()


def test_narrative_versions_from_text_and_file(cli, tmp_path):
    _books(cli)
    assert json.loads(cli("narrative", "show", *YEAR, "--json").stdout) == {
        "school_year": "2023/24", "versions": 0, "current": None}
    assert "noch kein Sachbericht" in cli("narrative", "show", *YEAR, expect=1).stderr
    assert "Fassung 1, 25 Zeichen" in cli("narrative", "set", *YEAR, "--text", "Zwei Pools, drei Schulen.").output
    source = tmp_path / "sachbericht.txt"
    source.write_text("Zwei Pools an drei Grundschulen.\r\nFortbildung im Herbst.\r\n", encoding="utf-8")
    assert "Fassung 2" in cli("narrative", "set", *YEAR, "--file", source).output
    assert "unverändert; nichts gespeichert (Fassung 2)" in cli("narrative", "set", *YEAR, "--file", source).output

    shown = json.loads(cli("narrative", "show", *YEAR, "--history", "--json").stdout)
    assert (shown["versions"], shown["current"]["text"], shown["current"]["written_by"]) == (
        2, "Zwei Pools an drei Grundschulen.\nFortbildung im Herbst.", "test-officer")
    assert [v["version"] for v in shown["history"]] == [2, 1]
    assert cli("narrative", "show", *YEAR).output.startswith("Fassung 2 von test-officer")

    assert "Fehler: Der Sachbericht ist leer" in cli("narrative", "set", *YEAR, "--text", "  ", expect=1).stderr
    assert "genau eine der Optionen --file oder --text" in cli("narrative", "set", *YEAR, expect=2).stderr


def test_statement_issue_asks_numbers_and_refuses_the_identical_second(cli, engine, tmp_path):
    _books(cli)
    declined = cli("statement-issue", *YEAR, input="n\n", expect=1)
    assert "wird Nr. 1" in declined.stderr and "Rückzahlung fällig: 1.000,00 EUR" in declined.stderr
    assert "Buchungskette: 1 Buchung, zuletzt" in declined.stderr and "Sachbericht: fehlt" in declined.stderr
    assert "Fehler: abgebrochen; es wurde nichts ausgestellt" in declined.stderr
    assert _issued(engine) == []

    pdf = tmp_path / "abrechnung.pdf"
    first = json.loads(cli("statement-issue", *YEAR, "--output", pdf, "--json", input="j\n").stdout)
    assert (first["number"], first["repayment_due"], first["chain_seq"], first["has_narrative"]) == (1, "1000.00", 1,
                                                                                                   False)
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    assert "Verwendungsnachweis Nr. 1 über die Inklusionspauschale" in text and "ENTWURF" not in text

    again = cli("statement-issue", *YEAR, "--yes", expect=1)
    assert "bereits als Nr. 1 am" in again.stderr and _issued(engine) == [(1, "test-officer")]

    cli("narrative", "set", *YEAR, "--text", "Die Zuwendung wurde nicht verausgabt und wird zurückgezahlt.")
    second = cli("statement-issue", *YEAR, "--yes")
    assert "Verwendungsnachweis 2023/24 Nr. 2 ausgestellt" in second.stdout and "Sachbericht: geschrieben" in second.stderr
    assert _issued(engine) == [(1, "test-officer"), (2, "test-officer")]


def test_an_auditor_is_refused_before_being_asked(cli, engine, monkeypatch):
    _books(cli)
    cli("user", "add", "pruefer", "--role", "auditor", "--all-recipients", "--no-password")
    monkeypatch.setenv("INKL_USER", "pruefer")
    refused = cli("statement-issue", *YEAR, expect=1)
    assert "pruefer (auditor) darf das nicht" in refused.stderr and "ausstellen?" not in refused.stderr
    assert _issued(engine) == []


def test_the_draft_command_still_writes_a_draft(cli, tmp_path):
    _books(cli)
    pdf = tmp_path / "entwurf.pdf"
    assert "als Entwurf geschrieben" in cli("statement", "--recipient", "testland", "--school-year", "2023/24",
                                            "-o", pdf).output
    assert all("ENTWURF" in page.extract_text() for page in PdfReader(pdf).pages)

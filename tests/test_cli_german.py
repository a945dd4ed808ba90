"""The command line speaks German only: click's own messages (``inkl/click_de.po`` bound by
``inkl.german``), every command's help, and human output with labels instead of ids.

Source: issue 14, "Nothing internal reaches a user"; the terms are those of docs/glossary.md.
Usage errors exit with 2 (click's convention), refused requests with 1.
"""
from __future__ import annotations

import gettext
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
import pytest
from babel.messages.extract import extract_from_file
from click.testing import CliRunner

from inkl import german
from inkl.cli import main
from ledger.core.grants import add_grant, add_payout
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.wording import counted
from ledger.workflows.masterdata import add
from tests.conftest import NOW, add_master_data, import_bytes, internal_terms

CLICK_DIR = Path(click.__file__).parent
PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}|%\((\w+)\)s")


def _inkl(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, prog_name="inkl")


# --- the catalog --------------------------------------------------------------------------


def _click_msgids() -> set[str]:
    """Every message click passes to gettext, extracted from its source as Babel does."""
    ids = set()
    for path in CLICK_DIR.glob("*.py"):
        for _line, message, _comments, _context in extract_from_file("python", str(path),
                                                                      keywords={"_": None, "ngettext": (1, 2)}):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_the_catalog_translates_every_message_of_click():
    """A click upgrade that adds or rewords a message fails here, naming it; "required" is the
    one msgid click passes as a variable (``_(extra["required"])``)."""
    catalog = german.translations()
    missing = sorted(m for m in _click_msgids() | {"required"} if catalog.gettext(m) == m)
    assert missing == []


def test_every_translation_uses_only_the_placeholders_of_its_message():
    """A translation may leave out a placeholder (click's English type names) but never invent
    one: ``str.format`` would raise KeyError at the user."""
    from babel.messages.pofile import read_po

    with german.CATALOG.open("rb") as source:
        catalog = read_po(source)
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        allowed = {name for text in ids for match in PLACEHOLDER.finditer(text) for name in match.groups() if name}
        for text in strings:
            assert text, message.id
            used = {name for match in PLACEHOLDER.finditer(text) for name in match.groups() if name}
            assert used <= allowed, (message.id, text)


def test_every_click_module_that_uses_gettext_is_bound_to_the_catalog():
    uses_gettext = {f"click.{p.stem}" for p in CLICK_DIR.glob("*.py")
                    if "from gettext import" in p.read_text(encoding="utf-8") and p.stem != "_winconsole"}
    assert set(german.install()) == uses_gettext
    assert click.core._("Usage:") == "Aufruf:"
    assert click.exceptions.ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 2) \
        == "(Meinten Sie eines von: {possibilities}?)"
    assert gettext.gettext("Usage:") == "Usage:"    # the process-wide gettext stays untouched


def test_german_whatever_the_environment_says():
    """LANG=C (cron, containers) and an English LANGUAGE change nothing."""
    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "LANGUAGE": "en_US"}
    result = subprocess.run([sys.executable, "-m", "inkl", "recipient", "add", "x"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.endswith("Fehler: Fehlende Option '--name'.\n")
    assert "Aufruf: " in result.stderr and "Hilfe: '" in result.stderr


# --- click's messages, by invoking the real command line ---------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["recipient", "add", "x", "--kind", "kreis"], "Fehler: Fehlende Option '--name'."),
    (["import", "--recipient", "x"], "Fehler: Fehlendes Argument 'DATEI'."),
    (["foo"], "Fehler: Unbekannter Befehl 'foo'."),
    (["recipien"], "Fehler: Unbekannter Befehl 'recipien'. Meinten Sie 'recipient'?"),
    (["recipient", "list", "--jsn"], "Fehler: Unbekannte Option '--jsn'. Meinten Sie '--json'?"),
    (["review", "--recipient", "x", "--school-year", "2023"],
     "Fehler: Ungültiger Wert für '--school-year': ungültiges Schuljahr '2023' (erwartet z. B. 2023/24)"),
    (["grant", "payout", "--recipient", "x", "--school-year", "2023/24", "--amount", "1", "--date", "2024-13-01"],
     "Fehler: Ungültiger Wert für '--date': '2024-13-01' ist kein Datum der Form JJJJ-MM-TT (z. B. 2024-03-20)"),
    (["recipient", "add", "x", "--name", "N", "--kind", "land"],
     "Fehler: Ungültiger Wert für '--kind': 'land' ist keiner der Werte 'kreis', 'stadt', 'gemeinde'."),
    (["import", "fehlt.csv", "--recipient", "x"], "Fehler: Ungültiger Wert für 'DATEI': Datei 'fehlt.csv' gibt es nicht."),
    (["restore", "fehlt.inkl-backup"],
     "Fehler: Ungültiger Wert für 'DATEI': Datei 'fehlt.inkl-backup' gibt es nicht."),
    (["recipient", "list", "extra"], "Fehler: Unerwartetes zusätzliches Argument (extra)"),
    (["reverse", "abc", "--recipient", "x", "--reason", "r"], "Fehler: Ungültiger Wert für 'NR': 'abc' ist keine gültige Zahl."),
    (["serve", "--threads", "0"], "Fehler: Ungültiger Wert für '--threads': 0 liegt nicht im Bereich 1<=x<=64."),
    (["override", "add", "--recipient", "x", "--posting", "1", "--status", "permitted"],
     "Fehler: Fehlende Option '--justification'."),
], ids=lambda v: v if isinstance(v, str) else None)
def test_usage_errors_are_german_with_exit_code_2(args, message):
    result = _inkl(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("Aufruf: inkl ")
    assert lines[1].startswith("Hilfe: 'inkl") and lines[1].endswith(" --help'.")
    assert lines[-1] == message


def test_the_usage_line_and_hint_of_a_subcommand():
    result = _inkl("recipient", "add", "x", "--kind", "kreis")
    assert result.output == ("Aufruf: inkl recipient add [OPTIONEN] SCHLÜSSEL\n"
                             "Hilfe: 'inkl recipient add --help'.\n\n"
                             "Fehler: Fehlende Option '--name'.\n")


def test_an_interrupted_prompt_ends_with_abgebrochen():
    """End of input at the password prompt: "Abgebrochen." and exit code 1."""
    result = _inkl("user", "add", "anna", "--role", "officer", input="")
    assert result.exit_code == 1
    assert result.output.endswith("Abgebrochen.\n") and "Aborted" not in result.output


def test_a_mistyped_repetition_is_reported_in_german():
    result = _inkl("user", "add", "anna", "--role", "officer", input="Erstes-Passwort-1\nZweites-Passwort-2\n")
    assert "Passwort wiederholen: \nFehler: Die beiden Eingaben stimmen nicht überein.\n" in result.output
    assert result.exit_code == 1


@click.command(cls=click.Command)
def _question() -> None:
    click.echo("ja" if german.confirm("Abrechnung ausstellen?") else "nein")


@pytest.mark.parametrize(("answer", "outcome"), [("j\n", "ja"), ("Ja\n", "ja"), ("n\n", "nein"), ("\n", "nein"),
                                                 ("y\nnein\n", "nein")])
def test_confirm_asks_j_n_in_german(answer, outcome):
    """``[j/N]``: j/ja yes, n/nein and an empty answer no; anything else (even "y") asks again."""
    result = CliRunner().invoke(_question, [], input=answer)
    assert result.exit_code == 0
    assert result.output.startswith("Abrechnung ausstellen? [j/N]: ")
    assert result.output.endswith(f"{outcome}\n")
    assert ("Fehler: bitte j (ja) oder n (nein) eingeben" in result.output) == answer.startswith("y")


def test_confirm_at_end_of_input_aborts():
    result = CliRunner().invoke(_question, [], input="")
    assert result.exit_code == 1 and result.output.endswith("Abgebrochen.\n")


# --- help ------------------------------------------------------------------------------------

#: English that must not appear in any help: click's words and the metavars of its types.
ENGLISH = re.compile(r"\bUsage\b|\bOptions\b|\bCommands\b|\bArguments\b|Show this message|\brequired\b|\bdefault\b|"
                     r"\b(?:FILE|PATH|DIRECTORY|INTEGER|FLOAT|RANGE|COMMAND|ARGS|KEY|USERNAME|NUMBER|ENTRY_ID)\b|%Y"
                     r"|\bAdmin\b|Hash-Kette")


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


def test_every_help_is_german():
    """Walks every command's ``--help``: German headings, metavars and markers, no English."""
    paths = list(_commands(main))
    assert len(paths) > 60
    for path in paths:
        result = _inkl(*path, "--help")
        assert result.exit_code == 0, path
        assert result.output.startswith(f"Aufruf: inkl {' '.join(path)}".rstrip() + " [OPTIONEN]"), path
        assert "Optionen:\n" in result.output and "Diese Hilfe zeigen und beenden." in result.output, path
        assert ENGLISH.findall(result.output) == [], (path, result.output)


def test_help_markers_and_metavars():
    text = _inkl("agreement", "add", "--help").output
    assert "--recipient SCHLÜSSEL" in text and "--school-year SCHULJAHR" in text
    assert "--deemed-conform BETRAG" in text and "--payment-date JJJJ-MM-TT" in text
    assert "[Pflichtangabe]" in text and "[Vorgabe: in_force]" in text
    assert "Befehle:\n" in _inkl("--help").output
    assert "-o, --output VERZEICHNIS" in _inkl("export", "gobd", "--help").output
    assert "--port ZAHL" in _inkl("serve", "--help").output


# --- human output: labels, never ids -----------------------------------------------------------

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr"


@pytest.fixture
def musterhausen(session):
    """Kreis Musterhausen 2023/24: grant 100.000,00 paid 16.10.2023, pool KS-100 (systemic),
    a pool posting, an overhead posting, a § 35a case, an open commitment for the forecast."""
    muster = add_recipient(session, "musterhausen", "Kreis Musterhausen", "kreis", actor="test", now=NOW)
    grant = add_grant(session, muster, SchoolYear(2023), Decimal("100000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("100000.00"), created_by="test", now=NOW)
    add_master_data(session, muster, pools=("KS-100",))
    add(session, muster, "commitment", {"Referenz": "V-1", "Beschreibung": "Poolvertrag", "Kategorie": "pool_personnel",
                                        "Monatsbetrag": "1.000,00", "Beginn": "01.08.2023", "Ende": "31.07.2024",
                                        "Pool": "KS-100"}, actor="test", now=NOW)
    csv = "\n".join([HEADER, "31.10.2023;B-1;Schulassistenz Pool Oktober;5291;1810;4.000,00;KS-100;;",
                     "31.10.2023;B-2;Koordination Pool-Modell;5012;1810;800,00;;;",
                     "02.11.2023;B-3;Schulbegleitung Einzelfall;5331;1810;1.500,00;;;",
                     "03.11.2023;B-4;Rechnung Klärung ausstehend;5299;1810;500,00;;;"]) + "\n"
    assert import_bytes(session, muster, csv.encode(), "export.csv", created_by="test", now=NOW).ok
    session.commit()
    return muster


def test_human_output_shows_labels_not_ids(cli, musterhausen):
    """Every listing and report of the command line without ``--json``: rule, category and pack
    by their German labels and titles, roles, kinds and account types in German."""
    year = ("--recipient", "musterhausen", "--school-year", "2023/24")
    cli("user", "add", "sachbearbeiterin", "--role", "officer", "--recipient", "musterhausen", "--no-password")
    cli("evaluate", *year, "--reason", "Prüfung der Zwischenstände")
    outputs = {
        "recipient list": cli("recipient", "list").output,
        "account list": cli("account", "list", "--recipient", "musterhausen").output,
        "user list": cli("user", "list").output,
        "classification": cli("classification", *year).output,
        "review": cli("review", *year).output,
        "evaluations": cli("evaluations", *year).output,
        "forecast": cli("forecast", *year, "--as-of", "2024-02-15").output,
        "repayments": cli("repayments", "--recipient", "musterhausen").output,
        **{f"{kind} list": cli(kind, "list", "--recipient", "musterhausen").output
           for kind in ("school", "provider", "pool", "municipality", "commitment", "costcentre")},
    }
    for name, text in outputs.items():
        assert internal_terms(text) == [], name
        assert not re.search(r"\b(?:True|False|None)\b|\.toml|\bexpense\b|\(officer\)", text), (name, text)
    assert "musterhausen         Kreis Musterhausen (Kreis)" in outputs["recipient list"]
    assert re.search(r"5291 +Aufwand +\S.* Personalkosten systemischer Pool-Modelle", outputs["account list"])
    assert re.search(r"sachbearbeiterin +Sachbearbeitung +musterhausen", outputs["user list"])
    assert ("Pool KS-100 ist systemisch (antragsunabhängig) an GL-Schulen eingesetzt. "
            "(Regel: Systemischer Pool an Schulen des Gemeinsamen Lernens)") in outputs["classification"]
    assert "Regelwerk „Hinweise zur zweckentsprechenden Verwendung" in outputs["evaluations"] + outputs["classification"]
    assert "offen V-1 (Personalkosten systemischer Pool-Modelle (Schulassistenz" in outputs["forecast"]
    assert "): 5 × 1.000,00 = 5.000,00 EUR" in outputs["forecast"]
    assert "Regelwerk „Hinweise zur zweckentsprechenden Verwendung" in outputs["forecast"]
    assert "Referenz: V-1; Beschreibung: Poolvertrag;" in outputs["commitment list"]
    assert "Monatsbetrag: 1.000,00; Beginn: 01.08.2023" in outputs["commitment list"]
    assert "GL-Schule: ja" in outputs["school list"]


@pytest.mark.parametrize(("number", "text"), [(0, "0 Buchungen"), (1, "1 Buchung"), (2, "2 Buchungen"),
                                              (21, "21 Buchungen")])
def test_counted_uses_the_singular_for_exactly_one(number, text):
    """German takes the singular for exactly one only ("1 Buchung", "0 Buchungen", "21 Buchungen")."""
    assert counted(number, "Buchung", "Buchungen") == text

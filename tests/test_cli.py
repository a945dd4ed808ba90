"""``inkl`` end to end: commands, JSON for scripts, German errors on stderr with exit code 1."""
import json
import os
import subprocess
import sys

from pypdf import PdfReader

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
OCTOBER = (HEADER
           + "18.10.2023;KA-1;Eingang Inklusionspauschale;1810;4141;100.000,00;;;\n"
           + "31.10.2023;P-10;Pool Oktober;5291;1810;40.000,00;POOL-1;;\n"
           + "31.10.2023;O-10;Koordination Oktober;5012;1810;7.000,00;;;\n"
           + "02.11.2023;E-11;Fall 2023-017;5291;1810;5.000,00;;individual_claim_sgb_viii;\n")


def setup_kreis(cli, tmp_path):
    cli("recipient", "add", "musterkreis", "--name", "Kreis Musterkreis", "--kind", "kreis")
    cli("school", "add", "--recipient", "musterkreis", "--school-number", "190101", "--name", "GGS Am Lindenhof",
        "--bearer", "Stadt Musterstadt", "--school-form", "Grundschule", "--gl-school", "ja")
    cli("provider", "add", "--recipient", "musterkreis", "--name", "Sozialwerk e.V.")
    cli("pool", "add", "--recipient", "musterkreis", "--key", "P1", "--name", "Pool Lindenhof", "--provider",
        "Sozialwerk e.V.", "--schools", "190101", "--period-start", "01.08.2023", "--period-end", "31.07.2024",
        "--financing-basis", "systemic")
    cli("costcentre", "add", "--recipient", "musterkreis", "--code", "POOL-1", "--pool", "P1")
    cli("grant", "add", "--recipient", "musterkreis", "--school-year", "2023/24", "--amount", "100000,00",
        "--payout-date", "2023-10-16", "--notice-date", "2023-09-30")
    path = tmp_path / "2023-10.csv"
    path.write_text(OCTOBER, encoding="utf-8")
    return path


def test_recipients_accounts_and_json(cli):
    cli("recipient", "add", "rhein-sieg", "--name", "Rhein-Sieg-Kreis", "--kind", "kreis")
    assert json.loads(cli("recipient", "list", "--json").output) == [
        {"key": "rhein-sieg", "name": "Rhein-Sieg-Kreis", "kind": "kreis"}]
    cli("account", "add", "--recipient", "rhein-sieg", "5300", "Fachtag Inklusion", "--type", "expense",
        "--category", "training")
    accounts = {a["number"]: a for a in json.loads(cli("account", "list", "--recipient", "rhein-sieg", "--json").output)}
    assert accounts["5300"] == {"number": "5300", "name": "Fachtag Inklusion", "type": "expense",
                                "category": "training", "role": None, "iban": None}
    assert accounts["4141"]["role"] == "grant_revenue"


def test_errors_go_to_stderr_with_exit_code_1(cli):
    result = cli("recipient", "list", "--json")
    assert result.output.strip() == "[]"
    failed = cli("grant", "add", "--recipient", "gibt-es-nicht", "--school-year", "2023/24", "--amount", "1,00",
                 expect=1)
    assert "Fehler: Empfänger 'gibt-es-nicht' nicht gefunden" in failed.stderr
    assert failed.stdout == ""
    cli("recipient", "add", "x1", "--name", "X", "--kind", "kreis")
    assert "existiert bereits" in cli("recipient", "add", "x1", "--name", "X", "--kind", "kreis", expect=1).stderr
    bad_year = cli("repayments", "--recipient", "x1", "--school-year", "2023-24", expect=2)
    assert "ungültiges Schuljahr" in bad_year.stderr
    assert "Kategorie" in cli("account", "add", "--recipient", "x1", "5300", "X", "--type", "expense",
                              "--category", "nonsense", expect=1).stderr


def test_import_repayments_confirm_pay_and_statement(cli, tmp_path):
    path = setup_kreis(cli, tmp_path)
    dry = json.loads(cli("import", path, "--recipient", "musterkreis", "--dry-run", "--json").output)
    assert (dry["dry_run"], dry["imported"], dry["payouts_recognised"]) == (True, 3, 1)
    first = json.loads(cli("import", path, "--recipient", "musterkreis", "--json").output)
    assert {k: first[k] for k in ("rows", "imported", "duplicates", "payouts_recognised", "errors")} == {
        "rows": 4, "imported": 3, "duplicates": 0, "payouts_recognised": 1, "errors": []}
    again = json.loads(cli("import", path, "--recipient", "musterkreis", "--json").output)
    assert (again["imported"], again["duplicates"]) == (0, 4)

    # 40.000 pool → cap 6.000; overhead 7.000 → 1.000 above; § 35a case 5.000 excluded
    # conform 46.000; repayment 100.000 − 46.000 = 54.000; 1 April 2024 is Easter Monday → 2 April
    [year] = json.loads(cli("repayments", "--recipient", "musterkreis", "--json").output)
    assert {k: year[k] for k in ("school_year", "grant_received", "permitted", "overhead_cap", "overhead_excess",
                                 "excluded", "unclassified", "repayment_due", "already_repaid", "outstanding",
                                 "due_date", "agreement")} == {
        "school_year": "2023/24", "grant_received": "100000.00", "permitted": "46000.00",
        "overhead_cap": "6000.00", "overhead_excess": "1000.00", "excluded": "5000.00", "unclassified": "0.00",
        "repayment_due": "54000.00", "already_repaid": "0.00", "outstanding": "54000.00",
        "due_date": "2024-04-02", "agreement": None}

    cli("repayment", "confirm", "--recipient", "musterkreis", "--school-year", "2023/24", "--date", "2024-03-01")
    cli("repayment", "pay", "--recipient", "musterkreis", "--school-year", "2023/24", "--amount", "50.000,00",
        "--date", "2024-03-15")
    too_much = cli("repayment", "pay", "--recipient", "musterkreis", "--school-year", "2023/24",
                   "--amount", "4000,01", "--date", "2024-03-16", expect=1)
    assert "übersteigt" in too_much.stderr
    [year] = json.loads(cli("repayments", "--recipient", "musterkreis", "--school-year", "2023/24", "--json").output)
    assert (year["already_repaid"], year["outstanding"]) == ("50000.00", "4000.00")
    assert (year["late_interest"], year["interest"]) == ("0.00", [])  # paid before the deadline of 2 April 2024
    # 4.000,00 still open on 2 May 2024: 30 days at 3,62 % + 3 = 6,62 %, 2024 has 366 days:
    # 4.000,00 × 6,62 % × 30 / 366 = 21,7049… → 21,70
    [year] = json.loads(cli("repayments", "--recipient", "musterkreis", "--school-year", "2023/24",
                            "--as-of", "2024-05-02", "--json").output)
    assert (year["late_interest"], year["interest_as_of"]) == ("21.70", "2024-05-02")
    assert year["interest"] == [{"principal": "4000.00", "from": "2024-04-02", "to": "2024-05-02", "days": 30,
                                 "amount": "21.70", "rates": ["6.62"]}]

    pdf = tmp_path / "abrechnung.pdf"
    cli("statement", "--recipient", "musterkreis", "--school-year", "2023/24", "-o", pdf)
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    for expected in ("Kreis Musterkreis", "54.000,00", "P-10", "E-11", "DE59 3005 0000 0001 6835 15",
                     "2. April 2024", "Seite 1 von"):
        assert expected in text, expected


def test_bad_import_lists_every_error_and_writes_nothing(cli, tmp_path):
    setup_kreis(cli, tmp_path)
    bad = tmp_path / "kaputt.csv"
    bad.write_text(HEADER + "31.10.2023;P-1;Pool;5291;1810;40.000,00;;;\n"
                   "31.10.2023;P-2;Pool;5999;1810;1,5x;;;\n", encoding="utf-8")
    result = cli("import", bad, "--recipient", "musterkreis", "--json", expect=1)
    summary = json.loads(result.stdout)
    assert [(e["line"], e["column"]) for e in summary["errors"]] == [(3, "Betrag"), (3, "Sollkonto")]
    assert f"{bad}:3: Betrag:" in result.stderr and "nichts gebucht" in result.stderr
    [year] = json.loads(cli("repayments", "--recipient", "musterkreis", "--json").output)
    assert year["permitted"] == "0.00"


def test_reverse_through_the_cli(cli, tmp_path):
    path = setup_kreis(cli, tmp_path)
    cli("import", path, "--recipient", "musterkreis")
    # entry 1 is the payout, 2 the pool invoice, 3 overhead, 4 the § 35a case
    cli("reverse", "4", "--recipient", "musterkreis", "--reason", "Einzelfall, nicht aus der Pauschale",
        "--date", "2023-11-05")
    [year] = json.loads(cli("repayments", "--recipient", "musterkreis", "--json").output)
    assert year["excluded"] == "0.00"
    assert "bereits storniert" in cli("reverse", "4", "--recipient", "musterkreis", "--reason", "x", expect=1).stderr


def test_the_installed_console_script_runs(tmp_path):
    """A real process: ``python -m inkl`` on a fresh SQLite file, JSON on stdout, errors on stderr."""
    env = {**os.environ, "INKL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "inkl", *args], env=env, capture_output=True,  # noqa: E731
                                       text=True, timeout=120)
    assert run("db", "upgrade").returncode == 0
    assert run("recipient", "add", "k1", "--name", "Kreis Eins", "--kind", "kreis").returncode == 0
    listed = run("recipient", "list", "--json")
    assert json.loads(listed.stdout) == [{"key": "k1", "name": "Kreis Eins", "kind": "kreis"}]
    failed = run("recipient", "add", "k1", "--name", "Kreis Eins", "--kind", "kreis")
    assert failed.returncode == 1 and failed.stdout == "" and "Fehler:" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_database_without_schema_gives_a_hint_not_a_traceback(tmp_path):
    env = {**os.environ, "INKL_DATABASE_URL": f"sqlite:///{tmp_path / 'leer.sqlite'}"}
    result = subprocess.run([sys.executable, "-m", "inkl", "recipient", "list"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "inkl db upgrade" in result.stderr and "Traceback" not in result.stderr


def test_help_of_every_command_is_german():
    """CLI help in one language: click's own headings, usage and markers too."""
    import click
    from click.testing import CliRunner

    from inkl.cli import main

    runner = CliRunner()

    def commands(command, path):
        yield path
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from commands(sub, [*path, name])

    for path in commands(main, []):
        text = runner.invoke(main, [*path, "--help"]).output
        assert text.startswith("Aufruf: "), path
        for english in ("Usage", "Options:", "Commands:", "Show this message", "[required]", "[default:"):
            assert english not in text, (path, english)


def test_grant_payout_books_a_partial_payout(cli, session):
    """``inkl grant payout``: a second instalment of 250.000,00 of an assessed 500.000,00 EUR is booked
    (debit the bank 1810, credit grant revenue 4141) and counts as received."""
    cli("recipient", "add", "testland", "--name", "Kreis Testland", "--kind", "kreis")
    cli("grant", "add", "--recipient", "testland", "--school-year", "2023/24", "--amount", "500000,00",
        "--payout-date", "2023-10-16")
    [before] = json.loads(cli("repayments", "--recipient", "testland", "--school-year", "2023/24", "--json").output)
    assert before["grant_received"] == "500000.00"
    cli("recipient", "add", "zweiter", "--name", "Kreis Zwei", "--kind", "kreis")
    cli("grant", "add", "--recipient", "zweiter", "--school-year", "2023/24", "--amount", "500000,00")
    result = cli("grant", "payout", "--recipient", "zweiter", "--school-year", "2023/24", "--amount", "250.000,00",
                 "--date", "2024-02-15", "--voucher", "KA-2024-7")
    assert result.stdout == "Auszahlung 250.000,00 EUR am 15.02.2024 gebucht.\n"
    [year] = json.loads(cli("repayments", "--recipient", "zweiter", "--school-year", "2023/24", "--json").output)
    assert year["grant_received"] == "250000.00"
    from ledger.core.models import JournalEntry

    entry = session.query(JournalEntry).filter_by(kind="payout", voucher_number="KA-2024-7").one()
    assert (entry.date.isoformat(), entry.created_by) == ("2024-02-15", "test-officer")
    assert sorted((p.account.number, p.amount_cents) for p in entry.postings) == [
        ("1810", 25_000_000), ("4141", -25_000_000)]
    # no payout without an assessed grant of that year
    failed = cli("grant", "payout", "--recipient", "zweiter", "--school-year", "2022/23", "--amount", "1,00",
                 "--date", "2024-02-15", expect=1)
    assert failed.stdout == "" and failed.stderr.startswith("Fehler: ")


def test_user_assign_lets_a_user_work_for_a_recipient(cli):
    cli("recipient", "add", "testland", "--name", "Kreis Testland", "--kind", "kreis")
    cli("user", "add", "bea", "--role", "auditor", "--no-password")
    [bea] = json.loads(cli("user", "list", "--json").output)
    assert bea["recipients"] == []
    assert cli("user", "assign", "bea", "--recipient", "testland").stdout == "bea arbeitet für testland.\n"
    [bea] = json.loads(cli("user", "list", "--json").output)
    assert bea["recipients"] == ["testland"]
    assert "nicht gefunden" in cli("user", "assign", "niemand", "--recipient", "testland", expect=1).stderr


def test_demo_without_server_loads_the_demo_books_once(cli):
    first = cli("demo", "--no-serve")
    assert first.stdout == ""   # progress and log-ins on stderr
    assert "Anmeldung: demo-admin / " in first.stderr and "Sachbericht 2023/24 für musterhausen geschrieben." in first.stderr
    keys = {r["key"] for r in json.loads(cli("recipient", "list", "--json").output)}
    assert {"rhein-sieg", "musterhausen", "bremerhaven"} <= keys
    again = cli("demo", "--no-serve")
    assert again.stderr.startswith("Demodaten sind bereits geladen (Rhein-Sieg-Kreis, Kreis Musterhausen, "
                                   "Stadt Bremerhaven); nichts geändert.\n")
    assert {r["key"] for r in json.loads(cli("recipient", "list", "--json").output)} == keys


def test_verify_as_text_counts_in_german(cli):
    """``inkl verify`` without --json: one line per journal, one for the audit log; "1 Buchung", "2 Buchungen"."""
    cli("recipient", "add", "testland", "--name", "Kreis Testland", "--kind", "kreis")
    cli("grant", "add", "--recipient", "testland", "--school-year", "2023/24", "--amount", "500000,00")
    cli("grant", "payout", "--recipient", "testland", "--school-year", "2023/24", "--amount", "250000,00",
        "--date", "2023-10-16")
    data = json.loads(cli("verify", "--json").output)
    [journal] = data["journals"]
    events, versions = data["audit_log"]["events"], data["history"]["versions"]
    assert (journal["entries"], journal["head"]["seq"]) == (1, 1)
    text = cli("verify").stdout
    assert text == (f"testland: 1 Buchung, Kette in Ordnung; Kopf Nr. 1 {journal['head']['hash']}\n"
                    f"Protokoll: {events} Einträge, Kette in Ordnung\n"
                    f"Stammdaten und Entscheidungen: {versions} Versionen, Kette in Ordnung\n"
                    f"Kontensummen: 2 Zeilen über 2 Buchungszeilen, Tagessummen des Journals: 1 Zeile, "
                    f"nachgerechnet in Ordnung\n")
    assert data["totals"] == {"ok": True, "rows": 2, "postings": 2, "days": 1, "findings": []}
    cli("grant", "payout", "--recipient", "testland", "--school-year", "2023/24", "--amount", "1,00",
        "--date", "2023-10-17")
    assert cli("verify", "--recipient", "testland").stdout.startswith("testland: 2 Buchungen, Kette in Ordnung; Kopf Nr. 2 ")

"""The web UI in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

The app runs under waitress on a free localhost port, on both databases, with the demo
data loaded through the core. Screenshots go to tests/artifacts/ (ignored by git).
Without Chromium the tests are skipped locally and fail in CI (.ci/run installs it).
"""
from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
LAUNCH_ARGS = ["--lang=de-DE", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("CI: /usr/bin/chromium is missing (Debian package chromium)", pytrace=False)
    pytest.skip("Debian's Chromium is not installed", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from inkl.demo import DEMO_PASSWORD  # noqa: E402
from tests import a11y  # noqa: E402
from tests.conftest import served  # noqa: E402


@pytest.fixture
def live_server(app, engine):
    """The app with the demo data, served by waitress on 127.0.0.1 and a free port."""
    from inkl.demo import load_demo

    with Session(engine) as session:
        list(load_demo(session, user="demo", now=datetime(2026, 11, 22, 9, 0)))
        session.commit()
    with served(app) as url:
        yield url


@pytest.fixture
def page(database_url):
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, accept_downloads=True)
        yield context.new_page()
        browser.close()


@pytest.fixture
def axe_page(database_url):
    """A page whose context ignores the app's CSP, so axe-core can be injected (``tests.a11y``)."""
    script = a11y.axe_script()                  # download (or skip/fail) before starting the browser
    assert script.exists()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, **a11y.CONTEXT_OPTIONS)
        yield context.new_page()
        browser.close()


def shot(page, name: str, database_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    backend = database_url.split(":", 1)[0].split("+")[0]
    page.screenshot(path=ARTIFACTS / f"{name}-{backend}.png", full_page=True)


def sign_in(page, live_server: str, username: str) -> None:
    """Log in through the form with the demo password (``inkl.demo.DEMO_USERS``)."""
    page.goto(live_server + "/")
    expect(page).to_have_url(live_server + "/anmelden?next=%2F")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.locator(".user-menu")).to_contain_text(username)


def test_log_in_with_a_wrong_password_then_the_right_one_and_log_out(live_server, page, database_url):
    page.goto(live_server + "/r/musterhausen/journal")
    page.get_by_label("Benutzername").fill("demo-sachbearbeitung")
    page.get_by_label("Passwort").fill("falsch-geraten-123")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("Benutzername oder Passwort ist falsch.")
    expect(page.get_by_label("Passwort")).to_have_attribute("aria-invalid", "true")
    shot(page, "login-error", database_url)
    page.get_by_label("Passwort").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(live_server + "/r/musterhausen/journal")
    page.goto(live_server + "/r/rhein-sieg/2020/")                 # not assigned to this officer
    expect(page.locator("main")).to_contain_text("nicht gefunden")
    page.get_by_role("button", name="Abmelden").click()
    expect(page.locator("main")).to_contain_text("Sie sind abgemeldet.")


def test_officer_walks_from_dashboard_to_journal_entry_and_statement(live_server, page, database_url, tmp_path):
    sign_in(page, live_server, "demo-sachbearbeitung")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_role("link", name="Kreis Musterhausen").first.click()
    expect(page.locator("main")).to_contain_text("2023/24")
    expect(page.locator("main")).to_contain_text("750.000,00")
    expect(page.locator("main")).to_contain_text("02.04.2024")
    shot(page, "dashboard", database_url)

    page.goto(live_server + "/r/musterhausen/journal?category=individual_claim_sgb_viii")
    rows = page.locator("main table tbody tr")
    expect(rows).not_to_have_count(0)
    shot(page, "journal", database_url)
    rows.first.get_by_role("link").first.click()
    expect(page.locator("main")).to_contain_text("§ 35a")
    shot(page, "entry", database_url)

    page.goto(live_server + "/r/musterhausen/2023/")
    with page.expect_download() as download:
        page.locator("main").get_by_role("link", name="Verwendungsnachweis 2023/24 (Entwurf) als PDF herunterladen").click()
    pdf = tmp_path / "statement.pdf"
    download.value.save_as(pdf)
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Kreis Musterhausen" in text and "Seite 1 von" in text


def test_review_queue_lists_the_unclassified_invoice(live_server, page, database_url):
    sign_in(page, live_server, "demo-sachbearbeitung")
    page.goto(live_server + "/r/musterhausen/2023/")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Prüfliste").click()
    main = page.locator("main")
    expect(main).to_contain_text("Kategorie fehlt")
    expect(main).to_contain_text("749,70")
    shot(page, "review", database_url)


def test_classification_and_master_data_pages(live_server, page, database_url):
    """Demo Musterhausen: each posting with the rule that decided it; the pools' financing basis."""
    sign_in(page, live_server, "demo-pruefung")
    page.goto(live_server + "/r/musterhausen/2023/")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Einstufung").click()
    main = page.locator("main")
    expect(main).to_contain_text("Noch kein Bewertungslauf aufgezeichnet")
    expect(main).to_contain_text("Systemischer Pool an Schulen des Gemeinsamen Lernens")
    expect(main).not_to_contain_text("pool.systemic")
    expect(main).to_contain_text("Keine abweichenden Einstufungen.")
    shot(page, "classification", database_url)
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Stammdaten").click()
    expect(page.locator("main")).to_contain_text("systemisch (antragsunabhängig)")
    expect(page.locator("main")).to_contain_text("GGS Am Lindenhof")
    shot(page, "masterdata", database_url)


def test_rhein_sieg_dashboard_shows_computed_and_agreed_figures(live_server, page, database_url):
    sign_in(page, live_server, "demo-pruefung")
    page.goto(live_server + "/r/rhein-sieg/2020/")
    main = page.locator("main")
    expect(main).to_contain_text("891.931,68")
    expect(main).to_contain_text("422.362,00")
    expect(main).to_contain_text("469.569,68")
    shot(page, "rhein-sieg", database_url)


def test_main_pages_have_no_serious_accessibility_violations(live_server, axe_page, database_url):
    """axe-core (WCAG 2.x A/AA, BITV 2.0) on the main pages, as the officer of Musterhausen sees
    them; fails listing every serious or critical violation of every page."""
    page = axe_page
    found: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        found[name] = a11y.violations(page)

    page.goto(live_server + "/anmelden")
    check("Anmeldung")
    page.get_by_label("Benutzername").fill("demo-sachbearbeitung")
    page.get_by_label("Passwort").fill("falsch-geraten-123")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_label("Passwort")).to_have_attribute("aria-invalid", "true")
    check("Anmeldung (Fehler)")
    sign_in(page, live_server, "demo-sachbearbeitung")
    check("Empfänger")
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    page.goto(live_server + "/r/musterhausen/2023/")
    expect(page.locator("main")).to_contain_text("2023/24")
    check("Übersicht")
    nav.get_by_role("link", name="Journal").click()
    check("Journal")
    page.locator("main table tbody tr").first.get_by_role("link").first.click()
    expect(page.locator("main h1")).to_be_visible()
    check("Buchung")
    page.goto(live_server + "/r/musterhausen/2023/")
    nav.get_by_role("link", name="Prüfliste").click()
    check("Prüfliste")
    nav.get_by_role("link", name="Einstufung").click()
    check("Einstufung")
    nav.get_by_role("link", name="Stammdaten").click()
    check("Stammdaten")
    page.locator(".user-menu").get_by_role("link", name="Passwort").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check("Passwort")

    for name, violations in found.items():
        print(a11y.report(name, violations) or f"{name}: keine Verstöße")   # all impacts, for the log
    failing = {name: a11y.serious(v) for name, v in found.items() if a11y.serious(v)}
    assert not failing, "axe-core: serious/critical violations\n" + "\n".join(
        a11y.report(name, v) for name, v in failing.items())


def test_allocation_plan_page_has_no_serious_accessibility_violations(live_server, axe_page, database_url):
    """axe-core on the page of the demo's allocation plan (Kreis Mettmann, seed 003), as the
    auditor with access to all recipients sees it, reached from the rule packs' page."""
    page = axe_page
    sign_in(page, live_server, "demo-pruefung")
    page.goto(live_server + "/regelwerke")
    page.get_by_role("link", name="Inklusionshilfe Kreis Mettmann, 2. Schulhalbjahr 2013/2014").click()
    expect(page.locator("main h1")).to_contain_text("Inklusionshilfe Kreis Mettmann")
    expect(page.locator("main")).to_contain_text("Summe der Zeilen")
    page.wait_for_load_state("load")
    expect(page.locator("main")).to_contain_text("Mittelbindung")
    violations = a11y.violations(page)
    print(a11y.report("Verteilungsplan", violations) or "Verteilungsplan: keine Verstöße")
    assert not a11y.serious(violations), a11y.report("Verteilungsplan", violations)
    # the navigation's entry leads to the list of the plans the user may read
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Verteilungspläne").click()
    expect(page.locator("main h1")).to_have_text("Verteilungspläne")
    page.wait_for_load_state("load")
    violations = a11y.violations(page)
    assert not a11y.serious(violations), a11y.report("Verteilungspläne", violations)

def test_the_lands_overview_lists_the_demo_recipients_and_passes_axe(live_server, axe_page, database_url):
    """The Land's user opens the Landesübersicht from the navigation, sorts by the amount open
    and filters the overdue years; axe-core (WCAG 2.x A/AA) finds no serious or critical violation."""
    page = axe_page
    sign_in(page, live_server, "demo-land")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Landesübersicht").click()
    expect(page.locator("main h1")).to_have_text("Landesübersicht der Inklusionspauschale")
    expect(page.locator("main table")).to_contain_text("Kreis Musterhausen")
    page.get_by_role("link", name="offen", exact=True).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    page.wait_for_load_state("load")
    violations = a11y.violations(page)
    print(a11y.report("Landesübersicht", violations) or "Landesübersicht: keine Verstöße")
    assert not a11y.serious(violations), a11y.report("Landesübersicht", a11y.serious(violations))


def test_officer_imports_overrides_and_issues_then_the_auditor_only_reads(live_server, page, database_url, tmp_path):
    """The whole job in the browser, demo Kreis Musterhausen 2023/24 (repayment 112.206,21 EUR):

    import a training invoice of 1.000,00 (permitted) → 111.206,21; override the unclassified
    invoice of 749,70 as permitted → 110.456,51; issue the statement and find that figure in
    its text. Then split the training invoice (600,00 of 1.000,00 conform) → 110.856,51: the
    training row keeps 8.140,00, the invoice without category stays in the category table
    (749,70), and the table adds up to the total spending 667.850,00 = 639.143,49 conform +
    14.260,00 excluded + 14.446,51 overhead above the cap. The auditor then sees the same pages
    without any form and is refused writing.
    """
    sign_in(page, live_server, "demo-sachbearbeitung")
    main = page.locator("main")
    page.goto(live_server + "/r/musterhausen/2023/")
    expect(main).to_contain_text("112.206,21")

    export = tmp_path / "2024-07-nachtrag.csv"
    export.write_text("Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag\n"
                      "15.07.2024;F-2024-0999;Fachtag Autismus;5292;1810;1.000,00\n", encoding="utf-8")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Import").click()
    page.get_by_label("Exportdatei oder Kontoauszug").set_input_files(str(export))
    page.get_by_role("button", name="Datei prüfen").click()
    expect(main).to_contain_text("Probelauf")
    page.get_by_role("button", name="Jetzt buchen").click()
    expect(main).to_contain_text("1 neu gebucht")
    expect(main).to_contain_text("2024-07-nachtrag.csv")
    page.goto(live_server + "/r/musterhausen/2023/")
    expect(main).to_contain_text("111.206,21")

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Prüfliste").click()
    page.get_by_role("link", name="abweichend einstufen").first.click()
    page.get_by_label("zulässig", exact=True).check()
    page.get_by_label("Begründung").fill("Rechnung betrifft die Fortbildung vom 12.03.2024 (Teilnehmerliste liegt vor)")
    page.get_by_role("button", name="Abweichend einstufen").click()
    expect(main).to_contain_text("Keine offenen Punkte")
    page.goto(live_server + "/r/musterhausen/2023/")
    expect(main).to_contain_text("110.456,51")
    shot(page, "dashboard-after-override", database_url)

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Verwendungsnachweise").click()
    page.get_by_role("textbox", name="Sachbericht").fill("Die Pools der Schulassistenz arbeiteten an allen GL-Grundschulen.")
    page.get_by_role("button", name="Sachbericht speichern").click()
    expect(main).to_contain_text("Sachbericht gespeichert.")
    page.get_by_role("button", name="Verwendungsnachweis 2023/24 ausstellen …").click()
    expect(main).to_contain_text("Nr. 1")
    expect(main).to_contain_text("110.456,51")
    page.get_by_role("button", name="Jetzt verbindlich ausstellen").click()
    expect(main).to_contain_text("Verwendungsnachweis Nr. 1 ausgestellt")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF Nr. 1").click()
    pdf = tmp_path / "abrechnung.pdf"
    download.value.save_as(pdf)
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "110.456,51" in text and "Teilnehmerliste liegt vor" in text

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Einstufung").click()
    page.get_by_role("link", name="abweichend einstufen (Beleg F-2024-0999").click()
    page.get_by_label("teilweise zulässig").check()
    page.get_by_label("Zulässiger Betrag in Euro").fill("600,00")
    page.get_by_label("Begründung").fill("400,00 der Rechnung betreffen die Bewirtung, nicht die Fortbildung")
    page.get_by_role("button", name="Abweichend einstufen").click()
    page.goto(live_server + "/r/musterhausen/2023/")
    expect(main).to_contain_text("110.856,51")
    categories = page.locator("section", has=page.locator("#verwendung"))
    expect(categories.get_by_role("row", name="Qualifizierung der Schulbegleitungen")).to_contain_text("8.140,00")
    expect(categories.get_by_role("row", name="ohne Kategorie")).to_contain_text("749,70")
    expect(categories.get_by_role("row", name="Ausgaben insgesamt")).to_contain_text("667.850,00")
    for label, amount in (("Zweckentsprechend (zulässig", "639.143,49"), ("Ausgeschlossen (individuelle", "14.260,00"),
                          ("Overhead über der Obergrenze", "14.446,51"), ("Nicht eingestuft", "0,00")):
        expect(categories.get_by_role("row", name=label)).to_contain_text(amount)
    shot(page, "dashboard-after-split", database_url)
    page.get_by_role("button", name="Abmelden").click()

    sign_in(page, live_server, "demo-pruefung")
    page.goto(live_server + "/r/musterhausen/2023/pruefliste")
    expect(main).not_to_contain_text("abweichend einstufen")
    page.goto(live_server + "/r/musterhausen/import")
    expect(main).to_contain_text("2024-07-nachtrag.csv")
    expect(page.get_by_role("button", name="Datei prüfen")).to_have_count(0)
    page.goto(live_server + "/r/musterhausen/2023/abrechnungen")
    expect(page.get_by_role("button", name="Verwendungsnachweis 2023/24 ausstellen …")).to_have_count(0)
    expect(main).to_contain_text("Die Pools der Schulassistenz arbeiteten an allen GL-Grundschulen.")
    response = page.goto(live_server + "/r/musterhausen/journal/neu")
    assert response.status == 403
    expect(main).to_contain_text("Zugriff verweigert")


def test_a_long_import_shows_its_progress_and_then_its_result(live_server, app, axe_page, database_url, tmp_path,
                                                              monkeypatch):
    """An import that outlasts ``JOB_WAIT_SECONDS`` (0 here; a gate holds it) answers with its
    progress page at once; job.js polls the job and shows the dry run's result when it ends."""
    from ledger.workflows import import_preview

    app.config["JOB_WAIT_SECONDS"] = 0
    gate, real = threading.Event(), import_preview.import_file   # the page polls until the first report

    def held(*args, progress, **kwargs):
        progress(0, 1)
        gate.wait(30)
        return real(*args, progress=progress, **kwargs)

    monkeypatch.setattr(import_preview, "import_file", held)   # the dry run's preview books in a savepoint
    page = axe_page
    sign_in(page, live_server, "demo-sachbearbeitung")
    export = tmp_path / "2024-07-gross.csv"
    export.write_text("Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag\n"
                      "16.07.2024;F-2024-1000;Fachtag Inklusion;5292;1810;500,00\n", encoding="utf-8")
    page.goto(live_server + "/r/musterhausen/import")
    page.get_by_label("Exportdatei oder Kontoauszug").set_input_files(str(export))
    page.get_by_role("button", name="Datei prüfen").click()
    main = page.locator("main")
    expect(main).to_contain_text("Der Vorgang läuft")
    expect(page.get_by_role("status")).to_contain_text("Zeilen geprüft: 0 von 1")
    expect(page.get_by_label("Fortschritt")).to_have_attribute("max", "1")
    shot(page, "import-progress", database_url)
    serious = a11y.serious(a11y.violations(page))
    assert not serious, a11y.report("Vorgang", serious)
    gate.set()
    expect(main).to_contain_text("davon neu zu buchen", timeout=15_000)    # reloaded by job.js, no click
    expect(page.get_by_role("button", name="Jetzt buchen")).to_be_visible()


def test_officer_imports_a_bank_statement_and_books_a_parked_entry(live_server, engine, axe_page, database_url):
    """The bank statement sample (camt.053) on Musterhausen's account: the profile chosen on the
    import page, the dry run's rows and effect, the booking, then the parked entries page where
    the officer books the provider's invoice; axe-core on the dry run and the parked page."""
    from ledger.core.bank import set_account_iban
    from ledger.core.recipients import get_recipient

    with Session(engine) as session:
        set_account_iban(session, get_recipient(session, "musterhausen"), "1810", "DE89370502990000123456",
                         actor="test", now=datetime(2026, 11, 22, 9, 0))
        session.commit()
    statement = Path(__file__).parent / "samples" / "camt053" / "auszug_2024-11-28_bis_2024-12-02.xml"
    page = axe_page
    sign_in(page, live_server, "demo-sachbearbeitung")
    page.goto(live_server + "/r/musterhausen/import")
    page.get_by_label("Importprofil").select_option(label="Kontoauszug camt.053 (ISO 20022)")
    page.get_by_label("Exportdatei oder Kontoauszug").set_input_files(str(statement))
    page.get_by_role("button", name="Datei prüfen").click()
    main = page.locator("main")
    expect(main).to_contain_text("davon zur Klärung zurückgestellt (kein Gegenkonto)", timeout=15_000)
    expect(main).to_contain_text("Wirkung auf die Rückzahlung")
    shot(page, "import-statement-preview", database_url)
    serious = a11y.serious(a11y.violations(page))
    assert not serious, a11y.report("Probelauf Kontoauszug", serious)
    page.get_by_role("button", name="Jetzt buchen").click()
    expect(main).to_contain_text("zur Klärung zurückgestellt", timeout=15_000)
    main.get_by_role("link", name="zurückgestellte Kontoumsätze buchen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zurückgestellte Kontoumsätze")
    serious = a11y.serious(a11y.violations(page))
    assert not serious, a11y.report("Zurückgestellte Kontoumsätze", serious)
    invoice = page.locator("section.parked", has_text="Inklusionsdienste Rhein-Sieg gGmbH")
    invoice.get_by_label("Gegenkonto").select_option("5291")
    invoice.get_by_role("button", name="Buchen").click()
    expect(main).to_contain_text("Kontoumsatz gebucht (Buchung Nr.")
    expect(main).not_to_contain_text("Inklusionsdienste Rhein-Sieg gGmbH")


def test_the_provider_budget_page_of_the_demo_passes_axe(live_server, axe_page, database_url):
    """The auditor (all recipients) reaches the demo's provider budget of Stadt Bremerhaven from
    the navigation; axe-core (WCAG 2.x A/AA) finds no serious or critical violation."""
    page = axe_page
    sign_in(page, live_server, "demo-pruefung")
    page.goto(live_server + "/r/bremerhaven/journal")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Trägerbudgets").click()
    expect(page.locator("main h1")).to_have_text("Trägerbudgets")
    expect(page.locator("main")).to_contain_text("9.876.543,21")
    expect(page.locator("main")).to_contain_text("hält voraussichtlich nicht an")
    page.wait_for_load_state("load")
    violations = a11y.violations(page)
    print(a11y.report("Trägerbudgets", violations) or "Trägerbudgets: keine Verstöße")
    assert not a11y.serious(violations), a11y.report("Trägerbudgets", a11y.serious(violations))


def test_the_auditor_takes_the_books_along(live_server, axe_page, database_url, tmp_path):
    """The auditor (all recipients) opens the downloads of demo Kreis Musterhausen from the
    navigation (axe: no serious violation), downloads the journal 2023/24 as XLSX (opened with
    openpyxl: headings, the payout of 750.000,00 as a number, dates as dates), the trial
    balance as CSV (debit total = credit total) and the GoBD data set as ZIP (index.xml valid
    against the GDPdU DTD); each download is in the audit log."""
    import csv
    import io
    import zipfile

    import openpyxl

    from tests.test_exports import _validate_with_dtd

    page = axe_page
    sign_in(page, live_server, "demo-pruefung")
    page.goto(live_server + "/r/musterhausen/2023/")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Downloads").click()
    expect(page.locator("main h1")).to_have_text("Downloads Kreis Musterhausen")
    page.wait_for_load_state("load")
    violations = a11y.violations(page)
    print(a11y.report("Downloads", violations) or "Downloads: keine Verstöße")
    assert not a11y.serious(violations), a11y.report("Downloads", a11y.serious(violations))
    shot(page, "downloads", database_url)

    def download(button: str, name: str) -> Path:
        with page.expect_download() as info:
            page.get_by_role("button", name=button).click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        assert path.name == name
        return path

    journal = page.get_by_role("group", name="Journal")
    journal.get_by_label("Schuljahr").select_option("2023")
    workbook = openpyxl.load_workbook(download("Journal als XLSX herunterladen", "Journal_musterhausen_2023-24.xlsx"))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    assert header[:8] == ["Buchung Nr.", "Buchungsdatum", "Belegnummer", "Buchungstext", "Konto", "Kontobezeichnung",
                          "Soll", "Haben"]
    rows = [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2)]
    assert any(r["Soll"].value == 750000 and r["Soll"].data_type == "n" for r in rows)
    assert all(isinstance(r["Buchungsdatum"].value, datetime) for r in rows)
    assert {r["Schuljahr"].value for r in rows} >= {"2023/24"}

    saldenliste = page.get_by_role("group", name="Summen- und Saldenliste")
    saldenliste.get_by_label("Schuljahr").select_option("2023")
    path = download("Summen- und Saldenliste als CSV herunterladen",
                    "Summen-und-Saldenliste_musterhausen_2023-24.csv")
    lines = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";"))
    assert lines[0][:3] == ["Konto", "Kontobezeichnung", "Kontoart"] and lines[-1][0] == "Summe"
    assert lines[-1][4] == lines[-1][5]                       # Soll = Haben

    page.get_by_role("group", name="Datenträgerüberlassung").get_by_label("Schuljahr").select_option("2023")
    path = download("GoBD-Datenträgerüberlassung als ZIP herunterladen",
                    "GoBD-Datenueberlassung_musterhausen_2023-24.zip")
    folder = tmp_path / "gobd"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    _validate_with_dtd(folder)

    page.locator(".user-menu").get_by_role("link", name="Protokoll").click()
    expect(page.locator("main")).to_contain_text("Daten heruntergeladen")
    expect(page.locator("main tbody tr").filter(has_text="Daten heruntergeladen")).to_have_count(3)


def test_the_provider_budget_forms_and_the_dashboard_deadlines_pass_axe(live_server, axe_page, engine, database_url):
    """An officer of Stadt Bremerhaven: the budget page with its forms, a refused hours report (the
    error at the form) and the dashboard with the deadlines pass axe-core (WCAG 2.x A/AA)."""
    from ledger.core.recipients import get_recipient
    from ledger.core.users import add_user

    with Session(engine) as session:
        add_user(session, "bremerhaven-sb", "officer", actor="test", now=datetime(2026, 11, 22, 9, 0),
                 password=DEMO_PASSWORD, recipients=(get_recipient(session, "bremerhaven"),), initial_password=False)
        session.commit()

    page = axe_page
    found: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        found[name] = a11y.violations(page)

    sign_in(page, live_server, "bremerhaven-sb")
    page.goto(live_server + "/r/bremerhaven/traegerbudgets")
    expect(page.locator("main")).to_contain_text("2025-B07")
    check("Trägerbudgets mit Formularen")
    section = page.locator("main section", has_text="Stundenbericht eines Quartals")
    section.get_by_label("Quartal (z. B. 2025-Q1)").fill("2026-Q5")
    section.get_by_label("Erbrachte Stunden Fachkräfte").fill("1.800,00")
    section.get_by_label("Erbrachte Stunden semiprofessionell").fill("450")
    section.get_by_role("button", name="Stundenbericht speichern").click()
    expect(page.locator("main [role=alert]")).to_contain_text("Stundenbericht nicht gespeichert")
    check("Trägerbudgets (Fehler)")
    section = page.locator("main section", has_text="Stundenbericht eines Quartals")
    section.get_by_label("Quartal (z. B. 2025-Q1)").fill("2026-Q1")
    section.get_by_role("button", name="Stundenbericht speichern").click()
    expect(page.locator("main")).to_contain_text("Stundenbericht gespeichert.")
    page.goto(live_server + "/r/bremerhaven/")
    check("Übersicht Bremerhaven")

    for name, violations in found.items():
        print(a11y.report(name, violations) or f"{name}: keine Verstöße")
    failing = {name: a11y.serious(v) for name, v in found.items() if a11y.serious(v)}
    assert not failing, "axe-core: serious/critical violations\n" + "\n".join(
        a11y.report(name, v) for name, v in failing.items())


def test_officer_walks_a_school_year_through_the_web_and_the_admin_reopens_it(live_server, axe_page, database_url):
    """Kreis Musterhausen's school year 2025/26, empty in the demo, only through the web: the
    start page, the assessment notice, a payout refused above the grant (its error summary gets
    the focus) and then booked, the repayment confirmed and paid, the year closed; the
    administration re-opens it. axe-core on the start page and on the year's page with an error."""
    page = axe_page
    found: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        found[name] = a11y.violations(page)

    main = page.locator("main")
    sign_in(page, live_server, "demo-sachbearbeitung")
    page.goto(live_server + "/r/musterhausen/2025/")
    expect(main).to_contain_text("Noch keine Daten für das Schuljahr 2025/26")
    check("Schuljahr ohne Daten")
    main.get_by_role("link", name="Festsetzungsbescheid erfassen").click()
    expect(page.locator("main h1")).to_have_text("Schuljahr 2025/26 verwalten")
    page.get_by_label("Festgesetzter Betrag (EUR)").fill("100.000,00")
    page.get_by_label("Datum des Festsetzungsbescheids").fill("2025-09-15")
    page.get_by_role("button", name="Festsetzung erfassen").click()
    expect(main).to_contain_text("Inklusionspauschale 2025/26: 100.000,00 EUR festgesetzt.")

    page.get_by_label("Tag der Auszahlung").fill("2025-10-01")
    page.get_by_label("Auszahlungsbetrag (EUR)").fill("100.000,01")
    page.get_by_role("button", name="Auszahlung buchen").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("übersteigen den festgesetzten Betrag (100.000,00 EUR)")
    expect(page.get_by_label("Auszahlungsbetrag (EUR)")).to_have_attribute("aria-invalid", "true")
    check("Schuljahr verwalten (Fehler)")
    shot(page, "year-error", database_url)
    page.get_by_label("Auszahlungsbetrag (EUR)").fill("100.000,00")
    page.get_by_role("button", name="Auszahlung buchen").click()
    expect(main).to_contain_text("Auszahlung 100.000,00 EUR am 01.10.2025 gebucht")

    page.get_by_label("Buchungsdatum").fill("2026-09-30")
    page.get_by_role("button", name="Rückzahlung bestätigen").click()
    expect(main).to_contain_text("Rückzahlungsverpflichtung gebucht")
    page.get_by_label("Tag der Zahlung an die Landeskasse").fill("2026-10-15")
    page.get_by_label("Zahlbetrag (EUR)").fill("100.000,00")
    page.get_by_role("button", name="Zahlung buchen", exact=True).click()
    expect(main).to_contain_text("Rückzahlung 100.000,00 EUR gebucht")
    expect(main).to_contain_text("kann abgeschlossen werden")
    check("Schuljahr verwalten")
    page.get_by_role("button", name="Schuljahr 2025/26 abschließen").click()
    expect(main).to_contain_text("Schuljahr 2025/26 abgeschlossen.")
    expect(page.get_by_role("button", name="Zahlung buchen", exact=True)).to_have_count(0)
    shot(page, "year-closed", database_url)

    page.get_by_role("button", name="Abmelden").click()
    sign_in(page, live_server, "demo-admin")
    page.goto(live_server + "/r/musterhausen/2025/schuljahr")
    page.get_by_label("Begründung (wird protokolliert)").fill("Nachbuchung einer Rechnung")
    page.get_by_role("button", name="Schuljahr wieder öffnen").click()
    expect(main).to_contain_text("Schuljahr 2025/26 wieder geöffnet.")
    check("Schuljahr verwalten (Administration)")

    for name, violations in found.items():
        print(a11y.report(name, violations) or f"{name}: keine Verstöße")
    failing = {name: a11y.serious(v) for name, v in found.items() if a11y.serious(v)}
    assert not failing, "axe-core: serious/critical violations\n" + "\n".join(
        a11y.report(name, v) for name, v in failing.items())

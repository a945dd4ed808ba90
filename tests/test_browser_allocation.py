"""Claims of the Kreis Mettmann's allocation plan and the Kreis Musterhausen's pass-through plan in
a real browser (Playwright with Debian's Chromium, as tests/test_browser.py), with axe-core.

Wülfrath's ceiling is 10.000 € (Anlage 1 zu den Rahmenbedingungen „Bereitstellung von
Inklusionshelfern in den allgemeinen Schulen im Kreis Mettmann“: 678 pupils → 10 children → 2
helpers); its claim of 5.000,00 € and 5.200,00 € is judged by Nr. 4.3 (at most 5.000 € per
helper): 10.000,00 € accepted, 200,00 € refused.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inkl.demo import DEMO_DIR
from tests import a11y
from tests.test_browser import axe_page, live_server, shot, sign_in  # noqa: F401  (fixtures)


@pytest.fixture
def plans_app(app):
    """The app finds the demo's pass-through plan (as ``inkl demo`` configures it)."""
    app.config["PASS_THROUGH_DIRS"] = (DEMO_DIR / "verteilung",)
    return app


def test_the_kreis_officer_enters_a_claim_for_wuelfrath_and_the_pages_pass_axe(plans_app, live_server, axe_page,  # noqa: F811
                                                                               database_url):
    page = axe_page
    found: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        found[name] = a11y.violations(page)

    sign_in(page, live_server, "demo-mettmann")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Verteilungspläne").click()
    page.get_by_role("link", name="Inklusionshilfe Kreis Mettmann, 2. Schulhalbjahr 2013/2014").click()
    expect(page.locator("main h3#abruf-titel")).to_have_text("Mittelabruf erfassen")
    check("Verteilungsplan mit Formular")
    form = page.locator("form#abruf")
    form.get_by_label("Stadt (Empfänger)").select_option(label="Wülfrath")
    form.get_by_label("Tag des Mittelabrufs").fill("2014-08-01")
    form.get_by_label("Fundstelle der verbindlichen Erklärung").fill("Erklärung nach Anlage 2 vom 01.08.2014")
    form.get_by_role("button", name="Mittelabruf prüfen und erfassen").click()
    summary = page.locator("main .error-summary")
    expect(summary).to_contain_text("Bitte die Personalkosten mindestens eines Inklusionshelfers angeben.")
    expect(summary).to_be_focused()
    check("Verteilungsplan mit Fehler")
    form = page.locator("form#abruf")
    form.get_by_label("Personalkosten Inklusionshelfer 1 (EUR)").fill("5.000,00")
    form.get_by_label("Fallzeichen zu Inklusionshelfer 1").fill("WU-2014-01, WU-2014-02")
    form.get_by_label("Personalkosten Inklusionshelfer 2 (EUR)").fill("5.200,00")
    form.get_by_label("Fallzeichen zu Inklusionshelfer 2").fill("WU-2014-03")
    form.get_by_role("button", name="Mittelabruf prüfen und erfassen").click()
    main = page.locator("main")
    expect(main).to_contain_text("Mittelabruf Wülfrath vom 01.08.2014 erfasst: beantragt 10.200,00 EUR, "
                                 "anerkannt 10.000,00 EUR, abgelehnt 200,00 EUR.")
    decision = page.locator("section.decision")
    expect(decision).to_contain_text("gekürzt")
    expect(decision).to_contain_text("höchstens 5.000,00 EUR je eingesetztem Inklusionshelfer")
    check("Entscheidung über den Mittelabruf")
    shot(page, "mittelabruf-entscheidung", database_url)
    page.locator("tr", has_text="vom 01.08.2014").get_by_role("button", name="Auszahlen").click()
    expect(main).to_contain_text("ausgezahlt am")
    page.get_by_role("button", name="Abmelden").click()

    sign_in(page, live_server, "demo-sachbearbeitung")
    page.goto(live_server + "/verteilung/")
    page.get_by_role("link", name="Weiterleitung der Inklusionspauschale an kreisangehörige Gemeinden, "
                                  "Schuljahr 2023/24").click()
    expect(main).to_contain_text("41.110,49")
    check("Weiterleitung")
    form = page.locator("main form", has_text="Mittelabruf einer Gemeinde erfassen")
    form.get_by_label("Gemeinde", exact=True).select_option(label="Stadt Lindental")
    form.get_by_label("Tag des Mittelabrufs").fill("2023-09-28")
    form.get_by_label("Abgerufener Betrag (EUR)").fill("10.000,00")
    form.get_by_label("Fundstelle des Mittelabrufs der Gemeinde").fill("Abruf vom 28.09.2023")
    form.get_by_role("button", name="Mittelabruf prüfen und als Weiterleitung buchen").click()
    expect(main).to_contain_text("als Weiterleitung gebucht 10.000,00")
    check("Weiterleitung mit Entscheidung")
    for name, violations in found.items():
        print(a11y.report(name, violations) or f"{name}: keine Verstöße")
    failing = {name: a11y.serious(v) for name, v in found.items() if a11y.serious(v)}
    assert not failing, "\n".join(a11y.report(name, v) for name, v in failing.items())

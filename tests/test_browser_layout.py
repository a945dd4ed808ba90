"""Every page kind in a real browser at a desktop width (1366 × 768) and a phone width (390 × 844):
axe-core finds no serious or critical violation (WCAG 2.x A/AA, BITV NRW), the page never
scrolls sideways (wide tables scroll inside their box), the header with the main navigation and
"Abmelden" stays visible. Screenshots of the main pages at both widths go to tests/artifacts/
(``layout-<page>-<width>.png``, committed; see tests/artifacts/README.md).

Same set-up as tests/test_browser.py (Debian's Chromium, the demo data, waitress).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, live_server, sign_in  # noqa: F401

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (after test_browser's skip)

from tests import a11y  # noqa: E402

#: (width, height) of a desktop window and of a phone (iPhone 12–15 class).
VIEWPORTS = {"1366": (1366, 768), "390": (390, 844)}
#: Pages whose screenshots are kept in tests/artifacts/.
SCREENSHOTS = {"anmeldung", "uebersicht", "journal", "einstufung", "landesuebersicht", "schuljahr"}
#: Largest committed screenshot (bytes); a larger one is replaced by the window alone.
MAX_PNG_BYTES = 300_000
#: Tallest screenshot (pixels): long pages are shown from their top.
MAX_SHOT_HEIGHT = 3000

#: (name, demo user or None for no log-in, path). The officer of Kreis Musterhausen sees the
#: recipient's pages and forms; the auditor (all recipients) the budget and allocation plan;
#: the ministry the Landesübersicht; the admin the users.
PAGES = (
    ("anmeldung", None, "/anmelden"),
    ("barrierefreiheit", None, "/barrierefreiheit"),
    ("empfaenger", "demo-sachbearbeitung", "/"),
    ("uebersicht", "demo-sachbearbeitung", "/r/musterhausen/2023/"),
    ("journal", "demo-sachbearbeitung", "/r/musterhausen/journal"),
    ("buchung", "demo-sachbearbeitung", None),                        # the journal's first entry
    ("buchung-erfassen", "demo-sachbearbeitung", "/r/musterhausen/journal/neu"),
    ("import", "demo-sachbearbeitung", "/r/musterhausen/import"),
    ("pruefliste", "demo-sachbearbeitung", "/r/musterhausen/2023/pruefliste"),
    ("einstufung", "demo-sachbearbeitung", "/r/musterhausen/2023/einstufung"),
    ("stammdaten", "demo-sachbearbeitung", "/r/musterhausen/stammdaten"),
    ("kontenplan", "demo-sachbearbeitung", "/r/musterhausen/kontenplan"),
    ("verwendungsnachweise", "demo-sachbearbeitung", "/r/musterhausen/2023/abrechnungen"),
    ("regelwerke", "demo-sachbearbeitung", "/regelwerke"),
    ("protokoll", "demo-sachbearbeitung", "/protokoll"),
    ("zugangstoken", "demo-sachbearbeitung", "/zugangstoken"),
    ("downloads", "demo-sachbearbeitung", "/r/musterhausen/downloads"),
    ("schuljahr", "demo-sachbearbeitung", "/r/musterhausen/2023/schuljahr"),
    ("passwort", "demo-sachbearbeitung", "/passwort"),
    ("landesuebersicht", "demo-land", "/land/"),
    ("traegerbudgets", "demo-pruefung", "/r/bremerhaven/traegerbudgets"),
    ("verteilungsplan", "demo-pruefung", "/verteilung/mettmann-2014"),
    ("benutzer", "demo-admin", "/admin/benutzer"),
)


def _layout_problems(page, width: int, signed_in: bool) -> list[str]:
    """What is wrong with the layout of ``page`` at ``width``: sideways page scroll, a hidden
    header, main navigation or log-out button, or one outside the window."""
    problems = []
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate("""(w) => Array.from(document.querySelectorAll('main *'))
            .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-scroll'))
            .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                              + (e.id ? '#' + e.id : ''))""", width)
        problems.append(f"page scrolls sideways: scrollWidth {scroll_width} > {width} ({', '.join(wide)})")
    header = page.locator("header.site-header")
    if not header.is_visible():
        problems.append("header not visible")
    if signed_in:
        nav = page.get_by_role("navigation", name="Hauptnavigation")
        links = nav.get_by_role("link")
        if links.count() == 0 or not all(links.nth(i).is_visible() for i in range(links.count())):
            problems.append("main navigation not visible")
        logout = page.get_by_role("button", name="Abmelden")
        box = logout.bounding_box() if logout.is_visible() else None
        if box is None or box["x"] < 0 or box["x"] + box["width"] > width:
            problems.append(f"Abmelden not visible within the window: {box}")
    return problems


def _screenshot(page, name: str, label: str) -> Path:
    """The page from its top, at most ``MAX_SHOT_HEIGHT`` pixels tall, as a PNG of at most 256
    colours (Pillow); the window alone if that is still above ``MAX_PNG_BYTES``. Returns the file."""
    from PIL import Image

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"layout-{name}-{label}.png"
    size = page.viewport_size
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_SHOT_HEIGHT)
    for clip in ({"x": 0, "y": 0, "width": size["width"], "height": height}, None):
        page.screenshot(path=path, full_page=clip is not None, clip=clip, animations="disabled", caret="hide")
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        if path.stat().st_size <= MAX_PNG_BYTES:
            break
    return path


@pytest.mark.parametrize("label", list(VIEWPORTS))
def test_every_page_kind_fits_the_window_and_passes_axe(live_server, database_url, label):  # noqa: F811
    """Each page of ``PAGES`` at the width ``label``: no serious or critical axe violation, no
    sideways page scroll, header, navigation and "Abmelden" visible; screenshots of ``SCREENSHOTS``."""
    script = a11y.axe_script()
    assert script.exists()
    width, height = VIEWPORTS[label]
    found: dict[str, list[dict]] = {}
    problems: dict[str, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(locale="de-DE", viewport={"width": width, "height": height},
                                      device_scale_factor=1, **a11y.CONTEXT_OPTIONS)
        page = context.new_page()
        user = None
        for name, who, path in PAGES:
            if who != user:
                if user is not None:
                    page.get_by_role("button", name="Abmelden").click()
                    expect(page.locator("main")).to_contain_text("Sie sind abgemeldet.")
                if who is not None:
                    sign_in(page, live_server, who)
                user = who
            if path is None:
                page.goto(live_server + "/r/musterhausen/journal")
                page.locator("main table tbody tr").first.get_by_role("link").first.click()
            else:
                response = page.goto(live_server + path)
                assert response.status == 200, f"{name}: {path} answered {response.status}"
            page.wait_for_load_state("load")
            expect(page.locator("main h1")).to_be_visible()
            found[name] = a11y.serious(a11y.violations(page))
            problems[name] = _layout_problems(page, width, signed_in=who is not None)
            if name in SCREENSHOTS and database_url.startswith("sqlite"):
                assert _screenshot(page, name, label).stat().st_size <= MAX_PNG_BYTES
        browser.close()
    failing = {name: v for name, v in found.items() if v}
    assert not failing, f"axe-core at {label} px: serious/critical violations\n" + "\n".join(
        a11y.report(name, v) for name, v in failing.items())
    wrong = {name: p for name, p in problems.items() if p}
    assert not wrong, f"layout at {label} px:\n" + "\n".join(f"{name}: {'; '.join(p)}" for name, p in wrong.items())


@pytest.mark.parametrize("label", list(VIEWPORTS))
def test_a_refused_form_focuses_its_error_summary_whose_links_lead_to_the_fields(live_server, database_url, label):  # noqa: F811
    """The log-in with a wrong password and a manual entry without its data: the summary has the
    focus after the refused POST, its link puts the focus into the field; axe finds nothing serious."""
    width, height = VIEWPORTS[label]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(locale="de-DE", viewport={"width": width, "height": height},
                                      **a11y.CONTEXT_OPTIONS)
        page = context.new_page()
        page.goto(live_server + "/anmelden")
        page.get_by_label("Benutzername").fill("demo-sachbearbeitung")
        page.get_by_label("Passwort").fill("falsch-geraten-123")
        page.get_by_role("button", name="Anmelden").click()
        summary = page.locator(".error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("Benutzername oder Passwort ist falsch.")
        assert not a11y.serious(a11y.violations(page)), "Anmeldung (Fehler)"
        summary.get_by_role("link", name="Passwort: Benutzername oder Passwort ist falsch.").click()
        expect(page.get_by_label("Passwort")).to_be_focused()

        sign_in(page, live_server, "demo-sachbearbeitung")
        page.goto(live_server + "/r/musterhausen/journal/neu")
        page.get_by_role("button", name="Buchen").click()
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("Nicht gebucht")
        serious = a11y.serious(a11y.violations(page))
        assert not serious, a11y.report("Neue Buchung (Fehler)", serious)
        summary.get_by_role("link", name=re.compile("^Belegnummer:")).click()
        expect(page.get_by_label("Belegnummer")).to_be_focused()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        browser.close()

"""The directory log-in in a real browser: Playwright driving Debian's Chromium against the app
served by waitress, which logs in against Debian's slapd started by the tests (``tests.slapd``).

dora's directory group makes her Sachbearbeitung of Kreis Testland; otto's only group (the
canteen) grants no role here, so his log-in is refused with a message, and the page with
that message passes axe. Without Chromium or slapd the tests are skipped locally and fail in CI.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import slapd

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("CI: /usr/bin/chromium is missing (Debian package chromium)", pytrace=False)
    pytest.skip("Debian's Chromium is not installed", allow_module_level=True)
slapd.require_slapd()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from ledger.core.directory_config import load_directory_config  # noqa: E402
from tests import a11y  # noqa: E402
from tests.conftest import served  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"
LAUNCH_ARGS = ["--lang=de-DE", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_directory_app(database_url, engine, kreis, slapd_uri, tmp_path, monkeypatch):
    """The app with Kreis Testland, logging in against slapd, served on 127.0.0.1 and a free port."""
    from webapp import create_app

    monkeypatch.setenv("INKL_TEST_LDAP_PASSWORD", slapd.SERVICE_PASSWORD)
    path = tmp_path / "inkl.toml"
    path.write_text(slapd.config_toml(slapd_uri), encoding="utf-8")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False,
                      "DIRECTORY": load_directory_config(path)})
    with served(app) as url:
        yield url
    app.extensions["inkl_jobs"].shutdown()


@pytest.fixture
def axe_page(database_url):
    """A page whose context ignores the app's CSP, so axe-core can be injected (``tests.a11y``)."""
    script = a11y.axe_script()
    assert script.exists()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, **a11y.CONTEXT_OPTIONS)
        yield context.new_page()
        browser.close()


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url + "/")
    expect(page).to_have_url(url + "/anmelden?next=%2F")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()


def test_a_directory_user_logs_in_and_one_whose_group_grants_no_role_is_refused(live_directory_app, axe_page,
                                                                                 database_url):
    url, page = live_directory_app, axe_page
    backend = database_url.split(":", 1)[0].split("+")[0]
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in(page, url, "dora", slapd.PASSWORDS["dora"])
    expect(page.locator(".user-menu")).to_contain_text("dora (Sachbearbeitung)")
    expect(page.locator("main")).to_contain_text("Kreis Testland")
    page.locator(".user-menu").get_by_role("link", name="Passwort").click()
    expect(page.locator("main")).to_contain_text("Dieses Passwort ändern Sie dort")
    page.screenshot(path=ARTIFACTS / f"directory-login-{backend}.png", full_page=True)
    page.get_by_role("button", name="Abmelden").click()
    expect(page.locator("main")).to_contain_text("Sie sind abgemeldet.")

    sign_in(page, url, "otto", slapd.PASSWORDS["otto"])
    main = page.locator("main")
    expect(main).to_contain_text("keiner Ihrer Gruppen ist hier eine Rolle zugeordnet")
    expect(main).to_contain_text("Bitte wenden Sie sich an die Administration.")
    expect(page.get_by_label("Passwort")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".user-menu")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / f"directory-no-role-{backend}.png", full_page=True)
    violations = a11y.violations(page)
    assert not a11y.serious(violations), a11y.report("Anmeldung ohne Rolle", violations)

    page.goto(url + "/r/testland/journal")                             # still not logged in
    expect(page).to_have_url(url + "/anmelden?next=%2Fr%2Ftestland%2Fjournal")

"""Web UI (webapp): pages rendered from books set up through the core, on SQLite and PostgreSQL.

Fixture: Kreis Musterhausen, school year 2023/24, grant 100.000,00 EUR paid out on
16.10.2023 (so the repayment is due 1 April 2024 = Easter Monday, moved to 2 April 2024
under § 193 BGB), pool personnel 40.000,00 (overhead cap 15 % = 6.000,00), overhead
8.000,00 (2.000,00 above the cap), § 35a SGB VIII 1.500,00 (excluded), 500,00 unclassified.
Purpose-conform: 40.000,00 + 6.000,00 = 46.000,00; repayment due 54.000,00.
"""
from __future__ import annotations

import html
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from babel.numbers import format_currency as babel_currency
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from ledger.core.agreements import add_agreement
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import JournalEntry
from ledger.core.posting import reverse_entry
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.journal import list_entries
from tests.conftest import add_master_data, add_web_user, import_bytes, login
from webapp.formatting import countdown, date_de, date_long, datetime_de, eur, percent

NOW = datetime(2026, 11, 22, 10, 0, 0)
SY = SchoolYear(2023)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr"
CSV = "\n".join([
    HEADER,
    "31.10.2023;B-1;Schulassistenz Pool Nord Oktober;5291;1810;40.000,00;KS-100;;",
    "31.10.2023;B-2;Koordination Pool-Modell;5012;1810;8.000,00;;;",
    "02.11.2023;B-3;Schulbegleitung Einzelfall P-017;5331;1810;1.500,00;;;",
    "03.11.2023;B-4;Rechnung Klärung ausstehend;5299;1810;500,00;;;",
]) + "\n"


def _text(response) -> str:
    """The response's HTML with tags removed and whitespace collapsed (nbsp → space)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


@pytest.fixture
def books(session):
    """Musterhausen with grant, payout and an import; Nachbarstadt with one entry of its own."""
    muster = add_recipient(session, "musterhausen", "Kreis Musterhausen", "kreis", actor="test", now=NOW)
    grant = add_grant(session, muster, SY, Decimal("100000.00"), notice_date=date(2023, 9, 1), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 10, 16), Decimal("100000.00"), created_by="test", now=NOW)
    add_master_data(session, muster, pools=("KS-100",))
    summary = import_bytes(session, muster, CSV.encode(), "export.csv", created_by="test", now=NOW)
    assert summary.ok and summary.imported == 4, summary.errors

    other = add_recipient(session, "nachbarstadt", "Stadt Nachbarstadt", "stadt", actor="test", now=NOW)
    add_grant(session, other, SY, Decimal("5000.00"), actor="test", now=NOW)
    other_csv = HEADER + "\n15.11.2023;N-1;Pool Süd;5291;1810;1.000,00;;;\n"
    assert import_bytes(session, other, other_csv.encode(), "n.csv", created_by="test", now=NOW).ok
    session.commit()
    entries = {e.voucher_number: e for e in session.query(JournalEntry).all()}
    return {"muster": muster, "other": other, "entries": entries}


@pytest.fixture
def web(app, books, session):
    """Test client of an auditor reading every recipient, with "today" fixed to 1 March 2024."""
    app.config["TODAY"] = date(2024, 3, 1)
    add_web_user(session, "pruefung", "auditor", all_recipients=True)
    client = app.test_client()
    assert login(client, "pruefung").status_code == 302
    return client


# ----------------------------------------------------------------- formatting


def test_german_formats(app):
    with app.app_context():
        _check_german_formats()
    with app.test_request_context("/"):
        _check_german_formats()


def _check_german_formats():
    assert eur(Decimal("1234.56")) == "1.234,56\xa0€"
    assert eur(Decimal("-0.50")) == "-0,50\xa0€"
    assert eur(None) == "–"
    with pytest.raises(TypeError):
        eur(1234.56)
    assert date_de(date(2024, 4, 1)) == "01.04.2024"
    assert date_long(date(2024, 4, 1)) == "1. April 2024"
    assert datetime_de(datetime(2026, 1, 2, 10, 5)) == "02.01.2026, 10:05 Uhr"   # local time, not shifted
    # a time recorded late in the evening stays on its day (was shifted into the next day as if UTC)
    assert date_de(datetime(2026, 12, 6, 23, 30)) == "06.12.2026"
    assert percent(Decimal("0.125")) == "12,5\xa0%"


@given(st.integers(min_value=-10**13, max_value=10**13))
def test_amounts_read_exactly_as_babel_formats_euros(cents):
    """``eur`` formats with ``ledger.core.money.format_german`` (the PDF's formatting), not through
    Babel, for speed; for every amount it must read exactly as Babel's de_DE currency format."""
    amount = Decimal(cents).scaleb(-2)
    assert eur(amount) == babel_currency(amount, "EUR", locale="de_DE")


def test_countdown_texts():
    due = date(2024, 4, 2)
    assert countdown(due, date(2024, 2, 20)) == "noch 42 Tage"
    assert countdown(due, date(2024, 4, 1)) == "noch 1 Tag"
    assert countdown(due, due) == "Frist endet heute"
    assert countdown(due, date(2024, 4, 3)) == "Frist abgelaufen seit 1 Tag"
    assert countdown(due, date(2024, 4, 5)) == "Frist abgelaufen seit 3 Tagen"
    assert countdown(None, due).startswith("keine Frist")


# ----------------------------------------------------------------- home and dashboard


def test_home_lists_recipients_with_link_to_latest_year(web):
    response = web.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'lang="de"' in page
    assert "Kreis Musterhausen" in page and "Stadt Nachbarstadt" in page
    assert "kreisfreie Stadt" in page
    assert 'href="/r/musterhausen/2023/"' in page


def test_recipient_root_redirects_to_latest_school_year(web):
    response = web.get("/r/musterhausen/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/r/musterhausen/2023/")


def test_dashboard_shows_german_figures(web):
    response = web.get("/r/musterhausen/2023/")
    assert response.status_code == 200
    text = _text(response)
    assert "Kreis Musterhausen" in text and "Schuljahr 2023/24" in text
    assert "100.000,00 €" in text                      # assessed and received
    assert "40.000,00 €" in text                       # pool personnel
    assert "Obergrenze (15 % der Personalkosten) 6.000,00 €" in text
    assert "Overhead gebucht 8.000,00 €" in text
    assert "Überschreitung (nicht zweckentsprechend) 2.000,00 €" in text
    assert "Zweckentsprechend (zulässig, Overhead bis zur Obergrenze) 46.000,00 €" in text
    assert "Ausgeschlossen (individuelle Ansprüche, keine GL-Schule, ungeprüfte Weiterleitung …) 1.500,00 €" in text
    assert "Nicht eingestuft 500,00 €" in text
    assert "erst als zweckentsprechend, wenn die fehlenden Angaben ergänzt sind" in text
    assert "Rückzahlung fällig 54.000,00 €" in text
    assert "Offen 54.000,00 €" in text
    for status in ("zulässig", "zulässig bis zur Obergrenze", "ausgeschlossen"):
        assert status in text
    assert "16.10.2023" in text                        # the payout


def test_dashboard_due_date_is_shifted_past_easter_monday(web):
    text = _text(web.get("/r/musterhausen/2023/"))
    assert "Dienstag, 02.04.2024" in text
    assert "Regulär 01.04.2024 (Ostermontag, gesetzlicher Feiertag)" in text
    assert "§ 193 BGB" in text
    assert "noch 32 Tage" in text                      # 1 March → 2 April 2024 (leap year)


def test_dashboard_countdown_after_the_deadline(app, web):
    app.config["TODAY"] = date(2024, 4, 5)
    text = _text(web.get("/r/musterhausen/2023/"))
    assert "Frist abgelaufen seit 3 Tagen" in text
    # 54.000,00 open since 02.04.2024: 3 days at 3,62 % + 3 = 6,62 %, 2024 has 366 days:
    # 54.000,00 × 6,62 % × 3 / 366 = 29,3016… → 29,30
    assert "Verzugszinsen (§ 49a Abs. 3 VwVfG NRW), offene Beträge bis 05.04.2024 29,30 €" in text


def test_dashboard_shows_no_interest_before_the_deadline(web):
    assert "Verzugszinsen" not in _text(web.get("/r/musterhausen/2023/"))


def test_dashboard_overhead_gauge_is_inline_svg(web):
    page = web.get("/r/musterhausen/2023/").get_data(as_text=True)
    assert "<svg" in page and 'class="gauge-excess"' in page
    assert "<script" not in page
    assert "Overhead nutzt 133,3 % der Obergrenze" in _text(web.get("/r/musterhausen/2023/"))


def test_dashboard_chart_names_the_months_in_german(web):
    text = _text(web.get("/r/musterhausen/2023/"))
    assert "Aug Sep Okt Nov Dez Jan Feb Mär Apr Mai Jun Jul" in text                     # chart axis
    assert "Oktober 2023" in text and "März 2024" in text                               # its data table


def test_dashboard_links_statement_pdf_and_year_switcher(web):
    page = web.get("/r/musterhausen/2023/").get_data(as_text=True)
    assert 'href="/r/musterhausen/2023/statement.pdf"' in page
    assert 'aria-label="Schuljahr wählen"' in page
    assert 'aria-current="page">2023/24<' in page


def test_dashboard_shows_agreement_next_to_computed_figures(web, books, session):
    add_agreement(session, books["muster"], SY, deemed_conform=Decimal("90000.00"),
                  reference="Vereinbarung vom 01.03.2024, § 1", created_by="test", now=NOW)
    session.commit()
    text = _text(web.get("/r/musterhausen/2023/"))
    assert "Vereinbarung vom 01.03.2024, § 1" in text
    assert "Zweckentsprechend 46.000,00 € 90.000,00 €" in text
    assert "Rückzahlung 54.000,00 € 10.000,00 €" in text
    assert "Rückzahlung fällig (laut Vereinbarung) 10.000,00 €" in text


def test_dashboard_of_year_without_data_says_how_to_start(web):
    response = web.get("/r/musterhausen/2016/")
    assert response.status_code == 200
    assert "Noch keine Daten für das Schuljahr 2016/17" in _text(response)
    response = web.get("/r/musterhausen/1990/")    # before any rule pack's first school year
    assert response.status_code == 404
    assert "keine Daten" in _text(response)


def test_unknown_recipient_is_404_in_german(web):
    for url in ("/r/unbekannt/", "/r/unbekannt/2023/", "/r/unbekannt/journal", "/r/unbekannt/2023/statement.pdf"):
        response = web.get(url)
        assert response.status_code == 404, url
        assert "Empfänger 'unbekannt' nicht gefunden" in _text(response)
    response = web.get("/gibt-es-nicht")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in _text(response)


# ----------------------------------------------------------------- journal


def test_journal_lists_entries(web):
    response = web.get("/r/musterhausen/journal")
    assert response.status_code == 200
    text = _text(response)
    assert "5 Buchungen" in text
    for voucher in ("AUSZ-2023/24-1", "B-1", "B-2", "B-3", "B-4"):
        assert voucher in text
    assert "N-1" not in text                           # another recipient's entry
    assert "31.10.2023" in text and "40.000,00 €" in text
    page = response.get_data(as_text=True)
    for field in ("f-from", "f-to", "f-category", "f-account"):
        assert f'<label for="{field}">' in page
    assert '<th scope="col">Datum</th>' in page


def test_journal_filter_by_category(web):
    text = _text(web.get("/r/musterhausen/journal?category=overhead"))
    assert "1 Buchung" in text and "B-2" in text
    assert not re.search(r"\bB-[134]\b", text) and "AUSZ" not in text

    text = _text(web.get("/r/musterhausen/journal?category=none"))
    assert "1 Buchung" in text and "B-4" in text
    assert not re.search(r"\bB-[123]\b", text)


def test_journal_filter_by_dates_and_account(web):
    text = _text(web.get("/r/musterhausen/journal?from=2023-10-31&to=2023-11-02"))
    assert "3 Buchungen" in text and "B-1" in text and "B-3" in text and "B-4" not in text
    text = _text(web.get("/r/musterhausen/journal?account=1810"))
    assert "5 Buchungen" in text
    text = _text(web.get("/r/musterhausen/journal?account=5331"))
    assert "1 Buchung" in text and "B-3" in text


def test_journal_filter_by_school_year(web, books, session):
    muster = books["muster"]
    later = HEADER + "\n10.08.2024;C-1;Pool August;5291;1810;300,00;;;\n20.07.2024;C-2;Nachzahlung Pool;5291;1810;200,00;;;2024/25\n"
    assert import_bytes(session, muster, later.encode(), "later.csv", created_by="test", now=NOW).ok
    session.commit()
    text = _text(web.get("/r/musterhausen/journal?year=2024"))
    assert "2 Buchungen" in text and "C-1" in text and "C-2" in text and "B-1" not in text
    text = _text(web.get("/r/musterhausen/journal?year=2023&category=pool_personnel"))
    assert "1 Buchung" in text and "B-1" in text


def test_dashboard_links_unclassified_to_the_review_queue(web):
    page = web.get("/r/musterhausen/2023/").get_data(as_text=True)
    link = re.search(r'href="([^"]+)">nicht eingestuft \(Prüfliste\)', page).group(1)
    text = _text(web.get(html.unescape(link)))
    assert "1 Buchung zu prüfen" in text and "B-4" in text and "Kategorie fehlt" in text


def test_dashboard_shows_the_forecast_while_the_year_is_open(web):
    """As of 01.03.2024 nothing is committed: projection = actuals, 54.000,00 to repay by 02.04.2024."""
    text = _text(web.get("/r/musterhausen/2023/"))
    assert "Prognose bis zum 31.07.2024" in text
    assert "Voraussichtliche Rückzahlung 54.000,00 € Frist 02.04.2024" in text
    assert "(in 32 Tagen)" in text  # the deadline_soon warning


def test_journal_invalid_filter_is_reported(web):
    page = web.get("/r/musterhausen/journal?from=31.10.2023&category=erfunden").get_data(as_text=True)
    text = _text(web.get("/r/musterhausen/journal?from=31.10.2023&category=erfunden"))
    assert "ist kein gültiges Datum" in text
    assert "Unbekannte Kategorie" in text
    # the error summary at the top links to both fields (WCAG 3.3.1)
    assert "Filter nicht angewendet: bitte die markierten Angaben prüfen" in text
    assert '<a href="#f-from">Buchungsdatum von: ' in page and '<a href="#f-category">Kategorie: Unbekannte Kategorie' in page


def test_journal_paginates_fifty_per_page(web, books, session):
    muster = books["muster"]
    rows = [f"{1 + i % 28:02d}.12.2023;P-{i:03d};Pool Dezember {i};5291;1810;10,00;;;" for i in range(60)]
    assert import_bytes(session, muster, (HEADER + "\n" + "\n".join(rows) + "\n").encode(), "dez.csv",
                        created_by="test", now=NOW).ok
    session.commit()
    first = _text(web.get("/r/musterhausen/journal"))
    assert "65 Buchungen" in first and "Seite 1 von 2" in first
    second = web.get("/r/musterhausen/journal?page=2")
    assert "Seite 2 von 2" in _text(second)
    assert _text(second).count("Pool Dezember") == 15
    assert web.get("/r/musterhausen/journal?page=3").status_code == 404


def test_list_entries_filters_in_sql(session, books):
    muster = books["muster"]
    entries, total = list_entries(session, muster, category="pool_personnel")
    assert total == 1 and [e.voucher_number for e in entries] == ["B-1"]
    entries, total = list_entries(session, muster, limit=2, offset=1)
    assert total == 5 and len(entries) == 2
    entries, total = list_entries(session, muster, date_to=date(2023, 10, 16))
    assert total == 1 and entries[0].kind == "payout"


def test_entry_detail_shows_postings(web, books):
    entry = books["entries"]["B-1"]
    response = web.get(f"/r/musterhausen/journal/{entry.id}")
    assert response.status_code == 200
    text = _text(response)
    assert "Schulassistenz Pool Nord Oktober" in text
    assert "31.10.2023" in text and "Import (Finanzsoftware)" in text
    assert "5291 Schulassistenz im Pool-Modell" in text
    assert "1810 Girokonto" in text
    assert "40.000,00 €" in text and "2023/24" in text
    assert "Personalkosten systemischer Pool-Modelle" in text
    assert "KS-100" in text
    assert "Erfasst von test" in text


def test_entry_detail_links_reversal_both_ways(web, books, session):
    entry = books["entries"]["B-4"]
    storno = reverse_entry(session, entry, day=date(2023, 11, 10), reason="falsches Konto",
                           created_by="test", now=NOW)
    session.commit()
    original = web.get(f"/r/musterhausen/journal/{entry.id}").get_data(as_text=True)
    assert f'href="/r/musterhausen/journal/{storno.id}"' in original
    assert "storniert durch" in original
    reversal = web.get(f"/r/musterhausen/journal/{storno.id}").get_data(as_text=True)
    assert f'href="/r/musterhausen/journal/{entry.id}"' in reversal
    assert "ist ein Storno von" in reversal
    listed = web.get("/r/musterhausen/journal?year=2023").get_data(as_text=True)
    assert f'<a href="/r/musterhausen/journal/{entry.id}" aria-label="Buchung {entry.id}, Beleg B-4">' in listed
    assert (f'<a class="tag tag-reversed" href="/r/musterhausen/journal/{storno.id}">storniert durch Buchung '
            f'{storno.id}</a>') in listed


def test_entry_of_another_recipient_is_404(web, books):
    foreign = books["entries"]["N-1"]
    assert web.get(f"/r/nachbarstadt/journal/{foreign.id}").status_code == 200
    response = web.get(f"/r/musterhausen/journal/{foreign.id}")
    assert response.status_code == 404
    assert "nicht gefunden" in _text(response)
    assert web.get("/r/musterhausen/journal/999999").status_code == 404


# ----------------------------------------------------------------- statement


def test_statement_download_is_pdf_with_recipient(web):
    response = web.get("/r/musterhausen/2023/statement.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="Verwendungsnachweis_musterhausen_2023-24_Entwurf.pdf"'
    assert response.data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Kreis Musterhausen" in text
    assert "2023/24" in text


def test_statement_of_year_without_data_is_404(web):
    assert web.get("/r/musterhausen/2016/statement.pdf").status_code == 404


# ----------------------------------------------------------------- application


def test_pages_do_not_write(web, engine, books):
    """Read-only pages leave the books unchanged (no commit, nothing flushed)."""
    from sqlalchemy import func, select

    with engine.connect() as conn:
        before = conn.scalar(select(func.count(JournalEntry.id)))
    for url in ("/", "/r/musterhausen/2023/", "/r/musterhausen/journal", "/r/musterhausen/2023/statement.pdf"):
        assert web.get(url).status_code == 200
    with engine.connect() as conn:
        assert conn.scalar(select(func.count(JournalEntry.id))) == before


def test_secret_key_is_kept_in_instance_folder(database_url, monkeypatch, tmp_path):
    import webapp
    from ledger.core import settings

    monkeypatch.delenv("INKL_SECRET_KEY", raising=False)
    monkeypatch.setattr(settings, "INSTANCE_DIR", tmp_path / "instance")
    first = webapp.create_app({"DATABASE_URL": database_url})
    assert first.instance_path == str(tmp_path / "instance")
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text().strip() == first.config["SECRET_KEY"]
    assert (key_file.stat().st_mode & 0o777) == 0o600
    second = webapp.create_app({"DATABASE_URL": database_url})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]

    monkeypatch.setenv("INKL_SECRET_KEY", "aus-der-umgebung")
    assert webapp.create_app({"DATABASE_URL": database_url}).config["SECRET_KEY"] == "aus-der-umgebung"


def test_static_css_is_served(web):
    response = web.get("/static/style.css")
    assert response.status_code == 200
    assert b"focus-visible" in response.data



def test_classification_page_shows_rules_overrides_and_runs(session, web, books):
    """Every posting with its rule and source; the override with its justification; the recorded run."""
    from ledger.core.users import add_user
    from ledger.rules.evaluation_runs import record_evaluation
    from ledger.rules.overrides import add_override

    muster = books["muster"]
    officer = add_user(session, "sachbearbeiterin", "officer", actor="test", now=NOW)
    open_invoice = next(p for p in books["entries"]["B-4"].postings if p.amount_cents > 0)
    add_override(session, muster, open_invoice.id, status="permitted", user=officer, now=NOW,
                 justification="Rechnung betrifft die Fortbildung vom 03.11.2023 (Teilnehmerliste liegt vor)")
    record_evaluation(session, muster, SY, actor="sachbearbeiterin", now=NOW, reason="Bestandsaufnahme")
    session.commit()
    text = _text(web.get("/r/musterhausen/2023/einstufung"))
    assert "Letzter Bewertungslauf Nr. 1 vom 22.11.2026, 10:00 Uhr (sachbearbeiterin" in text
    assert "entspricht der heutigen Einstufung" in text
    assert "KS-100 Personalkosten systemischer Pool-Modelle" in text
    assert "40.000,00 € 40.000,00 € zulässig Pool KS-100 ist systemisch" in text
    assert "Regel: Systemischer Pool an Schulen des Gemeinsamen Lernens" in text
    assert "abweichend, Nr. 1" in text and "Teilnehmerliste liegt vor" in text and "sachbearbeiterin, 22.11.2026" in text
    assert "B-3" in text and "ausgeschlossen" in text and "Individuelle Ansprüche nach § 35a SGB VIII" in text
    assert "category." not in text and "pool_personnel" not in text and "inklfoeg-nrw" not in text
    master = _text(web.get("/r/musterhausen/stammdaten"))
    assert "100001 Gesamtschule Am Park Stadt Beispielheim Gesamtschule ja" in master
    assert "KS-100 Pool KS-100" in master and "systemisch (antragsunabhängig)" in master
    assert "Stadt Beispielheim ja 01.08.2014, Az. 40/2014-1 (Schulamt)" in master


def test_main_pages_show_no_internal_ids_seed_files_or_command_lines(web, books, session):
    """Dashboard, Einstufung, journal, Prüfliste, Regelwerke and Protokoll speak in German labels
    and cite documents by title: no rule, category or pack id, seed file name or ``inkl …``."""
    from tests.conftest import internal_terms

    entry = books["entries"]["B-3"].id
    for path in ("/r/musterhausen/2023/", "/r/musterhausen/2023/einstufung", "/r/musterhausen/journal",
                 f"/r/musterhausen/journal/{entry}", "/r/musterhausen/2023/pruefliste", "/regelwerke",
                 "/protokoll", "/r/musterhausen/stammdaten", "/"):
        response = web.get(path)
        assert response.status_code == 200, path
        assert internal_terms(_text(response)) == [], path

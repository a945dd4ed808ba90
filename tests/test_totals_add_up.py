"""Totals that always add up (issue 14): after any sequence of imports, overrides (permitted,
excluded, split), reversals (also dated in a later school year) and withdrawals, the category
table, the totals, the chart, the JSON and the statement agree:

    Σ category rows + spending without a category = total spending
                                                  = permitted + excluded + unclassified + overhead excess

and the cumulative chart's last point is the total spending. Random books as in
``tests/test_year_totals.py`` (permitted, capped and excluded categories, none; a systemic and a
mixed pool; a municipality verified within the year), on SQLite and PostgreSQL.
"""
import io
import json
import re
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from ledger.core.agreements import add_agreement
from ledger.core.models import Account, JournalEntry, Posting
from ledger.core.money import format_plain, from_cents
from ledger.core.posting import reverse_entry
from ledger.core.users import add_user
from ledger.reports.repayment import compute_repayment
from ledger.reports.spending import cumulative_spending
from ledger.reports.statement import build_statement
from ledger.rules.overrides import active_overrides, add_override, withdraw_override
from ledger.write.statement_pdf import render_statement
from tests.conftest import NOW, add_web_user, login
from tests.test_year_totals import CATEGORIES, CENTRES, JUSTIFICATION, YEAR, books

INSIDE, LATER = date(2024, 3, 1), date(2024, 9, 15)   # a reversal within 2023/24, one in 2024/25
ACTIONS = ("permitted", "excluded", "split", "withdraw", "reverse inside", "reverse later")
rows = st.lists(st.tuples(
    st.integers(-40, 405),                              # days after 01.08.2023
    st.sampled_from(CATEGORIES), st.sampled_from(CENTRES),
    st.integers(1, 10_000_000),                         # cents
    st.sampled_from(["5291", "5292", "5299", "1810"]),  # 5299 has no category of its own; 1810: a refund
), min_size=1, max_size=30)
actions = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 29), st.integers(1, 99)), max_size=8)


def _originals(session, kreis) -> list[JournalEntry]:
    return session.scalars(sa.select(JournalEntry).where(
        JournalEntry.recipient_id == kreis.id, JournalEntry.reverses_id.is_(None)).order_by(JournalEntry.id)).all()


def _expense(entry: JournalEntry) -> Posting:
    return next(p for p in entry.postings if p.account.type == "expense")


def act(session, kreis, steps) -> None:
    """Apply ``steps`` (action, entry index, percent) in order; a step that does not apply
    (an override of an overridden posting, a withdrawal without override, a second reversal,
    a split of one cent) is skipped."""
    officer = add_user(session, f"officer-{kreis.key}", "officer", actor="t", now=NOW)
    entries = _originals(session, kreis)
    for action, index, percent in steps:
        entry = entries[index % len(entries)]
        posting = _expense(entry)
        active = active_overrides(session, kreis, YEAR).get(posting.id)
        if action.startswith("reverse"):
            if not session.scalar(sa.select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)):
                reverse_entry(session, entry, day=INSIDE if action == "reverse inside" else LATER,
                              reason="Fehlbuchung", created_by="t", now=NOW)
        elif action == "withdraw":
            if active is not None:
                withdraw_override(session, kreis, active.id, user=officer, justification=JUSTIFICATION, now=NOW)
        elif active is None and (action != "split" or abs(posting.amount_cents) >= 2):
            cents = posting.amount_cents
            conform = None
            if action == "split":
                part = min(max(abs(cents) * percent // 100, 1), abs(cents) - 1)
                conform = from_cents(part if cents > 0 else -part)
            add_override(session, kreis, posting.id, status=action, conform=conform, user=officer,
                         justification=JUSTIFICATION, now=NOW)
    session.commit()


def spent_in_the_books(session, kreis) -> Decimal:
    """Net expense of school year 2023/24 summed straight from the postings (EUR)."""
    return from_cents(session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Posting.amount_cents), 0)).join(Account)
        .where(Account.recipient_id == kreis.id, Account.type == "expense", Posting.school_year == str(YEAR))))


def assert_adds_up(result) -> None:
    """The category rows and the spending without a category make the total spending, and so
    do permitted + excluded + unclassified + overhead above the cap."""
    assert sum((c.amount for c in result.by_category), Decimal("0")) + result.uncategorised == result.total_spending
    assert result.permitted + result.excluded + result.unclassified + result.overhead_excess == result.total_spending
    assert result.unspent_grant == result.grant_received - result.total_spending


# ------------------------------------------------------------------- the two bugs, reproduced


def test_a_split_override_keeps_its_posting_in_the_category_table(session):
    """An invoice of 500,00 without a category, split 200,00 conform: it stays in the table
    (before: it vanished, being neither in a category row nor unclassified any more)."""
    kreis = books(session, [(10, "pool_personnel", "POOL-A", 100_00, "5291"), (20, "", "", 500_00, "5299")],
                  [], set())
    act(session, kreis, [("split", 1, 40)])
    result = compute_repayment(session, kreis, YEAR)
    assert (result.uncategorised_open, result.uncategorised_decided) == (Decimal("0.00"), Decimal("500.00"))
    assert result.total_spending == Decimal("600.00") and result.permitted == Decimal("300.00")
    assert_adds_up(result)


def test_a_categorised_unclassified_posting_is_counted_once(session):
    """Pool personnel on an unknown cost centre is unclassified but has its category: its
    category row counts it, the unclassified row without a category does not again."""
    kreis = books(session, [(10, "pool_personnel", "UNBEKANNT", 100_00, "5291"), (20, "", "", 5_00, "5299")],
                  [], set())
    result = compute_repayment(session, kreis, YEAR)
    assert result.unclassified == Decimal("105.00") and result.uncategorised_open == Decimal("5.00")
    assert_adds_up(result)


def test_a_reversal_dated_after_the_year_is_in_the_charts_last_point(session):
    """Training 1.000,00 on 10.08.2023, reversed on 15.09.2024 (booked in 2024/25, belongs to
    2023/24): the year's spending is 0,00, and so is July's cumulative point (before: 1.000,00)."""
    kreis = books(session, [(9, "training", "", 1_000_00, "5292")], [], set())
    act(session, kreis, [("reverse later", 0, 1)])
    points = cumulative_spending(session, kreis, YEAR)
    assert points[0].spent == Decimal("1000.00") and points[-1].spent == Decimal("0.00")
    assert compute_repayment(session, kreis, YEAR).total_spending == Decimal("0.00")
    assert cumulative_spending(session, kreis, YEAR, until=date(2024, 7, 31))[-1].spent == Decimal("1000.00")


# ------------------------------------------------------------------- the invariant on random books


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, steps=actions)
def test_totals_add_up_after_any_sequence(session, cli, data, steps):
    kreis = books(session, data, [], set())
    act(session, kreis, steps)
    result = compute_repayment(session, kreis, YEAR)
    assert_adds_up(result)
    assert result.total_spending == spent_in_the_books(session, kreis)
    assert cumulative_spending(session, kreis, YEAR)[-1].spent == result.total_spending

    statement = build_statement(session, kreis, YEAR, now=NOW)   # per-posting classification
    assert statement.result == compute_repayment(session, kreis, YEAR, as_of=NOW.date())
    amounts: dict[str | None, Decimal] = {}
    for line in statement.vouchers:
        amounts[line.category] = amounts.get(line.category, Decimal("0")) + line.amount
    assert {c.category: c.amount for c in result.by_category} == {k: v for k, v in amounts.items() if k and v}
    assert amounts.get(None, Decimal("0")) == result.uncategorised
    assert sum(amounts.values(), Decimal("0")) == result.total_spending

    [figures] = json.loads(cli("repayments", "--recipient", kreis.key, "--school-year", str(YEAR), "--json").output)
    for field in ("permitted", "excluded", "unclassified", "overhead_excess", "total_spending", "unspent_grant",
                  "uncategorised_open", "uncategorised_decided"):
        assert figures[field] == format_plain(getattr(result, field)), field
    assert {c["category"]: c["amount"] for c in figures["by_category"]} == {
        c.category: format_plain(c.amount) for c in result.by_category}


# ------------------------------------------------------------------- what the PDF and the dashboard show

SPLIT_BOOKS = [(10, "pool_personnel", "POOL-A", 1_000_00, "5291"), (20, "overhead", "", 400_00, "5292"),
               (30, "individual_claim_sgb_viii", "", 50_00, "5292"), (40, "", "", 500_00, "5299"),
               (50, "", "", 25_00, "5299")]


def _split_books(session):
    """Pool personnel 1.000,00 (reversed on 15.09.2024), overhead 400,00, § 35a SGB VIII 50,00
    and two invoices without category: 500,00 split (200,00 conform), 25,00 in the review
    queue. Total spending 1.975,00 − 1.000,00 = 975,00 = permitted 200,00 + excluded
    (50,00 + 300,00) + unclassified 25,00 + overhead excess 400,00 (no pool personnel left,
    so the cap is 0,00)."""
    kreis = books(session, SPLIT_BOOKS, [], set())
    act(session, kreis, [("split", 3, 40), ("reverse later", 0, 1)])
    return kreis


def _table_amounts(text: str) -> list[Decimal]:
    return [Decimal(a.replace(".", "").replace(",", ".")) for a in re.findall(r"-?[\d.]+,\d\d", text)]


def test_the_statement_pdf_category_table_adds_up_after_a_split(session):
    kreis = _split_books(session)
    data = build_statement(session, kreis, YEAR, now=NOW)
    result = data.result
    assert (result.total_spending, result.uncategorised_decided, result.uncategorised_open) == (
        Decimal("975.00"), Decimal("500.00"), Decimal("25.00"))
    assert_adds_up(result)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render_statement(data))).pages)
    text = " ".join(text.split())
    start = text.index("Zweckentsprechende Ausgaben nach Kategorien")
    table = text[start:text.index("Summe Kategorien", start)]
    assert "ohne Kategorie abweichend eingestuft 500,00 EUR" in table
    assert "ohne Kategorie nicht eingestuft 25,00 EUR" in table
    assert sum(_table_amounts(table)) == result.total_spending
    subtotals = text[text.index("Summe Kategorien", start):text.index("Ausgaben insgesamt", start)]
    assert "Summe ohne Kategorie 525,00 EUR" in subtotals
    assert sum(_table_amounts(subtotals)) == result.total_spending
    assert "Ausgaben insgesamt 975,00 EUR" in text


def _dashboard(session, app, kreis) -> str:
    """The dashboard of 2023/24 as an auditor sees it on 01.10.2024 (HTML)."""
    add_web_user(session, "pruefung", "auditor", all_recipients=True)
    client = app.test_client()
    assert login(client, "pruefung").status_code == 302
    app.config["TODAY"] = date(2024, 10, 1)
    return client.get(f"/r/{kreis.key}/2023/").get_data(as_text=True)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page).replace("\xa0", " "))


def test_the_dashboard_category_table_and_cards_add_up_after_a_split(session, app):
    page = _dashboard(session, app, _split_books(session))
    table = page[page.index('id="verwendung"'):]
    table = table[table.index("<tbody>"):table.index("</tbody>")]
    assert sum(_table_amounts(table)) == Decimal("975.00")
    text = _text(page)
    assert "ohne Kategorie, abweichend eingestuft abweichend eingestuft 500,00 €" in text
    assert "Ausgaben insgesamt 975,00 €" in text
    assert "Mehr ausgegeben als erhalten -975,00 €" in text    # no grant recorded


def test_the_cards_show_the_agreed_conform_amount(session, app):
    """A year covered by an agreement (Vereinbarung § 1: an agreed purpose-conform amount): the
    card shows the agreed 90.000,00, labelled so, not the computed figure."""
    kreis = books(session, [(10, "training", "", 1_000_00, "5292")], [], set())
    add_agreement(session, kreis, YEAR, deemed_conform=Decimal("90000.00"), reference="Vereinbarung vom 01.03.2024",
                  created_by="t", now=NOW)
    session.commit()
    text = _text(_dashboard(session, app, kreis))
    assert "Zweckentsprechend verwendet (lt. Vereinbarung) 90.000,00 € berechnet 1.000,00 €" in text
    assert "Ausgaben insgesamt 1.000,00 €" in text

"""The statement's content fingerprint, and how a draft and an issued statement differ on paper.

The statement is the fictional Kreis Musterland 2023/24 of ``tests/test_statement_pdf.py``
(``FULL``: every section, several pages).
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from ledger.core.chain import ChainHead
from ledger.core.narrative import NarrativeReport
from ledger.reports.statement_fingerprint import _canonical, content_fingerprint
from ledger.write.statement_pdf import render_statement
from tests.test_statement_pdf import FORECAST, FULL

NARRATIVE = NarrativeReport("Zwei systemische Pools der Schulassistenz an drei Grundschulen.", "mueller",
                            datetime(2024, 9, 1, 9, 30))


def _pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_creation_time_and_number_are_not_content():
    fingerprint = content_fingerprint(FULL)
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    assert content_fingerprint(replace(FULL, created_at=FULL.created_at + timedelta(days=3), issue_number=2)) \
        == fingerprint


@pytest.mark.parametrize("change", [
    lambda d: replace(d, narrative=NARRATIVE),
    lambda d: replace(d, vouchers=d.vouchers[:-1]),
    lambda d: replace(d, vouchers=(replace(d.vouchers[0], amount=d.vouchers[0].amount + Decimal("0.01")),
                                   *d.vouchers[1:])),
    lambda d: replace(d, chain_head=ChainHead(d.chain_head.seq + 1, "f" * 64)),
    lambda d: replace(d, overrides=d.overrides[:-1]),
    lambda d: replace(d, result=replace(d.result, repayment_due=d.result.repayment_due + Decimal("0.01"))),
    lambda d: replace(d, result=replace(d.result, evaluation=None)),
    lambda d: replace(d, forecast=FORECAST),
], ids=["narrative", "voucher-left-out", "one-cent", "chain-head", "override", "repayment", "evaluation-run",
        "forecast"])
def test_every_part_of_the_content_changes_the_fingerprint(change):
    assert content_fingerprint(change(FULL)) != content_fingerprint(FULL)


def test_the_sachbericht_counts_with_its_author_and_time():
    with_text = replace(FULL, narrative=NARRATIVE)
    assert content_fingerprint(replace(with_text, narrative=replace(NARRATIVE, written_by="schmidt"))) \
        != content_fingerprint(with_text)


def test_the_fingerprint_is_the_same_in_another_process_with_another_hash_seed():
    """Sets and dicts are ordered by their canonical form, never by Python's string hashing."""
    code = ("from tests.test_statement_pdf import FULL; from ledger.reports.statement_fingerprint import "
            "content_fingerprint; print(content_fingerprint(FULL))")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2")}
    assert seen == {content_fingerprint(FULL)}


def test_canonical_form_orders_sets_and_tuple_keys_and_refuses_floats():
    assert _canonical(frozenset({"b", "a", "c"})) == ["a", "b", "c"]
    # ordered by the keys' JSON: '["x",null]' before '[null,"a"]' ('"' sorts before 'n')
    assert _canonical({(None, "a"): 2, ("x", None): 1}) == [[["x", None], 1], [[None, "a"], 2]]
    assert _canonical(Decimal("1000.00")) == "1000.00"
    with pytest.raises(TypeError, match="float"):
        _canonical(0.1)


def test_every_page_of_a_draft_says_entwurf():
    pages = _pages(render_statement(FULL))
    assert len(pages) >= 3
    assert all("ENTWURF" in page and "Entwurf · Erstellt am" in page for page in pages)
    assert "Verwendungsnachweis über die Inklusionspauschale – Schuljahr 2023/24" in pages[0]


def test_an_issued_statement_shows_its_number_and_no_draft_mark():
    pdf = render_statement(replace(FULL, issue_number=3))
    pages = _pages(pdf)
    assert not any("ENTWURF" in page or "Entwurf" in page for page in pages)
    assert "Verwendungsnachweis Nr. 3 über die Inklusionspauschale – Schuljahr 2023/24" in pages[0]
    assert all("Nr. 3 · Erstellt am" in page for page in pages)
    assert PdfReader(io.BytesIO(pdf)).metadata.title.startswith("Verwendungsnachweis Nr. 3 über die Inklusionspauschale")

"""The chain link's hash (``ledger.core.chain.link_hash``) is the same, byte for byte, as
before issue 18 wrote the canonical JSON by hand instead of through ``json.JSONEncoder``.

The pinned hashes were computed with the encoder-based implementation (commit 8355968);
every stored chain depends on them, so they must never change.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.chain import GENESIS, link_hash

NOW = datetime(2026, 1, 15, 8, 0, 0)
FIRST = dict(recipient_key="kreis-ä", seq=1, day=date(2023, 10, 1), voucher_number='B-1 "x"',
             text="Schulbegleitung Ä\\ü\n\t\x01 €", kind="import", created_by="sachb", created_at=NOW,
             reverses_hash=None,
             postings=[("5291", 12345, "2023/24", "personal", "KS-1"), ("1810", -12345, "2023/24", None, None)])
#: Computed by the encoder-based ``link_hash`` of commit 8355968.
FIRST_HASH = "c6a4cbf79469d60414583d79509ba752cecc5c62da39cc2d260ba4d65aeb6d6b"
SECOND_HASH = "6f4fa540cfed65d78a462ea89aac6f9cccb7d542b6e5a96b5676833ed08867fb"


def reference_hash(prev_hash: str, *, recipient_key, seq, day, voucher_number, text, kind, created_by, created_at,
                   reverses_hash, postings) -> str:
    """The implementation before issue 18: a dict through the canonical JSON encoder."""
    content = {
        "recipient": recipient_key, "seq": seq, "date": day.isoformat(), "voucher": voucher_number,
        "text": text, "kind": kind, "created_by": created_by, "created_at": created_at.isoformat(),
        "reverses": reverses_hash, "postings": [list(p) for p in postings],
    }
    canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(content)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def test_pinned_hashes_of_an_entry_and_its_reversal():
    first = link_hash(GENESIS, **FIRST)
    assert first == FIRST_HASH
    second = link_hash(first, **dict(
        FIRST, seq=2, day=date(2023, 10, 2), voucher_number="S-1", text="Storno", kind="reversal",
        created_at=datetime(2026, 1, 15, 8, 0, 0, 123456), reverses_hash=first,
        postings=[("1810", 12345, "2023/24", None, None), ("5291", -12345, "2023/24", "personal", "KS-1")]))
    assert second == SECOND_HASH


def test_any_change_of_content_changes_the_hash():
    assert link_hash(GENESIS, **dict(FIRST, text=FIRST["text"] + " ")) != FIRST_HASH
    assert link_hash(GENESIS, **dict(FIRST, postings=[("5291", 12346, "2023/24", "personal", "KS-1"),
                                                      ("1810", -12346, "2023/24", None, None)])) != FIRST_HASH


texts = st.text(max_size=30)
optional = st.none() | texts
posting = st.tuples(st.text(max_size=8), st.integers(-10**12, 10**12), st.text(max_size=7), optional, optional)


@settings(max_examples=300, deadline=None)
@given(recipient=texts, seq=st.integers(1, 10**9), day=st.dates(), voucher=texts, text=texts, kind=texts,
       created_by=texts, created_at=st.datetimes(), reverses=st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
       postings=st.lists(posting, max_size=4))
def test_same_bytes_as_the_json_encoder(recipient, seq, day, voucher, text, kind, created_by, created_at, reverses,
                                        postings):
    fields = dict(recipient_key=recipient, seq=seq, day=day, voucher_number=voucher, text=text, kind=kind,
                  created_by=created_by, created_at=created_at, reverses_hash=reverses, postings=postings)
    assert link_hash(GENESIS, **fields) == reference_hash(GENESIS, **fields)

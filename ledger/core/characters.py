"""Characters no text of the books may hold, wherever it comes from (a file, a form, the API).

NUL and the other control characters (tab and line breaks excepted), and the bidirectional
embeddings, overrides and isolates, which make a text read differently from what it holds
("Trojan Source", CVE-2021-42574). The readers refuse them at their line and column
(``ledger.read.csvfile``, ``ledger.read.camt053``), ``ledger.core.posting.post_entry`` in a
manual entry.
"""
from __future__ import annotations

import re

#: The forbidden characters (a regular expression of one character).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NUL_MESSAGE = "enthält ein Nullzeichen (NUL), das in keinem Feld stehen darf"


def forbidden_character_message(text: str) -> str | None:
    """The German message for the first of ``FORBIDDEN_CHARACTERS`` in ``text``, None if it has none."""
    found = FORBIDDEN_CHARACTERS.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return NUL_MESSAGE
    return f"enthält ein Steuerzeichen (U+{ord(found.group()):04X}), das in keinem Feld stehen darf"

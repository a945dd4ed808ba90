"""German counted nouns for messages: "1 Buchung", "2 Buchungen", "0 Buchungen".

German uses the singular only for exactly one; zero and every other number take the plural.
The command line, the reports' warnings and the web UI count with :func:`counted`, so no
message says "1 Buchungen" or "in 1 Tagen".
"""
from __future__ import annotations


def counted(number: int, singular: str, plural: str) -> str:
    """``number`` with its noun: ``counted(1, "Buchung", "Buchungen")`` → ``"1 Buchung"``,
    ``counted(2, "Buchung", "Buchungen")`` → ``"2 Buchungen"``, ``0`` → ``"0 Buchungen"``.
    The number is written as given (no thousands separator); the case of the noun is the caller's
    ("in 1 Tag", "in 3 Tagen": pass the dative forms)."""
    return f"{number} {singular if number == 1 else plural}"

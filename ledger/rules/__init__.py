"""Judging the books: rule packs as data (``packs``), the rules engine (``classify``),
the deadline and late-payment interest of a pack, running the engine over a school
year (``evaluate``), recorded evaluation runs and officers' overrides.

Depends only on ``ledger.core``.
"""

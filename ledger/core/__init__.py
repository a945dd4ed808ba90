"""The books themselves: exact money, school years, the database schema and engine,
journal entries and their hash chain, the audit log, recipients, accounts, users,
grants, agreements and closed periods.

The lowest layer: it knows nothing of rule packs, input formats, reports or renderers.
"""

from ledger.core import history as _history  # noqa: E402,F401  (registers the capture of record versions)

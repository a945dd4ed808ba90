"""The books themselves: exact money, school years, the database schema and engine,
journal entries and their hash chain, the audit log, recipients, accounts, users,
grants, agreements and closed periods.

The lowest layer: it knows nothing of rule packs, input formats, reports or renderers.
"""

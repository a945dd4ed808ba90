"""Writing the books and reports out: the statement as PDF (on the report toolkit ``pdf``),
the GoBD data access set, an hledger journal, and the backup (with its restore).

Depends on ``ledger.reports``, ``ledger.rules`` and ``ledger.core``.
"""

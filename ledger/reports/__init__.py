"""Figures computed from the books: a school year's classification totals, the
repayment and its forecast, the statement's content, the journal's pages and the
spending chart. Values only; rendering them is ``ledger.write``'s.

Depends on ``ledger.rules`` and ``ledger.core``; independent of ``ledger.read``.
"""

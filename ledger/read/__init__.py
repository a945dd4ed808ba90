"""Reading input files into the books: one module per input format, each turning a file
into rows with their identity, and the all-or-nothing import that checks and books them.

Depends on ``ledger.rules`` and ``ledger.core``; independent of ``ledger.reports``.
"""

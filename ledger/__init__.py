"""The domain core of the Inklusionspauschale ledger.

Pure Python over SQLAlchemy: models, exact money, journal posting, rule packs,
repayment computation and settlement statements. Never imports Flask; the web
application (``webapp``), the command line (``inkl``) and import scripts all call
this package.
"""

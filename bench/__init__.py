"""Benchmark harness of the ledger: ``python -m bench`` or ``make bench`` (see ``bench/__main__.py``)."""

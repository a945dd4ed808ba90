"""The ``inkl`` command line: the ledger core for finance officers, scripts and cron jobs."""

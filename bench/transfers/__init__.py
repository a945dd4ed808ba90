"""The transfer model (one row per booking), a prototype measured against today's entries and postings (issue 18)."""

"""What officers do that spans the layers below: record master data, confirm and pay a
repayment, close and re-open a school year, issue a statement.

The top layer of the core: it may use every other package of ``ledger``; nothing in
``ledger`` imports it. The web UI and the command line call these and the layers below.
"""

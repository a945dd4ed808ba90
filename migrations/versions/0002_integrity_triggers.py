"""Database-enforced integrity: balance, immutability, hash-chain links, closed periods

The database itself, not only Python, refuses:
- a journal entry whose postings do not sum to zero or that has fewer than two postings,
  or whose postings use another recipient's accounts (postings are inserted first, then
  the entry; on PostgreSQL the check is a deferred constraint trigger, run at commit);
- postings added to an entry that is already posted;
- UPDATE or DELETE of journal entries, postings, payouts, imported rows, import
  batches, the period log and the audit log (and TRUNCATE of them on PostgreSQL);
- an entry whose ``prev_hash`` is not its predecessor's hash (the chain cannot fork
  or skip; ``uq_entry_seq`` makes ``seq`` unique per recipient), likewise for the
  audit log;
- an entry dated in a closed school year of its recipient, or with a posting of one
  (checked at once when the entry arrives, on both databases, so that re-opening, booking
  and closing again in one transaction behaves the same everywhere).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
IMMUTABLE = ("journal_entries", "postings", "payouts", "imported_rows", "import_batches",
             "period_events", "audit_log")

# A school year is closed while its newest period event is 'close'.
_CLOSED = """
    c.recipient_id = {recipient} AND c.action = 'close'
    AND NOT EXISTS (SELECT 1 FROM period_events r WHERE r.recipient_id = c.recipient_id
                    AND r.school_year = c.school_year AND r.id > c.id AND r.action = 'reopen')"""
DATE_CLOSED = ("EXISTS (SELECT 1 FROM period_events c WHERE" + _CLOSED.format(recipient="NEW.recipient_id")
               + " AND NEW.date BETWEEN c.first_day AND c.last_day)")
YEAR_CLOSED = ("EXISTS (SELECT 1 FROM postings p JOIN period_events c ON c.school_year = p.school_year WHERE"
               " p.entry_id = NEW.id AND" + _CLOSED.format(recipient="NEW.recipient_id") + ")")
UNBALANCED = ("(SELECT COUNT(*) FROM postings WHERE entry_id = NEW.id) < 2 OR "
              "(SELECT COALESCE(SUM(amount_cents), 0) FROM postings WHERE entry_id = NEW.id) <> 0")
FOREIGN_ACCOUNT = ("EXISTS (SELECT 1 FROM postings p JOIN accounts a ON a.id = p.account_id "
                   "WHERE p.entry_id = NEW.id AND a.recipient_id <> NEW.recipient_id)")
ENTRY_LINK_OK = (f"(NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}') OR EXISTS (SELECT 1 FROM journal_entries p "
                 "WHERE p.recipient_id = NEW.recipient_id AND p.seq = NEW.seq - 1 AND p.entry_hash = NEW.prev_hash)")
AUDIT_LINK_OK = (f"(NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}') OR EXISTS (SELECT 1 FROM audit_log p "
                 "WHERE p.seq = NEW.seq - 1 AND p.entry_hash = NEW.prev_hash)")

MESSAGES = {
    "immutable": "inkl: gebuchte Daten werden nie geändert oder gelöscht (Storno statt Änderung)",
    "late_posting": "inkl: Buchungszeilen nur vor ihrer Buchung, nicht zu einer gebuchten Buchung",
    "unbalanced": "inkl: Buchung unausgeglichen (Summe der Buchungszeilen ungleich 0) oder weniger als zwei Zeilen",
    "foreign_account": "inkl: Buchungszeile auf dem Konto eines anderen Empfängers",
    "chain": "inkl: Hash-Kette unterbrochen (prev_hash passt nicht zum Vorgänger)",
    "closed": "inkl: Schuljahr ist abgeschlossen; keine Buchungen mehr",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS inkl_{table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS inkl_postings_before_insert ON postings")
        op.execute("DROP TRIGGER IF EXISTS inkl_entry_before_insert ON journal_entries")
        op.execute("DROP TRIGGER IF EXISTS inkl_entry_balance ON journal_entries")
        op.execute("DROP TRIGGER IF EXISTS inkl_entry_year_closed ON journal_entries")
        op.execute("DROP TRIGGER IF EXISTS inkl_audit_before_insert ON audit_log")
        for function in ("inkl_refuse_change", "inkl_postings_before_insert", "inkl_entry_before_insert",
                         "inkl_entry_balance", "inkl_entry_year_closed", "inkl_audit_before_insert"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in _sqlite_trigger_names():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _raise_pg(key: str) -> str:
    return f"RAISE EXCEPTION '{MESSAGES[key]}' USING ERRCODE = 'integrity_constraint_violation';"


def _upgrade_postgresql() -> None:
    op.execute(f"""
        CREATE FUNCTION inkl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {_raise_pg('immutable')} END $$""")
    for table in IMMUTABLE:
        op.execute(f"CREATE TRIGGER inkl_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION inkl_refuse_change()")
        op.execute(f"CREATE TRIGGER inkl_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION inkl_refuse_change()")
    op.execute(f"""
        CREATE FUNCTION inkl_postings_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id) THEN {_raise_pg('late_posting')} END IF;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER inkl_postings_before_insert BEFORE INSERT ON postings "
               "FOR EACH ROW EXECUTE FUNCTION inkl_postings_before_insert()")
    op.execute(f"""
        CREATE FUNCTION inkl_entry_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT ({ENTRY_LINK_OK}) THEN {_raise_pg('chain')} END IF;
            IF {DATE_CLOSED} THEN {_raise_pg('closed')} END IF;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER inkl_entry_before_insert BEFORE INSERT ON journal_entries "
               "FOR EACH ROW EXECUTE FUNCTION inkl_entry_before_insert()")
    op.execute(f"""
        CREATE FUNCTION inkl_entry_balance() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {UNBALANCED} THEN {_raise_pg('unbalanced')} END IF;
            IF {FOREIGN_ACCOUNT} THEN {_raise_pg('foreign_account')} END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE CONSTRAINT TRIGGER inkl_entry_balance AFTER INSERT ON journal_entries "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION inkl_entry_balance()")
    op.execute(f"""
        CREATE FUNCTION inkl_entry_year_closed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {YEAR_CLOSED} THEN {_raise_pg('closed')} END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER inkl_entry_year_closed AFTER INSERT ON journal_entries "
               "FOR EACH ROW EXECUTE FUNCTION inkl_entry_year_closed()")
    op.execute(f"""
        CREATE FUNCTION inkl_audit_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT ({AUDIT_LINK_OK}) THEN {_raise_pg('chain')} END IF;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER inkl_audit_before_insert BEFORE INSERT ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION inkl_audit_before_insert()")


def _sqlite_triggers() -> dict[str, str]:
    def refuse(key: str) -> str:
        return f"BEGIN SELECT RAISE(ABORT, '{MESSAGES[key]}'); END"

    triggers = {}
    for table in IMMUTABLE:
        triggers[f"inkl_{table}_no_update"] = f"BEFORE UPDATE ON {table} {refuse('immutable')}"
        triggers[f"inkl_{table}_no_delete"] = f"BEFORE DELETE ON {table} {refuse('immutable')}"
    triggers["inkl_postings_before_insert"] = (
        "BEFORE INSERT ON postings WHEN EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id) "
        + refuse("late_posting"))
    triggers["inkl_entry_chain"] = f"BEFORE INSERT ON journal_entries WHEN NOT ({ENTRY_LINK_OK}) {refuse('chain')}"
    triggers["inkl_entry_date_closed"] = f"BEFORE INSERT ON journal_entries WHEN {DATE_CLOSED} {refuse('closed')}"
    triggers["inkl_entry_balance"] = f"AFTER INSERT ON journal_entries WHEN {UNBALANCED} {refuse('unbalanced')}"
    triggers["inkl_entry_foreign_account"] = (
        f"AFTER INSERT ON journal_entries WHEN {FOREIGN_ACCOUNT} {refuse('foreign_account')}")
    triggers["inkl_entry_year_closed"] = f"AFTER INSERT ON journal_entries WHEN {YEAR_CLOSED} {refuse('closed')}"
    triggers["inkl_audit_chain"] = f"BEFORE INSERT ON audit_log WHEN NOT ({AUDIT_LINK_OK}) {refuse('chain')}"
    return triggers


def _sqlite_trigger_names() -> list[str]:
    return list(_sqlite_triggers())


def _upgrade_sqlite() -> None:
    for name, body in _sqlite_triggers().items():
        op.execute(f"CREATE TRIGGER {name} {body}")

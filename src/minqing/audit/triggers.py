"""Database triggers that make the audit log append-only even for raw SQL. Used by migration
0002 and by the browser tests, which must let Django's test flush empty the table."""

TABLE = "audit_auditlog"
_CREATE = {
    "sqlite": [
        f"""CREATE TRIGGER IF NOT EXISTS audit_auditlog_no_update BEFORE UPDATE ON {TABLE}
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS audit_auditlog_no_delete BEFORE DELETE ON {TABLE}
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_auditlog_refuse() RETURNS trigger LANGUAGE plpgsql
           AS $$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$""",
        f"""CREATE OR REPLACE TRIGGER audit_auditlog_no_change BEFORE UPDATE OR DELETE ON {TABLE}
            FOR EACH ROW EXECUTE FUNCTION audit_auditlog_refuse()""",
        # TRUNCATE skips row triggers: refuse it with a statement trigger.
        f"""CREATE OR REPLACE TRIGGER audit_auditlog_no_truncate BEFORE TRUNCATE ON {TABLE}
            FOR EACH STATEMENT EXECUTE FUNCTION audit_auditlog_refuse()""",
    ],
}
_DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_auditlog_no_update",
        "DROP TRIGGER IF EXISTS audit_auditlog_no_delete",
    ],
    "postgresql": [
        f"DROP TRIGGER IF EXISTS audit_auditlog_no_truncate ON {TABLE}",
        f"DROP TRIGGER IF EXISTS audit_auditlog_no_change ON {TABLE}",
        "DROP FUNCTION IF EXISTS audit_auditlog_refuse()",
    ],
}


def create_triggers(connection) -> None:
    with connection.cursor() as cursor:
        for sql in _CREATE.get(connection.vendor, []):
            cursor.execute(sql)


def drop_triggers(connection) -> None:
    with connection.cursor() as cursor:
        for sql in _DROP.get(connection.vendor, []):
            cursor.execute(sql)

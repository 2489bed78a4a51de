"""The audit log refuses UPDATE and DELETE in the database itself, so that not even raw SQL
from the application rewrites history. (A database superuser can still drop the trigger;
that is for the database's own audit to catch.)"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER audit_auditlog_no_update BEFORE UPDATE ON audit_auditlog
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER audit_auditlog_no_delete BEFORE DELETE ON audit_auditlog
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]
POSTGRES = [
    """CREATE FUNCTION audit_auditlog_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$""",
    """CREATE TRIGGER audit_auditlog_no_change BEFORE UPDATE OR DELETE ON audit_auditlog
       FOR EACH ROW EXECUTE FUNCTION audit_auditlog_refuse()""",
    # TRUNCATE skips row triggers: refuse it with a statement trigger.
    """CREATE TRIGGER audit_auditlog_no_truncate BEFORE TRUNCATE ON audit_auditlog
       FOR EACH STATEMENT EXECUTE FUNCTION audit_auditlog_refuse()""",
]
DROP = {
    "sqlite": ["DROP TRIGGER audit_auditlog_no_update", "DROP TRIGGER audit_auditlog_no_delete"],
    "postgresql": [
        "DROP TRIGGER audit_auditlog_no_truncate ON audit_auditlog",
        "DROP TRIGGER audit_auditlog_no_change ON audit_auditlog",
        "DROP FUNCTION audit_auditlog_refuse()",
    ],
}


def create(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for sql in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]

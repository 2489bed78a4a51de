from django.db import migrations

# PostgreSQL only: a list page reads ~50 households, and parallel workers cost more to start
# (4-12 ms, more under load: a Gather Merge waits for every worker's first row) than the walk
# of the (region, id) index they share. With this storage parameter the planner builds no
# parallel scan of the household table (docs/household-roll.md, "Speed at a county's size").


def serial_scans(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE households_household SET (parallel_workers = 0)")


def default_scans(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE households_household RESET (parallel_workers)")


class Migration(migrations.Migration):
    dependencies = [("households", "0005_fewer_indexes")]

    operations = [migrations.RunPython(serial_scans, default_scans)]

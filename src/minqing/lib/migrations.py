"""Operations shared by migrations. Migrations written with them run them as they are, so a
change here changes what those migrations do: add, do not alter."""

from django.db import migrations


def drop_pattern_ops_indexes(*indexes: tuple[str, str, str]) -> migrations.RunPython:
    """Drop (reversibly) the ``varchar_pattern_ops`` indexes PostgreSQL gets from Django beside
    the index of a text column, for ``LIKE 'x%'``, where nothing asks that: each is one more
    index written per row. ``indexes``: (index name, table, column). SQLite has none."""

    def run(create: bool):
        def operation(apps, schema_editor):
            if schema_editor.connection.vendor != "postgresql":
                return
            for name, table, column in indexes:
                schema_editor.execute(
                    f'CREATE INDEX "{name}" ON "{table}" ("{column}" varchar_pattern_ops)'
                    if create
                    else f'DROP INDEX IF EXISTS "{name}"'
                )

        return operation

    return migrations.RunPython(run(create=False), run(create=True))


def drop_indexes(
    table: str, *indexes: tuple[str, str], state_operations: list
) -> migrations.SeparateDatabaseAndState:
    """Drop (reversibly) single-column indexes of ``table`` by name, (index name, column),
    with the ``state_operations`` that give the fields ``db_index=False``. By name, as Django
    names them alike on SQLite and PostgreSQL: altering the fields would make SQLite copy the
    whole table (and a copy of the audit table would lose its append-only triggers)."""
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{name}"',
                reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
            )
            for name, column in indexes
        ],
        state_operations=state_operations,
    )

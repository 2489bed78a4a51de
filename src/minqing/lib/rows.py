"""Plain INSERTs of many rows for the few writes that make thousands at once (the sweep's
history lines and notices): ``bulk_create`` builds and prepares a model per row, which cost
more than the database's work."""

from django.db import connection


def insert_rows(model, columns: tuple[str, ...], rows: list[tuple], **same) -> None:
    """Insert ``rows`` (tuples of database-ready values for ``columns``) into ``model``'s
    table. ``same``: columns with one value for every row; every other column takes its
    field's default. PostgreSQL: one statement over arrays; SQLite: its own executemany."""
    if not rows:
        return
    fields = {f.column: f for f in model._meta.concrete_fields if not f.primary_key}
    constants = same | {
        c: f.get_db_prep_save(f.get_default(), connection)
        for c, f in fields.items()
        if c not in columns and c not in same
    }
    names = ", ".join((*columns, *constants))
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{fields[c].db_type(connection)}[]" for c in columns)
            selected = ", ".join(["*", *["%s"] * len(constants)])
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {selected} FROM UNNEST({arrays})",
                [*constants.values(), *(list(column) for column in zip(*rows, strict=True))],
            )
        else:
            marks = ", ".join(["%s"] * (len(columns) + len(constants)))
            tail = tuple(constants.values())
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})", [(*r, *tail) for r in rows]
            )

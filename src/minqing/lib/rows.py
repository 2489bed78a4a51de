"""Plain INSERTs of many rows, for the writes that make thousands at once (a roll's import,
the sweep's history lines and notices): ``bulk_create`` builds and prepares a model per row,
which costs more than the database's work."""

from django.db import connection

BATCH = 2_000  # rows per executemany on SQLite


def insert_rows(model, columns: tuple[str, ...], rows: list[tuple], **same) -> None:
    """Insert ``rows`` (tuples of database-ready values for ``columns``) into ``model``'s
    table. ``same``: columns with one value for every row; every other column takes its
    field's default. PostgreSQL: COPY; SQLite: executemany in batches."""
    if not rows:
        return
    fields = {f.column: f for f in model._meta.concrete_fields if not f.primary_key}
    constants = same | {
        c: f.get_db_prep_save(f.get_default(), connection)
        for c, f in fields.items()
        if c not in columns and c not in same
    }
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in (*columns, *constants))
    table = quote(model._meta.db_table)
    tail = tuple(constants.values())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *tail) if tail else row)
            return
        marks = ", ".join(["%s"] * (len(columns) + len(constants)))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            cursor.executemany(sql, [(*r, *tail) for r in batch] if tail else batch)

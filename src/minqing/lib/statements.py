"""One-row writes from SQL text built once, for the paths that run on every request (posting a
visit; the audit row every service writes). There the ORM's building and compiling of an
INSERT or UPDATE for each call cost more than the database's work on it (bench/outreach.py,
``outreach.post``). The rows written are the same: each field's ``pre_save`` and
``get_db_prep_save`` prepare its value, as ``Model.save()`` does. No model signals are sent
(minqing connects none).

``together()`` sends several writes whose results are not needed as one statement on
PostgreSQL; SQLite, in the same process, runs them one by one.

On PostgreSQL the statements run through ``cursor()`` are prepared the first time a connection
runs them (parsed and planned once, then only executed), which halved PostgreSQL's CPU for each
visit posted. They are fixed texts whose best plan does not depend on the values (a key lookup,
an insert, an upsert). Other statements are not prepared: a list's filters must be planned
for the values given, and PostgreSQL's generic plan for a prepared statement may not be."""

import contextlib
import functools

from django.db import DEFAULT_DB_ALIAS, connections


def db():
    """The default connection itself. ``django.db.connection`` is a proxy that looks the
    connection up (a thread-local read) at each attribute, and these paths read dozens a
    request (each field's ``get_db_prep_save`` among them)."""
    return connections[DEFAULT_DB_ALIAS]


@contextlib.contextmanager
def cursor():
    """Django's cursor, whose statements psycopg prepares on first use (PostgreSQL with
    server-side binding, see lib/env.py; elsewhere as it is)."""
    connection = db()
    with connection.cursor() as django_cursor:
        raw = connection.connection
        if connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get(
            "server_side_binding"
        ):
            yield django_cursor
            return
        before, raw.prepare_threshold = raw.prepare_threshold, 0
        try:
            yield django_cursor
        finally:
            raw.prepare_threshold = before


@functools.cache
def _insert(model, vendor: str) -> tuple[list, str, bool]:
    """(fields, SQL, returns the key) for an INSERT of every concrete field but the key."""
    connection = db()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    returning = connection.features.can_return_columns_from_insert
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return fields, sql, returning


def insert(instance):
    """Write a new model instance (its key given by the database) and return it, saved."""
    connection = db()
    fields, sql, returning = _insert(type(instance), connection.vendor)
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with cursor() as c:
        c.execute(sql, values)
        instance.pk = c.fetchone()[0] if returning else c.lastrowid
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def insert_statement(instance) -> tuple[str, list]:
    """The INSERT of ``insert()`` for ``together()``, whose statements return nothing."""
    connection = db()
    fields, sql, returning = _insert(type(instance), connection.vendor)
    if returning:
        sql = sql.rsplit(" RETURNING ", 1)[0]
    return sql, [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def together(statements: list[tuple[str, list]]) -> None:
    """Run (sql, params) writes whose results are not needed, in the current transaction, as
    one statement on PostgreSQL: ``WITH s1 AS (first), s2 AS (second) last``, so that a
    request's bookkeeping costs one round trip and one statement's overhead, not one each.
    They see the same snapshot there: none may depend on another's effect, and no two may
    write the same row. SQLite, in the same process, runs them one by one."""
    with cursor() as c:
        if db().vendor == "postgresql" and len(statements) > 1:
            *first, (last, _p) = statements
            heads = ", ".join(f"s{n} AS ({sql})" for n, (sql, _p) in enumerate(first))
            c.execute(f"WITH {heads} {last}", [p for _s, params in statements for p in params])
            return
        for sql, params in statements:
            c.execute(sql, params)


@functools.cache
def _reader(model, alias: str, vendor: str) -> tuple[str, list]:
    """(the select list of the model's columns, each column's converters)."""
    connection = db()
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
    converters = []
    for f in fields:
        col = f.get_col(alias)
        converters.append(
            (col, connection.ops.get_db_converters(col) + f.get_db_converters(connection))
        )
    return columns, converters


def columns(model, alias: str) -> str:
    """The model's columns, qualified by ``alias``, for a hand-written SELECT whose first
    values ``from_row`` turns into an instance."""
    return _reader(model, alias, db().vendor)[0]


def from_row(model, row, alias: str):
    """The instance from a row that starts with ``columns(model, alias)``, its values
    converted as the ORM converts them."""
    connection = db()
    converters = _reader(model, alias, connection.vendor)[1]
    values = []
    for value, (col, convert) in zip(row, converters, strict=False):
        for converter in convert:
            value = converter(value, col, connection)
        values.append(value)
    return model.from_db(connection.alias, None, values)


def from_joined_row(row, *parts: tuple) -> tuple:
    """The instances from a row that starts with ``columns(model, alias)`` of each (model,
    alias) in ``parts``, in that order."""
    found, start = [], 0
    for model, alias in parts:
        found.append(from_row(model, row[start:], alias))
        start += len(model._meta.concrete_fields)
    return tuple(found)


@functools.cache
def _select(shape: tuple, vendor: str) -> str:
    """SELECT the rows of ``shape`` ((model, key names), ...) as a cross join of one-row
    lookups, aliased t0, t1, ..."""
    connection = db()
    quote = connection.ops.quote_name
    heads, tables, where = [], [], []
    for n, (model, keys) in enumerate(shape):
        heads.append(columns(model, f"t{n}"))
        tables.append(f"{quote(model._meta.db_table)} t{n}")
        where += [f"t{n}.{quote(model._meta.get_field(k).column)} = %s" for k in keys]
    return f"SELECT {', '.join(heads)} FROM {', '.join(tables)} WHERE {' AND '.join(where)}"


def get_each(*lookups: tuple) -> tuple | None:
    """Rows by unique keys, in one statement: ``get_each((Campaign, {"id": 1}), (Household,
    {"id": 2}))`` gives (campaign, household), or None when any of them is missing."""
    connection = db()
    shape = tuple((model, tuple(keys)) for model, keys in lookups)
    params = [
        model._meta.get_field(k).get_db_prep_value(v, connection)
        for model, keys in lookups
        for k, v in keys.items()
    ]
    with cursor() as c:
        c.execute(_select(shape, connection.vendor), params)
        row = c.fetchone()
    if row is None:
        return None
    return from_joined_row(row, *((model, f"t{n}") for n, (model, _k) in enumerate(lookups)))


def get_one(model, **keys):
    """The row with these column values (a unique key), or None (see ``get_each``)."""
    found = get_each((model, keys))
    return None if found is None else found[0]


@functools.cache
def _update(model, names: tuple[str, ...], vendor: str) -> tuple[list, str]:
    connection = db()
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(n) for n in names]
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    pk = quote(model._meta.pk.column)
    return fields, f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {pk} = %s"


def update_statement(instance, names: tuple[str, ...]) -> tuple[str, list]:
    """``instance.save(update_fields=names)`` as a statement for ``together()``."""
    connection = db()
    fields, sql = _update(type(instance), names, connection.vendor)
    values = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in fields]
    return sql, [*values, instance.pk]

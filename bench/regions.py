"""regions.load: the whole national region tree into a fresh database, as a user waits for it.

1. ours: a fresh, migrated SQLite file (WAL, the app's PRAGMAs); time
   ``regions_load(rows=read_region_file(), edition=2023)``, reading the gz file included.
2. ours again on the same database: the idempotent second run, which must change nothing.
3. bare: the same rows as the same tuples (code, name, short_name, level, parent_id, since), in
   the same order, read and built from the same file with the same helpers, then one plain
   ``sqlite3`` executemany in one transaction into a copy of the migrated table and indexes
   (DDL from the migrated database's sqlite_master) in another fresh file, with the same
   PRAGMAs as ours (the app's, plus the page cache regions_load sets for a big insert).
4. With ``--pg`` or BENCH_PG_URL: 1 and 2 on PostgreSQL, in a scratch database; no target.

The target (< 15 s on SQLite) and the ratio are about the full times, 1 against 3. The
lines below them split out the writing: ours's ``_insert`` (building the row tuples and
writing them) and its INSERT executemany calls alone (timed through Django's
execute_wrapper), the bare side's tuple building and executemany alone. Both tables are
checked to hold the same rows (a sha256 over every row in code order).
"""

import hashlib
import os
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench import Figure, Result
from bench._support import (
    bench_tmpdir,
    close_database,
    fresh_postgres,
    measure,
    migrate,
    redact,
    sqlite_url,
    use_database,
)

NAME = "regions.load"
DESCRIPTION = (
    "load the 2023 national region tree (regions-2023.tsv.gz) into a fresh SQLite database, "
    "against a bare sqlite3 executemany of the same rows"
)
TARGET_SECONDS = 15.0
EDITION = 2023
TABLE = "regions_region"
SELECT_ALL = (
    f"SELECT code, name, short_name, level, parent_id, since, retired_in FROM {TABLE} ORDER BY code"
)


class _InsertTimer:
    """A Django execute_wrapper that times the executemany INSERTs into the region table."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.rows = 0
        self.calls = 0

    def __call__(self, execute, sql, params, many, context):
        if not (many and sql.lstrip().upper().startswith(f"INSERT INTO {TABLE.upper()} ")):
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.rows += len(params)
            self.calls += 1


@contextmanager
def _timing_insert(spent: list[float]):
    """Time regions.services._insert (row tuples + writing), if it still exists."""
    from minqing.regions import services

    original = getattr(services, "_insert", None)
    if original is None:
        yield
        return

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    services._insert = timed
    try:
        yield
    finally:
        services._insert = original


def _load(label: str, *, first: bool, notes: list[str]) -> tuple[list[Figure], int]:
    """Time one regions_load of the packaged file on the current default database.

    Returns the figures (the whole call, then on a first load its insert lines) and the rows
    in the file."""
    from django.db import connection

    from minqing.regions.services import read_region_file, regions_load

    timer, in_insert = _InsertTimer(), []
    with connection.execute_wrapper(timer), _timing_insert(in_insert), measure() as span:
        loaded = regions_load(rows=read_region_file(), edition=EDITION)
    if loaded.changed != first:
        notes.append(
            f"{label}: expected {'changes' if first else 'no change'}, got "
            f"created={loaded.created} renamed={loaded.renamed} retired={loaded.retired} "
            f"revived={loaded.revived}"
        )
    figures = [
        Figure(
            label=label,
            seconds=span.seconds,
            cpu_seconds=span.cpu_seconds,
            rows=loaded.total,
            peak_rss=span.peak_rss,
            start_rss=span.start_rss,
            note=f"created {loaded.created:,}" if loaded.created else "no change",
        )
    ]
    if first and in_insert:
        figures.append(
            Figure(
                label="  _insert: row tuples + write",
                seconds=sum(in_insert),
                rows=loaded.created,
            )
        )
    if first and timer.calls:
        figures.append(
            Figure(
                label="  INSERT executemany only",
                seconds=timer.seconds,
                rows=timer.rows,
                note=f"{timer.calls} calls",
            )
        )
    return figures, loaded.total


def _load_pragmas() -> list[str]:
    """The PRAGMAs the app gives every SQLite connection (minqing.lib.env), plus the
    foreign_keys=ON that Django's SQLite backend sets on each one it opens."""
    from django.conf import settings

    init = settings.DATABASES["default"]["OPTIONS"]["init_command"]
    return [p.strip() for p in init.split(";") if p.strip()] + ["PRAGMA foreign_keys=ON"]


def _region_ddl(db: Path) -> list[str]:
    """CREATE TABLE then CREATE INDEX statements of the region table, as migrations made them."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", (TABLE,)
    ).fetchall()
    conn.close()
    return [sql for kind, sql in sorted(rows, key=lambda r: r[0] != "table")]


def _digest(cursor) -> tuple[int, str]:
    """(rows, sha256 of every row in code order), to check both sides loaded the same."""
    digest, count = hashlib.sha256(), 0
    cursor.execute(SELECT_ALL)
    while batch := cursor.fetchmany(10_000):
        count += len(batch)
        digest.update(repr([tuple(row) for row in batch]).encode())
    return count, digest.hexdigest()[:16]


def _sqlite_digest(db: Path) -> tuple[int, str]:
    conn = sqlite3.connect(db)
    try:
        return _digest(conn.cursor())
    finally:
        conn.close()


def _bare(db: Path, ddl: list[str]) -> list[Figure]:
    """The baseline: parse the file to the same tuples, one executemany, one transaction."""
    from minqing.regions.codes import level_of, parent_of, short_name
    from minqing.regions.services import read_region_file

    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in _load_pragmas():
        conn.execute(pragma)
    for statement in ddl:
        conn.execute(statement)
    sql = (
        f"INSERT INTO {TABLE} (code, name, short_name, level, parent_id, since) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    with measure() as span:
        started = time.perf_counter()
        names = dict(read_region_file())
        rows = [
            (c, n, short_name(n), level_of(c), parent_of(c), EDITION)
            for c, n in sorted(names.items(), key=lambda item: level_of(item[0]))
        ]
        parsed = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        inserted = time.perf_counter()
        conn.execute("COMMIT")
    conn.close()
    return [
        Figure(
            label="bare sqlite3: read + executemany + commit",
            seconds=span.seconds,
            cpu_seconds=span.cpu_seconds,
            rows=len(rows),
            peak_rss=span.peak_rss,
            start_rss=span.start_rss,
        ),
        Figure(label="  read + row tuples only", seconds=parsed - started, rows=len(rows)),
        Figure(
            label="  INSERT executemany only",
            seconds=inserted - parsed,
            rows=len(rows),
            note=f"commit {span.seconds - (inserted - started):.2f} s",
        ),
    ]


def _postgres(url: str, expected: tuple[int, str], notes: list[str]) -> list[Figure]:
    from django.db import connection

    with fresh_postgres(url):
        use_database(url)
        migrate()
        first, _ = _load("postgres: regions_load", first=True, notes=notes)
        second, _ = _load("postgres: second run", first=False, notes=notes)
        with connection.cursor() as cursor:
            loaded = _digest(cursor)
        close_database()
    if loaded != expected:
        notes.append(f"POSTGRES TABLE DIFFERS: {loaded}, SQLite {expected}")
    notes.append(f"postgres: {redact(url)}, created and dropped for this run; no target")
    return first + second


def run() -> Result:
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="minqing-bench-regions-", dir=bench_tmpdir()) as tmp:
        ours_db, bare_db = Path(tmp) / "ours.sqlite3", Path(tmp) / "bare.sqlite3"
        use_database(sqlite_url(ours_db))  # sets Django up on first use
        migrate()

        from minqing.regions.services import PACKAGED_FILE

        PACKAGED_FILE.read_bytes()  # the file in the page cache for both sides alike

        ours, total = _load("ours: regions_load, read + load", first=True, notes=notes)
        second, _ = _load("ours: second run (idempotent)", first=False, notes=notes)
        close_database()

        bare = _bare(bare_db, _region_ddl(ours_db))
        ours_digest, bare_digest = _sqlite_digest(ours_db), _sqlite_digest(bare_db)
        if ours_digest == bare_digest:
            notes.append(f"same rows on both sides: {ours_digest[0]:,}, sha256 {ours_digest[1]}")
        else:
            notes.append(f"THE TABLES DIFFER: ours {ours_digest}, bare {bare_digest}")
        notes.append(
            "bare PRAGMAs: " + "; ".join(p.removeprefix("PRAGMA ") for p in _load_pragmas())
        )

        figures = ours + second + bare
        pg_url = os.environ.get("BENCH_PG_URL")
        if pg_url:
            figures += _postgres(pg_url, ours_digest, notes)

    size = PACKAGED_FILE.stat().st_size / 1_048_576
    return Result(
        name=NAME,
        workload=f"{total:,} rows",
        ours=ours[0],
        target_seconds=TARGET_SECONDS,
        target_label=f"< {TARGET_SECONDS:g} s on SQLite",
        baseline=bare[0],
        baseline_name="bare executemany",
        figures=figures,
        notes=[f"file: {PACKAGED_FILE.name}, {size:.1f} MB gzipped, edition {EDITION}", *notes],
    )

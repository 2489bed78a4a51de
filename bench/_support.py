"""What the benchmarks share: timing with peak memory, and pointing Django at a fresh database.

Django is set up once per process. The first benchmark's database URL goes into DATABASE_URL
before ``django.setup()``; later ones switch the default connection to their own fresh
database (SQLite file or PostgreSQL), so every benchmark starts from an empty, migrated one.
"""

import contextlib
import gc
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
_PROC_STATUS = Path("/proc/self/status")
_PROC_CLEAR_REFS = Path("/proc/self/clear_refs")

# ---------------------------------------------------------------------------------------------
# Memory and time


def _status_kib(key: str) -> int | None:
    try:
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss() -> int | None:
    kib = _status_kib("VmRSS")
    return kib * 1024 if kib is not None else None


def _reset_peak() -> bool:
    """Linux ≥ 4.0 resets the VmHWM high-water mark when "5" is written to clear_refs."""
    try:
        _PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _peak_rss() -> int | None:
    kib = _status_kib("VmHWM")
    if kib is None:  # not Linux: the process-wide peak is the best there is
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024


@dataclass
class Span:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss: int | None = None
    start_rss: int | None = None
    peak_is_process_wide: bool = False


@contextmanager
def measure() -> Iterator[Span]:
    """Wall and CPU time of the block and the peak resident memory while it ran. CPU time is
    this process's alone (SQLite included): far less than wall time means waiting for the
    disk or for other work on the machine.

    Starts from a collected heap and a synced disk, so an earlier span's garbage or dirty
    pages do not land on this one.

    Where /proc/self/clear_refs cannot be written, the peak is the process's since it started,
    and ``peak_is_process_wide`` says so.
    """
    span = Span()
    gc.collect()
    if hasattr(os, "sync"):  # no write-back left over from an earlier span to slow this one
        os.sync()
    span.peak_is_process_wide = not _reset_peak()
    span.start_rss = current_rss()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        yield span
    finally:
        span.seconds = time.perf_counter() - started
        span.cpu_seconds = time.process_time() - cpu_started
        span.peak_rss = _peak_rss()


# ---------------------------------------------------------------------------------------------
# Django and databases


def bench_tmpdir() -> str | None:
    """Where temporary databases go: BENCH_TMPDIR, else the system's temporary directory."""
    return os.environ.get("BENCH_TMPDIR") or None


_process_tmp: tempfile.TemporaryDirectory | None = None


def _process_var_dir() -> str:
    global _process_tmp
    if _process_tmp is None:
        _process_tmp = tempfile.TemporaryDirectory(prefix="minqing-bench-var-", dir=bench_tmpdir())
    return _process_tmp.name


def use_database(url: str) -> None:
    """Point Django's default connection at ``url``, setting Django up first if need be."""
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ["DJANGO_SETTINGS_MODULE"] = "minqing.settings"
        os.environ["DATABASE_URL"] = url
        # Keep the developer's var/ untouched: no secret file, no static dir, no database there.
        os.environ["MINQING_VAR_DIR"] = _process_var_dir()
        os.environ.setdefault("SECRET_KEY", "minqing-bench-not-secret")
        django.setup()
        return

    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    from minqing.lib.env import database_from_url

    connections.close_all()
    os.environ["DATABASE_URL"] = url
    settings.DATABASES["default"] = database_from_url(url, base_dir=settings.PROJECT_DIR)
    connections.__dict__.pop("settings", None)  # the handler's cached, defaults-filled copy
    with contextlib.suppress(AttributeError):  # never opened in this thread
        del connections["default"]
    ContentType.objects.clear_cache()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def close_database() -> None:
    from django.db import connections

    connections.close_all()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"  # sqlite:////abs/path


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def fresh_postgres(url: str) -> Iterator[str]:
    """Create the database that ``url`` names (dropping any left over) through the server's
    ``postgres`` database, yield ``url``, and drop it afterwards."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        raise ValueError(f"{redact(url)}: name a scratch database, not {name or 'none'!r}")
    admin = urlunsplit(parts._replace(path="/postgres", query=""))

    def drop(cur) -> None:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    with psycopg.connect(admin, autocommit=True) as conn, conn.cursor() as cur:
        drop(cur)
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url
    finally:
        close_database()
        with psycopg.connect(admin, autocommit=True) as conn, conn.cursor() as cur:
            drop(cur)


def fmt_int(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def fmt_mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1_048_576:,.0f} MB"

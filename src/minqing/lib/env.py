"""Strict readers for settings taken from the environment.

A value that cannot be read is an error at start-up, never a silent default.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, *, base_dir: Path) -> dict:
    """Turn ``sqlite:///var/db.sqlite3`` or ``postgresql://user@host:5432/name`` into
    a Django DATABASES entry. SQLite runs in WAL mode with immediate transactions so
    that concurrent writers queue instead of failing with "database is locked"."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme == "sqlite":
        raw_path = unquote(parts.path)
        # sqlite:///relative/path and sqlite:////absolute/path, as dj-database-url reads them
        path = Path(raw_path[1:]) if raw_path.startswith("/") else Path(raw_path)
        if not path.is_absolute():
            path = base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                # cache_size: 64 MB instead of SQLite's 2 MB, so that the indexes of the big
                # tables (region tree, household roll) stay in memory; bench/ shows the gain.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
                    " PRAGMA cache_size=-65536;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": str(path.with_name("test-" + path.name))},
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            # Django's backend with a health check that asks the socket (lib/postgresql/base.py).
            "ENGINE": "minqing.lib.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", 60)),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": _pg_options(options),
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


def _pg_options(options: dict[str, str]) -> dict:
    """Parameters bound on the server, so that the statements of the paths that run on every
    request (lib/statements.py) can be prepared: parsed and planned once per connection. Other
    statements are planned each time (psycopg's prepare_threshold stays off unless given).
    Behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer <
    1.21), ``?server_side_binding=false`` in DATABASE_URL turns both off."""
    binding = options.pop("server_side_binding", "true").strip().lower()
    if binding not in _TRUE | _FALSE:
        raise ImproperlyConfigured(f"DATABASE_URL server_side_binding={binding!r} is not a boolean")
    threshold = options.pop("prepare_threshold", "none").strip().lower()
    try:
        prepare = None if threshold in ("none", "") else int(threshold)
    except ValueError:
        raise ImproperlyConfigured(
            f"DATABASE_URL prepare_threshold={threshold!r} is not a number or 'none'"
        ) from None
    return {"server_side_binding": binding in _TRUE, "prepare_threshold": prepare, **options}


def secret_from_file(path: Path, *, nbytes: int = 48) -> str:
    """Read a secret generated once into ``path``; create it (mode 0600) if missing."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value

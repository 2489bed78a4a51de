"""Where the current write comes from (web, API, import, command), set once at the edge
(middleware, API auth, command, import task) and read by ``audit_record``."""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    source: str = "system"
    ip: str | None = None


_SYSTEM = Origin()
_origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


def current_origin() -> Origin:
    return _origin.get() or _SYSTEM


@contextmanager
def origin(source: str, ip: str | None = None):
    token = _origin.set(Origin(source=source, ip=ip))
    try:
        yield
    finally:
        _origin.reset(token)


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None

"""Keyset ("seek") pagination: each page starts after the last row of the one before, so a
page costs the same at row 10 and row 200,000 and no COUNT(*) is needed."""

import base64
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

# The API's pages: rows a page unless ``?limit=`` asks for another number up to the most.
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


def page_size(limit: str | None, errors: dict) -> int:
    """``?limit=`` read: the rows a page, or PAGE_SIZE with the reason in ``errors``."""
    if not limit:
        return PAGE_SIZE
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE_SIZE:
        errors["limit"] = _("每页条数应为 1 到 %(max)d 之间的整数") % {"max": MAX_PAGE_SIZE}
        return PAGE_SIZE
    return int(limit)


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    next_url: str | None = None  # the same query string with ``after`` moved on


def _encode(values: list) -> str:
    raw = json.dumps(values, cls=DjangoJSONEncoder, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, qs: QuerySet, order: tuple[str, ...]) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(order):
            return None
        values = [
            qs.model._meta.get_field(f).to_python(v) for f, v in zip(order, values, strict=True)
        ]
        # A null would reach the query as `at < None`, which Django refuses with a 500.
        return None if any(v is None for v in values) else values
    except Exception:  # a forged or stale cursor starts again at the first page
        return None


def keyset_page(
    qs: QuerySet, params: QueryDict, *, order: tuple[str, ...], size: int, descending=True
) -> Page:
    """One page of ``qs`` ordered by ``order`` (the last field must be unique), starting
    after the cursor in ``params["after"]`` (the request's query string)."""
    cursor = params.get("after")
    op = "lt" if descending else "gt"
    qs = qs.order_by(*(("-" if descending else "") + f for f in order))
    values = _decode(cursor, qs, order) if cursor else None
    if values is not None:
        seek = Q()
        for i in range(len(order)):
            equal = {order[j]: values[j] for j in range(i)}
            seek |= Q(**equal, **{f"{order[i]}__{op}": values[i]})
        qs = qs.filter(seek)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not more:
        return Page(rows=rows, next_cursor=None)
    next_cursor = _encode([getattr(rows[-1], f) for f in order])
    following = params.copy()
    following["after"] = next_cursor
    return Page(rows=rows, next_cursor=next_cursor, next_url="?" + following.urlencode())

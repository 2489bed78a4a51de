from typing import Any

from django.db import models

from minqing.audit.context import current_origin
from minqing.audit.models import AuditLog
from minqing.lib import statements


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The JSON-able values of ``fields`` on ``obj``, to diff before and after a change."""
    values = {}
    for name in fields:
        value = getattr(obj, obj._meta.get_field(name).attname)
        values[name] = (
            value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        )
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [before, after]} for the fields that changed."""
    keys = before.keys() | after.keys()
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def audit_row(
    *,
    actor,
    action: str,
    entity: str,
    entity_id: str | int = "",
    region_code: str = "",
    changes: dict | None = None,
) -> AuditLog:
    """The audit row of a change, not yet written (see ``audit_record``)."""
    origin = current_origin()
    known = getattr(actor, "pk", None)
    return AuditLog(
        actor=actor if known else None,
        actor_name=actor.display_name if known else "",
        source=origin.source,
        ip=origin.ip,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        region_code=region_code,
        changes=changes or {},
    )


def audit_record(**row) -> AuditLog:
    """Write one audit row (the arguments of ``audit_row``). Call it inside the service's
    transaction so that the change and its record commit or roll back together."""
    return statements.insert(audit_row(**row))

from django.db.models import Q, QuerySet

from minqing.audit.models import AuditLog
from minqing.regions.models import prefix_q


def audit_in_reach(user) -> QuerySet[AuditLog]:
    """Audit rows about records within the user's reach, and the national rows (loads of the
    region tree, which have no region) that concern everyone."""
    return AuditLog.objects.filter(prefix_q("region_code", user.reach) | Q(region_code=""))


def audit_filtered(user, *, entity="", actor_id=None, date_from=None, date_to=None, entity_id=""):
    qs = audit_in_reach(user)
    if entity:
        qs = qs.filter(entity=entity)
    if entity_id:
        qs = qs.filter(entity_id=entity_id)
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    return qs.order_by("-at", "-id")

"""The sweep's reminders (提醒) to a person or to a unit: what a user reads, how many are unread,
and marking them read. A unit's reminder is one row for the whole unit, like a shared inbox:
whoever of the unit marks it read marks it for the unit."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from minqing.audit.services import audit_record
from minqing.cases.models import Notification
from minqing.regions.codes import pad
from minqing.regions.models import prefix_q


def notices_for(user) -> QuerySet[Notification]:
    """The user's own reminders and their unit's, on cases in their reach, newest first."""
    mine = Q(user=user) | (Q(unit_id=user.unit_id) if user.unit_id else Q(pk__in=[]))
    return (
        Notification.objects.filter(mine)
        .filter(prefix_q("case__region_id", user.reach))
        .order_by("-at", "-id")
    )


def unread_count(user) -> int:
    return notices_for(user).filter(read_at__isnull=True).count()


@transaction.atomic
def notices_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the given reminders of the actor's (all unread ones when ``ids`` is None) read;
    reminders that are not the actor's are left alone. Returns how many changed."""
    unread = notices_for(actor).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    marked = list(unread.values_list("pk", flat=True))
    if not marked:
        return 0
    Notification.objects.filter(pk__in=marked, read_at__isnull=True).update(read_at=timezone.now())
    audit_record(
        actor=actor,
        action="read",
        entity="cases.notification",
        entity_id=marked[0] if len(marked) == 1 else "",
        region_code=pad(actor.reach),
        changes={"read": [None, marked]},
    )
    return len(marked)

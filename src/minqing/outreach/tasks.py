"""Background tasks (django-tasks; a worker runs them: ``minqing db_worker``)."""

import datetime

from django.utils import timezone
from django_tasks import task, task_backends

from minqing.audit.context import origin
from minqing.outreach import services

REFRESH_EVERY = datetime.timedelta(days=1)


@task()
def refresh_campaigns(reschedule: bool = True) -> dict:
    """``services.campaigns_refresh``, then the next one a day later (on a backend that can
    defer): a household whose must-visit category ended yesterday is no longer due today."""
    with origin("system"):
        done = services.campaigns_refresh()
    if reschedule and task_backends[refresh_campaigns.backend].supports_defer:
        refresh_campaigns.using(run_after=timezone.now() + REFRESH_EVERY).enqueue()
    return {str(pk): households for pk, households in done.items()}

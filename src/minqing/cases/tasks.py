"""Background tasks (django-tasks; a worker runs them: ``minqing db_worker``)."""

import datetime

from django.utils import timezone
from django_tasks import task, task_backends

from minqing.audit.context import origin
from minqing.cases import services

SWEEP_EVERY = datetime.timedelta(minutes=5)


@task()
def sweep_cases(reschedule: bool = True) -> dict:
    """The sweep, then the next one in SWEEP_EVERY (on a backend that can defer). Several
    chains running at once are harmless: the sweep claims each case once."""
    with origin("system"):
        report = services.sweep()
    if reschedule and task_backends[sweep_cases.backend].supports_defer:
        sweep_cases.using(run_after=timezone.now() + SWEEP_EVERY).enqueue()
    return {
        "marked_overdue": len(report.marked_overdue),
        "escalated": report.escalated,
        "skipped": report.skipped,
        "errors": report.errors,
    }

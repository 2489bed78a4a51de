"""Background tasks (django-tasks; a worker runs them: ``minqing db_worker``)."""

from django_tasks import task

from minqing.households import jobs


@task()
def check_import(job_id: int) -> None:
    jobs.import_job_check(job_id)


@task()
def run_import(job_id: int) -> None:
    jobs.import_job_execute(job_id)

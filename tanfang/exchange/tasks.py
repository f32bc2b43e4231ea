"""Background work of imports and exports, run by `manage.py db_worker`."""

from django_tasks import task

from tanfang.exchange import actions


@task()
def import_elders(job_id: int) -> None:
    actions.run_import(job_id=job_id)

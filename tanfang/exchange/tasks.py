"""Background work of imports and exports, run by `manage.py db_worker`, and
starting it from a request."""

from typing import Any

from django.db import transaction
from django_tasks import task

from tanfang.exchange import actions
from tanfang.exchange.models import ImportJob


@task()
def import_elders(job_id: int) -> None:
    actions.run_import(job_id=job_id)


@transaction.atomic
def start_import(**arguments: Any) -> ImportJob:
    """Keep the file (`actions.store_import`, which checks it as a whole) and
    queue its import once that commits."""
    job = actions.store_import(**arguments)
    transaction.on_commit(lambda: import_elders.enqueue(job.pk))
    return job

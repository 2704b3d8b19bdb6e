"""The lead import's background work: a chunk per task run, resumed if its worker died."""

import datetime

from django.tasks import task
from django.utils import timezone

from climcrm.scheduling import Every, periodic
from leads import importing
from leads.models import ImportJob

# Below the emails' priority: a long import lets them through between its chunks.
IMPORT_PRIORITY = -10
# An import whose job row has not moved for this long lost its worker (a chunk takes
# seconds).
STALLED_AFTER = datetime.timedelta(minutes=5)


@task(priority=IMPORT_PRIORITY)
def import_leads(job_id: int) -> dict[str, int | str]:
    """Import the next chunk of a confirmed file, then queue the chunk after it.

    The job row is locked while a chunk is written, so two runs of the same job (a resumed
    one beside a slow one) never import a row twice.
    """
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.IMPORTING:
        return {"status": "nothing to do"}
    job = importing.import_step(job=job, by=job.created_by)
    if job.status != ImportJob.Status.DONE:
        import_leads.enqueue(job_id)
    return {
        "status": job.status,
        "processed": job.processed_rows,
        "imported": job.imported_rows,
        "rejected": job.rejected_rows,
    }


@periodic(Every(minutes=5))
@task(priority=IMPORT_PRIORITY)
def resume_stalled_imports() -> list[int]:
    """Queue again the imports whose worker stopped in the middle (restarted, killed)."""
    stalled = list(
        ImportJob.objects.filter(
            status=ImportJob.Status.IMPORTING,
            updated_at__lt=timezone.now() - STALLED_AFTER,
        ).values_list("pk", flat=True)
    )
    for job_id in stalled:
        import_leads.enqueue(job_id)
    return stalled

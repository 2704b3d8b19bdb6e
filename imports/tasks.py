"""The pipeline import's background work: a chunk per task run, resumed if its worker died."""

import datetime

from django.tasks import task
from django.utils import timezone

from climcrm.scheduling import Every, periodic
from imports import services
from imports.models import PipelineImport

# Below the emails' priority: a long import lets them through between its chunks.
IMPORT_PRIORITY = -10
# An import whose row has not moved for this long lost its worker.
STALLED_AFTER = datetime.timedelta(minutes=5)


@task(priority=IMPORT_PRIORITY)
def run_import(import_id: int) -> dict[str, int | str]:
    """Import the next chunk of a confirmed file (or the whole file, all or nothing), then
    queue the chunk after it. It goes on whether anyone watches the page."""
    job = PipelineImport.objects.filter(pk=import_id).first()
    if job is None or job.status != PipelineImport.Status.IMPORTING:
        return {"status": "nothing to do"}
    job = services.import_step(job=job)
    if job.status == PipelineImport.Status.IMPORTING:
        run_import.enqueue(import_id)
    return {
        "status": job.status,
        "processed": job.processed_rows,
        "created": job.created_rows,
        "existing": job.existing_rows,
        "refused": job.rejected_rows,
    }


@periodic(Every(minutes=5))
@task(priority=IMPORT_PRIORITY)
def resume_stalled_imports() -> list[int]:
    """Queue again the imports whose worker stopped in the middle (restarted, killed)."""
    stalled = list(
        PipelineImport.objects.filter(
            status=PipelineImport.Status.IMPORTING,
            updated_at__lt=timezone.now() - STALLED_AFTER,
        ).values_list("pk", flat=True)
    )
    for import_id in stalled:
        run_import.enqueue(import_id)
    return stalled

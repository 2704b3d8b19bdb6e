"""The pipeline import's background work: a chunk per task run, resumed if its worker died."""

import datetime

from django.conf import settings
from django.tasks import task
from django.utils import timezone, translation

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
            status__in=[PipelineImport.Status.IMPORTING, PipelineImport.Status.CHECKING],
            updated_at__lt=timezone.now() - STALLED_AFTER,
        ).values_list("pk", "status")
    )
    for import_id, status in stalled:
        if status == PipelineImport.Status.CHECKING:
            run_dry_run.enqueue(import_id)
        else:
            run_import.enqueue(import_id)
    return [import_id for import_id, _status in stalled]


@task(priority=IMPORT_PRIORITY)
def run_dry_run(import_id: int) -> dict[str, int | str]:
    """Check every row of a file whose columns were chosen, in the uploader's language
    (the reasons of refused rows are kept as text)."""
    job = PipelineImport.objects.select_related("created_by").filter(pk=import_id).first()
    if job is None or job.status != PipelineImport.Status.CHECKING:
        return {"status": "nothing to do"}
    with translation.override(job.created_by.language or settings.LANGUAGE_CODE):
        summary = services.dry_run(job)
    return {"status": "checked", "new": summary.new, "refused": summary.refused}

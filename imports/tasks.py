"""The pipeline import's periodic job: imports whose worker died are resumed (the tasks
checking and importing a file are ``services.run_dry_run`` and ``services.run_import``)."""

import datetime

from django.tasks import task
from django.utils import timezone

from climcrm.scheduling import Every, periodic
from imports.models import PipelineImport
from imports.services import IMPORT_PRIORITY, run_dry_run, run_import

# An import whose row has not moved for this long lost its worker.
STALLED_AFTER = datetime.timedelta(minutes=5)


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

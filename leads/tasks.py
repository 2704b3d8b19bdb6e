"""The lead import's periodic job: imports whose worker died are resumed (the task importing
a chunk is ``importing.import_leads``)."""

import datetime

from django.tasks import task
from django.utils import timezone

from climcrm.scheduling import Every, periodic
from leads.importing import IMPORT_PRIORITY, import_leads
from leads.models import ImportJob

# An import whose job row has not moved for this long lost its worker (a chunk takes
# seconds).
STALLED_AFTER = datetime.timedelta(minutes=5)


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

"""The integrations' periodic job: send the webhook deliveries due that no task sent."""

from django.tasks import task

from climcrm.scheduling import Every, periodic
from integrations import webhooks


@periodic(Every(minutes=1))
@task
def sweep_webhooks() -> dict[str, int]:
    """Send the deliveries due (retries, lost tasks) and give back claims of dead workers."""
    return webhooks.sweep()

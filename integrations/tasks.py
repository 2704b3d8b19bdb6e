"""The integrations' periodic jobs: send the webhook deliveries due that no task sent, and
forget old ones (their payloads copy the records' personal data)."""

import datetime

from django.tasks import task
from django.utils import timezone

from climcrm.scheduling import Daily, Every, periodic
from climcrm.tasks import HISTORY_DAYS
from integrations import webhooks
from integrations.models import DeliveryStatus, WebhookDelivery


@periodic(Every(minutes=1))
@task
def sweep_webhooks() -> dict[str, int]:
    """Send the deliveries due (retries, lost tasks) and give back claims of dead workers."""
    return webhooks.sweep()


@periodic(Daily(at=datetime.time(3, 40)))
@task
def prune_webhook_deliveries() -> int:
    """Forget the delivered and failed deliveries older than HISTORY_DAYS."""
    before = timezone.now() - datetime.timedelta(days=HISTORY_DAYS)
    finished = [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=before, status__in=finished).delete()
    return deleted

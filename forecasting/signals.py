"""A deal deleted (in the admin) leaves the running totals with everything it added."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from forecasting import month_changes
from forecasting.summaries import forget_deal
from opportunities.models import Opportunity


@receiver(pre_delete, sender=Opportunity)
def _deal_deleted(sender, instance, using, **kwargs):
    forget_deal(instance, using=using)
    month_changes.forget(instance.pk, using=using)

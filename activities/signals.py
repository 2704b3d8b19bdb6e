"""Every deal's open to-dos summed up on the deal, whichever way an activity is written.

The board shows, per stage, how many deals have an overdue to-do, one due today, later
ones or none. Reading that from the to-dos means grouping every open to-do of every deal on
the board; ``Opportunity.open_todos`` and ``Opportunity.next_todo_due`` hold it instead,
refreshed here after any save or delete of an activity (services, admin, factories), for
the deal it belongs to and the one it left. ``forecasting.kept`` recomputes them for every
deal.
"""

from django.db.models import Count, IntegerField, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from activities.models import Activity
from opportunities.models import Opportunity


def refresh_deals(deal_ids, *, using: str) -> None:
    """Recount the open to-dos of these deals (one statement)."""

    ids = {deal_id for deal_id in deal_ids if deal_id is not None}
    if not ids:
        return
    open_todos = (
        Activity.objects.using(using).filter(opportunity_id=OuterRef("pk"), done=False).order_by()
    )
    Opportunity.objects.using(using).filter(pk__in=ids).update(
        open_todos=Coalesce(
            Subquery(
                open_todos.values("opportunity_id").annotate(n=Count("*")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
        next_todo_due=Subquery(
            open_todos.values("opportunity_id").annotate(first=Min("due_date")).values("first")[:1]
        ),
    )


@receiver(post_init, sender=Activity)
def _remember_deal(sender, instance, **kwargs):
    instance._deal_when_loaded = instance.__dict__.get("opportunity_id")


@receiver(post_save, sender=Activity)
def _saved(sender, instance, using, **kwargs):
    refresh_deals({instance.opportunity_id, instance._deal_when_loaded}, using=using)
    instance._deal_when_loaded = instance.opportunity_id


@receiver(post_delete, sender=Activity)
def _deleted(sender, instance, using, **kwargs):
    refresh_deals({instance.opportunity_id, instance._deal_when_loaded}, using=using)

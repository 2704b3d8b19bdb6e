"""A deal's open to-dos summed up on the deal (``activities.signals``), the board's source."""

import datetime

import pytest
from django.utils import timezone

from activities import services
from activities.models import Activity
from forecasting import kept
from opportunities.models import Opportunity
from tests import clock
from tests.factories import ActivityFactory, OpportunityFactory

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def summed(deal) -> tuple:
    deal.refresh_from_db()
    return deal.open_todos, deal.next_todo_due


def recomputed(deal) -> tuple:
    Opportunity.objects.filter(pk=deal.pk).update(open_todos=0, next_todo_due=None)
    kept.rebuild(tables=("opportunities_opportunity",))
    return summed(deal)


@pytest.mark.django_db
def test_every_write_of_a_to_do_keeps_its_deal_summed_up(manager, rep):
    today = timezone.localdate()
    deal, other = OpportunityFactory(owner=rep), OpportunityFactory()
    assert summed(deal) == (0, None)
    later = services.activity_create(
        by=manager,
        opportunity=deal,
        subject="Relancer",
        due_date=today + datetime.timedelta(days=5),
        assignee=manager,
    )
    soon = ActivityFactory(opportunity=deal, due_date=today - datetime.timedelta(days=1))
    ActivityFactory(opportunity=deal, due_date=None)
    assert summed(deal) == (3, today - datetime.timedelta(days=1))
    services.activity_complete(activity=soon, by=manager)
    assert summed(deal) == (2, today + datetime.timedelta(days=5))
    services.activity_reopen(activity=soon, by=manager)
    assert summed(deal) == (3, today - datetime.timedelta(days=1))
    # Moved to another deal: both are summed up again.
    moved = Activity.objects.get(pk=soon.pk)
    moved.opportunity = other
    moved.save()
    assert summed(deal) == (2, today + datetime.timedelta(days=5))
    assert summed(other) == (1, today - datetime.timedelta(days=1))
    Activity.objects.get(pk=later.pk).delete()
    assert summed(deal) == (1, None)  # the undated one is left
    assert recomputed(deal) == (1, None)
    assert recomputed(other) == (1, today - datetime.timedelta(days=1))

import io

import pytest

from activities import demo
from activities.models import Activity
from climcrm.demo import DemoContext
from opportunities.models import Stage
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def test_demo_adds_contacts_and_open_todos_to_the_deals(rep, partner_a_user, partner_a):
    deals = [OpportunityFactory(owner=rep, partner=partner_a if i % 2 else None) for i in range(10)]
    deals.append(
        OpportunityFactory(owner=rep, stage=Stage.CLOSED_LOST, loss_reason_id=1, probability=0)
    )
    ctx = DemoContext(size=10, stdout=io.StringIO())
    ctx.users = {"rep": rep, "partner_a": partner_a_user}
    ctx.extra["opportunities"] = deals

    demo.seed(ctx)

    # Every other deal and most open ones get a call and a visit or note; each open deal
    # followed also gets a to-do, the closed one none; a few open deals stay without (stale).
    followed = Activity.objects.filter(done=True).values("opportunity").distinct().count()
    assert 6 <= followed < 11
    assert Activity.objects.filter(done=True).count() == 2 * followed
    open_todos = Activity.objects.filter(done=False)
    assert open_todos.count() == followed - 1
    assert all(a.opportunity.is_open for a in open_todos)
    # The board's to-do bar reads each deal's open to-dos from the deal.
    for deal in deals:
        deal.refresh_from_db()
        assert deal.open_todos == open_todos.filter(opportunity=deal).count()
    assert sum(deal.open_todos for deal in deals) == followed - 1
    # A to-do on a partner's deal goes to the owner or that partner's users only.
    for activity in Activity.objects.filter(opportunity__partner=partner_a):
        assert activity.assignee in (rep, partner_a_user)

"""To-dos and activities in a given state.

Dates default from the clock the test runs at, in the installation's time zone: a test
that depends on them pins that clock (``pytest.mark.time_machine(clock.NOW)``, ``tests.clock``).
"""

import datetime

import factory
from django.utils import timezone

from activities.models import Activity, ActivityKind
from tests import clock
from tests.factories.core import ActivityFactory, LeadFactory


class TaskFactory(ActivityFactory):
    """An open to-do on a deal."""

    kind = ActivityKind.TASK


class DoneCallFactory(ActivityFactory):
    kind = ActivityKind.CALL
    done = True
    done_at = factory.LazyFunction(timezone.now)
    due_date = factory.LazyFunction(lambda: clock.today() - datetime.timedelta(days=1))


class LeadTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = ActivityKind.TASK
    subject = factory.Sequence(lambda n: f"Relancer la piste {n}")
    due_date = factory.LazyFunction(lambda: clock.today() + datetime.timedelta(days=2))
    lead = factory.SubFactory(LeadFactory)

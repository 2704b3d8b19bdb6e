"""The waterfall between any two days balances to the cent on random histories, and its
start and end are what the history says the pipeline was then (recomputed deal by deal)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from climcrm.periods import MONTH, period_containing
from forecasting.reports import changes
from forecasting.scopes import ALL, REP, Scope
from opportunities.history import as_datetime
from opportunities.models import OPEN_STAGES, LossReason, OpportunityHistory, Stage
from opportunities.services import opportunity_create, opportunity_update
from tests import clock
from tests.factories import AccountFactory

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,
    "derandomize": True,
    "phases": [Phase.explicit, Phase.generate],
}
DAYS_BACK = 150

amounts = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=250_000, places=2, allow_nan=False, allow_infinity=False),
)
stages = st.sampled_from(Stage.values)
close_offsets = st.integers(min_value=-DAYS_BACK, max_value=120)
change = st.one_of(
    st.fixed_dictionaries({"amount": amounts}),
    st.fixed_dictionaries({"close_date": close_offsets}),
    st.fixed_dictionaries({"stage": stages}),
    st.fixed_dictionaries({"owner": st.sampled_from(["rep", "other_rep"])}),
    st.fixed_dictionaries({"stage": stages, "amount": amounts, "close_date": close_offsets}),
)
deal = st.fixed_dictionaries(
    {
        "born": st.integers(min_value=1, max_value=DAYS_BACK * 24),  # hours before now
        "owner": st.sampled_from(["rep", "other_rep"]),
        "amount": amounts,
        "close_date": close_offsets,
        "stage": st.sampled_from(OPEN_STAGES),
        # Each change comes some hours after the one before.
        "changes": st.lists(
            st.tuples(st.integers(min_value=0, max_value=30 * 24), change), max_size=6
        ),
    }
)
# (first day from today, length in days, a calendar month instead): mostly windows that
# ended before today, whose end is read back from today's pipeline.
windows = st.tuples(
    st.integers(min_value=-DAYS_BACK, max_value=3),
    st.integers(min_value=0, max_value=90),
    st.booleans(),
)


def _values(values: dict, today: date, people: dict, loss) -> dict:
    result = dict(values)
    if "close_date" in result:
        result["close_date"] = today + timedelta(days=result["close_date"])
    if "owner" in result:
        result["owner"] = people[result["owner"]]
    if result.get("stage") == Stage.CLOSED_LOST:
        result["loss_reason"] = loss
    return result


def _play(deals: list[dict], people: dict) -> None:
    """Create and change the deals through the services, each change at its moment."""
    now, today = timezone.now(), timezone.localdate()
    account = AccountFactory()
    loss = LossReason.objects.first()
    admin = people["admin"]
    for number, plan in enumerate(deals):
        moment = now - timedelta(hours=plan["born"])
        first = _values(
            {key: plan[key] for key in ("owner", "amount", "close_date", "stage")},
            today,
            people,
            loss,
        )
        opportunity = opportunity_create(
            by=admin, at=moment, account=account, name=f"Deal {number}", **first
        )
        for hours, values in plan["changes"]:
            moment += timedelta(hours=hours)
            if moment > now:
                break
            try:
                opportunity = opportunity_update(
                    opportunity=opportunity,
                    by=admin,
                    changes=_values(values, today, people, loss),
                    expected_version=opportunity.version,
                    at=moment,
                    reason_code="other",
                ).opportunity
            except ValidationError:
                continue  # a change the rules refuse (won without amount): not made


def _pipeline_then(moment: datetime, due_by: date, owner_id: int | None) -> Decimal:
    """The open deals due by ``due_by`` (of ``owner_id``, or all) as the history says they
    were at ``moment``: each deal's latest row written by then, added up here."""
    latest: dict[int, OpportunityHistory] = {}
    for row in OpportunityHistory.objects.order_by("opportunity_id", "version"):
        if row.changed_at <= moment:
            latest[row.opportunity_id] = row
    return sum(
        (
            row.amount or Decimal(0)
            for row in latest.values()
            if row.stage in OPEN_STAGES
            and row.close_date <= due_by
            and (owner_id is None or row.owner_id == owner_id)
        ),
        Decimal(0),
    )


def _window(start_offset: int, length: int, as_month: bool, today: date) -> tuple[date, date]:
    start = today + timedelta(days=start_offset)
    if as_month:
        # A calendar month: read from the deals' rows kept per month.
        month = period_containing(MONTH, start)
        return month.start, month.last_day
    return start, start + timedelta(days=length)


@settings(max_examples=40, **SETTINGS)
@given(deals=st.lists(deal, min_size=1, max_size=6), window=windows, by_rep=st.booleans())
def test_the_waterfall_balances_on_random_histories(
    deals, window, by_rep, rep, other_rep, admin_user, manager
):
    today = timezone.localdate()
    people = {"rep": rep, "other_rep": other_rep, "admin": admin_user}
    with transaction.atomic():
        _play(deals, people)
        start_day, end_day = _window(*window, today)
        scope = Scope(REP, rep.pk) if by_rep else Scope(ALL)
        waterfall = changes.pipeline_waterfall(
            user=manager, start_day=start_day, end_day=end_day, scope=scope
        )
        owner_id = rep.pk if by_rep else None
        steps = sum((step["amount"] for step in waterfall["steps"].values()), Decimal(0))
        assert waterfall["start"] + steps == waterfall["end"]
        assert waterfall["start"] == _pipeline_then(as_datetime(start_day), end_day, owner_id)
        end_moment = min(as_datetime(end_day + timedelta(days=1)), timezone.now())
        assert waterfall["end"] == _pipeline_then(end_moment, end_day, owner_id)
        assert waterfall["end_is_now"] == (end_day >= today)
        transaction.set_rollback(True)

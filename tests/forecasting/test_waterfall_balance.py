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


def _busy_history() -> list[dict]:
    """Open deals changing every few days over the last four months: amounts, owners,
    stages, and close dates moving in and out of the past (due by any window's end, or
    not); the last one is lost on the way."""
    plans = []
    for number in range(6):
        steps = []
        for step in range(26):
            kind = (number + step) % 5
            if kind == 0:
                values = {"amount": Decimal(1000 + 137 * step + number)}
            elif kind == 1:
                values = {"close_date": -100}
            elif kind == 2:
                values = {"close_date": 60}
            elif kind == 3:
                values = {"owner": "rep" if step % 2 else "other_rep"}
            else:
                values = {"stage": OPEN_STAGES[step % len(OPEN_STAGES)]}
            if number == 5 and step == 20:
                values = {"stage": Stage.CLOSED_LOST}
            steps.append((110 + 5 * number, values))
        plans.append(
            {
                "born": 125 * 24,
                "owner": "rep",
                "amount": Decimal(5000 * (number + 1)),
                "close_date": -120,
                "stage": OPEN_STAGES[number % len(OPEN_STAGES)],
                "changes": steps,
            }
        )
    return plans


def test_the_end_of_a_past_window_is_the_pipeline_then(rep, other_rep, admin_user, manager):
    """Windows ending on a month's last day, early or late in a month, or in the month
    under way: the pipeline at their end is read back from now over whole months kept per
    month and the rest of a month from the history, either way round."""
    today = timezone.localdate()
    _play(_busy_history(), {"rep": rep, "other_rep": other_rep, "admin": admin_user})
    for months_back in (0, 2):
        month = today.replace(day=1)
        for _ in range(months_back):
            month = (month - timedelta(days=1)).replace(day=1)
        last = period_containing(MONTH, month).last_day
        for end_day in (min(month.replace(day=3), last), min(month.replace(day=24), last), last):
            for start_day in (end_day, end_day - timedelta(days=40)):
                for scope, owner_id in ((Scope(REP, rep.pk), rep.pk), (Scope(ALL), None)):
                    window = {"start_day": start_day, "end_day": end_day, "scope": scope}
                    summary, waterfall = changes.changes_and_waterfall(user=manager, **window)
                    end_moment = min(as_datetime(end_day + timedelta(days=1)), timezone.now())
                    then = _pipeline_then(end_moment, end_day, owner_id)
                    assert waterfall["end"] == then, window
                    start = _pipeline_then(as_datetime(start_day), end_day, owner_id)
                    assert waterfall["start"] == start, window
                    assert summary == changes.what_changed(user=manager, **window)
                    assert waterfall == changes.pipeline_waterfall(user=manager, **window)

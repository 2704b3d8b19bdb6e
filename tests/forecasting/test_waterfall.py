"""The waterfall of "what changed": start + each kind of change = now, exact to the cent."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from forecasting.reports import changes
from forecasting.scopes import REP, Scope
from opportunities.history import as_datetime
from opportunities.models import OPEN_STAGES, LossReason, Opportunity, Stage
from opportunities.services import opportunity_create, opportunity_move_stage, opportunity_update
from tests import clock
from tests.factories import AccountFactory

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def due_pipeline(owner, today) -> Decimal:
    """What the waterfall's start must be: read from the deals at that moment."""
    deals = Opportunity.objects.filter(stage__in=OPEN_STAGES, close_date__lte=today, owner=owner)
    return deals.aggregate(total=Sum("amount"))["total"] or Decimal(0)


@pytest.fixture
def month(rep, other_rep, manager):
    """Deals made before this month, the pipeline due today read then, and one change of
    each kind inside the month."""
    today = timezone.localdate()
    start = as_datetime(today.replace(day=1))
    before = start - timedelta(days=10)
    # Inside the window, and never later than now (on the 1st at 00:30 the window is short).
    inside = start + (timezone.now() - start) / 2
    later = today + timedelta(days=60)
    loss = LossReason.objects.first()
    deals = {}

    def create(key, amount, *, owner=rep, close=today, when=before):
        deals[key] = opportunity_create(
            by=owner,
            at=when,
            account=AccountFactory(),
            name=key,
            owner=owner,
            amount=Decimal(amount),
            close_date=close,
        )
        return deals[key]

    for key, amount in (("up", 1000), ("down", 2000), ("won", 3000), ("lost", 4000)):
        create(key, amount)
    create("slip", 5000)
    create("pulled", 6000, close=later)
    create("in", 8000, owner=other_rep)
    create("out", 9000)
    create("still", "11000.55")
    start_pipeline = due_pipeline(rep, today)

    def update(key, by=rep, **values):
        deal = deals[key]
        opportunity_update(
            opportunity=deal,
            by=by,
            changes=values,
            at=inside,
            expected_version=deal.version,
            reason_code="other",
        )

    update("up", amount=Decimal("1500.25"))
    update("down", amount=Decimal(1200))
    for key, stage in (("won", Stage.CLOSED_WON), ("lost", Stage.CLOSED_LOST)):
        opportunity_move_stage(
            opportunity=deals[key],
            to_stage=stage,
            by=rep,
            at=inside,
            loss_reason=loss if stage == Stage.CLOSED_LOST else None,
            expected_version=deals[key].version,
        )
    update("slip", close_date=later)
    update("pulled", close_date=today)
    update("in", by=manager, owner=rep)
    update("out", by=manager, owner=other_rep)
    create("new", 7000, when=inside)
    return {"today": today, "start": start_pipeline}


EXPECTED = {
    "new": Decimal(7000),
    "moved_in": Decimal(8000),
    "reopened": Decimal(0),
    "pulled_in": Decimal(6000),
    "increases": Decimal("500.25"),
    "decreases": Decimal(-800),
    "won": Decimal(-3000),
    "lost": Decimal(-4000),
    "slipped": Decimal(-5000),
    "moved_out": Decimal(-9000),
}


@pytest.mark.parametrize("days_before", [0, 1], ids=["month", "other-window"])
def test_start_plus_the_steps_is_the_pipeline_now(month, rep, days_before):
    """The month is read from the deals' rows of the month, any other window from the
    history: both give the same steps, and the start the deals had at the window's start."""
    today = month["today"]
    start_day = today.replace(day=1) - timedelta(days=days_before)
    waterfall = changes.pipeline_waterfall(
        user=rep, start_day=start_day, end_day=today, scope=Scope(REP, rep.pk)
    )
    assert {name: step["amount"] for name, step in waterfall["steps"].items()} == EXPECTED
    assert waterfall["steps"]["new"]["count"] == 1
    assert waterfall["start"] == month["start"] == Decimal("35000.55")
    assert waterfall["end"] == due_pipeline(rep, today) == Decimal("34700.80")
    total = waterfall["start"] + sum(step["amount"] for step in waterfall["steps"].values())
    assert total == waterfall["end"]


def test_every_deal_of_the_company_counts_once(month, manager):
    """Over every deal, an owner change moves nothing in or out: no step for it."""
    today = month["today"]
    waterfall = changes.pipeline_waterfall(
        user=manager, start_day=today.replace(day=1), end_day=today, scope=Scope()
    )
    steps = waterfall["steps"]
    assert steps["moved_in"]["count"] == steps["moved_out"]["count"] == 0
    assert steps["slipped"]["amount"] == Decimal(-5000)
    everyone = Opportunity.objects.filter(stage__in=OPEN_STAGES, close_date__lte=today)
    assert waterfall["end"] == everyone.aggregate(total=Sum("amount"))["total"]
    # "in" (8000, another rep's) was due at the start as well.
    assert waterfall["start"] == month["start"] + Decimal(8000)


def test_a_window_ending_before_today_has_its_waterfall_to_its_end(month, rep):
    """Its end is the pipeline then (read back from now), not the pipeline now."""
    today = month["today"]
    waterfall = changes.pipeline_waterfall(
        user=rep,
        start_day=today.replace(day=1) - timedelta(days=40),
        end_day=today.replace(day=1) - timedelta(days=1),
        scope=Scope(REP, rep.pk),
    )
    assert waterfall["end_is_now"] is False
    total = waterfall["start"] + sum(step["amount"] for step in waterfall["steps"].values())
    assert total == waterfall["end"]


def test_the_page_draws_it_with_its_table(month, client_for, manager, rep):
    today = month["today"]
    response = client_for(manager).get(
        reverse("forecasting:changes"),
        {
            "start": today.replace(day=1).isoformat(),
            "end": today.isoformat(),
            "scope": f"rep:{rep.pk}",
        },
    )
    assert response.status_code == 200
    bars = response.context["waterfall"]
    assert [bar["key"] for bar in bars] == [
        "start", "new", "moved_in", "pulled_in", "increases", "decreases", "won", "lost",
        "slipped", "moved_out", "end",
    ]  # fmt: skip
    # The highest running total is the full length; every bar stays inside it.
    assert max(Decimal(bar["offset"]) + Decimal(bar["width"]) for bar in bars) == 100
    assert all(Decimal(bar["offset"]) >= 0 and Decimal(bar["width"]) >= 0 for bar in bars)
    html = response.text
    assert 'id="waterfall-table"' in html
    assert 'data-step="slipped"' in html

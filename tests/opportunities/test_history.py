"""Reading the history: values as of a moment and changes between two, on hand-built deals."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from opportunities.history import (
    as_datetime,
    changes_between,
    compare_states,
    state_at_subquery,
    values_as_of,
)
from opportunities.models import Opportunity, Stage
from opportunities.services import opportunity_create, opportunity_update
from opportunities.visibility import visible_opportunities
from tests import clock
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def day(n: int) -> datetime.datetime:
    """Noon on day n of January 2026 (local time)."""
    return as_datetime(datetime.date(2026, 1, 1)) + datetime.timedelta(days=n - 1, hours=12)


@pytest.fixture
def story(rep, manager, partner_a):
    """Two deals with a known history.

    Alpha: created day 1 (Qualification, 10'000), day 5 → Proposal, day 10 amount 12'000,
    day 20 → Closed Won. Beta: created day 8 (Needs Analysis, 5'000, partner A),
    day 15 close date slipped by a month.
    """
    close = datetime.date(2026, 3, 31)
    alpha = opportunity_create(
        by=rep,
        name="Alpha",
        account=AccountFactory(),
        amount=Decimal("10000"),
        close_date=close,
        at=day(1),
    )
    opportunity_update(
        opportunity=alpha,
        by=rep,
        changes={"stage": Stage.PROPOSAL},
        at=day(5),
        expected_version=alpha.version,
    )
    opportunity_update(
        opportunity=alpha,
        by=rep,
        changes={"amount": Decimal("12000")},
        at=day(10),
        expected_version=alpha.version,
    )
    opportunity_update(
        opportunity=alpha,
        by=rep,
        changes={"stage": Stage.CLOSED_WON},
        at=day(20),
        expected_version=alpha.version,
    )
    beta = opportunity_create(
        by=manager,
        owner=rep,
        name="Beta",
        account=AccountFactory(),
        amount=Decimal("5000"),
        stage=Stage.NEEDS_ANALYSIS,
        partner=partner_a,
        close_date=close,
        at=day(8),
    )
    opportunity_update(
        opportunity=beta,
        by=rep,
        changes={"close_date": datetime.date(2026, 4, 30)},
        at=day(15),
        expected_version=beta.version,
        reason_code="other",
    )
    return Opportunity.objects.get(name="Alpha"), Opportunity.objects.get(name="Beta")


# (day, {name: (stage, amount, probability)})
AS_OF = [
    (0, {}),
    (1, {"Alpha": (Stage.QUALIFICATION, Decimal("10000"), 10)}),
    (6, {"Alpha": (Stage.PROPOSAL, Decimal("10000"), 50)}),
    (
        9,
        {
            "Alpha": (Stage.PROPOSAL, Decimal("10000"), 50),
            "Beta": (Stage.NEEDS_ANALYSIS, Decimal("5000"), 25),
        },
    ),
    (
        12,
        {
            "Alpha": (Stage.PROPOSAL, Decimal("12000"), 50),
            "Beta": (Stage.NEEDS_ANALYSIS, Decimal("5000"), 25),
        },
    ),
    (
        25,
        {
            "Alpha": (Stage.CLOSED_WON, Decimal("12000"), 100),
            "Beta": (Stage.NEEDS_ANALYSIS, Decimal("5000"), 25),
        },
    ),
]


@pytest.mark.parametrize(("n", "expected"), AS_OF)
def test_values_as_of_a_moment(story, n, expected):
    rows = values_as_of(day(n)).select_related("opportunity")
    got = {row.opportunity.name: (row.stage, row.amount, row.probability) for row in rows}
    assert got == expected


def test_a_change_is_in_effect_from_its_exact_moment(story):
    alpha, _beta = story
    just_before = day(5) - datetime.timedelta(microseconds=1)
    assert values_as_of(just_before).get(opportunity=alpha).stage == Stage.QUALIFICATION
    assert values_as_of(day(5)).get(opportunity=alpha).stage == Stage.PROPOSAL


def test_values_as_of_aggregate_in_sql_and_narrow_to_what_a_user_sees(story, partner_a_user):
    assert values_as_of(day(12)).aggregate(total=Sum("amount"))["total"] == Decimal("17000")
    seen = values_as_of(day(12)).filter(opportunity__in=visible_opportunities(partner_a_user))
    assert [row.opportunity.name for row in seen.select_related("opportunity")] == ["Beta"]


def test_a_date_means_the_start_of_that_day(story):
    alpha, _beta = story
    assert values_as_of(datetime.date(2026, 1, 5)).get(opportunity=alpha).stage == (
        Stage.QUALIFICATION
    )
    assert values_as_of(datetime.date(2026, 1, 6)).get(opportunity=alpha).stage == Stage.PROPOSAL


def test_changes_between_two_dates(story):
    rows = changes_between(day(5), day(16)).select_related("opportunity").order_by("changed_at")
    summary = [(row.opportunity.name, row.is_creation, sorted(row.changed_fields)) for row in rows]
    assert summary == [
        ("Alpha", False, ["forecast_category", "probability", "stage"]),
        ("Beta", True, []),
        ("Alpha", False, ["amount"]),
        ("Beta", False, ["close_date"]),
    ]


def test_changes_between_excludes_the_end(story):
    assert not changes_between(day(21), day(30)).exists()
    assert changes_between(day(20), day(21)).count() == 1


def test_slipped_close_date_reads_old_and_new(story):
    _alpha, beta = story
    row = changes_between(day(15), day(16)).get(opportunity=beta)
    assert (row.prev_close_date, row.close_date) == (
        datetime.date(2026, 3, 31),
        datetime.date(2026, 4, 30),
    )


def test_state_at_subquery_annotates_the_past_stage(story):
    names = Opportunity.objects.annotate(stage_then=state_at_subquery(day(6), "stage"))
    assert dict(names.values_list("name", "stage_then")) == {"Alpha": "proposal", "Beta": None}


def test_compare_states_shows_start_and_end_of_what_changed(story):
    rows = compare_states(day(9), day(25), Opportunity.objects.all()).order_by("name")
    alpha, beta = rows
    assert (alpha.stage_start, alpha.stage_end) == ("proposal", "closed_won")
    assert (alpha.amount_start, alpha.amount_end) == (Decimal("10000"), Decimal("12000"))
    assert (beta.close_date_start, beta.close_date_end) == (
        datetime.date(2026, 3, 31),
        datetime.date(2026, 4, 30),
    )


def test_now_is_the_current_values(story):
    alpha, beta = story
    current = {row.opportunity_id: row.stage for row in values_as_of(timezone.now())}
    assert current == {alpha.pk: Stage.CLOSED_WON, beta.pk: Stage.NEEDS_ANALYSIS}

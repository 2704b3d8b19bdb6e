"""What changed over any window: each deal's changes told with their reasons, and the page
and its drill-down read as many queries at 10 and 1,000 deals."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opportunities.models import OpportunityHistory, ReasonCode
from opportunities.services import opportunity_create, opportunity_update
from tests import clock
from tests.factories import AccountFactory
from tests.forecasting.factories import bulk_deals

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

CHANGES = reverse("forecasting:changes")
DRILL = reverse("forecasting:changes-deals")


def window(start, end) -> str:
    return f"start={start.isoformat()}&end={end.isoformat()}"


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.fixture
def slipped_deal(rep):
    """A deal due today, pushed to next month with its amount lowered an hour ago, with
    a reason."""
    today = timezone.localdate()
    deal = opportunity_create(
        by=rep,
        at=timezone.now() - timedelta(days=10),
        account=AccountFactory(),
        name="Pompe à chaleur Sion",
        amount=Decimal("10000.00"),
        close_date=today,
    )
    later = today + timedelta(days=45)
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"close_date": later, "amount": Decimal("8000.50")},
        expected_version=deal.version,
        at=timezone.now() - timedelta(hours=1),
        reason_code=ReasonCode.objects.get(code="customer_budget_moved"),
        reason_text="Budget 2027",
    )
    return deal, today, later


def test_the_drill_down_tells_each_deal_s_changes_with_their_reasons(
    client_for, manager, slipped_deal
):
    deal, today, later = slipped_deal
    url = f"{DRILL}?change=slipped&{window(today - timedelta(days=2), today)}"
    response = client_for(manager).get(url)
    assert response.status_code == 200
    (shown,) = response.context["deals"]
    assert shown.pk == deal.pk
    assert shown.narrative == (
        f"date de clôture {today:%d.%m.%Y} → {later:%d.%m.%Y}, "
        "montant CHF\xa010’000.00 → CHF\xa08’000.50 : "
        "Budget client reporté à l'année suivante — Budget 2027"
    )
    assert shown.narrative in response.text.replace("&#x27;", "'")


def test_the_narrative_is_in_english_for_an_english_reader(client_for, manager, slipped_deal):
    deal, today, later = slipped_deal
    manager.language = "en"
    manager.save(update_fields=["language"])
    url = f"{DRILL}?change=slipped&{window(today - timedelta(days=2), today)}"
    response = client_for(manager).get(url, HTTP_ACCEPT_LANGUAGE="en")
    (shown,) = response.context["deals"]
    assert shown.narrative.startswith(f"close date {today:%d/%m/%Y} → {later:%d/%m/%Y}")
    assert shown.narrative.endswith(": Customer budget moved to next year — Budget 2027")


def test_a_window_that_ended_before_today_shows_its_end_not_now(client_for, manager, rep):
    bulk_deals(5, owner=rep)
    today = timezone.localdate()
    # bulk deals were made 40 days ago and got their amounts 5 days ago.
    url = f"{CHANGES}?{window(today - timedelta(days=45), today - timedelta(days=6))}"
    response = client_for(manager).get(url)
    assert response.status_code == 200
    assert response.context["waterfall_end_is_now"] is False
    bars = {bar["key"]: bar for bar in response.context["waterfall"]}
    # Made in the window without an amount: the pipeline went from nothing to nothing.
    assert bars["start"]["amount"] == bars["end"]["amount"] == Decimal(0)
    assert 'data-step="end"' in response.text


@pytest.mark.parametrize(
    "path, days",
    [
        (CHANGES, (45, 6)),  # ended before the amounts changed: read back from now
        (CHANGES, (10, 1)),
        (DRILL + "?change=amount_up&", (10, 1)),
    ],
    ids=["page-past-window", "page-recent-window", "drill-down"],
)
def test_same_number_of_queries_at_10_and_1000_deals(
    client_for, manager, rep, django_assert_max_num_queries, path, days
):
    today = timezone.localdate()
    separator = "" if path.endswith("&") else "?"
    url = (
        path + separator + window(today - timedelta(days=days[0]), today - timedelta(days=days[1]))
    )
    bulk_deals(10, owner=rep)
    reason = ReasonCode.objects.get(code="other")
    OpportunityHistory.objects.filter(version=2).update(reason_code=reason, reason_text="Révisé")
    client = client_for(manager)
    small = count_queries(client, url)
    bulk_deals(990, owner=rep)
    OpportunityHistory.objects.filter(version=2).update(reason_code=reason, reason_text="Révisé")
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200
    assert small <= 25


def test_the_drill_down_reads_no_owner_or_partner_per_deal(client_for, manager, rep, other_rep):
    """Deals handed to another rep in the window: the narrative tells no owner, so the
    history rows' owners are never read (that cost one query per deal)."""
    today = timezone.localdate()

    def reassigned(first, last):
        for number in range(first, last):
            deal = opportunity_create(
                by=rep,
                at=timezone.now() - timedelta(days=5),
                account=AccountFactory(),
                name=f"Chaufferie {number}",
                amount=Decimal("1000.00"),
                close_date=today + timedelta(days=60),
            )
            opportunity_update(
                opportunity=deal,
                by=manager,
                changes={"owner": other_rep, "amount": Decimal("900.00")},
                expected_version=deal.version,
                at=timezone.now() - timedelta(hours=2),
                reason_code=ReasonCode.objects.get(code="other"),
            )

    url = f"{DRILL}?change=new&{window(today - timedelta(days=10), today)}"
    client = client_for(manager)
    reassigned(0, 2)
    small = count_queries(client, url)
    reassigned(2, 12)
    assert count_queries(client, url) == small
    assert b"Chaufferie 11" in client.get(url).content


def test_the_drill_down_of_any_window_pages_its_deals_by_name(client_for, manager, rep, settings):
    """Over a window that is not a month, the drill-down's ids are read first, then each
    page with its deals' states: every deal once, in name order, on the page it falls."""
    settings.CRM_PAGE_SIZE = 2
    today = timezone.localdate()
    for name in ("Chaufferie C", "Chaufferie A", "Chaufferie B"):
        opportunity_create(
            by=rep,
            at=timezone.now() - timedelta(days=3),
            account=AccountFactory(),
            name=name,
            amount=Decimal("1500.00"),
            close_date=today + timedelta(days=30),
        )
    url = f"{DRILL}?change=new&{window(today - timedelta(days=9), today)}"
    client = client_for(manager)
    first = client.get(url).context
    second = client.get(url + "&page=2").context
    assert [deal.name for deal in first["deals"]] == ["Chaufferie A", "Chaufferie B"]
    assert [deal.name for deal in second["deals"]] == ["Chaufferie C"]
    assert first["page_obj"].paginator.count == 3
    assert second["deals"][0].amount_end == Decimal("1500.00")

"""The review's deal-by-deal edits and won/lost outcomes send the version of the deal the
panel showed; without the current one nothing is written and the panel comes back (409)
with the deal as it is now, its version, and the "someone else changed it" message."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from opportunities.models import ForecastCategory, LossReason, Stage
from pipeline_reviews import services
from pipeline_reviews.models import ReviewKind
from tests import versions
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fixed_clock(time_machine):
    time_machine.move_to(versions.NOW)


@pytest.fixture
def review(channel, partner_a):
    return services.review_create(
        by=channel,
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner_a,
        period=timezone.localdate().replace(day=1),
    )


def url(name, review, *args):
    return reverse(f"pipeline_reviews:{name}", args=[review.pk, *args])


def toast(response) -> dict:
    return json.loads(response["HX-Trigger"])["toast"]


class TestDealByDeal:
    @pytest.fixture
    def deal(self, partner_a, rep, manager):
        return versions.changed_by_someone_else(
            OpportunityFactory(partner=partner_a, owner=rep, name="Pompe à chaleur Sion"), manager
        )

    def panel_data(self, deal, **changes) -> dict:
        """What the panel built at version 1 posts: the amount it showed was 10 000."""
        return {
            "stage": deal.stage,
            "amount": "10000",
            "probability": str(deal.probability),
            "close_date": deal.close_date.isoformat(),
            "forecast_category": deal.forecast_category,
            "next_step": "",
            "position": "1",
            **changes,
        }

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_save_without_the_current_version_comes_back_with_the_deal_as_it_is_now(
        self, client_for, channel, review, deal, case
    ):
        data = versions.with_version(self.panel_data(deal, next_step="Visite"), case)

        response = client_for(channel).post(url("deal", review, deal.pk), data, **HTMX)

        assert response.status_code == 409
        assert versions.says_someone_else_changed_it(response.context["deal_error"])
        assert toast(response)["kind"] == "error"
        assert versions.says_someone_else_changed_it(toast(response)["text"])
        panel = response.content.decode()
        assert panel.lstrip().startswith('<div id="deal-panel"')
        assert 'name="version" value="2"' in panel
        assert 'name="amount" value="77000' in panel
        versions.assert_untouched(deal, next_step="")

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_without_javascript_the_refusal_is_a_message_on_the_review(
        self, client_for, channel, review, deal, case
    ):
        data = versions.with_version(self.panel_data(deal, next_step="Visite"), case)

        response = client_for(channel).post(url("deal", review, deal.pk), data, follow=True)

        (message,) = [str(m) for m in response.context["messages"]]
        assert versions.says_someone_else_changed_it(message)
        versions.assert_untouched(deal, next_step="")

    def test_the_current_version_saves_and_the_panel_carries_the_next_one(
        self, client_for, channel, review, deal
    ):
        client = client_for(channel)
        data = versions.with_version(
            self.panel_data(deal, amount="77000", next_step="Visite"), "current"
        )
        response = client.post(url("deal", review, deal.pk), data, **HTMX)
        assert response.status_code == 200
        assert 'name="version" value="3"' in response.content.decode()
        again = client.post(
            url("deal", review, deal.pk),
            {**data, "version": "3", "next_step": "Offre"},
            **HTMX,
        )
        assert again.status_code == 200
        deal.refresh_from_db()
        assert (deal.next_step, deal.version) == ("Offre", 4)
        assert deal.history.get(version=4).tag == review.tag

    def test_the_panel_refused_once_saves_on_the_next_submit(
        self, client_for, channel, review, deal
    ):
        client = client_for(channel)
        refused = client.post(
            url("deal", review, deal.pk),
            versions.with_version(self.panel_data(deal, next_step="Visite"), "stale"),
            **HTMX,
        )
        shown = refused.context["deal_form"]["version"].value()
        data = {**self.panel_data(deal, amount="77000", next_step="Visite"), "version": shown}
        assert client.post(url("deal", review, deal.pk), data, **HTMX).status_code == 200
        deal.refresh_from_db()
        assert (deal.next_step, deal.version) == ("Visite", 3)


class TestOutcome:
    @pytest.fixture
    def deal(self, partner_a, rep, manager):
        lost = OpportunityFactory(
            partner=partner_a,
            owner=rep,
            stage=Stage.CLOSED_LOST,
            probability=0,
            forecast_category=ForecastCategory.OMITTED,
            loss_reason=LossReason.objects.get(code="price"),
        )
        return versions.changed_by_someone_else(lost, manager)

    def outcome_data(self, deal, case) -> dict:
        prefix = f"deal{deal.pk}"
        data = {
            f"{prefix}-objective_reasons": "Prix",
            f"{prefix}-lessons_learned": "Qualifier le budget",
        }
        return versions.with_version(data, case, key=f"{prefix}-version")

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_an_outcome_without_the_current_version_comes_back_with_the_deal_as_it_is_now(
        self, client_for, channel, review, deal, case
    ):
        response = client_for(channel).post(
            url("outcome", review, deal.pk), self.outcome_data(deal, case), **HTMX
        )

        assert response.status_code == 409
        row = response.content.decode()
        assert row.lstrip().startswith(f'<article id="outcome-{deal.pk}"')
        assert versions.says_someone_else_changed_it(response.context["outcome_error"])
        assert versions.says_someone_else_changed_it(toast(response)["text"])
        assert f'name="deal{deal.pk}-version" value="2"' in row
        versions.assert_untouched(deal, objective_reasons="", lessons_learned="")

    def test_the_current_version_records_the_outcome(self, client_for, channel, review, deal):
        response = client_for(channel).post(
            url("outcome", review, deal.pk), self.outcome_data(deal, "current"), **HTMX
        )
        assert response.status_code == 200
        assert f'name="deal{deal.pk}-version" value="3"' in response.content.decode()
        deal.refresh_from_db()
        assert (deal.objective_reasons, deal.version) == ("Prix", 3)

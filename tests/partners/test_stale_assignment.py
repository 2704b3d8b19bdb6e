"""Assigning a deal to a partner, one at a time or from the list, needs the version of the
deal the page showed: without the current one the deal is left as it is and the channel
manager is told someone else changed it."""

import re

import pytest
from django.urls import reverse

from opportunities.models import OpportunityHistory
from tests import versions
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fixed_clock(time_machine):
    time_machine.move_to(versions.NOW)


@pytest.fixture
def deal(partner_a, rep, manager):
    return versions.changed_by_someone_else(
        OpportunityFactory(partner=partner_a, owner=rep, name="Pompe à chaleur Sion"), manager
    )


class TestAssignOne:
    def url(self, deal):
        return reverse("partners:assign-one", args=[deal.pk])

    def test_the_page_carries_the_version(self, client_for, channel, deal):
        html = client_for(channel).get(self.url(deal)).content.decode()
        assert 'name="version" value="2"' in html

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_an_assignment_without_the_current_version_is_a_form_error(
        self, client_for, channel, partner_a, partner_b, deal, case
    ):
        data = versions.with_version({"partner": partner_b.pk}, case)

        response = client_for(channel).post(self.url(deal), data)

        assert response.status_code == 200
        form = response.context["form"]
        assert versions.says_someone_else_changed_it(" ".join(form.non_field_errors()))
        # The choice stays, and the page now carries the version it was told about.
        assert str(form["partner"].value()) == str(partner_b.pk)
        assert 'name="version" value="2"' in response.content.decode()
        versions.assert_untouched(deal, partner=partner_a)

    def test_the_current_version_assigns(self, client_for, channel, partner_b, deal):
        data = versions.with_version({"partner": partner_b.pk}, "current")
        assert client_for(channel).post(self.url(deal), data).status_code == 302
        deal.refresh_from_db()
        assert (deal.partner, deal.version) == (partner_b, 3)
        assert deal.history.get(version=3).tag == "partner-assignment"


class TestBulkAssignment:
    url = reverse("partners:assign")

    def test_each_row_carries_the_version_of_its_deal(self, client_for, channel, deal):
        html = client_for(channel).get(self.url).content.decode()
        assert f'name="version-{deal.pk}" value="2"' in html

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_deal_sent_without_its_current_version_is_left_and_named(
        self, client_for, channel, partner_a, partner_b, rep, deal, case
    ):
        other = OpportunityFactory(partner=partner_a, owner=rep, name="Ventilation Monthey")
        data = {
            "opportunities": [deal.pk, other.pk],
            "partner": partner_b.pk,
            f"version-{other.pk}": str(other.version),
        }
        data.update(versions.with_version({}, case, key=f"version-{deal.pk}"))

        response = client_for(channel).post(self.url, data, follow=True)

        texts = [str(message) for message in response.context["messages"]]
        refused = [text for text in texts if text.startswith("Pompe à chaleur Sion : ")]
        assert len(refused) == 1 and versions.says_someone_else_changed_it(refused[0])
        versions.assert_untouched(deal, partner=partner_a)
        # One refusal does not undo the others.
        other.refresh_from_db()
        assert (other.partner, other.version) == (partner_b, 2)

    def test_what_the_list_posts_assigns_every_selected_deal(
        self, client_for, channel, partner_b, deal
    ):
        client = client_for(channel)
        html = client.get(self.url).content.decode()
        shown = dict(re.findall(r'name="(version-\d+)" value="([^"]*)"', html))
        client.post(self.url, {"opportunities": [deal.pk], "partner": partner_b.pk, **shown})
        deal.refresh_from_db()
        assert (deal.partner, deal.version) == (partner_b, 3)
        assert OpportunityHistory.objects.filter(opportunity=deal).count() == 3

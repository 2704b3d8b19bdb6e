"""Every page that changes a deal sends the version it showed, and a change without the
current one is refused with the "someone else changed it" answer: the edit page, the
board (drag and drop and its page without JavaScript) and the admin.

Each test: the page is built at version 1, someone else saves (version 2), then the page
posts with no version, an empty one, "0", text, or the stale 1 — refused, nothing written —
or with 2, which goes through.
"""

from urllib.parse import unquote

import pytest
from django.urls import reverse

from opportunities.models import OpportunityHistory, Stage
from tests import versions
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fixed_clock(time_machine):
    time_machine.move_to(versions.NOW)


@pytest.fixture
def deal(rep, manager):
    return versions.changed_by_someone_else(OpportunityFactory(owner=rep), manager)


class TestEditPage:
    def url(self, deal):
        return reverse("opportunities:edit", args=[deal.pk])

    def page_data(self, client, deal) -> dict:
        """What the edit page posts when nothing is touched: its form as it was built."""
        initial = client.get(self.url(deal)).context["form"].initial
        data = {k: v for k, v in initial.items() if v is not None}
        data["close_date"] = deal.close_date.isoformat()
        data["amount"] = "10000.00"  # what the page showed at version 1
        return data

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_save_without_the_current_version_is_refused_and_keeps_the_input(
        self, client_for, rep, deal, case
    ):
        client = client_for(rep)
        data = self.page_data(client, deal)
        data.update(next_step="Rappeler jeudi", stage=Stage.PROPOSAL)

        response = client.post(self.url(deal), versions.with_version(data, case))

        assert response.status_code == 200
        form = response.context["form"]
        assert versions.says_someone_else_changed_it(" ".join(form.non_field_errors()))
        assert response.context["stale"] is not None
        assert 'id="stale-heading"' in response.content.decode()
        # What was typed is still there, over the version now shown.
        assert form["next_step"].value() == "Rappeler jeudi"
        assert str(form["version"].value()) == "2"
        versions.assert_untouched(deal, stage=Stage.QUALIFICATION, next_step="")

    def test_a_stale_save_lists_what_the_other_user_changed(self, client_for, rep, deal):
        client = client_for(rep)
        data = self.page_data(client, deal)
        response = client.post(self.url(deal), {**data, "version": "1", "next_step": "Relance"})
        assert [c.field for c in response.context["stale"].changes] == ["amount"]
        assert "montant" in response.content.decode().lower()

    def test_the_current_version_saves_and_the_next_page_carries_the_new_one(
        self, client_for, rep, deal
    ):
        client = client_for(rep)
        data = self.page_data(client, deal)
        data.update(amount="77000.00", next_step="Rappeler jeudi")

        response = client.post(self.url(deal), versions.with_version(data, "current"))

        assert response.status_code == 302
        deal.refresh_from_db()
        assert (deal.next_step, deal.version) == ("Rappeler jeudi", 3)
        assert client.get(self.url(deal)).context["form"]["version"].value() == "3"

    def test_saving_again_after_the_refusal_applies_the_input(self, client_for, rep, deal):
        client = client_for(rep)
        data = self.page_data(client, deal)
        data.update(amount="77000.00", next_step="Rappeler jeudi")
        refused = client.post(self.url(deal), versions.with_version(data, "missing"))
        again = refused.context["form"].data.dict()

        assert client.post(self.url(deal), again).status_code == 302
        deal.refresh_from_db()
        assert (deal.next_step, deal.version) == ("Rappeler jeudi", 3)


class TestBoardMove:
    def url(self, deal):
        return reverse("opportunities:kanban-move", args=[deal.pk])

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_drop_without_the_current_version_is_refused_with_the_card_as_it_is_now(
        self, client_for, rep, deal, case
    ):
        data = versions.with_version({"stage": Stage.PROPOSAL}, case)

        response = client_for(rep).post(self.url(deal), data, **HTMX)

        assert response.status_code == 409
        assert versions.says_someone_else_changed_it(unquote(response["X-Error-Message"]))
        # The card comes back at its current stage and version for the board to show.
        html = response.content.decode()
        assert f'id="deal-{deal.pk}"' in html
        assert 'data-version="2"' in html and 'data-stage="qualification"' in html
        versions.assert_untouched(deal, stage=Stage.QUALIFICATION)

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_move_without_javascript_and_without_the_current_version_is_a_form_error(
        self, client_for, rep, deal, case
    ):
        data = versions.with_version({"stage": Stage.PROPOSAL}, case)

        response = client_for(rep).post(self.url(deal), data)

        assert response.status_code == 409
        form = response.context["form"]
        assert versions.says_someone_else_changed_it(" ".join(form.non_field_errors()))
        assert form["stage"].value() == Stage.PROPOSAL
        assert form["version"].value() == "2"
        versions.assert_untouched(deal, stage=Stage.QUALIFICATION)

    def test_the_current_version_moves_the_card_and_hands_back_the_next_one(
        self, client_for, rep, deal
    ):
        client = client_for(rep)
        response = client.post(
            self.url(deal), versions.with_version({"stage": Stage.PROPOSAL}, "current"), **HTMX
        )
        assert response.status_code == 200
        assert 'data-version="3"' in response.content.decode()
        again = client.post(self.url(deal), {"stage": Stage.NEGOTIATION, "version": "3"}, **HTMX)
        assert again.status_code == 200
        deal.refresh_from_db()
        assert (deal.stage, deal.version) == (Stage.NEGOTIATION, 4)
        assert OpportunityHistory.objects.filter(opportunity=deal).count() == 4

    def test_the_move_page_refused_once_moves_on_the_next_submit(self, client_for, rep, deal):
        client = client_for(rep)
        refused = client.post(self.url(deal), {"stage": Stage.PROPOSAL, "version": "1"})
        again = refused.context["form"].data.dict()
        assert client.post(self.url(deal), again).status_code == 302
        deal.refresh_from_db()
        assert (deal.stage, deal.version) == (Stage.PROPOSAL, 3)


class TestAdmin:
    def url(self, deal):
        return reverse("admin:opportunities_opportunity_change", args=[deal.pk])

    def admin_data(self, deal) -> dict:
        return {
            "name": deal.name,
            "account": deal.account_id,
            "owner": deal.owner_id,
            "type": deal.type,
            "stage": deal.stage,
            "probability": deal.probability,
            "amount": "10000.00",  # what the page showed at version 1
            "close_date": deal.close_date.isoformat(),
            "forecast_category": deal.forecast_category,
            "next_step": "Relancer",
            "history-TOTAL_FORMS": "0",
            "history-INITIAL_FORMS": "0",
            "history-MIN_NUM_FORMS": "0",
            "history-MAX_NUM_FORMS": "0",
        }

    def test_the_change_form_carries_the_version(self, client_for, admin_user, deal):
        html = client_for(admin_user).get(self.url(deal)).content.decode()
        assert 'type="hidden" name="expected_version" value="2"' in html

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_save_without_the_current_version_is_a_form_error(
        self, client_for, admin_user, deal, case
    ):
        data = versions.with_version(self.admin_data(deal), case, key="expected_version")

        response = client_for(admin_user).post(self.url(deal), data)

        assert response.status_code == 200
        form = response.context["adminform"].form
        assert versions.says_someone_else_changed_it(" ".join(form.non_field_errors()))
        # Saving again applies what was typed over the version now shown.
        assert form["expected_version"].value() == "2"
        versions.assert_untouched(deal, next_step="")

    def test_the_current_version_saves_through_the_service(self, client_for, admin_user, deal):
        data = {**self.admin_data(deal), "amount": "77000.00", "expected_version": "2"}
        response = client_for(admin_user).post(self.url(deal), data)
        assert response.status_code == 302
        deal.refresh_from_db()
        assert (deal.next_step, deal.version) == ("Relancer", 3)
        assert deal.history.get(version=3).tag == "admin"


def test_the_refusals_are_translated(client_for, rep, deal):
    """English users read the same answer in English."""
    rep.language = "en"
    rep.save()
    client = client_for(rep)
    response = client.post(
        reverse("opportunities:kanban-move", args=[deal.pk]),
        {"stage": Stage.PROPOSAL},
        HTTP_ACCEPT_LANGUAGE="en",
        **HTMX,
    )
    message = unquote(response["X-Error-Message"])
    assert message.startswith("Someone else may have changed this deal"), message
    stale = client.post(
        reverse("opportunities:kanban-move", args=[deal.pk]),
        {"stage": Stage.PROPOSAL, "version": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
        **HTMX,
    )
    assert unquote(stale["X-Error-Message"]).startswith(
        "Someone else changed this deal while you were editing it (amount)."
    )

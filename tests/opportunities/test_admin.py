"""The admin goes through the stage machine and writes history like every other path."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities.models import LossReason, Opportunity, OpportunityHistory, Stage
from opportunities.services import opportunity_update
from tests import clock
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(clock.NOW)]

IN_A_MONTH = clock.today() + datetime.timedelta(days=30)


def admin_data(deal: Opportunity, **changes) -> dict:
    data = {
        "name": deal.name,
        "account": deal.account_id,
        "owner": deal.owner_id,
        "type": deal.type,
        "stage": deal.stage,
        "probability": deal.probability,
        "amount": deal.amount,
        "close_date": deal.close_date.isoformat(),
        "forecast_category": deal.forecast_category,
        "expected_version": deal.version,
        "history-TOTAL_FORMS": "0",
        "history-INITIAL_FORMS": "0",
        "history-MIN_NUM_FORMS": "0",
        "history-MAX_NUM_FORMS": "0",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_change_goes_through_the_stage_machine_and_writes_history(
    client_for, admin_user, rep
):
    deal = OpportunityFactory(owner=rep)
    url = reverse("admin:opportunities_opportunity_change", args=[deal.pk])
    client = client_for(admin_user)
    assert client.get(url).status_code == 200
    response = client.post(url, admin_data(deal, stage=Stage.PROPOSAL))
    assert response.status_code == 302, response.context["adminform"].form.errors
    deal.refresh_from_db()
    # The probability posted unchanged (10) gives way to the stage default.
    assert (deal.stage, deal.probability, deal.version) == (Stage.PROPOSAL, 50, 2)
    row = OpportunityHistory.objects.get(opportunity=deal, version=2)
    assert (row.prev_stage, row.stage, row.changed_by, row.tag) == (
        Stage.QUALIFICATION,
        Stage.PROPOSAL,
        admin_user,
        "admin",
    )


def test_admin_add_creates_the_first_history_row(client_for, admin_user, rep):
    account = AccountFactory()
    data = {
        "name": "Bornes de recharge",
        "account": account.pk,
        "owner": rep.pk,
        "type": "new_business",
        "stage": Stage.NEGOTIATION,
        "probability": "10",
        "amount": "8000",
        "close_date": IN_A_MONTH.isoformat(),
        "forecast_category": "pipeline",
        "history-TOTAL_FORMS": "0",
        "history-INITIAL_FORMS": "0",
        "history-MIN_NUM_FORMS": "0",
        "history-MAX_NUM_FORMS": "0",
    }
    response = client_for(admin_user).post(reverse("admin:opportunities_opportunity_add"), data)
    assert response.status_code == 302
    deal = Opportunity.objects.get(name="Bornes de recharge")
    assert (deal.probability, deal.forecast_category) == (75, "commit")
    row = OpportunityHistory.objects.get(opportunity=deal)
    assert row.is_creation and row.tag == "admin" and row.changed_by == admin_user


def test_admin_refuses_a_broken_rule_with_a_form_error(client_for, admin_user, rep):
    deal = OpportunityFactory(owner=rep)
    url = reverse("admin:opportunities_opportunity_change", args=[deal.pk])
    response = client_for(admin_user).post(url, admin_data(deal, stage=Stage.CLOSED_LOST))
    assert response.status_code == 200
    assert "loss_reason" in response.context["adminform"].form.errors
    deal.refresh_from_db()
    assert (deal.stage, deal.version) == (Stage.QUALIFICATION, 1)
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 1


def test_admin_close_lost_with_reason(client_for, admin_user, rep):
    deal = OpportunityFactory(owner=rep)
    url = reverse("admin:opportunities_opportunity_change", args=[deal.pk])
    reason = LossReason.objects.get(code="timing")
    response = client_for(admin_user).post(
        url, admin_data(deal, stage=Stage.CLOSED_LOST, loss_reason=reason.pk)
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.probability, deal.loss_reason) == (Stage.CLOSED_LOST, 0, reason)


def test_admin_save_on_a_stale_version_is_refused(client_for, admin_user, rep, manager):
    deal = OpportunityFactory(owner=rep)
    stale = admin_data(deal, next_step="Relancer")
    opportunity_update(
        opportunity=deal,
        by=manager,
        changes={"amount": Decimal("1")},
        expected_version=deal.version,
        reason_code="other",
    )
    url = reverse("admin:opportunities_opportunity_change", args=[deal.pk])
    response = client_for(admin_user).post(url, stale)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    deal.refresh_from_db()
    assert (deal.amount, deal.next_step) == (Decimal("1"), "")


def test_history_admin_is_read_only(client_for, admin_user):
    deal = OpportunityFactory()
    row = OpportunityHistory.objects.get(opportunity=deal)
    client = client_for(admin_user)
    assert (
        client.get(reverse("admin:opportunities_opportunityhistory_changelist")).status_code == 200
    )
    assert client.get(reverse("admin:opportunities_opportunityhistory_add")).status_code == 403
    change_url = reverse("admin:opportunities_opportunityhistory_change", args=[row.pk])
    assert client.get(change_url).status_code == 200
    client.post(change_url, {"tag": "tampered"})
    row.refresh_from_db()
    assert row.tag == ""
    delete_url = reverse("admin:opportunities_opportunityhistory_delete", args=[row.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert OpportunityHistory.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    "name",
    [
        "accounts_account",
        "accounts_contact",
        "accounts_partner",
        "accounts_partnertarget",
        "opportunities_opportunity",
        "opportunities_stagesetting",
        "opportunities_lossreason",
        "climcrm_user",
    ],
)
def test_admin_lists_and_searches(client_for, admin_user, partner_a, name):
    contact = ContactFactory()
    OpportunityFactory(account=contact.account, partner=partner_a, primary_contact=contact)
    client = client_for(admin_user)
    url = reverse(f"admin:{name}_changelist")
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "a"}).status_code == 200


def test_admin_autocomplete_for_accounts(client_for, admin_user):
    AccountFactory(name="Hôtel du Lac SA")
    response = client_for(admin_user).get(
        reverse("admin:autocomplete"),
        {
            "term": "Lac",
            "app_label": "opportunities",
            "model_name": "opportunity",
            "field_name": "account",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Hôtel du Lac SA"]

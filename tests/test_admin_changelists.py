"""The Django admin's change lists of deals, leads and accounts: they open for an
administrator and their queries do not grow with the rows (or with the partners the
filters list)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import clock
from tests.factories import (
    AccountFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
    PartnerFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(clock.NOW)]


def _queries(client, url: str) -> int:
    client.get(url)  # sessions, content types and caches settle on the first visit
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def _deals(count: int) -> None:
    for _ in range(count):
        OpportunityFactory(partner=PartnerFactory())


def _leads(count: int) -> None:
    for _ in range(count):
        LeadFactory(partner=PartnerFactory(), owner=None)


def _accounts(count: int) -> None:
    for _ in range(count):
        ContactFactory(account=AccountFactory())


class TestDealChangeList:
    url = reverse("admin:opportunities_opportunity_changelist")

    def test_it_lists_the_deals_with_their_partner_for_an_administrator(
        self, client_for, admin_user
    ):
        deal = OpportunityFactory(partner=PartnerFactory(account__name="Gamma Réseaux SA"))
        response = client_for(admin_user).get(self.url)
        assert response.status_code == 200
        content = response.content.decode()
        assert deal.name in content
        assert "Gamma Réseaux SA" in content

    def test_its_queries_do_not_grow_with_deals_and_partners(self, client_for, admin_user):
        client = client_for(admin_user)
        _deals(3)
        few = _queries(client, self.url)
        _deals(27)
        assert _queries(client, self.url) == few


class TestLeadChangeList:
    url = reverse("admin:leads_lead_changelist")

    def test_it_lists_the_leads_for_an_administrator(self, client_for, admin_user):
        lead = LeadFactory(partner=PartnerFactory(account__name="Gamma Réseaux SA"))
        response = client_for(admin_user).get(self.url)
        assert response.status_code == 200
        content = response.content.decode()
        assert lead.email in content
        assert "Gamma Réseaux SA" in content

    def test_its_queries_do_not_grow_with_leads_and_partners(self, client_for, admin_user):
        client = client_for(admin_user)
        _leads(3)
        few = _queries(client, self.url)
        _leads(27)
        assert _queries(client, self.url) == few


class TestAccountChangeList:
    url = reverse("admin:accounts_account_changelist")

    def test_it_lists_the_accounts_with_their_contact_count(self, client_for, admin_user):
        account = AccountFactory(name="Delta Chauffage SA")
        ContactFactory.create_batch(2, account=account)
        response = client_for(admin_user).get(self.url + "?q=Delta")
        assert response.status_code == 200
        rows = [row for row in response.context["cl"].result_list if row.pk == account.pk]
        assert rows[0].contact_total == 2
        assert "Delta Chauffage SA" in response.content.decode()

    def test_its_queries_do_not_grow_with_accounts(self, client_for, admin_user):
        client = client_for(admin_user)
        _accounts(3)
        few = _queries(client, self.url)
        _accounts(27)
        assert _queries(client, self.url) == few

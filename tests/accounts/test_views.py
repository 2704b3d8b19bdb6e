"""Account and contact pages."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact
from opportunities.models import Opportunity, Stage
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel(rep):
    account = AccountFactory(name="Hôtel du Lac SA", city="Neuchâtel", owner=rep)
    ContactFactory(account=account, last_name="Berset", email="anne.berset@hoteldulac.ch")
    ContactFactory(account=account, last_name="Rossier")
    return account


@pytest.fixture
def hotel_deals(hotel, rep, other_rep, partner_a, partner_b):
    return [
        OpportunityFactory(
            account=hotel,
            owner=rep,
            name="Won 1",
            stage=Stage.CLOSED_WON,
            probability=100,
            amount=Decimal("12000"),
            forecast_category="closed",
        ),
        OpportunityFactory(
            account=hotel,
            owner=other_rep,
            partner=partner_a,
            name="Won A",
            stage=Stage.CLOSED_WON,
            probability=100,
            amount=Decimal("3000.50"),
            forecast_category="closed",
        ),
        OpportunityFactory(
            account=hotel, owner=rep, partner=partner_b, name="Open B", amount=Decimal("50000")
        ),
    ]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


class TestAccountList:
    url = reverse("accounts:list")

    def test_it_lists_accounts_with_the_customer_flag(self, client_for, rep, hotel, hotel_deals):
        prospect = AccountFactory(name="Zbinden AG")
        response = client_for(rep).get(self.url)
        flags = {a.pk: (a.is_customer, a.open_deals) for a in response.context["accounts"]}
        assert flags[hotel.pk] == (True, 1)
        assert flags[prospect.pk] == (False, 0)

    def test_search_by_name_city_or_legal_form_free_name(self, client_for, rep, hotel):
        AccountFactory(name="Zbinden AG", city="Bern")
        client = client_for(rep)
        for query in ("hôtel", "neuch", "Hotel du Lac"):
            names = [a.name for a in client.get(self.url, {"q": query}).context["accounts"]]
            assert names == ["Hôtel du Lac SA"], query

    def test_customer_filter(self, client_for, rep, hotel, hotel_deals):
        AccountFactory(name="Zbinden AG")
        client = client_for(rep)
        customers = [a.name for a in client.get(self.url, {"customer": "yes"}).context["accounts"]]
        prospects = [a.name for a in client.get(self.url, {"customer": "no"}).context["accounts"]]
        assert customers == ["Hôtel du Lac SA"]
        assert "Zbinden AG" in prospects and "Hôtel du Lac SA" not in prospects

    def test_sorting_and_pagination(self, client_for, rep):
        for n in range(55):
            AccountFactory(name=f"Firma {n:02d} AG", city=f"City {54 - n:02d}")
        client = client_for(rep)
        first = client.get(self.url, {"ordering": "-name"}).context["accounts"][0]
        assert first.name == "Firma 54 AG"
        by_city = client.get(self.url, {"ordering": "city"}).context["accounts"][0]
        assert by_city.name == "Firma 54 AG"
        assert len(client.get(self.url, {"page": 2}).context["accounts"]) == 5

    def test_partner_user_sees_only_the_accounts_of_their_deals(
        self, client_for, partner_a_user, hotel, hotel_deals, partner_a
    ):
        AccountFactory(name="Zbinden AG")
        names = {a.name for a in client_for(partner_a_user).get(self.url).context["accounts"]}
        assert names == {"Hôtel du Lac SA", partner_a.account.name}

    def test_query_budget_is_the_same_at_10_and_1000_accounts(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        Account.objects.bulk_create(
            Account(name=f"A{i}", normalized_name=f"a{i}", owner=rep) for i in range(10)
        )
        small = count_queries(client, self.url + "?ordering=owner")
        Account.objects.bulk_create(
            Account(name=f"B{i}", normalized_name=f"b{i}", owner=rep) for i in range(990)
        )
        with django_assert_max_num_queries(8):
            client.get(self.url + "?ordering=owner")
        assert count_queries(client, self.url + "?ordering=owner") == small


class TestAccountDetail:
    def test_it_shows_contacts_deals_and_the_won_total(self, client_for, rep, hotel, hotel_deals):
        response = client_for(rep).get(reverse("accounts:detail", args=[hotel.pk]))
        assert response.status_code == 200
        assert response.context["totals"]["won_total"] == Decimal("15000.50")
        assert response.context["totals"]["open_total"] == Decimal("50000")
        assert {c.last_name for c in response.context["contacts"]} == {"Berset", "Rossier"}
        assert len(response.context["opportunities"]) == 3
        assert response.context["account"].is_customer

    def test_partner_sees_only_their_deals_and_total(
        self, client_for, partner_a_user, hotel, hotel_deals
    ):
        response = client_for(partner_a_user).get(reverse("accounts:detail", args=[hotel.pk]))
        assert [d.name for d in response.context["opportunities"]] == ["Won A"]
        assert response.context["totals"]["won_total"] == Decimal("3000.50")
        assert not response.context["can_edit"]

    def test_partner_gets_404_for_an_account_outside_their_deals(
        self, client_for, partner_a_user, partner_b
    ):
        other = AccountFactory()
        OpportunityFactory(account=other, partner=partner_b)
        client = client_for(partner_a_user)
        assert client.get(reverse("accounts:detail", args=[other.pk])).status_code == 404
        assert client.get(reverse("accounts:edit", args=[other.pk])).status_code == 404
        assert (
            client.get(reverse("accounts:detail", args=[partner_b.account_id])).status_code == 404
        )

    def test_partner_may_not_edit_accounts_they_see(
        self, client_for, partner_a_user, hotel, hotel_deals
    ):
        client = client_for(partner_a_user)
        assert client.get(reverse("accounts:edit", args=[hotel.pk])).status_code == 404
        assert client.get(reverse("accounts:create")).status_code == 404

    def test_query_budget_is_the_same_with_10_and_1000_deals(
        self, client_for, rep, hotel, django_assert_max_num_queries
    ):
        client = client_for(rep)
        url = reverse("accounts:detail", args=[hotel.pk])

        def add(n):
            Opportunity.objects.bulk_create(
                Opportunity(
                    name=f"D{i}",
                    account=hotel,
                    owner=rep,
                    amount=Decimal(10),
                    close_date=datetime.date(2027, 1, 1),
                )
                for i in range(n)
            )
            Contact.objects.bulk_create(Contact(account=hotel, last_name=f"C{i}") for i in range(n))

        add(10)
        small = count_queries(client, url)
        add(990)
        with django_assert_max_num_queries(10):
            client.get(url)
        assert count_queries(client, url) == small


class TestAccountForms:
    def test_create_normalises_the_name_and_owns_it(self, client_for, rep):
        response = client_for(rep).post(
            reverse("accounts:create"),
            {
                "name": "Menuiserie Berthod S.à r.l.",
                "country": "ch",
                "owner": rep.pk,
                "city": "Martigny",
            },
        )
        account = Account.objects.get()
        assert response["Location"] == reverse("accounts:detail", args=[account.pk])
        assert (account.country, account.owner, account.city) == ("CH", rep, "Martigny")
        assert account.normalized_name

    def test_create_requires_a_name(self, client_for, rep):
        response = client_for(rep).post(reverse("accounts:create"), {"name": "", "country": "CH"})
        assert response.status_code == 200
        assert "name" in response.context["form"].errors
        assert not Account.objects.exists()

    def test_bad_website_is_a_form_error(self, client_for, rep):
        response = client_for(rep).post(
            reverse("accounts:create"), {"name": "X SA", "country": "CH", "website": "not a url"}
        )
        assert "website" in response.context["form"].errors

    def test_edit_saves(self, client_for, rep, hotel):
        response = client_for(rep).post(
            reverse("accounts:edit", args=[hotel.pk]),
            {"name": "Hôtel du Lac & Spa SA", "country": "CH", "city": "Neuchâtel"},
        )
        assert response.status_code == 302
        hotel.refresh_from_db()
        assert hotel.name == "Hôtel du Lac & Spa SA"


class TestContacts:
    def test_list_search_and_detail(self, client_for, rep, hotel, hotel_deals):
        client = client_for(rep)
        response = client.get(reverse("accounts:contact-list"), {"q": "hoteldulac"})
        [contact] = response.context["contacts"]
        assert contact.last_name == "Berset"
        detail = client.get(reverse("accounts:contact-detail", args=[contact.pk]))
        assert detail.status_code == 200 and "Hôtel du Lac SA" in detail.content.decode()

    def test_partner_gets_404_for_contacts_outside_their_deals(
        self, client_for, partner_a_user, partner_b
    ):
        other = ContactFactory()
        OpportunityFactory(account=other.account, partner=partner_b)
        client = client_for(partner_a_user)
        assert client.get(reverse("accounts:contact-detail", args=[other.pk])).status_code == 404
        assert client.get(reverse("accounts:contact-edit", args=[other.pk])).status_code == 404
        response = client.get(reverse("accounts:contact-list"))
        assert other not in response.context["contacts"]

    def test_create_and_edit(self, client_for, rep, hotel):
        client = client_for(rep)
        response = client.post(
            reverse("accounts:contact-create"),
            {
                "first_name": "Reto",
                "last_name": "Müller",
                "email": " Reto.Muller@Example.CH ",
                "account": hotel.pk,
                "is_decision_maker": "on",
            },
        )
        contact = Contact.objects.get(last_name="Müller")
        assert response["Location"] == reverse("accounts:contact-detail", args=[contact.pk])
        assert (contact.email, contact.is_decision_maker) == ("reto.muller@example.ch", True)
        response = client.post(
            reverse("accounts:contact-edit", args=[contact.pk]),
            {"first_name": "Reto", "last_name": "Müller", "email": "bad", "account": hotel.pk},
        )
        assert "email" in response.context["form"].errors
        response = client.post(
            reverse("accounts:contact-edit", args=[contact.pk]),
            {
                "first_name": "Reto",
                "last_name": "Müller-Meier",
                "account": hotel.pk,
                "job_title": "Directeur",
            },
        )
        contact.refresh_from_db()
        assert (contact.last_name, contact.job_title, contact.email) == (
            "Müller-Meier",
            "Directeur",
            "",
        )

    def test_contact_cannot_be_attached_to_an_account_out_of_sight(self, client_for, rep):
        response = client_for(rep).post(
            reverse("accounts:contact-create"), {"last_name": "X", "account": 999999}
        )
        assert "account" in response.context["form"].errors

    def test_query_budget_is_the_same_at_10_and_1000_contacts(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        accounts = AccountFactory.create_batch(3)
        url = reverse("accounts:contact-list") + "?ordering=account"

        def add(n):
            Contact.objects.bulk_create(
                Contact(account=accounts[i % 3], last_name=f"C{i}") for i in range(n)
            )

        add(10)
        small = count_queries(client, url)
        add(990)
        with django_assert_max_num_queries(8):
            client.get(url)
        assert count_queries(client, url) == small


def test_account_list_htmx_request_gets_only_the_results(client_for, rep, hotel):
    response = client_for(rep).get(
        reverse("accounts:list"), {"q": "lac"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results">')
    assert "Hôtel du Lac SA" in content and "<html" not in content


def test_contact_list_htmx_request_gets_only_the_results(client_for, rep, hotel):
    response = client_for(rep).get(
        reverse("accounts:contact-list"), {"q": "berset"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results">') and "Berset" in content


def test_creating_a_duplicate_account_is_refused_whatever_the_legal_form(client_for, rep, hotel):
    response = client_for(rep).post(
        reverse("accounts:create"), {"name": "Hotel du Lac S.A.", "country": "CH"}
    )
    assert response.status_code == 200
    assert "Hôtel du Lac SA" in " ".join(response.context["form"].errors["name"])
    assert Account.objects.count() == 1


def test_editing_an_account_keeps_its_own_name(client_for, rep, hotel):
    response = client_for(rep).post(
        reverse("accounts:edit", args=[hotel.pk]),
        {"name": "Hôtel du Lac SA", "country": "CH", "notes": "Client fidèle"},
    )
    assert response.status_code == 302

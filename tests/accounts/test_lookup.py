"""The account and contact lookups, and the selects that use them past the threshold."""

import re

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.forms import ContactForm
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def _texts(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [row["text"] for row in response.json()]


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def _select_tag(html: str, name: str) -> str:
    return re.search(rf'<select name="{name}"[^>]*>', html).group(0)


class TestAccountLookup:
    def test_it_ranks_names_starting_with_the_text_first(self, client_for, rep):
        AccountFactory(name="Hôtel Solaris")
        AccountFactory(name="Solaris Energie SA")
        AccountFactory(name="Bâtiments Sud")
        response = client_for(rep).get(reverse("accounts:lookup"), {"q": "solaris"})
        assert _texts(response) == ["Solaris Energie SA", "Hôtel Solaris"]

    def test_it_answers_value_and_text(self, client_for, rep):
        account = AccountFactory(name="Solaris Energie SA")
        response = client_for(rep).get(reverse("accounts:lookup"), {"q": "Sola"})
        assert response.json() == [{"value": account.pk, "text": "Solaris Energie SA"}]

    def test_it_answers_at_most_twenty_rows(self, client_for, rep):
        AccountFactory.create_batch(25, name=factory.Sequence(lambda n: f"Chauffage {n:03d}"))
        response = client_for(rep).get(reverse("accounts:lookup"), {"q": "chauff"})
        assert len(_texts(response)) == 20

    def test_it_requires_login(self, client):
        response = client.get(reverse("accounts:lookup"), {"q": "a"})
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")

    def test_partner_gets_only_its_own_accounts(
        self, client_for, partner_a, partner_b, partner_a_user, rep
    ):
        own = OpportunityFactory(partner=partner_a, account__name="Lookup Alpha SA").account
        OpportunityFactory(partner=partner_b, account__name="Lookup Beta SA")
        AccountFactory(name="Lookup Interne SA")
        response = client_for(partner_a_user).get(reverse("accounts:lookup"), {"q": "lookup"})
        assert response.json() == [{"value": own.pk, "text": "Lookup Alpha SA"}]


class TestContactLookup:
    def test_it_narrows_to_the_account(self, client_for, rep):
        account = AccountFactory()
        ContactFactory(account=account, first_name="Anne", last_name="Berset")
        ContactFactory(first_name="Paul", last_name="Bertholet")
        url = reverse("accounts:contact-lookup")
        client = client_for(rep)
        assert _texts(client.get(url, {"q": "ber"})) == ["Anne Berset", "Paul Bertholet"]
        narrowed = client.get(url, {"q": "ber", "account": account.pk})
        assert _texts(narrowed) == ["Anne Berset"]

    def test_partner_never_gets_other_partners_contacts(
        self, client_for, partner_a, partner_b, partner_a_user
    ):
        own = OpportunityFactory(partner=partner_a)
        ContactFactory(account=own.account, first_name="", last_name="Lookupalpha")
        other = OpportunityFactory(partner=partner_b)
        ContactFactory(account=other.account, last_name="Lookupbeta")
        ContactFactory(last_name="Lookupinterne")
        client = client_for(partner_a_user)
        url = reverse("accounts:contact-lookup")
        texts = _texts(client.get(url, {"q": "lookup"}))
        assert texts == ["Lookupalpha"]
        assert client.get(url, {"q": "", "account": other.account.pk}).status_code == 404
        assert client.get(url, {"q": "", "account": "x"}).status_code == 404


def _accounts_with_a_contact(count: int) -> None:
    for account in AccountFactory.create_batch(count):
        ContactFactory(account=account)


class TestDealFormPastTheThreshold:
    @pytest.fixture
    def deal(self, rep):
        return OpportunityFactory(owner=rep, account__name="Choisie SA")

    def _edit(self, client, deal):
        return client.get(reverse("opportunities:edit", args=[deal.pk]))

    def test_below_the_threshold_every_account_is_an_option(self, settings, client_for, rep, deal):
        settings.CRM_LOOKUP_THRESHOLD = 3
        AccountFactory.create_batch(2)
        html = self._edit(client_for(rep), deal).text
        assert len(_options(html, "account")) == 1 + 3  # the empty choice and every account
        assert "data-lookup-url" not in _select_tag(html, "account")

    def test_past_it_only_the_chosen_account_is_rendered(self, settings, client_for, rep, deal):
        settings.CRM_LOOKUP_THRESHOLD = 3
        _accounts_with_a_contact(5)
        html = self._edit(client_for(rep), deal).text
        assert _options(html, "account") == ["", str(deal.account.pk)]
        assert f'data-lookup-url="{reverse("accounts:lookup")}"' in _select_tag(html, "account")
        assert ">Choisie SA</option>" in html
        contact = _select_tag(html, "primary_contact")
        assert f'data-lookup-url="{reverse("accounts:contact-lookup")}"' in contact
        assert 'data-lookup-forward="account"' in contact

    def test_the_query_count_does_not_grow_with_the_accounts(self, settings, client_for, rep, deal):
        settings.CRM_LOOKUP_THRESHOLD = 3
        client = client_for(rep)
        _accounts_with_a_contact(5)
        self._edit(client, deal)
        with CaptureQueriesContext(connection) as few:
            self._edit(client, deal)
        _accounts_with_a_contact(30)
        with CaptureQueriesContext(connection) as many:
            html = self._edit(client, deal).text
        assert len(many) == len(few)
        assert len(_options(html, "account")) == 2


class TestContactForm:
    def test_past_the_threshold_it_renders_the_chosen_account_only(self, settings, rep):
        settings.CRM_LOOKUP_THRESHOLD = 2
        accounts = AccountFactory.create_batch(4)
        form = ContactForm(user=rep, initial={"account": accounts[1].pk})
        html = str(form["account"])
        assert re.findall(r'<option value="([^"]*)"', html) == ["", str(accounts[1].pk)]
        assert "data-lookup-url" in html

    def test_a_posted_account_out_of_sight_is_refused(self, settings, partner_a_user, rep):
        settings.CRM_LOOKUP_THRESHOLD = 0
        hidden = AccountFactory()
        form = ContactForm({"account": hidden.pk, "last_name": "Muster"}, user=partner_a_user)
        assert not form.is_valid()
        assert "account" in form.errors

    def test_a_malformed_value_renders_without_options(self, settings, rep):
        settings.CRM_LOOKUP_THRESHOLD = 0
        AccountFactory()
        form = ContactForm({"account": "abc", "last_name": "Muster"}, user=rep)
        assert not form.is_valid()
        assert re.findall(r'<option value="([^"]*)"', str(form["account"])) == [""]

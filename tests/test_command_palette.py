"""The command palette: quick actions, the pages of one's menu and the records one may see."""

import pytest
from django.urls import reverse

from tests.factories import AccountFactory, LeadFactory, OpportunityFactory

HTMX = {"HX-Request": "true"}


def _palette(client, q="", **params):
    return client.get(reverse("command-palette"), {"q": q, **params}, headers=HTMX)


@pytest.mark.django_db
class TestCommandPalette:
    def test_it_offers_actions_and_pages_in_french(self, client, rep):
        client.force_login(rep)
        text = _palette(client).text
        assert 'role="option"' in text
        for label in ("Nouveau lead", "Nouvelle opportunité", "Raccourcis clavier", "Prévisions"):
            assert label in text
        assert "Aller à" in text

    def test_it_speaks_english_to_an_english_user(self, client, rep):
        rep.language = "en"
        rep.save()
        client.force_login(rep)
        text = _palette(client).text
        assert "New lead" in text and "Go to" in text

    def test_what_is_typed_narrows_pages_and_actions_without_accents(self, client, rep):
        client.force_login(rep)
        text = _palette(client, "opportunite").text
        assert "Nouvelle opportunité" in text
        assert "Nouveau lead" not in text

    def test_it_finds_the_records_the_user_may_see(self, client, rep):
        AccountFactory(name="Glacier Froid SA")
        OpportunityFactory(name="Glacier pompe à chaleur", owner=rep)
        LeadFactory(company="Glacier Lead Sàrl", owner=rep)
        client.force_login(rep)
        text = _palette(client, "Glacier").text
        assert "Glacier Froid SA" in text
        assert "Glacier pompe à chaleur" in text
        assert "Fiches" in text

    def test_a_partner_user_never_finds_another_partners_records(
        self, client, partner_a, partner_b, partner_a_user, rep
    ):
        OpportunityFactory(name="Chaufferie Alpha", partner=partner_a, owner=rep)
        OpportunityFactory(name="Chaufferie Bravo", partner=partner_b, owner=rep)
        OpportunityFactory(name="Chaufferie Directe", partner=None, owner=rep)
        LeadFactory(company="Chaufferie Lead B", partner=partner_b, owner=rep)
        client.force_login(partner_a_user)
        text = _palette(client, "Chaufferie").text
        assert "Chaufferie Alpha" in text
        assert "Bravo" not in text and "Directe" not in text and "Lead B" not in text

    def test_a_partner_user_gets_their_own_actions_and_pages_only(self, client, partner_a_user):
        client.force_login(partner_a_user)
        text = _palette(client).text
        assert "Nouvelle déclaration d&#x27;opportunité" in text
        assert "Nouvelle opportunité" not in text
        assert reverse("accounts:create") not in text
        assert reverse("forecasting:targets") not in text

    def test_a_new_to_do_is_offered_on_a_record_page(self, client, rep):
        deal = OpportunityFactory(owner=rep)
        client.force_login(rep)
        on_deal = _palette(client, **{"from": reverse("opportunities:detail", args=[deal.pk])})
        assert 'data-action="focus"' in on_deal.text
        assert 'data-action="focus"' not in _palette(client, **{"from": "/"}).text

    def test_nothing_matching_says_so(self, client, rep):
        client.force_login(rep)
        text = _palette(client, "zzzqqq").text
        assert "zzzqqq" in text and 'aria-disabled="true"' in text

    def test_without_htmx_it_is_a_page_of_links(self, client, rep):
        client.force_login(rep)
        response = client.get(reverse("command-palette"), {"q": "lead"})
        assert response.status_code == 200
        assert f'href="{reverse("leads:create")}"' in response.text

    def test_its_queries_do_not_grow_with_the_records(
        self, client, rep, django_assert_max_num_queries
    ):
        client.force_login(rep)
        for number in range(30):
            OpportunityFactory(name=f"Pompe {number}", owner=rep)
            AccountFactory(name=f"Pompe SA {number}")
        with django_assert_max_num_queries(12):
            response = _palette(client, "Pompe")
        assert response.text.count('role="option"') > 10

    def test_every_signed_in_page_carries_the_palette(self, client, rep, partner_a_user):
        for user in (rep, partner_a_user):
            client.force_login(user)
            text = client.get(reverse("dashboard")).text
            assert 'id="command-palette"' in text and 'role="combobox"' in text
            assert 'id="shortcuts-help"' in text

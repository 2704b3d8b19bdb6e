"""Saved views: personal or shared with the team, a default per list, and never a way to
see more than the user may see."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from climcrm.models import DefaultView, SavedView
from tests.factories import AccountFactory, LeadFactory, OpportunityFactory

OPPS = SavedView.List.OPPORTUNITIES


def _params(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def _view(owner, name="Mes affaires", query="", shared=False, list_name=OPPS):
    return SavedView.objects.create(
        owner=owner, list_name=list_name, name=name, query=query, shared=shared
    )


@pytest.mark.django_db
class TestSavingAView:
    def test_it_keeps_the_filters_and_sort_under_a_name(self, client, rep):
        client.force_login(rep)
        response = client.post(
            reverse("saved-view-create"),
            {
                "list": OPPS,
                "name": "Négociations",
                "current": "stage=negotiation&ordering=-updated&page=3",
            },
        )
        view = SavedView.objects.get(owner=rep)
        assert view.name == "Négociations"
        assert view.shared is False
        assert _params("?" + view.query) == {"stage": ["negotiation"], "ordering": ["-updated"]}
        assert response.status_code == 302
        assert _params(response["Location"]) == _params("?" + view.query)

    def test_it_drops_unknown_parameters_and_sort_keys(self, client, rep):
        client.force_login(rep)
        client.post(
            reverse("saved-view-create"),
            {"list": OPPS, "name": "Vue", "current": "stage=proposal&evil=1&ordering=password"},
        )
        assert SavedView.objects.get(owner=rep).query == "stage=proposal"

    def test_it_refuses_invalid_filters(self, client, rep):
        client.force_login(rep)
        response = client.post(
            reverse("saved-view-create"),
            {"list": OPPS, "name": "Vue", "current": "stage=nowhere"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 400
        assert "toast" in response["HX-Trigger"]
        assert not SavedView.objects.exists()

    def test_it_requires_a_name(self, client, rep):
        client.force_login(rep)
        client.post(reverse("saved-view-create"), {"list": OPPS, "name": " ", "current": ""})
        assert not SavedView.objects.exists()

    def test_it_refuses_a_second_view_of_the_same_name(self, client, rep):
        _view(rep, "Vue")
        client.force_login(rep)
        response = client.post(
            reverse("saved-view-create"),
            {"list": OPPS, "name": "Vue", "current": "mine=on"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 400
        assert SavedView.objects.count() == 1

    def test_it_answers_htmx_with_the_menu(self, client, rep):
        client.force_login(rep)
        response = client.post(
            reverse("saved-view-create"),
            {"list": OPPS, "name": "Vue HTMX", "current": "mine=on", "default": "on"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        text = response.text
        assert text.lstrip().startswith('<div id="view-menu"')
        assert "Vue HTMX" in text
        assert DefaultView.objects.get(user=rep, list_name=OPPS).view.name == "Vue HTMX"

    def test_an_unknown_list_is_404(self, client, rep):
        client.force_login(rep)
        response = client.post(reverse("saved-view-create"), {"list": "users", "name": "x"})
        assert response.status_code == 404

    def test_a_partner_users_view_cannot_name_another_partner(
        self, client, partner_a_user, partner_b
    ):
        """The partner and owner pickers are not among a partner user's filters: a view
        saved with them keeps only what the partner user may filter on."""
        client.force_login(partner_a_user)
        client.post(
            reverse("saved-view-create"),
            {
                "list": OPPS,
                "name": "Chez B",
                "current": f"partner={partner_b.pk}&direct=on&stage=proposal",
            },
        )
        assert SavedView.objects.get(owner=partner_a_user).query == "stage=proposal"


@pytest.mark.django_db
class TestOpeningAView:
    def test_it_opens_the_list_with_its_filters(self, client, rep):
        view = _view(rep, query="stage=proposal")
        client.force_login(rep)
        response = client.get(reverse("saved-view-open", args=[view.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("opportunities:list") + "?stage=proposal"

    def test_a_personal_view_is_404_for_anyone_else(self, client, rep, other_rep, manager):
        view = _view(rep)
        for user in (other_rep, manager):
            client.force_login(user)
            assert client.get(reverse("saved-view-open", args=[view.pk])).status_code == 404

    def test_a_shared_view_reaches_the_internal_team_only(
        self, client, rep, manager, partner_a_user
    ):
        view = _view(rep, shared=True)
        client.force_login(manager)
        assert client.get(reverse("saved-view-open", args=[view.pk])).status_code == 302
        client.force_login(partner_a_user)
        assert client.get(reverse("saved-view-open", args=[view.pk])).status_code == 404

    def test_a_partners_shared_view_reaches_its_own_partner_only(
        self, client, partner_a, partner_a_user, partner_b_user, rep
    ):
        from tests.factories import UserFactory

        colleague = UserFactory(partner=partner_a)
        colleague.groups.add(*partner_a_user.groups.all())
        view = _view(partner_a_user, shared=True)
        client.force_login(colleague)
        assert client.get(reverse("saved-view-open", args=[view.pk])).status_code == 302
        for outsider in (partner_b_user, rep):
            client.force_login(outsider)
            assert client.get(reverse("saved-view-open", args=[view.pk])).status_code == 404

    def test_a_view_never_widens_what_a_partner_user_sees(
        self, client, partner_a, partner_b, partner_a_user, rep
    ):
        """Even a view whose stored query names the other partner (written by hand in the
        database) is applied by the list's filters on the partner user's own deals."""
        OpportunityFactory(name="Affaire de A", partner=partner_a, owner=rep)
        OpportunityFactory(name="Affaire de B", partner=partner_b, owner=rep)
        OpportunityFactory(name="Affaire directe", partner=None, owner=rep)
        view = _view(partner_a_user, query=f"partner={partner_b.pk}&direct=on&owner={rep.pk}")
        client.force_login(partner_a_user)
        response = client.get(reverse("saved-view-open", args=[view.pk]), follow=True)
        assert response.status_code == 200
        assert "Affaire de A" in response.text
        assert "Affaire de B" not in response.text
        assert "Affaire directe" not in response.text


@pytest.mark.django_db
class TestChangingAView:
    def test_the_owner_renames_and_shares_it(self, client, rep):
        view = _view(rep)
        client.force_login(rep)
        client.post(
            reverse("saved-view-edit", args=[view.pk]), {"name": "Renommée", "shared": "on"}
        )
        view.refresh_from_db()
        assert (view.name, view.shared) == ("Renommée", True)

    def test_a_teammate_cannot_change_or_delete_a_shared_view(self, client, rep, manager):
        view = _view(rep, shared=True)
        client.force_login(manager)
        edit = client.post(reverse("saved-view-edit", args=[view.pk]), {"name": "Prise"})
        delete = client.post(reverse("saved-view-delete", args=[view.pk]))
        assert (edit.status_code, delete.status_code) == (404, 404)
        view.refresh_from_db()
        assert view.name == "Mes affaires"

    def test_the_owner_deletes_it(self, client, rep):
        view = _view(rep)
        DefaultView.objects.create(user=rep, list_name=OPPS, view=view)
        client.force_login(rep)
        response = client.post(reverse("saved-view-delete", args=[view.pk]))
        assert response.status_code == 302
        assert not SavedView.objects.exists()
        assert not DefaultView.objects.exists()

    def test_unsharing_removes_it_as_the_teams_default(self, client, rep, manager):
        view = _view(rep, shared=True)
        DefaultView.objects.create(user=manager, list_name=OPPS, view=view)
        DefaultView.objects.create(user=rep, list_name=OPPS, view=view)
        client.force_login(rep)
        client.post(reverse("saved-view-edit", args=[view.pk]), {"name": "Perso"})
        assert list(DefaultView.objects.values_list("user", flat=True)) == [rep.pk]


@pytest.mark.django_db
class TestDefaultView:
    def test_the_list_opens_with_the_default_view(self, client, rep):
        view = _view(rep, query="stage=negotiation")
        client.force_login(rep)
        client.post(reverse("saved-view-default"), {"list": OPPS, "view": view.pk})
        response = client.get(reverse("opportunities:list"))
        assert response.status_code == 302
        assert response["Location"] == reverse("opportunities:list") + "?stage=negotiation"

    def test_a_teams_shared_view_can_be_ones_default(self, client, rep, manager):
        view = _view(rep, query="stage=proposal", shared=True)
        client.force_login(manager)
        client.post(reverse("saved-view-default"), {"list": OPPS, "view": view.pk})
        response = client.get(reverse("opportunities:list"))
        assert response["Location"].endswith("?stage=proposal")

    def test_someone_elses_personal_view_cannot_be_ones_default(self, client, rep, manager):
        view = _view(rep, query="stage=proposal")
        client.force_login(manager)
        response = client.post(reverse("saved-view-default"), {"list": OPPS, "view": view.pk})
        assert response.status_code == 404
        assert not DefaultView.objects.exists()

    def test_no_view_opens_the_bare_list(self, client, rep):
        view = _view(rep, query="stage=negotiation")
        DefaultView.objects.create(user=rep, list_name=OPPS, view=view)
        client.force_login(rep)
        assert client.get(reverse("opportunities:list"), {"view": "none"}).status_code == 200
        client.post(reverse("saved-view-default"), {"list": OPPS, "view": ""})
        assert not DefaultView.objects.exists()
        assert client.get(reverse("opportunities:list")).status_code == 200

    @pytest.mark.parametrize(
        ("list_name", "url_name", "query"),
        [
            ("leads", "leads:list", "status=new"),
            ("accounts", "accounts:list", "customer=yes"),
        ],
    )
    def test_leads_and_accounts_lists_open_with_their_default(
        self, client, rep, list_name, url_name, query
    ):
        view = _view(rep, query=query, list_name=list_name)
        DefaultView.objects.create(user=rep, list_name=list_name, view=view)
        client.force_login(rep)
        response = client.get(reverse(url_name))
        assert response["Location"] == reverse(url_name) + "?" + query


@pytest.mark.django_db
class TestViewMenu:
    def test_it_lists_own_and_team_views_but_not_others_personal_ones(
        self, client, rep, manager, other_rep
    ):
        _view(rep, "Ma vue perso")
        _view(manager, "Vue de l'équipe", shared=True)
        _view(other_rep, "Secret d'un autre")
        client.force_login(rep)
        response = client.get(
            reverse("saved-views"), {"list": OPPS}, headers={"HX-Request": "true"}
        )
        text = response.text
        assert "Ma vue perso" in text and "Vue de l&#x27;équipe" in text
        assert "Secret d" not in text

    def test_it_marks_the_view_matching_the_current_filters(self, client, rep):
        _view(rep, "Propositions", query="stage=proposal")
        client.force_login(rep)
        response = client.get(
            reverse("saved-views"),
            {"list": OPPS, "current": "page=2&stage=proposal"},
            headers={"HX-Request": "true"},
        )
        assert 'aria-current="true"' in response.text

    def test_the_full_page_is_in_french(self, client, rep):
        client.force_login(rep)
        response = client.get(reverse("saved-views"), {"list": "leads"})
        assert response.status_code == 200
        assert "Vues enregistrées" in response.text
        assert "Enregistrer la vue" in response.text

    def test_the_list_pages_offer_the_menu(self, client, rep):
        client.force_login(rep)
        for url_name in ("opportunities:list", "leads:list", "accounts:list"):
            assert "data-views-menu" in client.get(reverse(url_name)).text


@pytest.mark.django_db
class TestRecentlyChangedSort:
    def test_opportunities_sort_by_last_change(self, client, rep):
        older = OpportunityFactory(name="Ancienne", owner=rep)
        newer = OpportunityFactory(name="Récente", owner=rep)
        older.name = "Ancienne modifiée"
        older.save()
        client.force_login(rep)
        text = client.get(reverse("opportunities:list"), {"ordering": "-updated"}).text
        assert text.index("Ancienne modifiée") < text.index(newer.name)

    def test_accounts_sort_by_last_change(self, client, rep):
        older = AccountFactory(name="Zeta SA")
        AccountFactory(name="Alpha SA")
        older.city = "Sion"
        older.save()
        client.force_login(rep)
        text = client.get(reverse("accounts:list"), {"ordering": "-updated"}).text
        assert text.index("Zeta SA") < text.index("Alpha SA")

    def test_leads_sort_by_last_change(self, client, rep):
        older = LeadFactory(last_name="Zzancien", owner=rep)
        LeadFactory(last_name="Aarecent", owner=rep)
        older.company = "Changée SA"
        older.save()
        client.force_login(rep)
        text = client.get(reverse("leads:list"), {"ordering": "-updated"}).text
        assert text.index("Zzancien") < text.index("Aarecent")


@pytest.mark.django_db
class TestBoardAndSuggestedViews:
    def test_the_board_opens_with_its_default_view(self, client, rep):
        view = _view(rep, query="mine=on", list_name=SavedView.List.BOARD)
        DefaultView.objects.create(user=rep, list_name=SavedView.List.BOARD, view=view)
        client.force_login(rep)
        response = client.get(reverse("opportunities:kanban"))
        assert response["Location"] == reverse("opportunities:kanban") + "?mine=on"
        assert "data-views-menu" in client.get(response["Location"]).text

    def test_my_partners_shows_the_deals_of_the_channel_managers_partners(
        self, client, channel, partner_a, rep
    ):
        from tests.factories import UserFactory
        from tests.factories.core import PartnerFactory

        elsewhere = PartnerFactory(channel_manager=UserFactory(roles=["channel_manager"]))
        OpportunityFactory(name="Deal chez Alpha", partner=partner_a, owner=rep)
        OpportunityFactory(name="Deal ailleurs", partner=elsewhere, owner=rep)
        OpportunityFactory(name="Deal direct", partner=None, owner=rep)
        client.force_login(channel)
        text = client.get(reverse("opportunities:list"), {"my_partners": "1"}).text
        assert "Deal chez Alpha" in text
        assert "Deal ailleurs" not in text and "Deal direct" not in text

    def test_a_channel_manager_is_offered_my_partners(self, client, channel, rep):
        client.force_login(channel)
        menu = client.get(
            reverse("saved-views"), {"list": "board"}, headers={"HX-Request": "true"}
        ).text
        assert "Mes partenaires" in menu and "my_partners=1" in menu
        client.force_login(rep)
        menu = client.get(
            reverse("saved-views"), {"list": "board"}, headers={"HX-Request": "true"}
        ).text
        assert "Mes partenaires" not in menu and "Mes opportunités" in menu


@pytest.mark.django_db
def test_a_default_unshared_by_its_owner_is_dropped_once_the_menu_is_read(client, rep, manager):
    view = _view(rep, query="stage=proposal", shared=True)
    DefaultView.objects.create(user=manager, list_name=OPPS, view=view)
    client.force_login(manager)
    assert client.get(reverse("opportunities:list")).status_code == 302
    view.shared = False
    view.save()
    client.get(reverse("saved-views"), {"list": OPPS}, headers={"HX-Request": "true"})
    assert client.get(reverse("opportunities:list")).status_code == 200


@pytest.mark.django_db
def test_a_bare_list_costs_no_query_for_its_default_view(client, rep, django_assert_num_queries):
    """The defaults come with the session read at login: a list opened bare redirects
    with the queries of the session and the user only."""
    view = _view(rep, query="stage=proposal")
    DefaultView.objects.create(user=rep, list_name=OPPS, view=view)
    client.force_login(rep)
    client.get(reverse("dashboard"))
    with django_assert_num_queries(2):
        response = client.get(reverse("opportunities:list"))
    assert response.status_code == 302

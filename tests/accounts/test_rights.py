"""Who may rename an account and who may give it to someone else, role by role.

The owner, their sales manager and admins change an account; anyone internal changes one
nobody owns; a channel manager changes the company account of a partner they manage. Only
sales managers (for their team) and admins change its owner. Partner users never edit
accounts (404).
"""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from accounts.models import Account
from accounts.services import account_update
from climcrm.permissions import can_change_account, can_reassign_account
from tests.factories import AccountFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_manager(db):
    return UserFactory(username="manager2", roles=["sales_manager"])


@pytest.fixture
def outsider(db, other_manager):
    return UserFactory(username="rep3", roles=["sales_rep"], manager=other_manager)


@pytest.fixture
def reps_account(rep):
    return AccountFactory(name="Hôtel du Lac SA", city="Neuchâtel", owner=rep)


def state(account: Account):
    return Account.objects.filter(pk=account.pk).values_list("name", "city", "owner_id").get()


def form_data(account: Account, **changes) -> dict:
    data = {
        "name": account.name,
        "industry": account.industry,
        "website": account.website,
        "street": account.street,
        "postal_code": account.postal_code,
        "city": account.city,
        "country": account.country,
        "owner": account.owner_id or "",
        "notes": account.notes,
    }
    return {**data, **changes}


def edit_url(account):
    return reverse("accounts:edit", args=[account.pk])


class TestTheRule:
    @pytest.mark.parametrize(
        ("who", "changes", "reassigns"),
        [
            ("rep", True, False),
            ("other_rep", False, False),
            ("outsider", False, False),
            ("manager", True, True),
            ("other_manager", False, False),
            ("channel", False, False),
            ("partner_a_user", False, False),
            ("admin_user", True, True),
        ],
    )
    def test_per_role_on_a_reps_account(self, request, who, changes, reassigns, reps_account):
        user = request.getfixturevalue(who)
        assert can_change_account(user, reps_account) is changes
        assert can_reassign_account(user, reps_account) is reassigns

    def test_nobodys_account_is_anyones_internal_but_not_to_take(
        self, rep, outsider, partner_a_user
    ):
        account = AccountFactory(owner=None)
        assert can_change_account(rep, account) and can_change_account(outsider, account)
        assert not can_reassign_account(rep, account)
        assert not can_change_account(partner_a_user, account)

    def test_the_channel_manager_changes_their_partners_company_account(
        self, channel, partner_a, rep
    ):
        partner_a.account.owner = rep
        partner_a.account.save()
        assert can_change_account(channel, partner_a.account)
        assert not can_reassign_account(channel, partner_a.account)


class TestTheService:
    def test_another_rep_may_neither_rename_nor_take_it(self, rep, other_rep, reps_account):
        before = state(reps_account)
        for changes in ({"name": "Hôtel du Lac renommé SA"}, {"owner": other_rep}):
            with pytest.raises(PermissionError) as refusal:
                account_update(account=reps_account, by=other_rep, changes=changes)
            assert rep.get_full_name() in str(refusal.value)
        assert state(reps_account) == before

    def test_the_owner_renames_it_but_does_not_give_it_away(self, rep, other_rep, reps_account):
        account_update(account=reps_account, by=rep, changes={"name": "Hôtel du Lac et Spa SA"})
        with translation.override("en"), pytest.raises(PermissionError) as refusal:
            account_update(account=reps_account, by=rep, changes={"owner": other_rep})
        assert "Only a sales manager" in str(refusal.value)
        assert state(reps_account) == ("Hôtel du Lac et Spa SA", "Neuchâtel", rep.pk)

    def test_a_rep_may_not_take_nobodys_account(self, rep):
        account = AccountFactory(owner=None)
        with pytest.raises(PermissionError):
            account_update(account=account, by=rep, changes={"owner": rep})
        assert state(account)[2] is None

    def test_the_manager_reassigns_within_and_out_of_the_team(
        self, manager, rep, other_rep, outsider, reps_account
    ):
        account_update(account=reps_account, by=manager, changes={"owner": other_rep})
        assert state(reps_account)[2] == other_rep.pk
        account_update(account=reps_account, by=manager, changes={"owner": outsider})
        assert state(reps_account)[2] == outsider.pk
        # Now another team's: out of the manager's hands.
        with pytest.raises(PermissionError):
            account_update(account=reps_account, by=manager, changes={"owner": rep})

    def test_another_teams_manager_may_not(self, other_manager, other_rep, reps_account):
        before = state(reps_account)
        with pytest.raises(PermissionError):
            account_update(account=reps_account, by=other_manager, changes={"owner": other_rep})
        assert state(reps_account) == before


class TestThePages:
    def test_another_rep_gets_403_with_the_reason_and_nothing_changes(
        self, client_for, rep, other_rep, reps_account
    ):
        before = state(reps_account)
        client = client_for(other_rep)
        response = client.get(edit_url(reps_account))
        assert response.status_code == 403
        assert escape(rep.get_full_name()) in response.content.decode()
        data = form_data(reps_account, name="Renommé SA", owner=other_rep.pk)
        assert client.post(edit_url(reps_account), data).status_code == 403
        assert state(reps_account) == before

    def test_the_detail_page_offers_edit_only_to_those_who_may(
        self, client_for, rep, other_rep, reps_account
    ):
        url = reverse("accounts:detail", args=[reps_account.pk])
        other = client_for(other_rep).get(url).content.decode()
        assert edit_url(reps_account) not in other
        assert reverse("accounts:contact-create") in other  # contacts stay everyone's
        own = client_for(rep).get(url).content.decode()
        assert edit_url(reps_account) in own

    def test_the_owners_form_shows_the_owner_but_ignores_a_new_one(
        self, client_for, rep, other_rep, reps_account
    ):
        client = client_for(rep)
        form = client.get(edit_url(reps_account)).context["form"]
        assert form.fields["owner"].disabled
        response = client.post(
            edit_url(reps_account), form_data(reps_account, city="Sion", owner=other_rep.pk)
        )
        assert response.status_code == 302
        assert state(reps_account) == ("Hôtel du Lac SA", "Sion", rep.pk)

    def test_the_manager_gives_it_to_another_rep(
        self, client_for, manager, other_rep, reps_account
    ):
        client = client_for(manager)
        assert not client.get(edit_url(reps_account)).context["form"].fields["owner"].disabled
        response = client.post(edit_url(reps_account), form_data(reps_account, owner=other_rep.pk))
        assert response.status_code == 302
        assert state(reps_account)[2] == other_rep.pk

    def test_a_rep_creates_accounts_for_themselves(self, client_for, rep, other_rep):
        client_for(rep).post(
            reverse("accounts:create"),
            {"name": "Chalet Ravoire Sàrl", "country": "CH", "owner": other_rep.pk},
        )
        assert Account.objects.get(name="Chalet Ravoire Sàrl").owner == rep

    def test_partner_users_get_404_even_for_their_deals_account(
        self, client_for, rep, partner_a, partner_a_user, reps_account
    ):
        OpportunityFactory(account=reps_account, owner=rep, partner=partner_a)
        before = state(reps_account)
        client = client_for(partner_a_user)
        assert client.get(edit_url(reps_account)).status_code == 404
        assert client.post(edit_url(reps_account), form_data(reps_account)).status_code == 404
        assert state(reps_account) == before

    @pytest.mark.parametrize("who", ["outsider", "other_manager", "channel"])
    def test_other_internal_roles_get_403(self, request, client_for, who, reps_account):
        client = client_for(request.getfixturevalue(who))
        assert client.get(edit_url(reps_account)).status_code == 403
        assert client.post(edit_url(reps_account), form_data(reps_account)).status_code == 403

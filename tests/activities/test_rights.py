"""Who may change an activity or a to-do (``climcrm.permissions``), role by role.

A sales rep changes their own activities; a sales manager those of their team; a channel
manager those of their partners' deals and leads; a partner user those of their partner's
deals and leads; an admin all. Every refusal leaves the database as it was and says why;
partner users get 404 for another partner's.
"""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from activities.models import Activity, ActivityKind
from activities.services import (
    activity_complete,
    activity_create,
    activity_delete,
    activity_reopen,
    activity_update,
)
from climcrm.permissions import can_add_activity, can_change_activity
from pipeline_reviews.services import review_todo_add
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    LeadFactory,
    OpportunityFactory,
    UserFactory,
)
from tests.factories.reviews import ReviewFactory

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 6, 15)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def other_manager(db):
    return UserFactory(username="manager2", roles=["sales_manager"])


@pytest.fixture
def outsider(db, other_manager):
    """A sales rep of another team."""
    return UserFactory(username="rep3", roles=["sales_rep"], manager=other_manager)


@pytest.fixture
def partner_a_colleague(db, partner_a):
    return UserFactory(username="partner_a2", roles=["partner_user"], partner=partner_a)


def todo(*, assignee=None, created_by=None, due_date=DUE, **about) -> Activity:
    if not about:
        raise ValueError("a to-do is about something")
    about.setdefault("opportunity", None)
    return ActivityFactory(
        kind=ActivityKind.TASK,
        subject="Relancer le bureau d'études",
        due_date=due_date,
        assignee=assignee,
        created_by=created_by,
        **about,
    )


def state(activity: Activity):
    """What a refused write must leave as it was (None once deleted)."""
    return (
        Activity.objects.filter(pk=activity.pk)
        .values_list("subject", "done", "done_at", "assignee_id", "due_date")
        .first()
    )


def assert_every_write_refused(user, activity: Activity, *, someone_else) -> None:
    before = state(activity)
    writes = {
        "complete": lambda: activity_complete(activity=activity, by=user),
        "edit": lambda: activity_update(activity=activity, by=user, changes={"subject": "Pris"}),
        "reassign": lambda: activity_update(
            activity=activity, by=user, changes={"assignee": someone_else}
        ),
        "delete": lambda: activity_delete(activity=activity, by=user),
    }
    for name, write in writes.items():
        with pytest.raises(PermissionError) as refusal:
            write()
        assert str(refusal.value), name
        assert state(activity) == before, name
    # A done one cannot be reopened either.
    Activity.objects.filter(pk=activity.pk).update(done=True)
    with pytest.raises(PermissionError):
        activity_reopen(activity=activity, by=user)
    assert Activity.objects.get(pk=activity.pk).done is True


def assert_every_write_allowed(user, activity: Activity, *, someone_else) -> None:
    twin = Activity.objects.get(pk=activity.pk)
    twin.pk = None
    twin.save()
    activity_complete(activity=activity, by=user)
    assert state(activity)[1] is True
    activity_reopen(activity=activity, by=user)
    assert state(activity)[1] is False
    activity_update(activity=activity, by=user, changes={"subject": "Nouveau sujet"})
    assert state(activity)[0] == "Nouveau sujet"
    # Given away, it may no longer be theirs: the same people's twin is deleted instead.
    activity_update(activity=activity, by=user, changes={"assignee": someone_else})
    assert state(activity)[3] == someone_else.pk
    activity_delete(activity=twin, by=user)
    assert state(twin) is None


class TestARepsTodoOnTheirDeal:
    """The to-do a rep planned for themselves on their own direct deal."""

    @pytest.fixture
    def reps_todo(self, rep):
        return todo(opportunity=OpportunityFactory(owner=rep), assignee=rep, created_by=rep)

    @pytest.mark.parametrize("who", ["rep", "manager", "admin_user"])
    def test_its_people_their_manager_and_admins_change_it(
        self, request, who, reps_todo, other_rep
    ):
        user = request.getfixturevalue(who)
        assert can_change_activity(user, reps_todo)
        assert_every_write_allowed(user, reps_todo, someone_else=other_rep)

    @pytest.mark.parametrize("who", ["other_rep", "outsider", "other_manager", "channel"])
    def test_another_rep_another_team_and_the_channel_manager_may_not(
        self, request, who, reps_todo, manager
    ):
        user = request.getfixturevalue(who)
        assert not can_change_activity(user, reps_todo)
        assert_every_write_refused(user, reps_todo, someone_else=user)

    def test_the_refusal_says_whose_it_is(self, rep, other_rep, reps_todo):
        with pytest.raises(PermissionError) as refusal:
            activity_complete(activity=reps_todo, by=other_rep)
        assert rep.get_full_name() in str(refusal.value)

    def test_another_rep_may_not_add_to_the_deal(self, rep, other_rep, outsider, manager):
        deal = OpportunityFactory(owner=rep)
        for user in (other_rep, outsider):
            with pytest.raises(PermissionError):
                activity_create(by=user, subject="Appel", opportunity=deal, due_date=DUE)
        assert not Activity.objects.filter(opportunity=deal).exists()
        assert activity_create(by=manager, subject="Appel", opportunity=deal, due_date=DUE).pk


class TestWhoseATodoIs:
    def test_its_assignee_changes_it_on_someone_elses_deal(self, rep, other_rep, outsider):
        given = todo(opportunity=OpportunityFactory(owner=rep), assignee=other_rep, created_by=rep)
        assert_every_write_allowed(other_rep, given, someone_else=rep)
        kept = todo(opportunity=OpportunityFactory(owner=rep), assignee=other_rep, created_by=rep)
        assert not can_change_activity(outsider, kept)

    def test_its_author_keeps_it_in_hand_after_the_deal_changes_owner(
        self, rep, other_rep, outsider
    ):
        activity = todo(
            opportunity=OpportunityFactory(owner=outsider), assignee=other_rep, created_by=rep
        )
        assert can_change_activity(rep, activity)

    def test_the_deal_owner_changes_the_todos_given_to_others(self, rep, other_rep, partner_a):
        deal = OpportunityFactory(owner=rep, partner=partner_a)
        activity = todo(opportunity=deal, assignee=other_rep, created_by=other_rep)
        assert_every_write_allowed(rep, activity, someone_else=rep)

    def test_a_manager_changes_the_todo_of_a_team_member_on_another_teams_deal(
        self, manager, other_rep, outsider, other_manager
    ):
        activity = todo(
            opportunity=OpportunityFactory(owner=outsider), assignee=other_rep, created_by=outsider
        )
        assert can_change_activity(manager, activity)
        assert can_change_activity(other_manager, activity)

    def test_an_activity_whose_people_are_all_gone_is_anyones_internal(self, rep, partner_a_user):
        orphan = todo(account=AccountFactory(owner=None))
        assert can_change_activity(rep, orphan)
        assert not can_change_activity(partner_a_user, orphan)


class TestLeadTodos:
    @pytest.fixture
    def lead(self, rep, partner_a):
        return LeadFactory(owner=rep, partner=partner_a)

    @pytest.fixture
    def lead_todo(self, lead, rep):
        return todo(lead=lead, assignee=rep, created_by=rep)

    @pytest.mark.parametrize("who", ["rep", "manager", "channel", "partner_a_user", "admin_user"])
    def test_allowed(self, request, who, lead_todo, rep):
        user = request.getfixturevalue(who)
        assert_every_write_allowed(user, lead_todo, someone_else=rep)

    @pytest.mark.parametrize("who", ["other_rep", "outsider", "other_manager"])
    def test_refused(self, request, who, lead_todo, rep):
        assert_every_write_refused(request.getfixturevalue(who), lead_todo, someone_else=rep)

    def test_another_rep_may_not_add_to_the_lead(self, other_rep, lead):
        assert not can_add_activity(other_rep, lead=lead)
        with pytest.raises(PermissionError):
            activity_create(by=other_rep, subject="Appel", lead=lead)


class TestAccountTodos:
    def test_the_accounts_owner_and_manager_change_them_another_rep_does_not(
        self, rep, other_rep, manager, outsider
    ):
        account = AccountFactory(owner=rep)
        activity = todo(account=account, assignee=rep, created_by=rep)
        assert_every_write_refused(other_rep, activity, someone_else=other_rep)
        assert_every_write_refused(outsider, activity, someone_else=other_rep)
        assert_every_write_allowed(manager, activity, someone_else=other_rep)

    def test_adding_follows_the_accounts_owner(self, rep, other_rep):
        owned = AccountFactory(owner=rep)
        with pytest.raises(PermissionError):
            activity_create(by=other_rep, subject="Visite", account=owned)
        assert activity_create(by=rep, subject="Visite", account=owned).pk
        # Nobody's account: anyone internal logs on it.
        assert activity_create(by=other_rep, subject="Visite", account=AccountFactory()).pk

    def test_a_todo_on_a_nobodys_account_still_belongs_to_its_assignee(self, rep, other_rep):
        activity = todo(account=AccountFactory(owner=None), assignee=rep, created_by=rep)
        assert not can_change_activity(other_rep, activity)


class TestReviewTodos:
    """To-dos agreed in a partner review, given to the partner's salesperson."""

    @pytest.fixture
    def review_todo(self, other_manager, rep, partner_a, partner_a_user):
        deal = OpportunityFactory(owner=rep, partner=partner_a)
        review = ReviewFactory(partner=partner_a, period_start=datetime.date(2026, 6, 1))
        # A sales manager of another team runs the review: the review decides, not the deal.
        return review_todo_add(
            review=review,
            by=other_manager,
            deal=deal,
            subject="Envoyer la référence",
            assignee=partner_a_user,
            due_date=DUE,
        )

    @pytest.mark.parametrize(
        "who", ["other_manager", "partner_a_user", "partner_a_colleague", "rep", "channel"]
    )
    def test_the_runner_the_partner_the_deal_owner_and_the_channel_manager_change_it(
        self, request, who, review_todo, rep
    ):
        assert can_change_activity(request.getfixturevalue(who), review_todo)
        activity_complete(activity=review_todo, by=request.getfixturevalue(who))
        assert state(review_todo)[1] is True

    def test_another_rep_does_not(self, review_todo, other_rep, outsider):
        assert_every_write_refused(other_rep, review_todo, someone_else=other_rep)
        assert_every_write_refused(outsider, review_todo, someone_else=other_rep)


class TestPartnerUsersTodos:
    @pytest.fixture
    def partners_todo(self, rep, partner_a, partner_a_user):
        deal = OpportunityFactory(owner=rep, partner=partner_a)
        return activity_create(
            by=partner_a_user, subject="Visite du chantier", opportunity=deal, due_date=DUE
        )

    def test_the_partners_team_shares_them(
        self, partners_todo, partner_a_user, partner_a_colleague
    ):
        assert_every_write_allowed(partner_a_colleague, partners_todo, someone_else=partner_a_user)

    def test_the_deal_owner_and_channel_manager_change_them_another_rep_does_not(
        self, partners_todo, rep, channel, other_rep, partner_a_user
    ):
        assert can_change_activity(rep, partners_todo)
        assert can_change_activity(channel, partners_todo)
        assert_every_write_refused(other_rep, partners_todo, someone_else=partner_a_user)

    def test_another_partners_user_may_not(self, partners_todo, partner_b_user, partner_a_user):
        assert_every_write_refused(partner_b_user, partners_todo, someone_else=partner_a_user)

    def test_a_channel_manager_of_other_partners_may_not(
        self, partners_todo, partner_a, partner_a_user
    ):
        stranger = UserFactory(username="channel2", roles=["channel_manager"])
        assert_every_write_refused(stranger, partners_todo, someone_else=partner_a_user)


# --- the pages ------------------------------------------------------------------------


def edit_url(activity):
    return reverse("activities:edit", args=[activity.pk])


def toggle_url(activity):
    return reverse("activities:toggle", args=[activity.pk])


def delete_url(activity):
    return reverse("activities:delete", args=[activity.pk])


EDIT_POST = {"kind": "task", "subject": "Pris en main", "due_date": "2026-07-01"}


class TestPagesRefuseAnotherRep:
    @pytest.fixture
    def reps_todo(self, rep):
        return todo(opportunity=OpportunityFactory(owner=rep), assignee=rep, created_by=rep)

    def test_the_edit_page_is_403_with_the_reason(self, client_for, rep, other_rep, reps_todo):
        response = client_for(other_rep).get(edit_url(reps_todo))
        assert response.status_code == 403
        assert escape(rep.get_full_name()) in response.content.decode()

    def test_every_post_is_refused_and_changes_nothing(
        self, client_for, other_rep, reps_todo, manager
    ):
        before = state(reps_todo)
        client = client_for(other_rep)
        assert (
            client.post(edit_url(reps_todo), {**EDIT_POST, "assignee": other_rep.pk}).status_code
            == 403
        )
        assert client.post(toggle_url(reps_todo), {"done": "1"}).status_code == 403
        assert client.post(delete_url(reps_todo)).status_code == 403
        assert state(reps_todo) == before

    def test_htmx_tick_gives_back_the_unticked_item_and_the_reason(
        self, client_for, rep, other_rep, reps_todo
    ):
        response = client_for(other_rep).post(toggle_url(reps_todo), {"done": "on"}, **HTMX)
        assert response.status_code == 200
        toast = json.loads(response.headers["HX-Trigger"])["toast"]
        assert toast["kind"] == "error" and rep.get_full_name() in toast["text"]
        assert "checked" not in response.content.decode()
        assert state(reps_todo)[1] is False

    def test_adding_to_the_deal_is_refused(self, client_for, other_rep, reps_todo):
        deal = reps_todo.opportunity
        data = {"opportunity": deal.pk, "kind": "task", "subject": "Pris"}
        client = client_for(other_rep)
        assert client.post(reverse("activities:create"), data).status_code == 403
        response = client.post(reverse("activities:create"), data, **HTMX)
        assert '"kind": "error"' in response.headers["HX-Trigger"]
        assert Activity.objects.filter(opportunity=deal).count() == 1

    def test_the_panel_shows_the_todo_without_its_controls(self, client_for, other_rep, reps_todo):
        response = client_for(other_rep).get(
            reverse("activities:panel"), {"opportunity": reps_todo.opportunity_id}, **HTMX
        )
        html = response.content.decode()
        assert "Relancer le bureau d" in html
        assert edit_url(reps_todo) not in html
        assert toggle_url(reps_todo) not in html
        assert "disabled" in html
        assert reverse("activities:create") not in html

    def test_the_owner_has_the_controls(self, client_for, rep, reps_todo):
        response = client_for(rep).get(
            reverse("activities:panel"), {"opportunity": reps_todo.opportunity_id}, **HTMX
        )
        html = response.content.decode()
        assert edit_url(reps_todo) in html and toggle_url(reps_todo) in html
        assert reverse("activities:create") in html


class TestPagesLetTheTeamWork:
    def test_the_manager_edits_ticks_and_deletes(self, client_for, rep, manager, other_rep):
        deal = OpportunityFactory(owner=rep)
        activity = todo(opportunity=deal, assignee=rep, created_by=rep)
        client = client_for(manager)
        assert client.get(edit_url(activity)).status_code == 200
        response = client.post(edit_url(activity), {**EDIT_POST, "assignee": other_rep.pk})
        assert response.status_code == 302
        assert state(activity)[0::3] == ("Pris en main", other_rep.pk)
        assert client.post(toggle_url(activity), {"done": "1"}).status_code == 302
        assert state(activity)[1] is True
        response = client.post(delete_url(activity), {"next": f"/opportunities/{deal.pk}/"})
        assert response.status_code == 302 and response["Location"] == f"/opportunities/{deal.pk}/"
        assert state(activity) is None

    def test_deleting_an_open_todo_updates_the_deals_count(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        activity = todo(opportunity=deal, assignee=rep, created_by=rep)
        deal.refresh_from_db()
        assert deal.open_todos == 1
        client_for(rep).post(delete_url(activity))
        deal.refresh_from_db()
        assert (deal.open_todos, deal.next_todo_due) == (0, None)


class TestPagesForPartnerUsers:
    def test_another_partners_todo_is_404_everywhere(
        self, client_for, rep, partner_a, partner_b_user
    ):
        activity = todo(opportunity=OpportunityFactory(owner=rep, partner=partner_a), assignee=rep)
        before = state(activity)
        client = client_for(partner_b_user)
        assert client.get(edit_url(activity)).status_code == 404
        assert client.post(edit_url(activity), EDIT_POST).status_code == 404
        assert client.post(toggle_url(activity), {"done": "1"}).status_code == 404
        assert client.post(toggle_url(activity), {"done": "1"}, **HTMX).status_code == 404
        assert client.post(delete_url(activity)).status_code == 404
        assert state(activity) == before

    def test_their_own_partners_todo_is_theirs(self, client_for, rep, partner_a, partner_a_user):
        activity = todo(opportunity=OpportunityFactory(owner=rep, partner=partner_a), assignee=rep)
        client = client_for(partner_a_user)
        assert client.post(toggle_url(activity), {"done": "1"}).status_code == 302
        assert state(activity)[1] is True
        assert client.post(delete_url(activity)).status_code == 302
        assert state(activity) is None

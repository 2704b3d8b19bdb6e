import datetime

import pytest
from django.core.exceptions import ValidationError

from activities.models import ActivityKind
from activities.services import (
    activity_complete,
    activity_create,
    activity_reopen,
    activity_update,
)
from tests.factories import AccountFactory, ActivityFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


class TestActivityCreate:
    def test_it_creates_a_todo_assigned_to_its_author_by_default(self, rep):
        deal = OpportunityFactory(owner=rep)
        due = datetime.date(2026, 12, 1)
        activity = activity_create(by=rep, subject="  Relancer  ", due_date=due, opportunity=deal)
        assert (activity.subject, activity.assignee, activity.created_by) == ("Relancer", rep, rep)
        assert (activity.kind, activity.done, activity.done_at) == (ActivityKind.TASK, False, None)

    def test_a_logged_call_is_done_at_once(self, rep):
        activity = activity_create(
            by=rep, subject="Appel", kind=ActivityKind.CALL, done=True, account=AccountFactory()
        )
        assert activity.done and activity.done_at is not None

    def test_it_needs_a_subject_and_a_target(self, rep):
        with pytest.raises(ValidationError) as error:
            activity_create(by=rep, subject=" ", opportunity=OpportunityFactory(owner=rep))
        assert "subject" in error.value.message_dict
        with pytest.raises(ValidationError):
            activity_create(by=rep, subject="Orphelin")

    def test_assignee_must_see_the_target(self, rep, partner_a_user, partner_b):
        deal = OpportunityFactory(owner=rep, partner=partner_b)
        with pytest.raises(ValidationError) as error:
            activity_create(by=rep, subject="À faire", opportunity=deal, assignee=partner_a_user)
        assert "assignee" in error.value.message_dict

    def test_internal_user_may_assign_the_deals_partner_user(
        self, channel, partner_a_user, partner_a
    ):
        deal = OpportunityFactory(partner=partner_a)
        activity = activity_create(
            by=channel, subject="Envoyer le devis", opportunity=deal, assignee=partner_a_user
        )
        assert activity.assignee == partner_a_user

    def test_partner_user_writes_on_their_partners_deals_and_leads(self, partner_a_user, partner_a):
        deal = OpportunityFactory(partner=partner_a)
        lead = LeadFactory(partner=partner_a)
        assert activity_create(by=partner_a_user, subject="Appel", opportunity=deal).pk
        assert activity_create(by=partner_a_user, subject="Appel", lead=lead).pk

    def test_partner_user_may_not_write_elsewhere(self, partner_a_user, partner_b):
        for target in (
            {"opportunity": OpportunityFactory(partner=partner_b)},
            {"opportunity": OpportunityFactory()},
            {"lead": LeadFactory(partner=partner_b)},
            {"account": AccountFactory()},
        ):
            with pytest.raises(PermissionError):
                activity_create(by=partner_a_user, subject="Non", **target)


class TestCompleteAndReopen:
    def test_complete_then_reopen(self, rep):
        activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep), assignee=rep)
        activity_complete(activity=activity, by=rep)
        assert activity.done and activity.done_at is not None
        first_done_at = activity.done_at
        activity_complete(activity=activity, by=rep)
        assert activity.done_at == first_done_at
        activity_reopen(activity=activity, by=rep)
        assert (activity.done, activity.done_at) == (False, None)

    def test_partner_user_cannot_complete_another_partners_todo(self, partner_a_user, partner_b):
        activity = ActivityFactory(opportunity=OpportunityFactory(partner=partner_b))
        with pytest.raises(PermissionError):
            activity_complete(activity=activity, by=partner_a_user)
        activity.refresh_from_db()
        assert activity.done is False

    def test_partner_user_cannot_complete_an_account_todo(self, partner_a_user, partner_a):
        activity = ActivityFactory(opportunity=None, account=partner_a.account)
        with pytest.raises(PermissionError):
            activity_complete(activity=activity, by=partner_a_user)


class TestUpdate:
    def test_it_changes_the_allowed_fields_only(self, rep, other_rep):
        activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep), assignee=rep)
        activity_update(
            activity=activity,
            by=rep,
            changes={"subject": "Nouveau sujet", "assignee": other_rep, "done": True},
        )
        assert (activity.subject, activity.assignee, activity.done) == (
            "Nouveau sujet",
            other_rep,
            False,
        )

    def test_an_empty_subject_is_refused(self, rep):
        activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep))
        with pytest.raises(ValidationError):
            activity_update(activity=activity, by=rep, changes={"subject": ""})

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityKind
from activities.views import TASKS_PER_GROUP
from tests import clock
from tests.factories import AccountFactory, ActivityFactory, LeadFactory, OpportunityFactory
from tests.factories.activities import DoneCallFactory, LeadTaskFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

PANEL = reverse("activities:panel")
CREATE = reverse("activities:create")
MY_TASKS = reverse("activities:my-tasks")
HTMX = {"HTTP_HX_REQUEST": "true"}


def toggle_url(activity):
    return reverse("activities:toggle", args=[activity.pk])


class TestPanel:
    def test_htmx_returns_the_panel_fragment(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        ActivityFactory(opportunity=deal, subject="Appeler le bureau d'études")
        response = client_for(rep).get(PANEL, {"opportunity": deal.pk}, **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith(f'<section id="activity-panel-opportunity-{deal.pk}"')
        assert "Appeler le bureau d&#x27;études" in html
        assert "<html" not in html

    def test_without_htmx_it_is_a_page(self, client_for, rep):
        lead = LeadFactory()
        LeadTaskFactory(lead=lead, subject="Premier contact")
        response = client_for(rep).get(PANEL, {"lead": lead.pk})
        html = response.content.decode()
        assert "<html" in html and "Premier contact" in html

    def test_account_panel_lists_only_that_accounts_activities(self, client_for, rep):
        account = AccountFactory()
        ActivityFactory(opportunity=None, account=account, subject="Note sur le compte")
        ActivityFactory(subject="Ailleurs")
        response = client_for(rep).get(PANEL, {"account": account.pk}, **HTMX)
        assert [a.subject for a in response.context["open_items"]] == ["Note sur le compte"]

    def test_partner_gets_404_for_another_partners_deal(
        self, client_for, partner_a_user, partner_b
    ):
        deal = OpportunityFactory(partner=partner_b)
        assert client_for(partner_a_user).get(PANEL, {"opportunity": deal.pk}).status_code == 404

    def test_no_target_is_404(self, client_for, rep):
        assert client_for(rep).get(PANEL).status_code == 404
        assert client_for(rep).get(PANEL, {"opportunity": "abc"}).status_code == 404


class TestCreate:
    def test_htmx_add_returns_the_panel_with_the_new_todo(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(
            CREATE,
            {
                "opportunity": deal.pk,
                "kind": "task",
                "subject": "Envoyer l'offre",
                "due_date": "2026-12-01",
            },
            **HTMX,
        )
        assert response.status_code == 200
        activity = Activity.objects.get(opportunity=deal)
        assert (activity.subject, activity.assignee, activity.due_date) == (
            "Envoyer l'offre",
            rep,
            datetime.date(2026, 12, 1),
        )
        html = response.content.decode()
        assert f'id="activity-{activity.pk}"' in html
        assert "<html" not in html
        assert "toast" in response["HX-Trigger"]

    def test_full_page_add_redirects_to_next(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        next_url = f"/opportunities/{deal.pk}/"
        response = client_for(rep).post(
            CREATE, {"opportunity": deal.pk, "kind": "call", "subject": "Appel", "next": next_url}
        )
        assert response.status_code == 302
        assert response["Location"] == next_url
        assert Activity.objects.filter(opportunity=deal, kind=ActivityKind.CALL).exists()

    def test_invalid_form_shows_errors_in_place(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        response = client.post(
            CREATE, {"opportunity": deal.pk, "kind": "task", "subject": ""}, **HTMX
        )
        assert response.status_code == 200
        assert response.context["form"].errors["subject"]
        assert "field-error" in response.content.decode()
        page = client.post(
            CREATE, {"opportunity": deal.pk, "kind": "task", "subject": "x", "due_date": "32/13"}
        )
        assert page.status_code == 400
        assert page.context["form"].errors["due_date"]
        assert not Activity.objects.exists()

    def test_partner_may_not_add_to_an_account(self, client_for, partner_a_user, partner_a):
        deal = OpportunityFactory(partner=partner_a)
        response = client_for(partner_a_user).post(
            CREATE, {"account": deal.account.pk, "kind": "task", "subject": "Non"}, **HTMX
        )
        assert response.status_code == 200
        assert '"kind": "error"' in response.headers["HX-Trigger"]
        assert not response.context["can_add"]
        assert not Activity.objects.exists()

    def test_partner_gets_404_when_adding_to_another_partners_deal(
        self, client_for, partner_a_user, partner_b
    ):
        deal = OpportunityFactory(partner=partner_b)
        response = client_for(partner_a_user).post(
            CREATE, {"opportunity": deal.pk, "kind": "task", "subject": "Non"}
        )
        assert response.status_code == 404
        assert not Activity.objects.exists()


class TestToggleDone:
    def test_htmx_checkbox_completes_in_place(self, client_for, rep):
        activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep), assignee=rep)
        response = client_for(rep).post(toggle_url(activity), {"done": "on"}, **HTMX)
        html = response.content.decode()
        assert html.lstrip().startswith(
            f'<li id="activity-{activity.pk}" class="activity-item is-done"'
        )
        activity.refresh_from_db()
        assert activity.done

    def test_unchecking_reopens(self, client_for, rep):
        activity = ActivityFactory(
            opportunity=OpportunityFactory(owner=rep), done=True, done_at=timezone.now()
        )
        client_for(rep).post(toggle_url(activity), {}, **HTMX)
        activity.refresh_from_db()
        assert not activity.done

    def test_without_htmx_it_redirects(self, client_for, rep):
        activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep), assignee=rep)
        response = client_for(rep).post(toggle_url(activity), {"done": "on", "next": MY_TASKS})
        assert response.status_code == 302 and response["Location"] == MY_TASKS
        activity.refresh_from_db()
        assert activity.done

    def test_partner_gets_404_for_another_partners_todo(
        self, client_for, partner_a_user, partner_b
    ):
        activity = ActivityFactory(opportunity=OpportunityFactory(partner=partner_b))
        response = client_for(partner_a_user).post(toggle_url(activity), {"done": "on"}, **HTMX)
        assert response.status_code == 404
        activity.refresh_from_db()
        assert not activity.done


class TestEdit:
    def test_edit_page_saves_through_the_service(self, client_for, rep):
        activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep), assignee=rep)
        client = client_for(rep)
        assert client.get(reverse("activities:edit", args=[activity.pk])).status_code == 200
        response = client.post(
            reverse("activities:edit", args=[activity.pk]),
            {"kind": "meeting", "subject": "Réunion de lancement", "due_date": "2026-12-03"},
        )
        assert response.status_code == 302
        activity.refresh_from_db()
        assert (activity.kind, activity.subject) == ("meeting", "Réunion de lancement")
        assert activity.assignee == rep


class TestMyTasks:
    def test_groups_overdue_today_and_upcoming_for_the_assignee(self, client_for, rep, other_rep):
        today = timezone.localdate()
        deal = OpportunityFactory(owner=rep)
        late = ActivityFactory(
            opportunity=deal, assignee=rep, due_date=today - datetime.timedelta(days=2)
        )
        now = ActivityFactory(opportunity=deal, assignee=rep, due_date=today)
        later = ActivityFactory(
            opportunity=deal, assignee=rep, due_date=today + datetime.timedelta(days=4)
        )
        undated = ActivityFactory(opportunity=deal, assignee=rep, due_date=None)
        DoneCallFactory(opportunity=deal, assignee=rep, due_date=today)
        ActivityFactory(opportunity=deal, assignee=other_rep, due_date=today)

        response = client_for(rep).get(MY_TASKS)

        assert list(response.context["overdue"]) == [late]
        assert list(response.context["due_today"]) == [now]
        assert list(response.context["upcoming"]) == [later, undated]
        assert 'class="overdue"' in response.content.decode()

    def test_partner_user_sees_their_partners_todos(
        self, client_for, partner_a_user, partner_a, partner_b, rep
    ):
        mine = ActivityFactory(opportunity=OpportunityFactory(partner=partner_a), assignee=rep)
        ActivityFactory(opportunity=OpportunityFactory(partner=partner_b), assignee=rep)
        response = client_for(partner_a_user).get(MY_TASKS)
        shown = list(response.context["upcoming"])
        assert shown == [mine]

    def test_empty_state(self, client_for, rep):
        response = client_for(rep).get(MY_TASKS)
        assert "empty-state" in response.content.decode()

    def test_query_count_is_the_same_at_10_and_1000_tasks(
        self, client_for, rep, django_assert_max_num_queries
    ):
        deal = OpportunityFactory(owner=rep)
        lead = LeadFactory()
        account = AccountFactory()
        today = timezone.localdate()

        def make(count):
            Activity.objects.bulk_create(
                Activity(
                    subject=f"Tâche {i}",
                    assignee=rep,
                    due_date=today + datetime.timedelta(days=(i % 7) - 3),
                    opportunity=deal if i % 3 == 0 else None,
                    lead=lead if i % 3 == 1 else None,
                    account=account if i % 3 == 2 else None,
                )
                for i in range(count)
            )

        client = client_for(rep)
        make(10)
        with CaptureQueriesContext(connection) as small:
            client.get(MY_TASKS)
        make(990)
        with django_assert_max_num_queries(len(small)):
            client.get(MY_TASKS)

    def test_panel_query_count_does_not_grow_with_activities(
        self, client_for, rep, django_assert_max_num_queries
    ):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        Activity.objects.bulk_create(
            Activity(subject=f"T{i}", opportunity=deal, assignee=rep) for i in range(10)
        )
        with CaptureQueriesContext(connection) as small:
            client.get(PANEL, {"opportunity": deal.pk}, **HTMX)
        Activity.objects.bulk_create(
            Activity(
                subject=f"T{i}",
                opportunity=deal,
                assignee=rep,
                done=i % 2 == 0,
                done_at=timezone.now(),
            )
            for i in range(990)
        )
        with django_assert_max_num_queries(len(small)):
            client.get(PANEL, {"opportunity": deal.pk}, **HTMX)


class TestMyTasksPages:
    def _tasks(self, rep, count, *, days):
        deal = OpportunityFactory(owner=rep)
        due = timezone.localdate() + datetime.timedelta(days=days)
        return [
            ActivityFactory(opportunity=deal, assignee=rep, due_date=due, subject=f"Tâche {i:03}")
            for i in range(count)
        ]

    def test_a_long_overdue_group_shows_a_page_and_counts_every_task(self, client_for, rep):
        size = TASKS_PER_GROUP
        late = self._tasks(rep, size + 2, days=-3)
        planned = self._tasks(rep, 1, days=4)
        response = client_for(rep).get(MY_TASKS)
        assert list(response.context["overdue"]) == late[:size]
        assert response.context["overdue_group"]["count"] == size + 2
        assert list(response.context["upcoming"]) == planned
        content = response.content.decode()
        assert f'<span class="badge">{size + 2}</span>' in content
        assert "?overdue_page=2#tasks-overdue" in content

    def test_each_group_turns_its_own_pages(self, client_for, rep):
        size = TASKS_PER_GROUP
        late = self._tasks(rep, size + 2, days=-3)
        planned = self._tasks(rep, size + 1, days=4)
        response = client_for(rep).get(MY_TASKS, {"overdue_page": 2})
        assert list(response.context["overdue"]) == late[size:]
        assert list(response.context["upcoming"]) == planned[:size]
        response = client_for(rep).get(MY_TASKS, {"page": 2})
        assert list(response.context["overdue"]) == late[:size]
        assert list(response.context["upcoming"]) == planned[size:]

    def test_htmx_page_of_a_group_returns_only_that_section(self, client_for, rep):
        size = TASKS_PER_GROUP
        late = self._tasks(rep, size + 2, days=-3)
        self._tasks(rep, 1, days=0)
        response = client_for(rep).get(
            MY_TASKS, {"overdue_page": 2}, HTTP_HX_TARGET="tasks-overdue", **HTMX
        )
        content = response.content.decode()
        assert content.lstrip().startswith('<section id="tasks-overdue"')
        assert "tasks-today" not in content
        assert f'id="activity-{late[-1].pk}"' in content
        assert f'id="activity-{late[0].pk}"' not in content

    def test_query_count_is_the_same_at_10_and_1000_tasks_on_later_pages(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        today = timezone.localdate()

        def make(count):
            Activity.objects.bulk_create(
                Activity(
                    subject=f"Tâche {i}",
                    assignee=rep,
                    due_date=today + datetime.timedelta(days=(i % 3) - 1),
                    opportunity=deal,
                )
                for i in range(count)
            )

        client = client_for(rep)
        pages = {"overdue_page": 2, "today_page": 3, "page": 2}
        make(10)
        client.get(MY_TASKS, pages)
        with CaptureQueriesContext(connection) as small:
            client.get(MY_TASKS, pages)
        make(990)
        with CaptureQueriesContext(connection) as big:
            response = client.get(MY_TASKS, pages)
        assert len(response.context["overdue"]) == TASKS_PER_GROUP
        assert len(small.captured_queries) == len(big.captured_queries)


class TestPanelForm:
    def test_partner_user_sees_no_add_form_on_an_account(
        self, client_for, partner_a_user, partner_a
    ):
        deal = OpportunityFactory(partner=partner_a)
        client = client_for(partner_a_user)
        on_account = client.get(PANEL, {"account": deal.account.pk}, **HTMX)
        on_deal = client.get(PANEL, {"opportunity": deal.pk}, **HTMX)
        assert on_account.status_code == 200
        assert "activity-add" not in on_account.content.decode()
        assert "activity-add" in on_deal.content.decode()


def test_a_next_that_is_not_a_path_falls_back(client_for, rep):
    activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep), assignee=rep)
    response = client_for(rep).post(toggle_url(activity), {"done": "on", "next": "1429-06-25"})
    assert response.status_code == 302
    assert response["Location"] == MY_TASKS

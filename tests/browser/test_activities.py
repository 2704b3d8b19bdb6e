import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activities.models import Activity
from activities.views import TASKS_PER_GROUP
from tests import clock
from tests.factories import ActivityFactory, OpportunityFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def test_todo_added_and_completed_in_place_on_the_opportunity_page(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Climatisation Salle Serveurs")
    login(rep)
    page.goto(f"{live_server.url}/opportunities/{deal.pk}/")
    panel = page.locator(f"#activity-panel-opportunity-{deal.pk}")
    expect(panel).to_be_visible()
    expect(panel.locator(".activity-empty")).to_be_visible()

    panel.locator("summary").first.click()
    panel.locator("select[name=kind]").select_option("call")
    panel.locator("input[name=subject]").fill("Rappeler le bureau technique")
    panel.locator("input[name=due_date]").fill("2026-12-04")
    panel.locator("form.activity-add button[type=submit]").click()

    item = page.locator(".activity-item", has_text="Rappeler le bureau technique")
    expect(item).to_be_visible()
    activity = Activity.objects.get(opportunity=deal)
    assert (activity.kind, activity.assignee, activity.due_date) == (
        "call",
        rep,
        datetime.date(2026, 12, 4),
    )
    assert page.url == f"{live_server.url}/opportunities/{deal.pk}/"

    item.locator("input[type=checkbox]").check()

    expect(page.locator(f"#activity-{activity.pk}")).to_have_class("activity-item is-done")
    activity.refresh_from_db()
    assert activity.done and activity.done_at is not None


def test_an_empty_subject_shows_the_error_in_place(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep)
    login(rep)
    page.goto(f"{live_server.url}/opportunities/{deal.pk}/")
    panel = page.locator(f"#activity-panel-opportunity-{deal.pk}")
    panel.locator("summary").first.click()
    panel.locator("input[name=subject]").evaluate("el => el.removeAttribute('required')")
    panel.locator("form.activity-add button[type=submit]").click()
    expect(page.locator(f"#activity-panel-opportunity-{deal.pk} .field-error")).to_be_visible()
    assert not Activity.objects.exists()


def test_my_tasks_completes_in_place(page, live_server, login, rep):
    today = timezone.localdate()
    deal = OpportunityFactory(owner=rep, name="Chauffage École")
    late = ActivityFactory(
        opportunity=deal,
        assignee=rep,
        subject="Relance en retard",
        due_date=today - datetime.timedelta(days=3),
    )
    ActivityFactory(opportunity=deal, assignee=rep, subject="Appel du jour", due_date=today)
    login(rep)
    page.goto(f"{live_server.url}/activities/mine/")
    expect(page.locator("#tasks-overdue")).to_contain_text("Relance en retard")
    expect(page.locator("#tasks-today")).to_contain_text("Appel du jour")

    page.locator(f"#activity-{late.pk} input[type=checkbox]").check()

    expect(page.locator(f"#activity-{late.pk}")).to_have_class("activity-item is-done")
    late.refresh_from_db()
    assert late.done


def test_my_tasks_turns_the_pages_of_one_group_in_place(page, live_server, login, rep):

    deal = OpportunityFactory(owner=rep)
    late = timezone.localdate() - datetime.timedelta(days=2)
    overdue = [
        ActivityFactory(opportunity=deal, assignee=rep, due_date=late, subject=f"Relance {i:03}")
        for i in range(TASKS_PER_GROUP + 1)
    ]
    ActivityFactory(opportunity=deal, assignee=rep, subject="Offre à envoyer")
    login(rep)
    page.goto(f"{live_server.url}/activities/mine/")
    section = page.locator("#tasks-overdue")
    expect(section.locator(".activity-item")).to_have_count(TASKS_PER_GROUP)

    section.locator("a[rel=next]").click()
    expect(section.locator(".activity-item")).to_have_count(1)
    expect(section).to_contain_text(overdue[-1].subject)
    expect(page.locator("#tasks-upcoming")).to_contain_text("Offre à envoyer")
    expect(page).to_have_url(f"{live_server.url}/activities/mine/?overdue_page=2")

import datetime
import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from integrations import calendar
from integrations.models import CalendarFeed
from tests import clock
from tests.factories import LeadFactory, OpportunityFactory
from tests.factories.activities import TaskFactory
from tests.factories.reviews import ClosedReviewFactory, ReviewFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def feed_url(token: str) -> str:
    return reverse("integrations:calendar-feed", args=[token])


def summaries(client, token: str) -> list[str]:
    response = client.get(feed_url(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    parsed = Calendar.from_ical(response.content)
    return sorted(str(event["SUMMARY"]) for event in parsed.walk("VEVENT"))


def make_address(client, user) -> str:
    client.force_login(user)
    response = client.post(reverse("integrations:calendar-feed-manage"), {"action": "regenerate"})
    assert response.status_code == 200
    url = response.context["feed_url"]
    client.logout()
    return url.rsplit("/", 1)[-1].removesuffix(".ics")


def test_a_rep_subscribes_to_their_open_to_dos_and_reviews(client, rep, other_rep, partner_a):
    deal = OpportunityFactory(owner=rep, name="Toiture Gare")
    TaskFactory(opportunity=deal, assignee=rep, subject="Appeler Mme Favre")
    TaskFactory(opportunity=deal, assignee=rep, subject="Sans date", due_date=None)
    TaskFactory(opportunity=deal, assignee=rep, subject="Fait", done=True)
    TaskFactory(opportunity=deal, assignee=other_rep, subject="Pas à moi")
    attended = ReviewFactory(partner=partner_a)
    attended.attendees.add(rep)
    ReviewFactory(kind="channel_manager", partner=None)  # not theirs

    token = make_address(client, rep)

    assert summaries(client, token) == [
        f"Revue : {attended}",
        "To do : Appeler Mme Favre",
    ]


def test_the_feed_gives_each_to_do_its_date_and_a_link(client, rep):
    deal = OpportunityFactory(owner=rep, name="Toiture Gare")
    todo = TaskFactory(opportunity=deal, assignee=rep, subject="Appeler")
    token = make_address(client, rep)

    event = Calendar.from_ical(client.get(feed_url(token)).content).walk("VEVENT")[0]

    assert event["UID"] == f"activity-{todo.pk}@climcrm"
    assert event.decoded("DTSTART") == todo.due_date
    assert event.decoded("DTEND") == todo.due_date + datetime.timedelta(days=1)
    assert str(event["URL"]).endswith(reverse("opportunities:detail", args=[deal.pk]))
    assert "Toiture Gare" in str(event["DESCRIPTION"])


def test_a_partner_users_feed_holds_only_what_they_see(
    client, partner_a_user, partner_a, partner_b, rep
):
    own_deal = OpportunityFactory(owner=rep, partner=partner_a, name="ALPHA deal")
    internal_deal = OpportunityFactory(owner=rep, name="Interne")
    TaskFactory(opportunity=own_deal, assignee=partner_a_user, subject="Visite chantier")
    # Assigned to them on a record they do not see: left out.
    TaskFactory(opportunity=internal_deal, assignee=partner_a_user, subject="Secret")
    TaskFactory(lead=LeadFactory(partner=partner_b), assignee=partner_a_user, subject="Bravo")
    own_review = ClosedReviewFactory(partner=partner_a)
    ClosedReviewFactory(partner=partner_b)

    token = make_address(client, partner_a_user)

    assert summaries(client, token) == [
        f"Revue : {own_review}",
        "To do : Visite chantier",
    ]


def test_the_token_is_kept_hashed(client, rep):
    token = make_address(client, rep)
    feed = CalendarFeed.objects.get(user=rep)
    assert token not in feed.token_hash
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_a_revoked_or_replaced_address_answers_404(client, rep):
    first = make_address(client, rep)
    second = make_address(client, rep)
    assert client.get(feed_url(first)).status_code == 404
    assert client.get(feed_url(second)).status_code == 200

    client.force_login(rep)
    response = client.post(reverse("integrations:calendar-feed-manage"), {"action": "revoke"})
    assert response.status_code == 302
    client.logout()
    assert client.get(feed_url(second)).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_an_unknown_address_or_an_inactive_user_answers_404(client, rep):
    assert client.get(feed_url("nothing-here")).status_code == 404
    token = make_address(client, rep)
    rep.is_active = False
    rep.save()
    assert client.get(feed_url(token)).status_code == 404


def test_the_account_page_offers_the_calendar_address(client, rep):
    client.force_login(rep)
    page = client.get(reverse("password_change"))
    assert b'id="calendar-feed"' in page.content
    assert "Créer mon adresse d’agenda".encode() in page.content
    make_address(client, rep)
    client.force_login(rep)
    page = client.get(reverse("password_change"))
    assert "Révoquer l’adresse".encode() in page.content


def test_the_feed_reads_the_same_queries_at_10_and_200_to_dos(client, rep, partner_a):
    deal = OpportunityFactory(owner=rep)
    token = make_address(client, rep)
    client.get(feed_url(token))  # notes its first reading (then once an hour)
    months = iter(range(3))

    def queries(count: int, reviews: int) -> int:
        TaskFactory.create_batch(count, opportunity=deal, assignee=rep)
        for _ in range(reviews):
            back = datetime.timedelta(days=31 * next(months))
            period = (clock.today().replace(day=1) - back).replace(day=1)
            ClosedReviewFactory(partner=partner_a, created_by=rep, period_start=period)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(feed_url(token)).status_code == 200
        return len(captured)

    assert queries(10, 1) == queries(190, 2)


def test_a_feed_stops_at_its_limit(rep, monkeypatch):
    monkeypatch.setattr(calendar, "MAX_TODOS", 3)
    TaskFactory.create_batch(5, opportunity=OpportunityFactory(owner=rep), assignee=rep)
    assert len(calendar.feed_todos(rep, today=clock.today())) == 3

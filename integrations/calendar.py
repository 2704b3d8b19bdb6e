"""Each user's private calendar feed: their open to-dos with a due date and the pipeline
reviews they take part in, as an iCalendar file read by Outlook, Google or Apple calendars.

The address holds a random token; only its SHA-256 is kept, so the address is shown once,
when it is made. Making a new one replaces the old one; revoking deletes it. What the feed
lists goes through the same scoping as the pages (``visible_activities``,
``visible_reviews``): a partner user's feed holds their partner's records only.
"""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from activities.models import Activity
from activities.visibility import visible_activities
from climcrm.models import User
from integrations.models import CalendarFeed
from pipeline_reviews.models import Review
from pipeline_reviews.visibility import visible_reviews

# What a feed looks back on (overdue to-dos, past reviews) and how much it holds at most.
PAST_DAYS = 90
MAX_TODOS = 1000
MAX_REVIEWS = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_regenerate(*, user: User) -> str:
    """A new private address for the user's feed; the previous one stops working. Returns
    the token (shown once: only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.update_or_create(
            user=user,
            defaults={
                "token_hash": hash_token(token),
                "created_at": timezone.now(),
                "last_used_at": None,
            },
        )
    return token


def feed_revoke(*, user: User) -> bool:
    """Stop the user's feed; False when there was none."""
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


def feed_user(token: str) -> User | None:
    """The active user whose feed this token opens, else None; notes when it was read."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=hash_token(token or ""), user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > datetime.timedelta(hours=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user


def feed_todos(user: User, *, today: datetime.date) -> list[Activity]:
    since = today - datetime.timedelta(days=PAST_DAYS)
    todos = (
        visible_activities(user)
        .filter(assignee=user, done=False, due_date__gte=since)
        .select_related("opportunity", "lead", "account")
        .order_by("due_date", "pk")
    )
    return list(todos[:MAX_TODOS])


def feed_reviews(user: User, *, today: datetime.date) -> list[Review]:
    """The reviews the user attends or opened (a partner user: every review of their
    partner), of the last PAST_DAYS days and to come."""
    since = today - datetime.timedelta(days=PAST_DAYS)
    reviews = visible_reviews(user)
    if user.partner_id is None:
        mine = Review.objects.filter(Q(attendees=user) | Q(created_by=user)).values("pk")
        reviews = reviews.filter(pk__in=mine)
    reviews = reviews.filter(
        Q(closed_at__date__gte=since) | Q(closed_at__isnull=True, created_at__date__gte=since)
    ).select_related("partner__account")
    return list(reviews.order_by("-period_start", "-pk")[:MAX_REVIEWS])


def _link(path: str) -> str:
    return settings.CRM_BASE_URL + path


def _todo_event(todo: Activity, stamp: datetime.datetime) -> Event:
    assert todo.due_date is not None  # feed_todos reads dated to-dos only
    event = Event()
    event.add("uid", f"activity-{todo.pk}@climcrm")
    event.add("dtstamp", stamp)
    event.add("summary", _("To-do: %(subject)s") % {"subject": todo.subject})
    event.add("dtstart", todo.due_date)
    event.add("dtend", todo.due_date + datetime.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    record: object = None
    url = ""
    if todo.opportunity_id:
        record = todo.opportunity
        url = reverse("opportunities:detail", args=[todo.opportunity_id])
    elif todo.lead_id:
        record = todo.lead
        url = reverse("leads:detail", args=[todo.lead_id])
    elif todo.account_id:
        record = todo.account
        url = reverse("accounts:detail", args=[todo.account_id])
    lines = [str(record)] if record is not None else []
    if todo.description:
        lines.append(todo.description)
    if lines:
        event.add("description", "\n\n".join(lines))
    if url:
        event.add("url", _link(url))
    return event


def _review_event(review: Review, stamp: datetime.datetime) -> Event:
    held = timezone.localdate(review.closed_at or review.created_at)
    event = Event()
    event.add("uid", f"review-{review.pk}@climcrm")
    event.add("dtstamp", stamp)
    event.add("summary", _("Review: %(review)s") % {"review": review})
    event.add("dtstart", held)
    event.add("dtend", held + datetime.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("url", _link(reverse("pipeline_reviews:detail", args=[review.pk])))
    return event


def feed_ics(user: User) -> bytes:
    """The user's feed as an iCalendar file."""
    now = timezone.now()
    today = timezone.localdate(now)
    calendar = Calendar()
    calendar.add("prodid", "-//ClimCRM//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("ClimCRM: %(user)s") % {"user": user.get_full_name() or user})
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    for todo in feed_todos(user, today=today):
        calendar.add_component(_todo_event(todo, now))
    for review in feed_reviews(user, today=today):
        calendar.add_component(_review_event(review, now))
    return calendar.to_ical()

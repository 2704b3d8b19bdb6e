"""Server-side timings of the main pages over the current database.

Each page is requested in-process through Django's test client, logged in as the user a
real visit would have (manager, rep or partner user), a few times to warm up and then
``requests`` times. For every page: median and 95th percentile of the wall time, the number
of SQL queries and the time spent in them (``connection.execute_wrapper``). The floor page
(``healthz`` with a session: session, user and one ``SELECT 1``) gives the cost of the
stack itself in the same run.

Pages are found by URL name; a page whose name does not resolve is reported as "not
available", so the suite covers new pages as soon as their URL exists.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import django
from django.conf import settings
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bench.dataset import size_label

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LATEST_MD = Path(__file__).resolve().parent / "latest.md"


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    url_names: tuple[str, ...]
    user: str = "manager"  # manager | rep | partner | channel
    query: tuple[tuple[str, str], ...] = ()
    target: str = ""  # which object the URL takes: account | deal | review | lead | partner
    bearer: bool = False  # the REST API, with a personal token instead of a session


# The pages of the suite, in report order, each as the user who opens it (manager unless
# said). ``{rep}``/``{partner}``/``{year}``/``{quarter}`` in query values are filled from the
# dataset. A URL name missing from both PAGES and NOT_PAGES fails the test suite
# (tests/test_bench_commands.py): a new page cannot escape the benchmark.
SEARCH = "Léman"  # a word of about one account, deal and lead in nine (bench/dataset.py)
PAGES: tuple[Page, ...] = (
    Page("floor", "floor (healthz, logged in)", ("healthz",)),
    Page("dashboard", "dashboard (rep)", ("dashboard",), user="rep"),
    Page("dashboard_manager", "dashboard (manager)", ("dashboard",)),
    Page("dashboard_channel", "dashboard (channel manager)", ("dashboard",), user="channel"),
    Page("dashboard_partner", "dashboard (partner user)", ("dashboard",), user="partner"),
    Page("search", "global search", ("search",), query=(("q", SEARCH),)),
    Page("opp_list", "opportunity list", ("opportunities:list",)),
    Page(
        "opp_list_filtered",
        "opportunity list, filtered (stage + owner)",
        ("opportunities:list",),
        query=(("stage", "proposal"), ("stage", "negotiation"), ("owner", "{rep}")),
    ),
    Page("opp_search", "opportunity list, search", ("opportunities:list",), query=(("q", SEARCH),)),
    Page(
        "opp_list_all",
        "opportunity list, all statuses",
        ("opportunities:list",),
        query=(("status", "all"),),
    ),
    Page(
        "opp_search_all",
        "opportunity list, search over all statuses",
        ("opportunities:list",),
        query=(("status", "all"), ("q", SEARCH)),
    ),
    Page(
        "opp_list_partner",
        "opportunity list (partner user)",
        ("opportunities:list",),
        user="partner",
    ),
    Page("opp_detail", "opportunity detail", ("opportunities:detail",), target="deal"),
    Page("opp_create", "new opportunity form", ("opportunities:create",)),
    Page(
        "opp_edit",
        "opportunity edit form (a deal of the team)",
        ("opportunities:edit",),
        target="team_deal",
    ),
    Page("kanban", "kanban", ("opportunities:kanban", "opportunities:board")),
    Page(
        "kanban_filtered",
        "kanban, filtered (owner)",
        ("opportunities:kanban", "opportunities:board"),
        query=(("owner", "{rep}"),),
    ),
    Page(
        "kanban_partner",
        "kanban (partner user)",
        ("opportunities:kanban", "opportunities:board"),
        user="partner",
    ),
    Page(
        "forecast",
        "forecast (quarter)",
        ("forecasting:forecast", "forecasting:index", "forecasting:quarter"),
        query=(("period", "quarter"),),
    ),
    Page(
        "forecast_deals",
        "forecast drill-down (Commit)",
        ("forecasting:forecast-deals",),
        query=(("column", "commit"),),
    ),
    Page("forecast_export", "forecast CSV export", ("forecasting:forecast-export",)),
    Page("targets", "targets", ("forecasting:targets",)),
    Page("metrics", "metrics", ("forecasting:metrics", "forecasting:pipeline-metrics")),
    Page("accuracy", "forecast accuracy", ("forecasting:accuracy",)),
    Page("accuracy_deals", "forecast accuracy drill-down", ("forecasting:accuracy-deals",)),
    Page(
        "reliability",
        "forecast reliability (reps and partners, one partner's trend)",
        ("forecasting:reliability",),
        query=(("scope", "partner:{partner}"),),
    ),
    Page(
        "reliability_partner",
        "forecast reliability (partner user)",
        ("forecasting:reliability",),
        user="partner",
    ),
    Page(
        "changes",
        "what changed",
        ("forecasting:changes", "forecasting:what-changed", "forecasting:what_changed"),
    ),
    Page(
        "changes_deals",
        "what changed drill-down (new deals)",
        ("forecasting:changes-deals",),
        query=(("change", "new"),),
    ),
    Page(
        "changes_past",
        "what changed, a past window of 30 days (waterfall read back from now)",
        ("forecasting:changes",),
        query=(("start", "{past_start}"), ("end", "{past_end}")),
    ),
    Page(
        "changes_deals_slipped",
        "what changed drill-down (slipped, with reasons), a past window of 30 days",
        ("forecasting:changes-deals",),
        query=(("change", "slipped"), ("start", "{past_start}"), ("end", "{past_end}")),
    ),
    Page("submission_call", "forecast call (manager)", ("forecasting:submission-call",)),
    Page(
        "submission_call_partner",
        "forecast call (partner user)",
        ("forecasting:submission-call",),
        user="partner",
    ),
    Page(
        "submission_form",
        "forecast submission form (rep)",
        ("forecasting:submission-form",),
        user="rep",
    ),
    Page(
        "submission_detail",
        "forecast submission and its adjustments",
        ("forecasting:submission-detail",),
        target="submission",
    ),
    Page("submission_trend", "forecast trend", ("forecasting:submission-trend",)),
    Page(
        "submission_group_adjust",
        "team total adjustment form (the level above the team's manager)",
        ("forecasting:submission-group-adjust",),
        user="admin",
        target="team",
    ),
    Page("review_list", "review list", ("pipeline_reviews:list",), user="channel"),
    Page(
        "review",
        "partner review screen",
        ("pipeline_reviews:detail", "pipeline_reviews:review", "pipeline_reviews:meeting"),
        user="channel",
        target="review",
    ),
    Page(
        "review_partner",
        "partner review screen (partner user)",
        ("pipeline_reviews:detail",),
        user="partner",
        target="review",
    ),
    Page(
        "review_channel",
        "channel manager review screen",
        ("pipeline_reviews:detail",),
        user="channel",
        target="review_channel",
    ),
    Page(
        "review_quarterly",
        "quarterly review screen",
        ("pipeline_reviews:detail",),
        user="channel",
        target="review_quarterly",
    ),
    Page(
        "review_recap",
        "review recap",
        ("pipeline_reviews:recap",),
        user="channel",
        target="review",
    ),
    Page("review_create", "new review form", ("pipeline_reviews:create",), user="channel"),
    Page("lead_list", "lead list", ("leads:list",)),
    Page("lead_search", "lead list, search", ("leads:list",), query=(("q", SEARCH),)),
    Page("lead_detail", "lead detail", ("leads:detail",), target="lead"),
    Page("lead_create", "new lead form", ("leads:create",), user="rep"),
    Page("lead_import", "lead import", ("leads:import",)),
    Page("account_list", "account list", ("accounts:list",)),
    Page("account_search", "account list, search", ("accounts:list",), query=(("q", SEARCH),)),
    Page("account_detail", "account detail", ("accounts:detail",), target="account"),
    Page(
        "account_edit",
        "account edit form (an account of the team)",
        ("accounts:edit",),
        target="team_account",
    ),
    Page("contact_list", "contact list", ("accounts:contact-list",)),
    Page(
        "contact_search", "contact list, search", ("accounts:contact-list",), query=(("q", SEARCH),)
    ),
    Page("contact_detail", "contact detail", ("accounts:contact-detail",), target="contact"),
    Page("partner_list", "partner list", ("partners:list",), user="channel"),
    Page("partner_detail", "partner page", ("partners:detail",), user="channel", target="partner"),
    Page("portal", "partner portal (partner user)", ("partners:portal",), user="partner"),
    Page(
        "registration_queue",
        "registration queue",
        ("partners:registration-queue",),
        user="channel",
    ),
    Page(
        "registration_create",
        "deal registration form (partner user)",
        ("partners:registration-create",),
        user="partner",
    ),
    Page("conflict_queue", "registration conflicts", ("partners:conflict-queue",), user="channel"),
    Page("assign", "partner assignment", ("partners:assign",), user="channel"),
    Page(
        "tasks",
        "my tasks (rep)",
        ("activities:my-tasks", "activities:tasks", "activities:list"),
        user="rep",
    ),
    Page("imports", "pipeline import", ("imports:start",)),
    Page("audit_log", "audit log", ("privacy:audit-log",), user="admin"),
    Page(
        "admin_deals",
        "Django admin: deals",
        ("admin:opportunities_opportunity_changelist",),
        user="admin",
    ),
    Page("admin_leads", "Django admin: leads", ("admin:leads_lead_changelist",), user="admin"),
    Page(
        "admin_accounts",
        "Django admin: accounts",
        ("admin:accounts_account_changelist",),
        user="admin",
    ),
    Page("api_leads", "API: leads", ("api:lead-list",), bearer=True),
    Page("api_accounts", "API: accounts", ("api:account-list",), bearer=True),
    Page("api_contacts", "API: contacts", ("api:contact-list",), bearer=True),
    Page("api_opps", "API: opportunities", ("api:opportunity-list",), bearer=True),
    Page(
        "api_opps_partner",
        "API: opportunities (partner user)",
        ("api:opportunity-list",),
        user="partner",
        bearer=True,
    ),
    Page(
        "api_opps_filtered",
        "API: opportunities, filtered and ordered",
        ("api:opportunity-list",),
        query=(("stage", "proposal"), ("ordering", "-close_date")),
        bearer=True,
    ),
    Page(
        "api_opp", "API: one opportunity", ("api:opportunity-detail",), target="deal", bearer=True
    ),
    Page(
        "api_opp_history",
        "API: an opportunity's history",
        ("api:opportunity-history",),
        target="deal",
        bearer=True,
    ),
    Page("api_activities", "API: activities", ("api:activity-list",), bearer=True),
    Page("api_registrations", "API: registrations", ("api:registration-list",), bearer=True),
    Page("api_forecast", "API: forecast", ("api:forecast",), bearer=True),
)

# URL names that are not pages a user opens, and why (the test suite holds every other one
# to PAGES).
NOT_PAGES = {
    "integrations:calendar-feed": "read by calendar programs with a token, not opened in a browser "
    "(its queries are the same at 10 and 200 to-dos: tests/integrations/test_calendar.py)",
    "integrations:calendar-feed-manage": "a form's POST: makes or revokes a calendar address",
    **dict.fromkeys(
        (
            "login",
            "logout",
            "password_change",
            "password_change_done",
            "password_reset",
            "password_reset_done",
            "password_reset_confirm",
            "password_reset_complete",
        ),
        "sign-in and password pages: no CRM data",
    ),
    **dict.fromkeys(
        (
            "set_language",
            "set_theme",
            "leads:web-to-lead-thanks",
            "web-to-lead-thanks",
            "style-guide",
        ),
        "a setting or a static page: no CRM data",
    ),
    **dict.fromkeys(("leads:web-to-lead", "web-to-lead"), "the public form: no CRM data read"),
    "opportunities:kanban-column": "one column of the board, fetched after a move (the board "
    "is measured whole)",
    **dict.fromkeys(
        ("opportunities:inline", "opportunities:kanban-edit", "leads:toggle"),
        "a field edited in place, or its small form (the page around it is measured)",
    ),
    "command-palette": "the palette's options for what was typed: a fragment of a few rows "
    "read with the global search (measured)",
    **dict.fromkeys(
        ("accounts:lookup", "accounts:contact-lookup"),
        "the options of an account or contact select for what was typed: at most 20 rows "
        "(the forms using them are measured)",
    ),
    **dict.fromkeys(
        (
            "saved-views",
            "saved-view-create",
            "saved-view-default",
            "saved-view-delete",
            "saved-view-edit",
            "saved-view-open",
        ),
        "the views menu of a list and its actions (the list it opens is measured)",
    ),
    **dict.fromkeys(
        (
            "activities:panel",
            "activities:create",
            "activities:edit",
            "activities:toggle",
            "activities:delete",
        ),
        "the to-do panel of a record and its actions: measured within the record's page",
    ),
    **dict.fromkeys(
        (
            "accounts:create",
            "accounts:contact-create",
            "accounts:contact-edit",
            "leads:edit",
            "partners:registration-edit",
        ),
        "a form like the ones measured (new opportunity, account and opportunity edit)",
    ),
    **dict.fromkeys(
        (
            "accounts:export",
            "accounts:contact-export",
            "leads:export",
            "opportunities:export",
            "partners:export",
            "partners:registration-export",
            "pipeline_reviews:export",
            "privacy:audit-export",
        ),
        "a CSV download streamed row by row (the forecast export is measured)",
    ),
    **dict.fromkeys(
        (
            "leads:bulk",
            "leads:status",
            "leads:convert",
            "partners:registration-accept",
            "partners:registration-reject",
            "partners:registration-return",
            "partners:registration-renew",
            "partners:registration-appeal",
            "partners:conflict-decide",
            "partners:assign-one",
            "partners:targets",
            "opportunities:kanban-move",
            "pipeline_reviews:setup",
            "pipeline_reviews:lead",
            "pipeline_reviews:outcome",
            "pipeline_reviews:deal",
            "pipeline_reviews:todo",
            "pipeline_reviews:section",
            "pipeline_reviews:commit",
            "pipeline_reviews:close",
            "pipeline_reviews:partner-note",
            "pipeline_reviews:quarterly",
            "pipeline_reviews:marketing-add",
            "pipeline_reviews:marketing-delete",
            "privacy:anonymise-contact",
            "privacy:anonymise-lead",
            "forecasting:submission-adjust",
        ),
        "an action (POST) or the fragment it answers with",
    ),
    **dict.fromkeys(
        ("api:token-create", "api:token-revoke"), "an action (POST) on one's API tokens"
    ),
    **dict.fromkeys(
        ("api:schema", "api:docs"), "the API's description and its docs page: no CRM data"
    ),
    **dict.fromkeys(
        (
            "api:lead-detail",
            "api:account-detail",
            "api:contact-detail",
            "api:activity-detail",
            "api:registration-detail",
            "api:lead-history",
        ),
        "one record (or one lead's status rows) in JSON, read like the opportunity and its "
        "history (measured)",
    ),
    **dict.fromkeys(
        (
            "leads:import-template",
            "leads:import-preview",
            "leads:import-confirm",
            "leads:import-result",
            "leads:import-rejected",
            "imports:mapping",
            "imports:dry-run",
            "imports:confirm",
            "imports:result",
            "imports:refused",
        ),
        "a step of one import, read from its own file (bench_import measures imports)",
    ),
    **dict.fromkeys(
        ("partners:registration-detail", "partners:conflict-detail", "pipeline_reviews:deal-panel"),
        "one registration (the benchmark data has none yet) or a review's deal panel "
        "(measured within the review screen)",
    ),
}


@dataclass
class Result:
    key: str
    label: str
    url: str = ""
    user: str = ""
    status: int | None = None
    available: bool = True
    queries: int | None = None
    queries_min: int | None = None
    median_ms: float | None = None
    p95_ms: float | None = None
    sql_median_ms: float | None = None
    cpu_median_ms: float | None = None
    sql_share: float | None = None
    bytes: int | None = None
    ratio_10k: float | None = None
    note: str = ""
    error: str = ""
    samples_ms: list[float] = field(default_factory=list)


class SqlMeter:
    """Counts queries and the time they take, for the block it wraps around."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * p
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --------------------------------------------------------------------------- context


def bench_users() -> dict:
    """The users the pages are measured as: manager, rep, partner user, channel manager, and
    an administrator for the Django admin and the audit log."""
    from climcrm.models import User

    def pick(username: str, group: str, **extra):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            user = (
                User.objects.filter(groups__name=group, is_active=True, **extra)
                .order_by("pk")
                .first()
            )
        return user

    return {
        "manager": pick("manager", "sales_manager"),
        "rep": pick("rep", "sales_rep"),
        "partner": pick("partner_a", "partner_user", partner__isnull=False),
        "channel": pick("channel", "channel_manager"),
        "admin": User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first(),
    }


def bench_targets(users: dict) -> dict:
    """Objects of constant shape at every size: the account with the most deals, an open deal
    with a long history, the partner user's current review."""
    from django.db.models import Count

    from accounts.models import Account, Contact
    from leads.models import Lead
    from opportunities.models import Opportunity
    from pipeline_reviews.models import Review, ReviewKind

    targets = {}
    account = (
        Account.objects.filter(partner__isnull=True)
        .annotate(n=Count("opportunities"))
        .order_by("-n", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    targets["account"] = account
    deal = (
        Opportunity.objects.filter(closed_at__isnull=True)
        .order_by("-version", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    targets["deal"] = deal
    partner = users.get("partner")
    partner_id = getattr(partner, "partner_id", None)
    reviews = Review.objects.order_by("-period_start", "-pk")
    if partner_id:
        reviews = reviews.filter(partner_id=partner_id)
    targets["review"] = (
        reviews.filter(kind=ReviewKind.MONTHLY_PARTNER).values_list("pk", flat=True).first()
    )
    by_kind = Review.objects.order_by("-period_start", "-pk")
    targets["review_channel"] = (
        by_kind.filter(kind=ReviewKind.CHANNEL_MANAGER).values_list("pk", flat=True).first()
    )
    targets["review_quarterly"] = (
        by_kind.filter(kind=ReviewKind.QUARTERLY).values_list("pk", flat=True).first()
    )
    # A deal and an account of the manager's team, for the edit forms the manager opens.
    manager = users.get("manager")
    targets["team_deal"] = (
        Opportunity.objects.filter(owner__manager=manager, closed_at__isnull=True)
        .order_by("-version", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    targets["team_account"] = (
        Account.objects.filter(owner__manager=manager)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    targets["contact"] = (
        Contact.objects.filter(account_id=account).values_list("pk", flat=True).first()
    )
    targets["lead"] = Lead.objects.order_by("-pk").values_list("pk", flat=True).first()
    targets["partner"] = partner_id
    from forecasting.models import ForecastSubmission

    # The rep's latest forecast submission: its deals grow with the dataset.
    targets["submission"] = (
        ForecastSubmission.objects.filter(user=users.get("rep"))
        .order_by("-submitted_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    # The manager's team, whose total the level above adjusts (URL: kind and head).
    targets["team"] = ("team", manager.pk) if manager else None
    return targets


def resolve(page: Page, users: dict, targets: dict) -> tuple[str | None, str]:
    """The page's URL, or None and why it cannot be measured."""
    args = []
    if page.target:
        obj = targets.get(page.target)
        if obj is None:
            return None, f"no {page.target} in the database"
        args = list(obj) if isinstance(obj, tuple) else [obj]
    url = None
    for name in page.url_names:
        try:
            url = reverse(name, args=args)
            break
        except NoReverseMatch:
            continue
    if url is None:
        return None, "not available"
    if page.query:
        today = timezone.localdate()
        values = {
            "rep": getattr(users.get("rep"), "pk", ""),
            "partner": targets.get("partner") or "",
            "year": today.year,
            "quarter": (today.month - 1) // 3 + 1,
            # A window of any days that ended before today (not a calendar month).
            "past_start": (today - timedelta(days=45)).isoformat(),
            "past_end": (today - timedelta(days=15)).isoformat(),
        }
        from urllib.parse import urlencode

        url += "?" + urlencode([(k, v.format(**values)) for k, v in page.query])
    return url, ""


def dataset_size() -> int:
    from opportunities.models import Opportunity

    return Opportunity.objects.count()


def machine() -> dict:
    info = {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "database": connection.vendor,
        "debug": settings.DEBUG,
        # Other processes on the machine skew wall times: the floor page and the Python CPU
        # column help read them.
        "loadavg": [round(x, 1) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["memory_gb"] = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            info["shared_buffers"] = cursor.fetchone()[0]
    return info


# --------------------------------------------------------------------------- measuring


def measure_page(client, url: str, *, warmup: int, requests: int, budget: float = 60.0) -> Result:
    """``budget``: seconds after which a slow page stops being requested (noted in the result)."""
    from django.contrib.auth.models import AnonymousUser  # noqa: F401 - Django ready

    result = Result(key="", label="", url=url)
    host = _host()
    page_started = time.perf_counter()
    for _ in range(warmup):
        client.get(url, secure=True, HTTP_HOST=host)
        if time.perf_counter() - page_started > budget / 4:
            break
    samples, sql_samples, cpu_samples, counts = [], [], [], []
    total_sql = total = 0.0
    status = None
    size = 0
    for _ in range(requests):
        meter = SqlMeter()
        with connection.execute_wrapper(meter):
            started = time.perf_counter()
            cpu_started = time.process_time()
            response = client.get(url, secure=True, HTTP_HOST=host)
            if getattr(response, "streaming", False):
                size = sum(len(chunk) for chunk in response.streaming_content)
            else:
                size = len(response.content)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        status = response.status_code
        exc_info = getattr(response, "exc_info", None)
        if exc_info and "statement timeout" in str(exc_info[1]):
            result.note = f"a query ran over the {budget:.0f} s budget (statement_timeout)"
        elif exc_info and not result.error:
            result.error = f"{exc_info[0].__name__}: {str(exc_info[1])[:300]}"
        samples.append(elapsed * 1000)
        sql_samples.append(meter.seconds * 1000)
        cpu_samples.append(cpu * 1000)
        counts.append(meter.count)
        total += elapsed
        total_sql += meter.seconds
        if result.note:
            break
        if time.perf_counter() - page_started > budget and len(samples) < requests:
            result.note = f"stopped after {len(samples)} requests ({budget:.0f} s budget)"
            break
    result.status = status
    result.bytes = size
    result.queries = max(counts)
    result.queries_min = min(counts)
    result.median_ms = round(statistics.median(samples), 2)
    result.p95_ms = round(percentile(samples, 0.95), 2)
    result.sql_median_ms = round(statistics.median(sql_samples), 2)
    # CPU time of this process (Python side only): less sensitive than wall time to other
    # processes competing for the cores.
    result.cpu_median_ms = round(statistics.median(cpu_samples), 2)
    result.sql_share = round(total_sql / total, 3) if total else 0.0
    result.samples_ms = [round(s, 2) for s in samples]
    return result


def _host() -> str:
    for host in settings.ALLOWED_HOSTS:
        if host and "*" not in host and not host.startswith("."):
            return host
    return "127.0.0.1"


def run(
    *,
    requests: int = 20,
    warmup: int = 3,
    only: list[str] | None = None,
    skip: list[str] | tuple = (),
    budget: float = 60.0,
    log=print,
) -> dict:
    import logging

    from django.test import Client

    # A failing page shows as its HTTP status in the table, not as 20 tracebacks.
    request_logger = logging.getLogger("django.request")
    previous_level = request_logger.level
    request_logger.setLevel(logging.CRITICAL)
    if connection.vendor == "postgresql":
        # One runaway query must not hold the run for hours: it fails the page instead.
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(budget * 1000)}")
    try:
        return _run(
            Client,
            requests=requests,
            warmup=warmup,
            only=only,
            skip=skip,
            budget=budget,
            log=log,
        )
    finally:
        request_logger.setLevel(previous_level)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")


def _run(Client, *, requests, warmup, only, skip, budget: float, log):
    users = bench_users()
    targets = bench_targets(users)
    n = dataset_size()
    label = size_label(n)
    baseline = load_result("10k")
    base_medians = {p["key"]: p.get("median_ms") for p in (baseline or {}).get("pages", [])}
    clients = {}
    results = []
    for page in PAGES:
        if only and page.key not in only:
            continue
        if page.key in skip:
            log(f"  {page.label}: skipped")
            results.append(Result(page.key, page.label, available=False, note="not measured"))
            continue
        url, why = resolve(page, users, targets)
        user = users.get(page.user)
        if url is not None and user is None:
            url, why = None, f"no {page.user} user"
        if url is None:
            log(f"  {page.label}: {why}")
            results.append(Result(page.key, page.label, available=False, note=why))
            continue
        who = (page.user, page.bearer)
        if who not in clients:
            client = Client(raise_request_exception=False)
            if page.bearer:
                from api.services import api_token_create

                secret = api_token_create(user=user, name="bench", days=1).secret
                client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
            else:
                client.force_login(user)
            clients[who] = client
        result = measure_page(clients[who], url, warmup=warmup, requests=requests, budget=budget)
        result.key, result.label, result.user = page.key, page.label, user.username
        if result.status != 200:
            result.note = f"HTTP {result.status}" + (f"; {result.note}" if result.note else "")
        base = base_medians.get(page.key)
        if base and result.median_ms is not None:
            result.ratio_10k = round(result.median_ms / base, 2)
        if result.error:
            log(f"  {page.label}: {result.error}")
        log(
            f"  {page.label}: {result.queries} queries, median {result.median_ms} ms, "
            f"p95 {result.p95_ms} ms, SQL {result.sql_share:.0%}"
            + (f" ({result.note})" if result.note else "")
        )
        results.append(result)
    return {
        "size": label,
        "opportunities": n,
        "requests": requests,
        "warmup": warmup,
        "at": timezone.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "targets": targets,
        "pages": [asdict(r) for r in results],
    }


# --------------------------------------------------------------------------- reporting


def result_path(label: str, suffix: str = "", directory: Path | None = None) -> Path:
    return (directory or RESULTS_DIR) / f"{label}{suffix}.json"


def load_result(label: str, suffix: str = "", directory: Path | None = None) -> dict | None:
    path = result_path(label, suffix, directory)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def save_result(data: dict, suffix: str = "", directory: Path | None = None) -> Path:
    path = result_path(data["size"], suffix, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def _fmt(value, pattern="{:.1f}", empty="–"):
    return empty if value is None else pattern.format(value)


def markdown_table(runs: list[dict]) -> str:
    """One table over one or several sizes: page, size, queries, median, p95, SQL share,
    ratio to 10k."""
    lines = [
        "| page | size | queries | median ms | p95 ms | SQL share | page ÷ SQL | Python CPU ms "
        "| × 10k | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    keys = []
    for data in runs:
        for page in data["pages"]:
            if page["key"] not in keys:
                keys.append(page["key"])
    for key in keys:
        for data in runs:
            page = next((p for p in data["pages"] if p["key"] == key), None)
            if page is None:
                continue
            if not page.get("available", True):
                lines.append(
                    f"| {page['label']} | {data['size']} | | | | | | | | {page.get('note', '')} |"
                )
                continue
            queries = page["queries"]
            sql = page.get("sql_median_ms")
            per_sql = page["median_ms"] / sql if sql and page.get("median_ms") else None
            if page.get("queries_min") not in (None, queries):
                queries = f"{page['queries_min']}–{queries}"
            lines.append(
                f"| {page['label']} | {data['size']} | {queries} | {_fmt(page['median_ms'])} | "
                f"{_fmt(page['p95_ms'])} | {_fmt(page['sql_share'], '{:.0%}')} | "
                f"{_fmt(per_sql, '{:.1f}')} | {_fmt(page.get('cpu_median_ms'))} | "
                f"{_fmt(page.get('ratio_10k'), '{:.2f}')} | {page.get('note', '')} |"
            )
    return "\n".join(lines)


def load_table(runs: list[dict]) -> str:
    lines = [
        "| page | size | req/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for data in runs:
        for page in data["pages"]:
            if not page.get("available", True) or page.get("rps") is None:
                lines.append(
                    f"| {page['label']} | {data['size']} | | | | | | | {page.get('note', '')} |"
                )
                continue
            lines.append(
                f"| {page['label']} | {data['size']} | {page['rps']:.1f} | "
                f"{_fmt(page['p50_ms'])} | {_fmt(page['p90_ms'])} | {_fmt(page['p99_ms'])} | "
                f"{_fmt(page['max_ms'])} | {page['requests']} | {page['errors']} |"
            )
    return "\n".join(lines)


def summary(directory: Path | None = None) -> str:
    """Every saved run (in-process and load), smallest size first, as markdown."""
    directory = directory or RESULTS_DIR
    runs, loads = [], []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if path.stem.endswith("-morning"):  # the mixed morning: its own figures, not pages
            continue
        (loads if path.stem.endswith("-load") else runs).append(data)
    runs.sort(key=lambda d: d.get("opportunities", 0))
    loads.sort(key=lambda d: d.get("opportunities", 0))
    # Ratios against the 10k run of this summary (it may be newer than the run measured).
    base = next((d for d in runs if d.get("size") == "10k"), None)
    if base is not None:
        medians = {p["key"]: p.get("median_ms") for p in base["pages"]}
        for data in runs:
            for page in data["pages"]:
                if page.get("median_ms") and medians.get(page["key"]):
                    page["ratio_10k"] = round(page["median_ms"] / medians[page["key"]], 2)
    parts = []
    if runs:
        info = runs[-1].get("machine", {})
        parts.append(
            f"Machine: {info.get('cpu', '?')}, {info.get('cpus', '?')} cores, "
            f"{info.get('memory_gb', '?')} GB; PostgreSQL {info.get('postgresql', '?')} "
            f"(shared_buffers {info.get('shared_buffers', '?')}); Python {info.get('python')}, "
            f"Django {info.get('django')}; DEBUG {'on' if info.get('debug') else 'off'}. "
            f"{runs[-1].get('requests')} requests per page after {runs[-1].get('warmup')} "
            "warm-up requests, in-process (Django test client)."
        )
        parts.append(markdown_table(runs))
    if loads:
        info = loads[-1]
        parts.append(
            f"Under load: gunicorn {info.get('workers')} workers × {info.get('threads')} threads, "
            f"wrk {info.get('connections')} connections for {info.get('duration')} s per page."
        )
        parts.append(load_table(loads))
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- explaining


class SqlRecorder:
    """Keeps every query of the block with its parameters and duration."""

    def __init__(self):
        self.queries: list[tuple[float, str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not many:
                self.queries.append((time.perf_counter() - started, sql, params))


def explain(keys: list[str], *, top: int = 3, analyze: bool = True, log=print) -> None:
    """Request each page once and print the plans of its slowest queries (PostgreSQL)."""
    from django.test import Client

    users = bench_users()
    targets = bench_targets(users)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 60000")
    for page in PAGES:
        if page.key not in keys:
            continue
        url, why = resolve(page, users, targets)
        user = users.get(page.user)
        if url is None or user is None:
            log(f"## {page.label}: {why or 'no user'}")
            continue
        client = Client(raise_request_exception=False)
        client.force_login(user)
        client.get(url, secure=True, HTTP_HOST=_host())
        recorder = SqlRecorder()
        with connection.execute_wrapper(recorder):
            response = client.get(url, secure=True, HTTP_HOST=_host())
        log(
            f"## {page.label} — {url} "
            f"(HTTP {response.status_code}, {len(recorder.queries)} queries)"
        )
        slowest = sorted(recorder.queries, key=lambda q: q[0], reverse=True)[:top]
        for seconds, sql, params in slowest:
            log(f"\n### {seconds * 1000:.1f} ms\n{sql}\n")
            if connection.vendor != "postgresql":
                continue
            log("\n".join(_plan(sql, params, analyze=analyze)))
        log("")


def _plan(sql: str, params, *, analyze: bool) -> list[str]:
    """The query's plan, executed if it finishes within the statement timeout."""
    from django.db import DatabaseError, transaction

    for option in (["ANALYZE, BUFFERS"] if analyze else []) + ["COSTS"]:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN ({option}) {sql}", params)
                return [row[0] for row in cursor.fetchall()]
        except DatabaseError as exc:
            note = f"(EXPLAIN {option} failed: {str(exc).strip()[:200]})"
    return [note]

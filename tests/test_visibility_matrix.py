"""Who gets what, for every URL of the project.

The resolver is walked recursively (admin included); every URL name must have a rule in
RULES, so a new page cannot ship without saying who may see it. For each route and each
role of the fixed cast the expected status is asserted:

- anonymous visitors are sent to the login page, except on public pages;
- a partner user gets 404 for the other partner's objects and for internal objects, in
  pages, HTMX fragments (sent again with the HX-Request header), CSV exports and search,
  and the 200 pages they do get never name the other partner's or internal records;
- internal-only pages answer 404 to partner users;
- partner users never see Django admin content.
"""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import PartnerTarget
from activities.models import Activity
from api.services import api_token_create
from climcrm.models import SavedView
from climcrm.periods import QUARTER, period_containing
from forecasting.models import ForecastSubmission
from imports.models import ImportKind, PipelineImport
from leads.models import ImportJob
from opportunities.models import ForecastCategory, Stage
from pipeline_reviews.models import MarketingAction, Review, ReviewKind
from tests import clock
from tests.factories import (
    AccountFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
)
from tests.factories.partners import DealRegistrationFactory

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

ROLES = ("anonymous", "partner_a", "partner_b", "rep", "manager", "channel", "admin")
PARTNER_ROLES = ("partner_a", "partner_b")
INTERNAL_ROLES = ("rep", "manager", "channel", "admin")
# Markers in the names of each side's records: a partner's page must not show the others'.
MARK = {"a": "ALPHAZQ", "b": "BRAVOZQ", "internal": "INTERNZQ"}
LOGIN_URL = "/login/"

OK = frozenset({200})
REDIRECT = frozenset({302})
NOT_FOUND = frozenset({404})
DENIED = frozenset({403, 404})
UNAUTHORIZED = frozenset({401})


@dataclass(frozen=True)
class Rule:
    """What a route answers.

    who: public | all (every signed-in user, scoped) | internal | channel (channel managers
    and admins) | manager (sales managers and admins) | admin | partner (partner users'
    own pages) | admin_site (Django admin).
    objs: URL kwarg → kind of record in the world below ("?name" for a query or POST
    parameter); partner users get each one with the other partner's record and with an
    internal record, and must get 404.
    partner_denied: what a partner user gets on a page or record they may see but not use
    (a 403 there reveals nothing); other partners' and internal records are always 404.
    """

    who: str
    objs: tuple = ()
    static: tuple = ()
    method: str = "get"
    data: tuple = ()
    query: tuple = ()
    ok: frozenset = OK
    ok_for: tuple = ()
    htmx: bool = False
    partner_must_show: bool = False
    partner_denied: frozenset = NOT_FOUND
    # What an anonymous visitor gets when it is not the way to the login page (the API: 401).
    anonymous: frozenset | None = None

    def expected_ok(self, role: str) -> frozenset:
        return dict(self.ok_for).get(role, self.ok)


def page(who, **kwargs) -> Rule:
    return Rule(who=who, **kwargs)


def obj(who, objs: dict, **kwargs) -> Rule:
    return Rule(who=who, objs=tuple(objs.items()), **kwargs)


def post(who, objs: dict | None = None, **kwargs) -> Rule:
    kwargs.setdefault("ok", frozenset({200, 302}))
    return Rule(who=who, objs=tuple((objs or {}).items()), method="post", **kwargs)


ANY_POST = frozenset({200, 302, 400, 409, 422})
# Internal users get partner A's shared view (404) and the internal one (302; 404 once the
# rep, its owner, deleted it, or to the others for a change only the owner may make).
SAVED_VIEW_INTERNAL = tuple((role, frozenset({302, 404})) for role in INTERNAL_ROLES)
REVIEW_RUNNERS = (("rep", DENIED), ("channel", frozenset({200, 302, 400, 403, 409, 422})))

# The table. Keys are URL names ("namespace:name"); "admin:*" covers Django admin.
RULES: dict[str, Rule] = {
    # Core
    "dashboard": page("all", htmx=True),
    "healthz": page("public"),
    "search": page("all", query=(("q", "ZQ"),), htmx=True, partner_must_show=True),
    # The command palette finds records through the global search: the same scope.
    "command-palette": page("all", query=(("q", "ZQ"),), htmx=True, partner_must_show=True),
    # Saved views: one's own and one's team's (a partner's users, or the internal users);
    # the world's views are shared, so an internal user may open the internal one and
    # not partner A's (tests/test_saved_views.py checks each case by name).
    "saved-views": page(
        "all", query=(("list", "opportunities"),), htmx=True, partner_must_show=True
    ),
    "saved-view-create": post(
        "all",
        data=(("list", "opportunities"), ("name", "Vue"), ("current", "stage=proposal")),
        ok=REDIRECT,
    ),
    "saved-view-open": obj("all", {"pk": "saved_view"}, ok=REDIRECT, ok_for=SAVED_VIEW_INTERNAL),
    "saved-view-default": post(
        "all",
        {"?view": "saved_view"},
        data=(("list", "opportunities"),),
        ok=REDIRECT,
        ok_for=SAVED_VIEW_INTERNAL,
    ),
    # Only the owner changes or deletes a view.
    "saved-view-edit": post(
        "all",
        {"pk": "saved_view"},
        data=(("name", "Vue renommée"), ("shared", "on")),
        ok=REDIRECT,
        ok_for=SAVED_VIEW_INTERNAL,
    ),
    "saved-view-delete": post("all", {"pk": "saved_view"}, ok=REDIRECT, ok_for=SAVED_VIEW_INTERNAL),
    "set_language": post("public", data=(("language", "fr"), ("next", "/"))),
    "set_theme": post("public", data=(("theme", "dark"), ("next", "/")), ok=REDIRECT),
    # The design system's style guide is for staff (the admin of the cast).
    "style-guide": page("admin"),
    "login": page("public", ok_for=tuple((r, REDIRECT) for r in (*PARTNER_ROLES, *INTERNAL_ROLES))),
    "logout": post("all", ok=REDIRECT),
    "password_change": page("all"),
    "password_change_done": page("all"),
    # Password reset by email: public pages that show nothing of the CRM.
    "password_reset": page("public"),
    "password_reset_done": page("public"),
    "password_reset_confirm": page("public", static=(("uidb64", "MQ"), ("token", "a-b"))),
    "password_reset_complete": page("public"),
    # Accounts and contacts: partners read the accounts and contacts of their deals.
    "accounts:list": page("all", htmx=True, partner_must_show=True),
    "accounts:export": page("all", partner_must_show=True),
    "accounts:create": page("internal"),
    "accounts:detail": obj("all", {"pk": "account"}),
    "accounts:edit": obj("internal", {"pk": "account"}, partner_denied=DENIED),
    "accounts:contact-list": page("all", htmx=True, partner_must_show=True),
    "accounts:contact-export": page("all", partner_must_show=True),
    "accounts:contact-create": page("internal"),
    "accounts:contact-detail": obj("all", {"pk": "contact"}),
    "accounts:contact-edit": obj("internal", {"pk": "contact"}, partner_denied=DENIED),
    # The options of the account and contact selects: the same scope as the lists; a
    # contact lookup narrowed to an account the user does not see is 404.
    "accounts:lookup": page("all", query=(("q", "ZQ"),), partner_must_show=True),
    "accounts:contact-lookup": obj(
        "all", {"?account": "account"}, query=(("q", "ZQ"),), partner_must_show=True
    ),
    # Activities: the panel and the create form name their deal, lead or account.
    "activities:panel": obj("all", {"?opportunity": "opportunity"}, htmx=True),
    "activities:create": post(
        "all",
        {"?opportunity": "opportunity"},
        data=(("subject", "Rappel"), ("kind", "task")),
        ok=ANY_POST | {403},
    ),
    "activities:my-tasks": page("all", htmx=True),
    # A channel manager changes the to-dos of their partners' deals, not of direct deals.
    "activities:toggle": post(
        "all",
        {"pk": "activity"},
        data=(("done", "1"),),
        ok_for=(("channel", frozenset({200, 302, 403})),),
    ),
    "activities:edit": obj("all", {"pk": "activity"}, ok=frozenset({200, 302, 403})),
    # The first role allowed deletes the record: those after it find nothing (404).
    "activities:delete": post(
        "all",
        {"pk": "activity"},
        ok=frozenset({302, 403, 404}),
        ok_for=tuple((role, REDIRECT) for role in PARTNER_ROLES),
    ),
    # Forecast and metrics: partner users get their own partner's figures.
    "forecasting:forecast": page("all", htmx=True),
    "forecasting:forecast-deals": page("all", htmx=True, partner_must_show=True),
    "forecasting:forecast-export": page("all"),
    "forecasting:targets": page("internal"),
    "forecasting:metrics": page("all", htmx=True),
    "forecasting:changes": page("all", htmx=True),
    "forecasting:changes-deals": page("all", query=(("change", "new"),), htmx=True),
    "forecasting:accuracy": page("all", htmx=True),
    "forecasting:accuracy-deals": page("all", htmx=True),
    "forecasting:reliability": page("all", htmx=True),
    # The weekly forecast call: everyone reads the forecasts they oversee (a partner user
    # their partner's); internal users open any submission, a partner user their partner's.
    "forecasting:submission-call": page("all"),
    "forecasting:submission-form": page("all"),
    "forecasting:submission-trend": page("all"),
    "forecasting:submission-detail": obj("all", {"pk": "forecast_submission"}),
    # Only the level above adjusts: partner A's submission is its channel manager's to
    # adjust, the rep's the manager's (both 302 for the admin, 404 for the other one); a
    # partner user is refused on their own partner's submission (403 with the reason),
    # others' are 404. tests/forecasting/test_submission_views.py checks each case.
    "forecasting:submission-adjust": post(
        "manager",
        {"pk": "forecast_submission"},
        data=(("figure", "commit"), ("to_amount", "1"), ("note", "Prudence")),
        ok=REDIRECT,
        ok_for=(("manager", frozenset({302, 404})), ("channel", frozenset({302, 404}))),
        partner_denied=DENIED,
    ),
    # A team's or a channel's total is adjusted by the level above its head (a sales
    # director, a head of channel) or an admin: the channel manager's own channel is 404 to
    # them and to everyone else; partner users never get the page.
    # tests/forecasting/test_group_adjustments.py checks the sales director and head of
    # channel allowed.
    "forecasting:submission-group-adjust": obj(
        "admin",
        {"head": "channel_head"},
        static=(("kind", "channel"),),
        ok_for=tuple((role, NOT_FOUND) for role in ("rep", "manager", "channel")),
    ),
    # Leads
    "leads:list": page("all", htmx=True, partner_must_show=True),
    "leads:create": page("all"),
    "leads:export": page("all", partner_must_show=True),
    "leads:bulk": post("internal"),
    "leads:detail": obj("all", {"pk": "lead"}, htmx=True),
    "leads:edit": obj("all", {"pk": "lead"}, ok=frozenset({200, 302})),
    "leads:status": post("all", {"pk": "lead"}),
    "leads:toggle": post(
        "all", {"pk": "lead"}, data=(("field", "need_ok"), ("value", "1")), ok=ANY_POST | {403}
    ),
    "leads:convert": obj("all", {"pk": "lead"}, ok=frozenset({200, 302, 403})),
    "leads:import": page("internal"),
    "leads:import-template": page("internal"),
    # An import belongs to whoever uploaded it (the rep here): anyone else gets 404.
    "leads:import-preview": obj("owner", {"pk": "import_job"}),
    "leads:import-confirm": post("owner", {"pk": "import_job"}),
    "leads:import-result": obj("owner", {"pk": "import_job"}, ok=frozenset({200, 302})),
    "leads:import-rejected": obj("owner", {"pk": "import_job"}, ok=frozenset({200, 302})),
    # Pipeline import: sales managers and admins; an import belongs to whoever uploaded it
    # (the manager here): anyone else gets 404.
    "imports:start": page("manager"),
    "imports:mapping": obj("importer", {"pk": "pipeline_import"}),
    "imports:dry-run": obj("importer", {"pk": "pipeline_import"}),
    "imports:confirm": post("importer", {"pk": "pipeline_import"}),
    "imports:result": obj("importer", {"pk": "pipeline_import"}, ok=frozenset({200, 302})),
    "imports:refused": obj("importer", {"pk": "pipeline_import"}),
    # Calendar feeds: read without a session, by a token only its owner was shown; an
    # unknown token is 404 to everyone. Each user makes or revokes their own address.
    "integrations:calendar-feed": page("public", static=(("token", "unknown"),), ok=NOT_FOUND),
    "integrations:calendar-feed-manage": post("all", data=(("action", "regenerate"),), ok=OK),
    "leads:web-to-lead": page("public"),
    "leads:web-to-lead-thanks": page("public"),
    "web-to-lead": page("public"),
    "web-to-lead-thanks": page("public"),
    # Opportunities
    "opportunities:list": page("all", htmx=True, partner_must_show=True),
    "opportunities:export": page("all", partner_must_show=True),
    # Partners do not create deals: they register them.
    "opportunities:create": page("internal"),
    "opportunities:detail": obj("all", {"pk": "opportunity"}, htmx=True),
    "opportunities:edit": obj(
        "all", {"pk": "opportunity"}, ok_for=(("channel", frozenset({200, 302, 403})),)
    ),
    "opportunities:kanban": page("all", htmx=True, partner_must_show=True),
    "opportunities:kanban-column": page(
        "all", static=(("stage", "qualification"),), htmx=True, partner_must_show=True
    ),
    "opportunities:kanban-move": post("all", {"pk": "opportunity"}, ok=ANY_POST),
    # Inline edit: the field (HTMX) or, without JavaScript, the way to the edit page.
    "opportunities:inline": obj(
        "all", {"pk": "opportunity"}, static=(("name", "amount"),), ok=frozenset({200, 302})
    ),
    # A card's edit in place: the deal's form without JavaScript (302), 403 where the user
    # may see the deal but not change it.
    "opportunities:kanban-edit": obj(
        "all", {"pk": "opportunity"}, htmx=True, ok=frozenset({200, 302, 403})
    ),
    # Partner channel
    "partners:list": page("internal", htmx=True),
    "partners:export": page("internal"),
    "partners:detail": obj("internal", {"pk": "partner"}),
    "partners:targets": post("channel", {"pk": "partner"}),
    "partners:portal": page(
        "partner", ok_for=tuple((r, REDIRECT) for r in INTERNAL_ROLES), partner_must_show=True
    ),
    "partners:registration-queue": page(
        "all", query=(("status", ""),), htmx=True, partner_must_show=True
    ),
    "partners:registration-export": page("all", query=(("status", ""),), partner_must_show=True),
    "partners:registration-create": page("all"),
    "partners:registration-detail": obj("all", {"pk": "registration"}),
    "partners:registration-edit": obj("all", {"pk": "registration"}),
    "partners:registration-accept": post("channel", {"pk": "registration"}),
    "partners:registration-reject": post("channel", {"pk": "registration"}),
    "partners:registration-return": post("channel", {"pk": "registration"}),
    "partners:registration-renew": post("channel", {"pk": "registration"}),
    # The partner refused in a conflict appeals its own registration (here: nothing to
    # appeal, so a message and a redirect); the conflict queue and its decision are internal.
    "partners:registration-appeal": post("all", {"pk": "registration"}),
    "partners:conflict-queue": page("internal", query=(("scope", "all"),), htmx=True),
    "partners:conflict-detail": obj(
        "internal", {"pk": "registration"}, static=(("kind", "domain"),)
    ),
    "partners:conflict-decide": post(
        "channel", {"pk": "registration"}, static=(("kind", "domain"),)
    ),
    "partners:assign": page("channel", htmx=True),
    "partners:assign-one": obj("channel", {"pk": "opportunity"}),
    # Reviews: partner users read their partner's reviews; running one is internal
    # (managers, admins, and the partner's channel manager).
    "pipeline_reviews:list": page("all", htmx=True),
    "pipeline_reviews:export": page("all"),
    "pipeline_reviews:create": page("internal"),
    "pipeline_reviews:detail": obj("all", {"pk": "review"}, ok=frozenset({200, 302})),
    "pipeline_reviews:recap": obj("all", {"pk": "review"}),
    "pipeline_reviews:setup": post("manager", {"pk": "review"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS),
    "pipeline_reviews:lead": post(
        "manager", {"pk": "review", "lead_pk": "lead"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:outcome": post(
        "manager",
        {"pk": "review", "deal_pk": "closed_opportunity"},
        ok=ANY_POST,
        ok_for=REVIEW_RUNNERS,
    ),
    "pipeline_reviews:deal-panel": obj(
        "manager", {"pk": "review"}, ok=frozenset({200, 302}), htmx=True, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:deal": post(
        "manager", {"pk": "review", "deal_pk": "opportunity"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:todo": post(
        "manager", {"pk": "review", "deal_pk": "opportunity"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:section": obj(
        "manager",
        {"pk": "review"},
        static=(("name", "pipeline"),),
        ok=frozenset({200, 302, 404}),
        htmx=True,
        ok_for=REVIEW_RUNNERS,
    ),
    "pipeline_reviews:commit": post(
        "manager", {"pk": "review"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:close": post("manager", {"pk": "review"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS),
    "pipeline_reviews:partner-note": post(
        "manager", {"pk": "review", "partner_pk": "partner"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:quarterly": post(
        "manager", {"pk": "quarterly_review"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:marketing-add": post(
        "manager", {"pk": "quarterly_review"}, ok=ANY_POST, ok_for=REVIEW_RUNNERS
    ),
    "pipeline_reviews:marketing-delete": post(
        "manager",
        {"pk": "quarterly_review", "action_pk": "marketing_action"},
        ok=ANY_POST,
        ok_for=REVIEW_RUNNERS,
    ),
    # Privacy: sales managers and admins erase people; the audit log is for admins.
    "privacy:audit-log": page("admin", htmx=True),
    "privacy:audit-export": page("admin"),
    "privacy:anonymise-contact": obj("manager", {"pk": "contact"}),
    "privacy:anonymise-lead": obj("manager", {"pk": "lead"}),
    # Django admin: not our views; partner users and reps must never see its content.
    "admin:*": page("admin_site"),
    # Its login form shows nothing; logging out only ends the session.
    "admin:login": page("public", ok=frozenset({200, 302})),
    "admin:logout": page("public", ok=frozenset({200, 302, 405})),
    # API tokens: each user creates theirs and revokes only theirs (anyone else's: 404).
    "api:token-create": post("all", data=(("name", "ERP"),), ok=OK),
    "api:token-revoke": post(
        "all",
        {"pk": "api_token"},
        ok=REDIRECT,
        ok_for=tuple((role, frozenset({302, 404})) for role in INTERNAL_ROLES),
    ),
    # The REST API (tests/api/ runs these rules again with bearer tokens): the scope of the
    # pages, 401 without credentials.
    **{
        f"api:{kind}-list": page("all", partner_must_show=True, anonymous=UNAUTHORIZED)
        for kind in ("lead", "account", "contact", "opportunity", "activity", "registration")
    },
    **{
        f"api:{kind}-detail": obj("all", {"pk": kind}, anonymous=UNAUTHORIZED)
        for kind in ("lead", "account", "contact", "opportunity", "activity", "registration")
    },
    "api:opportunity-history": obj("all", {"pk": "opportunity"}, anonymous=UNAUTHORIZED),
    "api:lead-history": obj("all", {"pk": "lead"}, anonymous=UNAUTHORIZED),
    "api:forecast": page("all", anonymous=UNAUTHORIZED),
    "api:schema": page("all", anonymous=UNAUTHORIZED),
    "api:docs": page("all", anonymous=UNAUTHORIZED),
}


def walk(patterns, namespace: str = "", route: str = ""):
    """(name, route, pattern) for every URL pattern, recursively."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, inner, route + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            name = (
                f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<{pattern.pattern}>"
            )
            yield name, route + str(pattern.pattern), pattern


ALL_ROUTES = sorted(
    {name: (route, pattern) for name, route, pattern in walk(get_resolver().url_patterns)}.items()
)


def rule_for(name: str) -> Rule | None:
    if name in RULES:
        return RULES[name]
    if name.startswith("admin:"):
        return RULES["admin:*"]
    return None


def test_every_url_has_a_declared_rule():
    missing = [f"{name} ({route})" for name, (route, _) in ALL_ROUTES if rule_for(name) is None]
    assert not missing, "URLs without a visibility rule in RULES: " + ", ".join(missing)


def test_no_rule_is_left_for_a_url_that_is_gone():
    names = {name for name, _ in ALL_ROUTES}
    stale = [name for name in RULES if name != "admin:*" and name not in names]
    assert not stale, "Rules for URLs that no longer exist: " + ", ".join(stale)


# The world: one of everything for partner A, partner B and internal (direct) business.


@dataclass
class World:
    users: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)  # kind -> {"a": obj, "b": obj, "internal": obj}
    partners: dict = field(default_factory=dict)


@pytest.fixture
def world(
    db, rep, manager, channel, partner_a, partner_b, partner_a_user, partner_b_user, admin_user
):
    w = World()
    w.users = {
        "anonymous": None,
        "rep": rep,
        "manager": manager,
        "channel": channel,
        "partner_a": partner_a_user,
        "partner_b": partner_b_user,
        "admin": admin_user,
    }
    w.partners = {"a": partner_a, "b": partner_b}
    today = timezone.localdate()
    sides = {"a": partner_a, "b": partner_b, "internal": None}
    for side, partner in sides.items():
        mark = MARK[side]
        account = AccountFactory(name=f"{mark} Compte SA")
        contact = ContactFactory(
            account=account, last_name=f"{mark}Contact", email=f"x@{mark.lower()}.ch"
        )
        deal = OpportunityFactory(
            name=f"{mark} Affaire",
            account=account,
            owner=rep,
            partner=partner,
            primary_contact=contact,
        )
        won = OpportunityFactory(
            name=f"{mark} Gagnée",
            account=account,
            owner=rep,
            partner=partner,
            stage=Stage.CLOSED_WON,
            probability=100,
            forecast_category=ForecastCategory.CLOSED,
        )
        lead = LeadFactory(
            last_name=f"{mark}Lead", company=f"{mark} Prospect", partner=partner, owner=rep
        )
        activity = Activity.objects.create(
            subject=f"{mark} Rappeler", opportunity=deal, due_date=today, created_by=rep
        )
        kind = ReviewKind.MONTHLY_PARTNER if partner else ReviewKind.CHANNEL_MANAGER
        review = Review.objects.create(
            kind=kind, partner=partner, period_start=today.replace(day=1), created_by=channel
        )
        saved_view = SavedView.objects.create(
            owner={"a": partner_a_user, "b": partner_b_user}.get(side, rep),
            list_name=SavedView.List.OPPORTUNITIES,
            name=f"{mark} Vue",
            query="stage=proposal",
            shared=True,
        )
        records = {
            "api_token": api_token_create(
                user={"a": partner_a_user, "b": partner_b_user}.get(side, rep), name=f"{mark} ERP"
            ).token,
            "saved_view": saved_view,
            "account": account,
            "contact": contact,
            "opportunity": deal,
            "closed_opportunity": won,
            "lead": lead,
            "activity": activity,
            "review": review,
        }
        if partner is not None:
            # Both partners' registrations share an email domain: a conflict between them.
            records["registration"] = DealRegistrationFactory(
                partner=partner,
                company_name=f"{mark} Enregistré SA",
                contact_last_name=f"{mark}Déclarant",
                contact_email=f"{mark.lower()}@commun-conflit.ch",
            )
            records["partner"] = partner
            quarterly = Review.objects.create(
                kind=ReviewKind.QUARTERLY,
                partner=partner,
                period_start=today.replace(day=1, month=((today.month - 1) // 3) * 3 + 1),
                created_by=channel,
            )
            records["quarterly_review"] = quarterly
            records["marketing_action"] = MarketingAction.objects.create(
                review=quarterly, action_type=f"{mark} Salon"
            )
            PartnerTarget.objects.create(
                partner=partner, year=today.year, quarter=1, revenue=Decimal(1000)
            )
        for kind_name, record in records.items():
            w.records.setdefault(kind_name, {})[side] = record
    quarter = period_containing(QUARTER, today)
    w.records["forecast_submission"] = {
        side: ForecastSubmission.objects.create(
            period_kind=quarter.kind,
            period_start=quarter.start,
            user=None if partner else rep,
            partner=partner,
            scope_key=f"partner:{partner.pk}" if partner else f"rep:{rep.pk}",
            week=today,
            commit=Decimal(1),
            best_case=Decimal(2),
            submitted_by={"a": partner_a_user, "b": partner_b_user}.get(side, rep),
        )
        for side, partner in sides.items()
    }
    w.records["channel_head"] = {"internal": channel}
    w.records["import_job"] = {
        "internal": ImportJob.objects.create(
            created_by=rep, filename="leads.csv", encoding="utf-8", delimiter=";", content="a;b\n"
        )
    }
    w.records["pipeline_import"] = {
        "internal": PipelineImport.objects.create(
            created_by=manager,
            kind=ImportKind.ACCOUNTS,
            status=PipelineImport.Status.CHECKED,
            filename="comptes.csv",
            encoding="utf-8",
            delimiter=";",
            content="Nom;Ville\nNouvelle SA;Sion\n",
            header=["Nom", "Ville"],
            mapping={"0": "name", "1": "city"},
        )
    }
    return w


def _allowed(rule: Rule, role: str) -> bool:
    if rule.who in ("public", "all"):
        return True
    if rule.who == "partner":
        return role in PARTNER_ROLES
    if role in PARTNER_ROLES:
        return False
    return {
        "internal": True,
        "channel": role in ("channel", "admin"),
        "manager": role in ("manager", "admin"),
        "admin": role == "admin",
        "admin_site": role == "admin",
        "owner": role == "rep",
        "importer": role == "manager",
    }[rule.who]


def _side_of(role: str) -> str:
    return {"partner_a": "a", "partner_b": "b"}.get(role, "a")


def _expected(rule: Rule, role: str) -> frozenset:
    if role in dict(rule.ok_for):
        return dict(rule.ok_for)[role]
    if _allowed(rule, role):
        return rule.ok
    return rule.partner_denied if role in PARTNER_ROLES else DENIED


def _cases(rule: Rule, role: str, world: World):
    """(label, records by kwarg, expected statuses) for one role."""
    own = _side_of(role)
    base = {
        kwarg: world.records[kind].get(own) or world.records[kind]["internal"]
        for kwarg, kind in rule.objs
    }
    if role == "anonymous":
        yield "anonymous", base, rule.anonymous or (rule.ok if rule.who == "public" else REDIRECT)
        return
    yield "own", base, _expected(rule, role)
    if role in PARTNER_ROLES:
        other = "b" if own == "a" else "a"
        for kwarg, kind in rule.objs:
            for side in (other, "internal"):
                record = world.records[kind].get(side)
                if record is None or record == base[kwarg]:
                    continue
                yield f"{kwarg}={side}", {**base, kwarg: record}, NOT_FOUND
    elif rule.objs:
        internal = {
            kwarg: world.records[kind].get("internal") or base[kwarg] for kwarg, kind in rule.objs
        }
        if internal != base:
            yield "internal records", internal, _expected(rule, role)


def _admin_kwargs(pattern) -> dict:
    kwargs = {}
    for name in pattern.pattern.regex.groupindex:
        if name == "app_label":
            kwargs[name] = "accounts"
        else:
            kwargs[name] = "1"
    return kwargs


def _request(client, rule: Rule, name: str, records: dict, htmx: bool = False):
    kwargs = {k: v.pk for k, v in records.items() if not k.startswith("?")}
    params = {k[1:]: v.pk for k, v in records.items() if k.startswith("?")}
    url = reverse(name, kwargs={**dict(rule.static), **kwargs} or None)
    headers = {"HX-Request": "true"} if htmx else {}
    if rule.method == "post":
        return url, client.post(url, {**dict(rule.data), **params}, headers=headers)
    return url, client.get(url, {**dict(rule.query), **params}, headers=headers)


def _assert_no_leak(response, role: str, world: World, label: str) -> None:
    own = _side_of(role)
    other = "b" if own == "a" else "a"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", errors="replace")
    for forbidden in (MARK[other], MARK["internal"], str(world.partners[other])):
        assert forbidden not in text, f"{label}: the page shows «{forbidden}»"
    return text


ROUTE_NAMES = [name for name, _ in ALL_ROUTES]


@pytest.mark.parametrize("name", [n for n in ROUTE_NAMES if rule_for(n) != RULES["admin:*"]])
def test_visibility(name, world, client):
    rule = rule_for(name)
    assert rule is not None, f"{name} has no rule"
    for role in ROLES:
        user = world.users[role]
        client.logout()
        if user is not None:
            client.force_login(user)
        for label, records, expected in _cases(rule, role, world):
            for htmx in (False, True) if rule.htmx else (False,):
                url, response = _request(client, rule, name, records, htmx=htmx)
                where = f"{name} as {role} ({label}{', htmx' if htmx else ''}) {url}"
                assert response.status_code in expected, (
                    f"{where}: got {response.status_code}, expected {sorted(expected)}"
                )
                if role == "anonymous" and rule.who != "public" and rule.anonymous is None:
                    assert response["Location"].startswith(LOGIN_URL), where
                if role in PARTNER_ROLES and response.status_code == 200:
                    text = _assert_no_leak(response, role, world, where)
                    if rule.partner_must_show and label == "own" and not htmx:
                        assert MARK[_side_of(role)] in text, f"{where}: own records missing"


def _check_admin(client, name, pattern, role):
    kwargs = _admin_kwargs(pattern)
    try:
        url = reverse(name, kwargs=kwargs or None)
    except Exception:  # noqa: BLE001 - unnamed catch-all: any path under admin
        url = "/admin/accounts/account/1/change/"
    response = client.get(url)
    where = f"{name} as {role} {url}"
    if role == "admin":
        assert response.status_code < 500, where
        return
    assert response.status_code in (302, 403, 404), f"{where}: got {response.status_code}"
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"] or response["Location"].startswith(
            LOGIN_URL
        ), where


def test_django_admin_is_closed_to_everyone_but_admins(
    client, rep, manager, channel, partner_a_user, partner_b_user, admin_user
):
    cast = {
        "anonymous": None,
        "partner_a": partner_a_user,
        "partner_b": partner_b_user,
        "rep": rep,
        "manager": manager,
        "channel": channel,
        "admin": admin_user,
    }
    admin_routes = [
        (name, pattern) for name, (_, pattern) in ALL_ROUTES if rule_for(name) == RULES["admin:*"]
    ]
    assert len(admin_routes) > 20
    for role, user in cast.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        for name, pattern in admin_routes:
            _check_admin(client, name, pattern, role)


def test_admin_changelists_work_for_the_admin(world, client):
    client.force_login(world.users["admin"])
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:partners_dealregistration_changelist")).status_code == 200


def test_search_shows_partner_a_only_its_own_records(world, client):
    client.force_login(world.users["partner_a"])
    text = client.get(reverse("search"), {"q": "ZQ"}).text
    assert MARK["a"] in text
    assert MARK["b"] not in text and MARK["internal"] not in text


def test_reassigned_deal_disappears_from_the_old_partner_everywhere(world, client):
    from partners.services import opportunity_assign_partner

    deal = world.records["opportunity"]["a"]
    opportunity_assign_partner(
        opportunity=deal,
        partner=world.partners["b"],
        by=world.users["channel"],
        expected_version=deal.version,
    )
    client.force_login(world.users["partner_a"])
    assert client.get(reverse("opportunities:detail", args=[deal.pk])).status_code == 404
    assert deal.name not in client.get(reverse("search"), {"q": "ZQ"}).text
    assert deal.name not in client.get(reverse("partners:portal")).text
    client.force_login(world.users["partner_b"])
    assert client.get(reverse("opportunities:detail", args=[deal.pk])).status_code == 200

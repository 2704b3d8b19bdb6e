"""The design system: navigation, themes, the style guide, components, contrast, forms that
show every field, the dashboards' links and the one CSV rule."""

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from accounts.forms import AccountForm, ContactForm
from activities.models import Activity
from leads.forms import LeadForm
from opportunities.models import Stage
from partners.forms import DealRegistrationForm
from tests import clock
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

TOKENS = Path(__file__).resolve().parent.parent / "static" / "css" / "tokens.css"


def active_entries(html: str) -> list[str]:
    nav = html.split('class="side-nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'aria-current="page"[^>]*>.*?<span class="nav-label">([^<]+)<', nav, re.S)


class TestNavigation:
    @pytest.mark.parametrize(
        ("name", "kwargs", "entry"),
        [
            ("opportunities:kanban", {}, "Pipeline (vue kanban)"),
            ("opportunities:kanban-column", {"stage": "proposal"}, "Pipeline (vue kanban)"),
            ("opportunities:list", {}, "Opportunités"),
            ("forecasting:metrics", {}, "Prévisions"),
            ("partners:registration-queue", {}, "Partenaires"),
            ("activities:my-tasks", {}, "Mes To do"),
        ],
    )
    def test_exactly_one_entry_is_active(self, client_for, manager, name, kwargs, entry):
        html = client_for(manager).get(reverse(name, kwargs=kwargs)).content.decode()
        assert active_entries(html) == [entry]

    def test_an_opportunity_belongs_to_the_opportunities(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        html = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk])).text
        assert active_entries(html) == ["Opportunités"]

    def test_a_partner_users_registrations_belong_to_the_portal(self, client_for, partner_a_user):
        html = client_for(partner_a_user).get(reverse("partners:registration-queue")).text
        assert active_entries(html) == ["Portail partenaire"]

    def test_the_style_guide_is_offered_to_staff_only(self, client_for, rep, admin_user):
        assert reverse("style-guide") not in client_for(rep).get("/").text
        assert reverse("style-guide") in client_for(admin_user).get("/").text


class TestTheme:
    def test_the_system_theme_by_default(self, client_for, rep):
        html = client_for(rep).get("/").text
        assert "data-theme=" not in html.split("<head>", 1)[0]

    def test_the_chosen_theme_is_kept_in_a_cookie(self, client_for, rep):
        client = client_for(rep)
        response = client.post(reverse("set_theme"), {"theme": "dark", "next": "/leads/"})
        assert response.status_code == 302 and response["Location"] == "/leads/"
        assert response.cookies["theme"].value == "dark"
        assert '<html lang="fr" data-theme="dark"' in client.get("/").text
        response = client.post(reverse("set_theme"), {"theme": "auto", "next": "/"})
        assert response.cookies["theme"].value == ""
        assert "data-theme=" not in client.get("/").text.split("<head>", 1)[0]

    def test_an_unknown_theme_or_a_foreign_next_is_ignored(self, client):
        response = client.post(
            reverse("set_theme"), {"theme": "<script>", "next": "https://evil.example/"}
        )
        assert response["Location"] == "/"
        client.cookies["theme"] = "<script>"
        assert "data-theme" not in client.get(reverse("login")).text.split("<head>", 1)[0]


class TestStyleGuide:
    def test_staff_see_every_component_in_both_themes(self, client_for, admin_user):
        html = client_for(admin_user).get(reverse("style-guide")).text
        for marker in (
            'data-scheme="light"',
            'data-scheme="dark"',
            'class="page-header"',
            'class="filter-bar',
            'class="form-section"',
            'class="stat-tile',
            'class="pill tone-success',
            'class="badge tone-warning"',
            'class="empty-state',
            'class="toast',
            "<dialog",
            'class="card',
            'class="tabs"',
            'class="messages"',
            "btn-danger",
            "secondary outline",
        ):
            assert marker in html, marker

    def test_others_do_not_learn_it_exists(self, client_for, manager, partner_a_user):
        assert client_for(manager).get(reverse("style-guide")).status_code == 404
        assert client_for(partner_a_user).get(reverse("style-guide")).status_code == 404


class TestComponentTag:
    def test_slots_and_values_reach_the_component(self):
        html = Template(
            '{% component "page_header" title=name %}'
            '{% slot "actions" %}<a href="/x">{{ label }}</a>{% endslot %}'
            '{% slot "meta" %}{% endslot %}'
            "{% endcomponent %}"
        ).render(Context({"name": "Comptes <b>", "label": "Nouveau"}))
        assert "<h1>Comptes &lt;b&gt;</h1>" in html
        assert '<div class="page-actions"><a href="/x">Nouveau</a></div>' in html
        # An empty slot leaves out its wrapper.
        assert "page-subtitle" not in html

    def test_a_slot_renders_in_the_callers_context(self):
        html = Template(
            '{% component "card" title="Outer" id="c" %}{{ title }}{% endcomponent %}'
        ).render(Context({"title": "Caller's"}))
        assert "Caller&#x27;s" in html


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _tokens() -> dict[str, tuple[str, str]]:
    text = TOKENS.read_text()
    pairs = re.findall(r"--crm-([\w-]+): light-dark\((#[0-9a-f]{6}), (#[0-9a-f]{6})\)", text)
    tokens = {name: (light, dark) for name, light, dark in pairs}
    tokens["on-primary"] = ("#ffffff", "#ffffff")
    return tokens


# (text, background): every pair the components put together.
TEXT_ON = [
    ("text", "bg"),
    ("text", "surface"),
    ("text", "surface-2"),
    ("text-muted", "bg"),
    ("text-muted", "surface"),
    ("text-muted", "surface-2"),
    ("link", "bg"),
    ("link", "surface"),
    ("link", "surface-2"),
    ("on-primary", "primary"),
    ("on-primary", "primary-hover"),
    ("nav-active-text", "nav-active-bg"),
    ("danger-text", "surface"),
    ("success-text", "surface"),
    *[(f"{tone}-text", f"{tone}-soft") for tone in ("neutral", "info", "accent", "success")],
    *[(f"{tone}-text", f"{tone}-soft") for tone in ("warning", "danger")],
]


@pytest.mark.parametrize("theme", [0, 1], ids=["light", "dark"])
@pytest.mark.parametrize(("text", "background"), TEXT_ON)
def test_text_contrast_is_aa_in_both_themes(text, background, theme):
    tokens = _tokens()
    ratio = _contrast(tokens[text][theme], tokens[background][theme])
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}"


class TestFormsShowEveryField:
    """Forms in titled sections name their fields: none may be left out."""

    @pytest.mark.parametrize(
        ("url_name", "form_class", "who"),
        [
            ("leads:create", LeadForm, "rep"),
            ("leads:create", LeadForm, "partner_a_user"),
            ("accounts:create", AccountForm, "rep"),
            ("accounts:contact-create", ContactForm, "rep"),
            ("partners:registration-create", DealRegistrationForm, "rep"),
            ("partners:registration-create", DealRegistrationForm, "partner_a_user"),
        ],
    )
    def test_every_field_is_on_the_page(self, client_for, request, url_name, form_class, who):
        response = client_for(request.getfixturevalue(who)).get(reverse(url_name))
        form = response.context["form"]
        assert isinstance(form, form_class)
        for name in form.fields:
            assert f'name="{name}"' in response.text, name
        assert response.text.count('class="form-section"') >= 2


class TestDashboardLinks:
    def test_deals_needing_attention_open_the_same_deals_in_the_list(self, client_for, rep):
        yesterday = timezone.localdate() - timezone.timedelta(days=1)
        for index in range(12):
            OpportunityFactory(owner=rep, name=f"En retard {index}", close_date=yesterday)
        OpportunityFactory(owner=rep, name="À jour")
        client = client_for(rep)
        dashboard = client.get(reverse("dashboard"))
        assert dashboard.context["mine"]["attention"]["count"] == 12
        link = f"{reverse('opportunities:list')}?attention=on&amp;mine=on"
        assert f'href="{link}"' in dashboard.text
        assert "10 affichés sur 12." in dashboard.text
        listed = client.get(reverse("opportunities:list"), {"attention": "on", "mine": "on"})
        assert listed.context["totals"]["count"] == 12

    def test_stage_counts_open_the_list_of_those_deals(self, client_for, rep, other_rep):
        OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        OpportunityFactory(owner=other_rep, stage=Stage.PROPOSAL, probability=50)
        client = client_for(rep)
        html = client.get(reverse("dashboard")).text
        link = f"{reverse('opportunities:list')}?stage=proposal&amp;mine=on"
        assert re.search(rf'<a href="{re.escape(link)}" data-stage-link="proposal">2</a>', html)
        listed = client.get(reverse("opportunities:list"), {"stage": "proposal", "mine": "on"})
        assert listed.context["totals"]["count"] == 2

    def test_team_figures_open_the_teams_deals_and_to_dos(
        self, client_for, manager, rep, other_rep
    ):
        today = timezone.localdate()
        OpportunityFactory(owner=rep, stage=Stage.NEGOTIATION, probability=75)
        deal = OpportunityFactory(owner=other_rep, stage=Stage.NEGOTIATION, probability=75)
        OpportunityFactory(owner=manager, stage=Stage.NEGOTIATION, probability=75)
        for index in range(12):
            Activity.objects.create(
                subject=f"Relance {index}", opportunity=deal, assignee=other_rep, due_date=today
            )
        client = client_for(manager)
        html = client.get(reverse("dashboard")).text
        assert f'href="{reverse("opportunities:list")}?stage=negotiation&amp;team=1"' in html
        listed = client.get(reverse("opportunities:list"), {"stage": "negotiation", "team": "1"})
        assert listed.context["totals"]["count"] == 2
        tasks_link = f"{reverse('activities:my-tasks')}?team=1"
        assert f'href="{tasks_link}" class="tasks-all"' in html
        tasks = client.get(reverse("activities:my-tasks"), {"team": "1"})
        assert tasks.context["today_group"]["count"] == 12

    def test_a_rep_asking_for_a_team_gets_their_own_tasks(self, client_for, rep, other_rep):
        deal = OpportunityFactory(owner=other_rep)
        Activity.objects.create(
            subject="Pas à moi", opportunity=deal, assignee=other_rep, due_date=clock.today()
        )
        response = client_for(rep).get(reverse("activities:my-tasks"), {"team": "1"})
        assert not response.context["team"] and "Pas à moi" not in response.text


def _rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


class TestExports:
    def test_accounts_follow_the_one_csv_rule(self, client_for, rep):
        AccountFactory(name="Laiterie du Jura SA", city="Saignelégier")
        response = client_for(rep).get(reverse("accounts:export"), {"q": "Laiterie"})
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        header, *rows = _rows(response)
        assert header[0] == "Nom" and len(rows) == 1
        assert rows[0][0] == "Laiterie du Jura SA" and rows[0][4] == "Saignelégier"

    def test_a_partner_user_exports_only_the_accounts_of_their_deals(
        self, client_for, partner_a, partner_b, partner_a_user
    ):
        OpportunityFactory(partner=partner_a, account__name="Compte de A SA")
        OpportunityFactory(partner=partner_b, account__name="Compte de B SA")
        AccountFactory(name="Compte interne SA")
        rows = _rows(client_for(partner_a_user).get(reverse("accounts:export")))
        names = {row[0] for row in rows[1:]}
        assert "Compte de A SA" in names
        assert not names & {"Compte de B SA", "Compte interne SA", "Beta Systèmes Sàrl"}

    def test_contacts_export_with_their_account(self, client_for, rep):
        ContactFactory(first_name="Yves", last_name="=Chappuis", account__name="Laiterie SA")
        header, row = _rows(client_for(rep).get(reverse("accounts:contact-export")))
        # A cell that would be a formula is written as text.
        assert row[:2] == ["Yves", "'=Chappuis"] and row[5] == "Laiterie SA"

    def test_partner_amounts_use_a_decimal_point(self, client_for, channel, partner_a):
        OpportunityFactory(partner=partner_a, amount=Decimal("1234.5"))
        rows = _rows(client_for(channel).get(reverse("partners:export")))
        row = next(r for r in rows[1:] if r[0] == partner_a.account.name)
        assert row[7] == "1234.50"

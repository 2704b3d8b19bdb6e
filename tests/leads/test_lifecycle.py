"""The lead page's lifecycle: the status path, the explicit status actions (start working,
qualify as MQL, disqualify with a reason, convert) and the qualification toggles."""

import re

import pytest
from django.urls import reverse

from leads.models import Lead, LeadStatus, LeadStatusChange
from tests import clock
from tests.factories.leads import OpenLeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

HTMX = {"HTTP_HX_REQUEST": "true"}


def detail(lead) -> str:
    return reverse("leads:detail", args=[lead.pk])


def page(client, lead) -> str:
    return client.get(detail(lead)).content.decode()


def path_states(html: str) -> list[tuple[str, str]]:
    path = html.split('id="lead-lifecycle"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'class="stage-step is-(\w+) lead-step-(\w+)"', path)


def toggle(client, lead, field, value, **extra):
    return client.post(
        reverse("leads:toggle", args=[lead.pk]), {"field": field, "value": value}, **extra
    )


class TestPath:
    def test_a_new_lead_starts_the_path(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        assert path_states(page(client_for(rep), lead)) == [
            ("current", "new"),
            ("todo", "working"),
            ("todo", "mql"),
            ("todo", "converted"),
        ]

    def test_a_disqualified_lead_ends_on_disqualified(self, client_for, rep):
        lead = OpenLeadFactory(
            owner=rep, status=LeadStatus.DISQUALIFIED, disqualification_reason="Hors cible"
        )
        html = page(client_for(rep), lead)
        assert path_states(html) == [
            ("done", "new"),
            ("done", "working"),
            ("todo", "mql"),  # never reached
            ("current", "disqualified"),
        ]
        # Read-only: no action, no toggle.
        assert "lead-action-" not in html and 'role="switch"' not in html

    def test_the_actions_follow_the_status(self, client_for, rep):
        client = client_for(rep)
        new = page(client, OpenLeadFactory(owner=rep))
        assert 'id="lead-action-working"' in new and 'id="lead-action-mql"' in new
        working = page(client, OpenLeadFactory(owner=rep, status=LeadStatus.WORKING))
        assert 'id="lead-action-working"' not in working and 'id="lead-action-mql"' in working
        for html in (new, working):
            assert 'id="lead-action-disqualify"' in html and 'id="disqualify-dialog"' in html
            assert 'id="convert-link"' in html

    def test_someone_who_may_not_edit_gets_no_action(self, client_for, rep, other_rep):
        html = page(client_for(rep), OpenLeadFactory(owner=other_rep))
        assert "lead-action-" not in html and 'role="switch"' not in html


class TestStatusActions:
    def test_qualify_as_mql(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, status=LeadStatus.WORKING)
        client = client_for(rep)
        response = client.post(reverse("leads:status", args=[lead.pk]), {"status": "mql"})
        assert response.status_code == 302
        lead.refresh_from_db()
        assert (lead.status, lead.reached_mql) == (LeadStatus.MQL, True)
        change = LeadStatusChange.objects.filter(lead=lead).latest("changed_at")
        assert (change.from_status, change.to_status, change.changed_by) == ("working", "mql", rep)
        assert path_states(page(client, lead))[2] == ("current", "mql")

    def test_disqualifying_needs_a_reason(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        client = client_for(rep)
        url = reverse("leads:status", args=[lead.pk])
        refused = client.post(url, {"status": "disqualified", "reason": " "}, follow=True)
        assert any("disqualifi" in str(m) for m in refused.context["messages"])
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW
        client.post(url, {"status": "disqualified", "reason": "Pas de budget avant 2028"})
        lead.refresh_from_db()
        assert (lead.status, lead.disqualification_reason) == (
            LeadStatus.DISQUALIFIED,
            "Pas de budget avant 2028",
        )


class TestToggles:
    def test_a_toggle_saves_through_the_service_and_answers_the_card(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        response = toggle(client_for(rep), lead, "budget_ok", "1", **HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="qualification"')
        assert 'aria-checked="true" id="toggle-budget_ok"' in html
        assert "lead-changed" in response["HX-Trigger"]
        lead.refresh_from_db()
        assert lead.budget_ok

    def test_the_value_sent_is_the_value_kept(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, need_ok=True)
        client = client_for(rep)
        toggle(client, lead, "need_ok", "1", **HTMX)  # someone already turned it on
        lead.refresh_from_db()
        assert lead.need_ok
        toggle(client, lead, "need_ok", "0", **HTMX)
        lead.refresh_from_db()
        assert not lead.need_ok

    def test_the_third_level_makes_a_prospect(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, organisation_fit=True, opportunity_fit=True)
        response = toggle(client_for(rep), lead, "stakeholder_fit", "1", **HTMX)
        assert 'id="prospect-status"' in response.content.decode()
        lead.refresh_from_db()
        assert lead.reached_prospect

    def test_without_javascript_it_comes_back_to_the_page(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        response = toggle(client_for(rep), lead, "timing_ok", "1")
        assert response.status_code == 302 and response["Location"] == detail(lead)
        assert Lead.objects.get(pk=lead.pk).timing_ok

    def test_a_read_only_lead_is_refused(self, client_for, rep):
        lead = OpenLeadFactory(
            owner=rep, status=LeadStatus.DISQUALIFIED, disqualification_reason="Hors cible"
        )
        response = toggle(client_for(rep), lead, "budget_ok", "1", **HTMX)
        assert response.status_code == 409
        assert not Lead.objects.get(pk=lead.pk).budget_ok

    def test_another_reps_lead_is_refused(self, client_for, rep, other_rep):
        lead = OpenLeadFactory(owner=other_rep)
        response = toggle(client_for(rep), lead, "budget_ok", "1", **HTMX)
        assert response.status_code == 403
        assert not Lead.objects.get(pk=lead.pk).budget_ok

    def test_only_the_qualification_flags_are_toggles(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        assert toggle(client_for(rep), lead, "status", "1", **HTMX).status_code == 404

    def test_a_partner_user_toggles_their_partners_lead(
        self, client_for, partner_a_user, partner_a
    ):
        lead = OpenLeadFactory(partner=partner_a, origin="bp")
        assert toggle(client_for(partner_a_user), lead, "need_ok", "1", **HTMX).status_code == 200
        assert Lead.objects.get(pk=lead.pk).need_ok

    def test_partner_gets_404_for_another_partners_lead(
        self, client_for, partner_a_user, partner_b
    ):
        lead = OpenLeadFactory(partner=partner_b, origin="bp")
        assert toggle(client_for(partner_a_user), lead, "need_ok", "1", **HTMX).status_code == 404
        assert not Lead.objects.get(pk=lead.pk).need_ok

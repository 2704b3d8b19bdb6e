"""Lead → prospect → opportunity (seed 004) and the leads waiting for a first contact."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from activities.models import ActivityKind
from leads.models import Lead, LeadStatus
from leads.selectors import leads_awaiting_first_contact
from leads.services import lead_convert, lead_create, lead_update
from tests.factories import ActivityFactory
from tests.factories.leads import OpenLeadFactory

pytestmark = pytest.mark.django_db


def _qualified(**extra):
    return {"organisation_fit": True, "opportunity_fit": True, "stakeholder_fit": True, **extra}


class TestProspect:
    def test_a_lead_becomes_a_prospect_when_the_three_levels_are_met(self, rep):
        lead = lead_create(by=rep, last_name="Dupuis", organisation_fit=True)
        assert not lead.reached_prospect
        with translation.override("en"):
            assert lead.missing_levels == ["Opportunity", "Stakeholder"]
        lead_update(lead=lead, by=rep, changes={"opportunity_fit": True, "stakeholder_fit": True})
        lead.refresh_from_db()
        assert lead.reached_prospect and lead.missing_levels == []

    def test_once_a_prospect_always_counted_so(self, rep):
        lead = lead_create(by=rep, last_name="Dupuis", **_qualified())
        assert lead.reached_prospect
        lead_update(lead=lead, by=rep, changes={"stakeholder_fit": False})
        lead.refresh_from_db()
        assert lead.reached_prospect  # the funnel keeps it, the page shows the gap
        with translation.override("en"):
            assert lead.missing_levels == ["Stakeholder"]

    def test_detail_page_names_the_missing_levels(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, organisation_fit=True)
        page = client_for(rep).get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert 'id="prospect-missing"' in page
        assert "Opportunité, Partie prenante" in page  # French by default
        assert 'id="prospect-status"' not in page

    def test_detail_page_shows_the_prospect_step_reached(self, client_for, rep):
        lead = lead_create(by=rep, last_name="Dupuis", **_qualified())
        page = client_for(rep).get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert 'id="prospect-status"' in page
        assert 'aria-checked="true" id="toggle-stakeholder_fit"' in page

    def test_list_filters_the_prospects(self, client_for, rep):
        prospect = lead_create(by=rep, last_name="Prospecté", **_qualified())
        lead_create(by=rep, last_name="Pasencore")
        response = client_for(rep).get(reverse("leads:list") + "?prospect=on")
        names = [lead.last_name for lead in response.context["page_obj"]]
        assert names == [prospect.last_name]

    def test_the_edit_form_saves_characteristics_and_signals(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, last_name="Favre")
        client = client_for(rep)
        form = client.get(reverse("leads:edit", args=[lead.pk])).context["form"]
        data = {k: v for k, v in form.initial.items() if v is not None and v is not False}
        data.update(
            {
                "last_name": "Favre",
                "source": lead.source,
                "origin": lead.origin,
                "pain_ok": "on",
                "pain_note": "Relevés à la main",
                "interest_ok": "on",
                "asked_pricing": "on",
                "tested_trial": "on",
            }
        )
        data.pop("partner", None)
        data.pop("owner", None)
        response = client.post(reverse("leads:edit", args=[lead.pk]), data)
        assert response.status_code == 302
        lead.refresh_from_db()
        assert (lead.pain_ok, lead.pain_note, lead.interest_ok, lead.fit_ok) == (
            True,
            "Relevés à la main",
            True,
            False,
        )
        with translation.override("en"):
            assert lead.buying_signals == ["Asked for pricing", "Tested a trial"]


class TestConversionCarriesTheDepth:
    def test_characteristics_and_signals_go_to_the_deal(self, rep):
        lead = lead_create(
            by=rep,
            last_name="Dupuis",
            company="Régie SA",
            owner=rep,
            fit_ok=True,
            fit_note="Parc de 40 immeubles",
            interest_ok=True,
            asked_demo=True,
            gave_decision_date=True,
            **_qualified(),
        )
        result = lead_convert(lead=lead, by=rep)
        deal = result.opportunity
        assert (deal.fit_ok, deal.fit_note, deal.interest_ok, deal.pain_ok) == (
            True,
            "Parc de 40 immeubles",
            True,
            False,
        )
        assert (deal.asked_demo, deal.asked_pricing, deal.tested_trial) == (True, False, False)
        assert deal.gave_decision_date
        assert not deal.amount_confirmed  # nobody confirmed an amount yet
        assert result.lead.reached_prospect


class TestAwaitingFirstContact:
    def test_lists_the_owners_open_leads_nobody_contacted_oldest_first(self, rep, other_rep):
        now = timezone.now()
        old = OpenLeadFactory(owner=rep, last_name="Ancien")
        Lead.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(days=5))
        recent = OpenLeadFactory(owner=rep, last_name="Récent")
        called = OpenLeadFactory(owner=rep, last_name="Appelé")
        ActivityFactory(
            lead=called, opportunity=None, kind=ActivityKind.CALL, done=True, done_at=now
        )
        planned = OpenLeadFactory(owner=rep, last_name="Planifié")
        # A call still to make, or a note, is no contact.
        ActivityFactory(lead=planned, opportunity=None, kind=ActivityKind.CALL, done=False)
        ActivityFactory(
            lead=planned, opportunity=None, kind=ActivityKind.NOTE, done=True, done_at=now
        )
        OpenLeadFactory(owner=other_rep, last_name="Autre")
        OpenLeadFactory(
            owner=rep,
            last_name="Écarté",
            status=LeadStatus.DISQUALIFIED,
            disqualification_reason="Hors cible",
        )
        waiting = [lead.pk for lead in leads_awaiting_first_contact(user=rep)]
        assert waiting[0] == old.pk
        assert set(waiting) == {old.pk, recent.pk, planned.pk}

    def test_dashboard_shows_them(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, last_name="Attente", company="")
        page = client_for(rep).get(reverse("dashboard")).content.decode()
        assert 'id="first-contact"' in page
        assert reverse("leads:detail", args=[lead.pk]) in page

    def test_dashboard_queries_do_not_grow_with_waiting_leads(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        for _ in range(10):
            OpenLeadFactory(owner=rep)
        with CaptureQueriesContext(connection) as small:
            client.get(reverse("dashboard"))
        Lead.objects.bulk_create(
            Lead(last_name=f"Bulk {i}", owner=rep, status=LeadStatus.NEW) for i in range(200)
        )
        with django_assert_max_num_queries(len(small.captured_queries)):
            response = client.get(reverse("dashboard"))
        assert len(response.context["mine"]["first_contact"]) == 10

    def test_the_lead_list_filters_the_leads_waiting(self, client_for, rep):
        waiting = OpenLeadFactory(owner=rep, last_name="Attente")
        called = OpenLeadFactory(owner=rep, last_name="Appelé")
        ActivityFactory(
            lead=called,
            opportunity=None,
            kind=ActivityKind.MEETING,
            done=True,
            done_at=timezone.now(),
        )
        response = client_for(rep).get(reverse("leads:list") + "?awaiting_contact=on")
        assert [lead.pk for lead in response.context["page_obj"]] == [waiting.pk]
        dashboard = client_for(rep).get(reverse("dashboard")).content.decode()
        assert "awaiting_contact=on" in dashboard

    def test_lead_list_queries_do_not_grow_when_filtered(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        url = reverse("leads:list") + "?awaiting_contact=on&prospect=on"

        def bulk(n):
            Lead.objects.bulk_create(
                Lead(
                    last_name=f"Bulk {i}",
                    owner=rep,
                    status=LeadStatus.NEW,
                    reached_prospect=True,
                )
                for i in range(n)
            )

        bulk(10)
        with CaptureQueriesContext(connection) as small:
            assert client.get(url).status_code == 200
        bulk(300)
        with django_assert_max_num_queries(len(small)):
            response = client.get(url)
        assert response.context["page_obj"].paginator.count == 310

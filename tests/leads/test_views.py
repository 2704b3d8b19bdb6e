import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact
from climcrm.models import AuditEntry
from leads import services
from leads.models import Lead, LeadStatus, LeadStatusChange
from opportunities.models import Opportunity, Stage
from tests import clock
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, OpportunityFactory
from tests.factories.leads import OpenLeadFactory, PartnerLeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def _bulk_leads(count, **values):
    now = timezone.now()
    return Lead.objects.bulk_create(
        [
            Lead(
                first_name="Prénom",
                last_name=f"Nom {i}",
                email=f"lead{i}@exemple.ch",
                company=f"Entreprise {i} SA",
                status_changed_at=now,
                **values,
            )
            for i in range(count)
        ]
    )


class TestList:
    def test_it_lists_leads_with_filters(self, client_for, rep):
        OpenLeadFactory(last_name="Zurbriggen", company="Alpes Immo SA", owner=rep)
        OpenLeadFactory(last_name="Favre", company="Lac Régie SA", status=LeadStatus.WORKING)
        response = client_for(rep).get(reverse("leads:list"), {"q": "alpes"})
        assert response.status_code == 200
        assert b"Zurbriggen" in response.content and b"Favre" not in response.content
        response = client_for(rep).get(reverse("leads:list"), {"status": "working"})
        assert b"Favre" in response.content and b"Zurbriggen" not in response.content
        response = client_for(rep).get(reverse("leads:list"), {"owner": rep.pk})
        assert b"Zurbriggen" in response.content and b"Favre" not in response.content

    def test_it_filters_by_created_range_and_sorts(self, client_for, rep):
        old = OpenLeadFactory(last_name="Ancien")
        Lead.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=90)
        )
        OpenLeadFactory(last_name="Récent")
        since = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
        response = client_for(rep).get(reverse("leads:list"), {"created_after": since})
        assert "Récent" in response.content.decode() and "Ancien" not in response.content.decode()
        response = client_for(rep).get(reverse("leads:list"), {"ordering": "last_name"})
        page = response.content.decode()
        assert page.index("Ancien") < page.index("Récent")

    def test_htmx_request_returns_only_the_results(self, client_for, rep):
        OpenLeadFactory(last_name="Zurbriggen")
        response = client_for(rep).get(reverse("leads:list"), headers={"HX-Request": "true"})
        content = response.content.decode()
        assert content.lstrip().startswith('<div id="results">')
        assert "Zurbriggen" in content and "<html" not in content

    def test_empty_state(self, client_for, rep):
        response = client_for(rep).get(reverse("leads:list"))
        assert "empty-state" in response.content.decode()

    @pytest.mark.parametrize("count", [10, 1000])
    def test_query_budget_does_not_grow_with_rows(
        self, client_for, rep, partner_a, count, django_assert_max_num_queries
    ):
        _bulk_leads(count // 2, owner=rep)
        _bulk_leads(count - count // 2, partner=partner_a, origin="bp")
        client = client_for(rep)
        with django_assert_max_num_queries(7):
            response = client.get(reverse("leads:list"))
        assert response.status_code == 200

    def test_partner_user_sees_only_the_partners_leads(
        self, client_for, partner_a, partner_b, partner_a_user
    ):
        PartnerLeadFactory(partner=partner_a, last_name="Mine")
        PartnerLeadFactory(partner=partner_b, last_name="Theirs")
        OpenLeadFactory(last_name="Internal")
        response = client_for(partner_a_user).get(reverse("leads:list"))
        content = response.content.decode()
        assert "Mine" in content and "Theirs" not in content and "Internal" not in content


class TestBulkActions:
    def test_bulk_assign(self, client_for, rep, other_rep):
        leads = [OpenLeadFactory(owner=rep), OpenLeadFactory(owner=rep)]
        response = client_for(rep).post(
            reverse("leads:bulk"),
            {"action": "assign", "owner": other_rep.pk, "leads": [lead.pk for lead in leads]},
            follow=True,
        )
        assert Lead.objects.filter(owner=other_rep).count() == 2
        assert "2" in str(list(response.context["messages"])[0])

    def test_bulk_status_reports_skipped_leads(self, client_for, rep):
        open_lead = OpenLeadFactory(owner=rep)
        closed = OpenLeadFactory(
            owner=rep, status=LeadStatus.DISQUALIFIED, disqualification_reason="x"
        )
        response = client_for(rep).post(
            reverse("leads:bulk"),
            {"action": "status", "status": "working", "leads": [open_lead.pk, closed.pk]},
            follow=True,
        )
        messages = [str(m) for m in response.context["messages"]]
        open_lead.refresh_from_db()
        assert open_lead.status == LeadStatus.WORKING
        assert any(str(closed) in m for m in messages)
        assert LeadStatusChange.objects.filter(lead=closed).count() == 1

    def test_bulk_disqualify_needs_a_reason(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        client_for(rep).post(
            reverse("leads:bulk"),
            {"action": "status", "status": "disqualified", "leads": [lead.pk]},
        )
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW

    def test_bulk_cannot_touch_leads_outside_the_scope(self, client_for, partner_a_user, partner_b):
        lead = PartnerLeadFactory(partner=partner_b)
        response = client_for(partner_a_user).post(
            reverse("leads:bulk"), {"action": "status", "status": "working", "leads": [lead.pk]}
        )
        assert response.status_code == 404
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW


class TestExport:
    def test_export_is_filtered_excel_csv_and_audited(self, client_for, rep):
        OpenLeadFactory(last_name="Zurbriggen", company="Alpes Immo SA")
        OpenLeadFactory(last_name="Favre")
        response = client_for(rep).get(reverse("leads:export"), {"q": "Alpes"})
        body = b"".join(response.streaming_content).decode("utf-8")
        assert body.startswith("\ufeff")
        assert "Zurbriggen;" in body and "Favre" not in body
        assert AuditEntry.objects.filter(action="export", detail__startswith="leads").exists()

    def test_partner_export_holds_only_the_partners_leads(
        self, client_for, partner_a, partner_b, partner_a_user
    ):
        PartnerLeadFactory(partner=partner_a, last_name="Mine")
        PartnerLeadFactory(partner=partner_b, last_name="Theirs")
        response = client_for(partner_a_user).get(reverse("leads:export"))
        body = b"".join(response.streaming_content).decode("utf-8")
        assert "Mine" in body and "Theirs" not in body


class TestDetailAndEdit:
    def test_detail_shows_checklist_activities_and_history(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, budget_ok=True, budget_note="Budget voté")
        ActivityFactory(lead=lead, opportunity=None, subject="Appeler la gérance")
        response = client_for(rep).get(reverse("leads:detail", args=[lead.pk]))
        content = response.content.decode()
        assert "Budget voté" in content and "Appeler la gérance" in content
        assert response.context["status_changes"].count() == 1

    def test_partner_user_gets_404_for_other_partners_lead(
        self, client_for, partner_b, partner_a_user
    ):
        lead = PartnerLeadFactory(partner=partner_b)
        client = client_for(partner_a_user)
        for name in ("leads:detail", "leads:edit", "leads:convert"):
            assert client.get(reverse(name, args=[lead.pk])).status_code == 404
        assert (
            client.post(reverse("leads:status", args=[lead.pk]), {"status": "working"}).status_code
            == 404
        )
        assert client.post(reverse("leads:convert", args=[lead.pk]), {}).status_code == 404

    def test_partner_user_sees_and_edits_own_partner_lead(
        self, client_for, partner_a, partner_a_user
    ):
        lead = PartnerLeadFactory(partner=partner_a)
        client = client_for(partner_a_user)
        assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200
        response = client.post(
            reverse("leads:edit", args=[lead.pk]),
            {"last_name": "Rossi", "source": "partner", "notes": "Rendez-vous fixé"},
        )
        assert response.status_code == 302
        lead.refresh_from_db()
        assert lead.notes == "Rendez-vous fixé" and lead.partner == partner_a

    def test_create_lead(self, client_for, rep):
        response = client_for(rep).post(
            reverse("leads:create"),
            {
                "last_name": "Dupuis",
                "email": "anne@exemple.ch",
                "source": "event",
                "origin": "rs",
                "owner": rep.pk,
            },
        )
        lead = Lead.objects.get()
        assert response.url == reverse("leads:detail", args=[lead.pk])
        assert lead.status_changes.count() == 1

    def test_create_with_errors_shows_the_form(self, client_for, rep):
        response = client_for(rep).post(
            reverse("leads:create"), {"email": "pas-un-email", "source": "event", "origin": "rs"}
        )
        assert response.status_code == 200
        assert response.context["form"].errors.keys() >= {"last_name", "email"}
        assert not Lead.objects.exists()

    def test_status_change_from_the_page(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        client_for(rep).post(
            reverse("leads:status", args=[lead.pk]),
            {"status": "disqualified", "reason": "Hors cible"},
        )
        lead.refresh_from_db()
        assert lead.status == LeadStatus.DISQUALIFIED
        change = lead.status_changes.last()
        assert change.changed_by == rep and change.to_status == "disqualified"

    def test_an_mql_lead_offers_its_next_actions_not_a_status_menu(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, status=LeadStatus.MQL, reached_mql=True)
        html = client_for(rep).get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert "<select" not in html.split('id="lead-lifecycle"')[0].split("page-header")[-1]
        assert 'id="lead-action-working"' in html  # back to working
        assert 'id="lead-action-mql"' not in html
        assert 'id="lead-action-disqualify"' in html and 'id="convert-link"' in html
        path = html.split('id="lead-lifecycle"', 1)[1].split("</nav>", 1)[0]
        assert re.findall(r'class="stage-step is-(\w+) lead-step-(\w+)"', path) == [
            ("done", "new"),
            ("done", "working"),
            ("current", "mql"),
            ("todo", "converted"),
        ]

    def test_choosing_the_current_status_again_changes_nothing(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, status=LeadStatus.MQL)
        response = client_for(rep).post(
            reverse("leads:status", args=[lead.pk]), {"status": "mql"}, follow=True
        )
        messages = [str(m) for m in response.context["messages"]]
        assert any("déjà" in m for m in messages)
        assert lead.status_changes.count() == 1

    def test_edit_of_read_only_lead_is_refused(self, client_for, rep):
        lead = OpenLeadFactory(
            owner=rep, status=LeadStatus.DISQUALIFIED, disqualification_reason="x"
        )
        response = client_for(rep).post(
            reverse("leads:edit", args=[lead.pk]), {"last_name": "Autre"}
        )
        assert response.status_code == 302
        lead.refresh_from_db()
        assert lead.last_name != "Autre"


class TestConvertPage:
    def test_it_proposes_duplicates_by_name_and_domain(self, client_for, rep):
        same_name = AccountFactory(name="REGIE EXEMPLE S.A.")
        same_domain = AccountFactory(name="Groupe Exemple Holding")
        ContactFactory(account=same_domain, email="paul@regie-exemple.ch")
        same_email = ContactFactory(account=same_name, email="anne@regie-exemple.ch")
        AccountFactory(name="Autre Régie Sàrl")
        lead = OpenLeadFactory(owner=rep, company="Régie Exemple SA", email="anne@regie-exemple.ch")
        response = client_for(rep).get(reverse("leads:convert", args=[lead.pk]))
        proposed = {p["account"] for p in response.context["proposals"]}
        assert proposed == {same_name, same_domain}
        assert response.context["contacts"] == [same_email]
        assert response.context["form"].initial["account"] == str(same_name.pk)
        assert response.context["form"].initial["contact"] == str(same_email.pk)

    def test_suggested_close_date_is_filled_in_the_date_input(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, project_name="Chemin des Vignes 5")
        response = client_for(rep).get(reverse("leads:convert", args=[lead.pk]))
        content = response.content.decode()
        assert f'value="{services.default_close_date().isoformat()}"' in content
        assert 'value="Chemin des Vignes 5"' in content

    def test_freemail_domain_proposes_nothing(self, client_for, rep):
        account = AccountFactory(name="Chez Moi")
        ContactFactory(account=account, email="someone@gmail.com")
        lead = OpenLeadFactory(owner=rep, company="Particulier", email="anne@gmail.com")
        response = client_for(rep).get(reverse("leads:convert", args=[lead.pk]))
        assert response.context["proposals"] == []

    def _post(self, client, lead, **extra):
        data = {
            "account": "new",
            "account_name": "Régie Exemple SA",
            "contact": "new",
            "create_opportunity": "on",
            "opportunity_name": "Régie Exemple SA",
            "amount": "25000",
            "close_date": "2027-06-30",
            "type": "",
            **extra,
        }
        return client.post(reverse("leads:convert", args=[lead.pk]), data)

    def test_convert_and_double_submit(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, company="Régie Exemple SA")
        client = client_for(rep)
        first = self._post(client, lead)
        opportunity = Opportunity.objects.get()
        assert first.status_code == 302
        # The new deal, marked on the board.
        assert first.url == f"{reverse('opportunities:kanban')}?highlight={opportunity.pk}"
        second = self._post(client, lead)
        assert second.status_code == 302 and second.url == first.url
        assert Opportunity.objects.count() == 1
        assert Account.objects.count() == 1 and Contact.objects.count() == 1
        assert opportunity.stage == Stage.QUALIFICATION
        assert str(opportunity.amount) == "25000.00"

    def test_converts_into_an_existing_account_and_contact(self, client_for, rep):
        account = AccountFactory(name="Régie Exemple SA")
        contact = ContactFactory(account=account, email="anne@regie-exemple.ch")
        lead = OpenLeadFactory(owner=rep, company="Régie Exemple", email="anne@regie-exemple.ch")
        self._post(client_for(rep), lead, account=str(account.pk), contact=str(contact.pk))
        lead.refresh_from_db()
        assert lead.converted_account == account and lead.converted_contact == contact
        assert Account.objects.count() == 1

    def test_a_contact_from_another_account_is_a_form_error(self, client_for, rep):
        account = AccountFactory(name="Régie Exemple SA")
        contact = ContactFactory(email="anne@regie-exemple.ch")
        lead = OpenLeadFactory(owner=rep, company="Régie Exemple", email="anne@regie-exemple.ch")
        response = self._post(
            client_for(rep), lead, account=str(account.pk), contact=str(contact.pk)
        )
        assert response.status_code == 200
        assert "contact" in response.context["form"].errors
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW

    def test_an_account_outside_the_proposals_is_refused(self, client_for, rep):
        stranger = AccountFactory(name="Sans Rapport SA")
        lead = OpenLeadFactory(owner=rep, company="Régie Exemple")
        response = self._post(client_for(rep), lead, account=str(stranger.pk))
        assert response.status_code == 200
        assert "account" in response.context["form"].errors

    def test_partner_user_cannot_convert_own_lead(self, client_for, partner_a, partner_a_user):
        lead = PartnerLeadFactory(partner=partner_a)
        response = self._post(client_for(partner_a_user), lead)
        assert response.status_code == 302
        assert not Opportunity.objects.exists()

    def test_detail_of_converted_lead_links_to_what_it_became(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, company="Régie Exemple SA")
        result = services.lead_convert(lead=lead, by=rep)
        response = client_for(rep).get(reverse("leads:detail", args=[lead.pk]))
        content = response.content.decode()
        assert result.opportunity.name in content and "conversion" in content
        assert not response.context["can_edit"]


def test_opportunity_factory_is_unaffected(db):
    assert OpportunityFactory().stage == Stage.QUALIFICATION


class TestAdmin:
    def test_admin_edits_go_through_the_service(self, client_for, admin_user):
        lead = OpenLeadFactory(last_name="Avant")
        data = {
            "first_name": "",
            "last_name": "Après",
            "email": "",
            "phone": "",
            "company": "",
            "job_title": "",
            "source": "other",
            "origin": "rs",
            "notes": "",
            "project_name": "",
            "status_changes-TOTAL_FORMS": "1",
            "status_changes-INITIAL_FORMS": "1",
            "status_changes-MIN_NUM_FORMS": "0",
            "status_changes-MAX_NUM_FORMS": "1000",
            "status_changes-0-id": lead.status_changes.get().pk,
            "status_changes-0-lead": lead.pk,
        }
        response = client_for(admin_user).post(
            reverse("admin:leads_lead_change", args=[lead.pk]), data
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        lead.refresh_from_db()
        assert lead.last_name == "Après"

    def test_converted_lead_is_read_only_in_the_admin(self, client_for, admin_user, rep):
        lead = OpenLeadFactory(owner=rep)
        services.lead_convert(lead=lead, by=rep, create_opportunity=False)
        client = client_for(admin_user)
        page = client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
        assert page.status_code == 200
        assert b'name="last_name"' not in page.content

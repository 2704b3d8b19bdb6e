from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from climcrm.models import AuditEntry
from leads.models import LeadStatus
from opportunities.models import Opportunity, OpportunityHistory
from privacy import services
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(rep):
    contact = ContactFactory(
        first_name="Héloïse",
        last_name="Marchand",
        email="heloise.marchand@example.ch",
        phone="+41 21 555 12 34",
        job_title="Directrice technique",
        notes="Préfère être appelée le matin",
    )
    return contact


@pytest.fixture
def deal(contact, rep):
    return OpportunityFactory(
        account=contact.account, primary_contact=contact, owner=rep, amount=Decimal("125000")
    )


@pytest.fixture
def lead(rep):
    return LeadFactory(
        first_name="Jean",
        last_name="Dupuis",
        email="jean.dupuis@prospect.ch",
        phone="079 555 00 11",
        company="Dupuis Immobilier SA",
        notes="Rencontré au salon, veut un devis",
        budget_note="Budget validé par Jean",
        planned_actions="Appeler Jean lundi",
        owner=rep,
    )


class TestAnonymiseContactService:
    def test_it_wipes_the_person_and_keeps_the_deal(self, contact, deal, manager):
        history_rows = OpportunityHistory.objects.filter(opportunity=deal).count()
        services.anonymise_contact(contact=contact, by=manager)
        contact.refresh_from_db()
        assert contact.first_name == ""
        assert contact.last_name == "Anonymisé"
        assert contact.email == ""
        assert contact.phone == ""
        assert contact.job_title == ""
        assert contact.notes == ""
        assert contact.anonymised_at is not None
        deal.refresh_from_db()
        assert deal.primary_contact_id == contact.pk
        assert deal.amount == Decimal("125000")
        assert OpportunityHistory.objects.filter(opportunity=deal).count() == history_rows
        assert contact.account.name  # the company is not personal data

    def test_it_is_audited_without_the_erased_values(self, contact, manager):
        services.anonymise_contact(contact=contact, by=manager)
        entry = AuditEntry.objects.get(action=AuditEntry.Action.ANONYMISE)
        assert entry.user == manager
        assert entry.detail == f"contact #{contact.pk}"
        assert "Marchand" not in entry.detail

    def test_a_rep_may_not_anonymise(self, contact, rep):
        with pytest.raises(PermissionError):
            services.anonymise_contact(contact=contact, by=rep)
        contact.refresh_from_db()
        assert contact.last_name == "Marchand"
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.ANONYMISE).exists()

    def test_anonymising_twice_is_refused(self, contact, admin_user):
        from django.core.exceptions import ValidationError

        services.anonymise_contact(contact=contact, by=admin_user)
        with pytest.raises(ValidationError):
            services.anonymise_contact(contact=contact, by=admin_user)
        assert AuditEntry.objects.filter(action=AuditEntry.Action.ANONYMISE).count() == 1


class TestAnonymiseLeadService:
    def test_it_wipes_the_person_and_notes_and_keeps_the_rest(self, lead, manager):
        deal = OpportunityFactory(lead=lead, amount=Decimal("42000"))
        ActivityFactory(lead=lead, opportunity=None)
        services.anonymise_lead(lead=lead, by=manager)
        lead.refresh_from_db()
        assert (lead.first_name, lead.email, lead.phone, lead.notes) == ("", "", "", "")
        assert lead.budget_note == "" and lead.planned_actions == ""
        assert lead.last_name == "Anonymisé"
        assert lead.company == "Dupuis Immobilier SA"
        assert lead.anonymised_at is not None
        assert lead.activities.count() == 1
        assert Opportunity.objects.get(pk=deal.pk).amount == Decimal("42000")
        entry = AuditEntry.objects.get(action=AuditEntry.Action.ANONYMISE)
        assert entry.detail == f"lead #{lead.pk}" and entry.user == manager

    def test_a_disqualified_lead_keeps_a_reason(self, manager):
        lead = LeadFactory(
            status=LeadStatus.DISQUALIFIED, disqualification_reason="Jean ne répond plus"
        )
        services.anonymise_lead(lead=lead, by=manager)
        lead.refresh_from_db()
        assert lead.disqualification_reason == "Anonymisé"

    def test_a_partner_user_may_not_anonymise(self, lead, partner_a_user):
        with pytest.raises(PermissionError):
            services.anonymise_lead(lead=lead, by=partner_a_user)


class TestAnonymiseContactPage:
    def url(self, contact):
        return reverse("privacy:anonymise-contact", args=[contact.pk])

    def test_it_asks_for_confirmation(self, client_for, manager, contact, deal):
        response = client_for(manager).get(self.url(contact))
        assert response.status_code == 200
        assert "Marchand" in response.text
        assert "1 opportunité liée" in response.text
        contact.refresh_from_db()
        assert contact.anonymised_at is None

    def test_post_anonymises_and_redirects(self, client_for, admin_user, contact):
        response = client_for(admin_user).post(self.url(contact))
        assert response.status_code == 302
        contact.refresh_from_db()
        assert contact.anonymised_at is not None
        entry = AuditEntry.objects.get(action=AuditEntry.Action.ANONYMISE)
        assert entry.ip_address == "127.0.0.1"

    def test_it_is_404_for_a_rep(self, client_for, rep, contact):
        assert client_for(rep).post(self.url(contact)).status_code == 404
        contact.refresh_from_db()
        assert contact.anonymised_at is None

    def test_it_is_404_for_a_partner_user(self, client_for, partner_a_user, contact):
        assert client_for(partner_a_user).get(self.url(contact)).status_code == 404

    def test_it_is_404_for_an_unknown_contact(self, client_for, manager):
        url = reverse("privacy:anonymise-contact", args=[999999])
        assert client_for(manager).get(url).status_code == 404

    def test_a_second_post_shows_an_error_and_writes_nothing(self, client_for, manager, contact):
        client = client_for(manager)
        client.post(self.url(contact))
        response = client.post(self.url(contact), follow=True)
        assert response.status_code == 200
        assert "déjà été anonymisé" in response.text
        assert AuditEntry.objects.filter(action=AuditEntry.Action.ANONYMISE).count() == 1

    def test_get_after_anonymisation_says_so(self, client_for, manager, contact):
        client = client_for(manager)
        client.post(self.url(contact))
        response = client.get(self.url(contact))
        assert "déjà été anonymisé" in response.text
        assert '<form method="post">' not in response.text


class TestAnonymiseLeadPage:
    def test_manager_anonymises_a_lead(self, client_for, manager, lead):
        url = reverse("privacy:anonymise-lead", args=[lead.pk])
        client = client_for(manager)
        assert "Dupuis" in client.get(url).text
        assert client.post(url).status_code == 302
        lead.refresh_from_db()
        assert lead.email == "" and lead.anonymised_at is not None

    def test_partner_user_gets_404(self, client_for, partner_a_user, partner_a):
        lead = LeadFactory(partner=partner_a)
        url = reverse("privacy:anonymise-lead", args=[lead.pk])
        assert client_for(partner_a_user).get(url).status_code == 404


class TestAuditLog:
    @staticmethod
    def audit_url(**params):
        from urllib.parse import urlencode

        base = reverse("privacy:audit-log")
        return f"{base}?{urlencode(params)}" if params else base

    def test_it_is_for_admins_only(self, client_for, manager, rep, partner_a_user):
        for user in (manager, rep):
            assert client_for(user).get(self.audit_url()).status_code == 403
        assert client_for(partner_a_user).get(self.audit_url()).status_code == 404

    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(self.audit_url())
        assert response.status_code == 302 and "/login/" in response.url

    def test_it_shows_logins_exports_and_anonymisations(self, client, admin_user, rep, contact):
        Client().post(reverse("login"), {"username": "rep", "password": "climcrm-demo"})
        Client().post(reverse("login"), {"username": "rep", "password": "wrong-password"})
        AuditEntry.objects.create(user=rep, action=AuditEntry.Action.EXPORT, detail="leads?q=x")
        services.anonymise_contact(contact=contact, by=admin_user)
        client.force_login(admin_user)
        response = client.get(self.audit_url())
        assert response.status_code == 200
        for label in ("Connexion", "Connexion échouée", "Export CSV", "Anonymisation"):
            assert label in response.text, label
        assert "leads?q=x" in response.text

    def test_it_filters_by_action_and_user(self, client_for, admin_user, rep, manager):
        AuditEntry.objects.create(user=rep, action=AuditEntry.Action.EXPORT, detail="rep-export")
        AuditEntry.objects.create(
            user=manager, action=AuditEntry.Action.EXPORT, detail="manager-export"
        )
        AuditEntry.objects.create(user=rep, action=AuditEntry.Action.LOGIN, detail="rep-login")
        client = client_for(admin_user)
        response = client.get(self.audit_url(action="export", user=rep.pk))
        assert "rep-export" in response.text
        assert "manager-export" not in response.text
        assert "rep-login" not in response.text

    def test_the_htmx_request_gets_only_the_results(self, client_for, admin_user):
        response = client_for(admin_user).get(
            self.audit_url(action="login"), HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div id="results">')

    @pytest.mark.parametrize(
        "params",
        [
            {"action": "nonsense"},
            {"user": "abc"},
            {"user": "-1"},
            {"start": "2026-13-45"},
            {"end": "2026-02-30"},
            {"user": "²"},
            {"page": "-5"},
            {"page": "99999999999999999999"},
            {"page": "NaN"},
        ],
    )
    def test_garbage_parameters_never_break_it(self, client_for, admin_user, params):
        AuditEntry.objects.create(user=admin_user, action=AuditEntry.Action.LOGIN)
        response = client_for(admin_user).get(self.audit_url(**params))
        assert response.status_code == 200

    def test_a_nul_character_is_refused(self, client_for, admin_user):
        response = client_for(admin_user).get(self.audit_url(end="\x00"))
        assert response.status_code == 400

    def test_invalid_filter_shows_nothing_but_the_error(self, client_for, admin_user):
        AuditEntry.objects.create(user=admin_user, action=AuditEntry.Action.LOGIN, detail="zzz")
        response = client_for(admin_user).get(self.audit_url(action="nonsense"))
        assert "zzz" not in response.text
        assert "form-errors" in response.text

    def test_it_is_paginated_with_the_same_queries_at_10_and_1000_rows(
        self, client_for, admin_user, rep, django_assert_max_num_queries
    ):
        client = client_for(admin_user)
        counts = []
        for total in (10, 1000):
            AuditEntry.objects.all().delete()
            AuditEntry.objects.bulk_create(
                AuditEntry(user=rep, action=AuditEntry.Action.EXPORT, detail=f"export {i}")
                for i in range(total)
            )
            with django_assert_max_num_queries(8) as captured:
                response = client.get(self.audit_url(page=1))
            assert response.status_code == 200
            counts.append(len(captured.captured_queries))
        assert counts[0] == counts[1]
        table = response.text.split("<table", 1)[1].split("</table>", 1)[0]
        assert table.count("<tr>") == 50 + 1  # 50 rows and the header
        assert "Page 1 sur 20" in response.text or "Page 1 de 20" in response.text


class TestTemplateTags:
    def render(self, user, obj):
        from django.template import Context, Template
        from django.test import RequestFactory

        request = RequestFactory().get("/")
        request.user = user
        template = Template("{% load privacy %}{% anonymise_link obj %}|{% audit_log_url %}")
        return template.render(Context({"request": request, "obj": obj}))

    def test_managers_get_the_link(self, manager, contact):
        html = self.render(manager, contact)
        assert reverse("privacy:anonymise-contact", args=[contact.pk]) in html
        assert html.endswith("|")  # no audit log for a sales manager

    def test_reps_get_nothing(self, rep, lead):
        assert self.render(rep, lead).strip() == "|"

    def test_admins_get_the_audit_log_too(self, admin_user, lead):
        html = self.render(admin_user, lead)
        assert reverse("privacy:anonymise-lead", args=[lead.pk]) in html
        assert html.endswith(reverse("privacy:audit-log"))

    def test_an_anonymised_record_shows_a_badge(self, manager, contact):
        services.anonymise_contact(contact=contact, by=manager)
        contact.refresh_from_db()
        html = self.render(manager, contact)
        assert "badge" in html and "/anonymise/" not in html

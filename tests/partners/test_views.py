import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import PartnerTarget
from activities.models import Activity
from opportunities.models import ForecastCategory, Opportunity, OpportunityHistory, Stage
from partners.models import DealRegistration, RegistrationStatus
from tests import clock
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    LeadFactory,
    OpportunityFactory,
    PartnerFactory,
)
from tests.factories.partners import DealRegistrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def _bulk_deals(count, *, partner, owner, prefix="Affaire"):
    account = AccountFactory()
    close = timezone.localdate() + datetime.timedelta(days=30)
    Opportunity.objects.bulk_create(
        Opportunity(
            name=f"{prefix} {i}",
            account=account,
            owner=owner,
            partner=partner,
            stage=Stage.PROPOSAL,
            probability=50,
            amount=Decimal("1000"),
            close_date=close,
            forecast_category=ForecastCategory.BEST_CASE,
        )
        for i in range(count)
    )


def _bulk_registrations(count, *, partner):
    DealRegistration.objects.bulk_create(
        DealRegistration(
            partner=partner,
            company_name=f"Client {i} SA",
            normalized_company=f"client {i}",
            contact_last_name="Martin",
            contact_email=f"m{i}@client{i}.ch",
            need="Climatisation",
            estimated_amount=Decimal("5000"),
            expected_close_date=timezone.localdate() + datetime.timedelta(days=20),
        )
        for i in range(count)
    )


class TestPartnerList:
    def test_internal_users_see_partners_with_their_pipeline(
        self, client_for, rep, partner_a, partner_b, channel
    ):
        OpportunityFactory(partner=partner_a, amount=Decimal("20000"), probability=50)
        OpportunityFactory(partner=partner_a, amount=Decimal("10000"), probability=10)
        response = client_for(rep).get(reverse("partners:list"))
        assert response.status_code == 200
        rows = {p.pk: p for p in response.context["page_obj"].object_list}
        assert rows[partner_a.pk].open_count == 2
        assert rows[partner_a.pk].open_amount == Decimal("30000")
        assert rows[partner_a.pk].open_weighted == Decimal("11000")
        assert rows[partner_b.pk].open_count == 0
        assert "Alpha Solutions SA" in response.text

    def test_partner_users_get_404(self, client_for, partner_a_user):
        assert client_for(partner_a_user).get(reverse("partners:list")).status_code == 404

    def test_htmx_request_gets_only_the_results(self, client_for, rep, partner_a):
        response = client_for(rep).get(reverse("partners:list"), headers={"HX-Request": "true"})
        assert response.text.lstrip().startswith('<div id="results">')
        assert "<html" not in response.text

    @pytest.mark.parametrize("count", [10, 1000])
    def test_query_count_does_not_grow_with_deals(
        self, client_for, rep, partner_a, partner_b, count, django_assert_max_num_queries
    ):
        _bulk_deals(count, partner=partner_a, owner=rep)
        _bulk_registrations(count, partner=partner_b)
        for _ in range(10):
            PartnerFactory()
        client = client_for(rep)
        with django_assert_max_num_queries(8):
            assert client.get(reverse("partners:list")).status_code == 200


class TestPartnerDetail:
    def test_shows_users_pipeline_and_business_plan(
        self, client_for, rep, partner_a, partner_a_user, channel
    ):
        year = timezone.localdate().year
        PartnerTarget.objects.create(partner=partner_a, year=year, quarter=2, revenue=80000)
        OpportunityFactory(partner=partner_a, stage=Stage.QUALIFICATION)
        response = client_for(rep).get(reverse("partners:detail", args=[partner_a.pk]))
        assert response.status_code == 200
        assert str(partner_a_user) in response.text
        assert response.context["plan"][1]["revenue"] == 80000
        qualification = response.context["by_stage"][0]
        assert qualification["stage"] == Stage.QUALIFICATION and qualification["count"] == 1
        # Only channel managers and admins get the business-plan form.
        assert response.context["formset"] is None

    def test_channel_manager_edits_the_quarterly_targets(self, client_for, channel, partner_a):
        client = client_for(channel)
        assert client.get(reverse("partners:detail", args=[partner_a.pk])).context["formset"]
        data = {
            "year": "2027",
            "form-TOTAL_FORMS": "4",
            "form-INITIAL_FORMS": "0",
            "form-MIN_NUM_FORMS": "4",
            "form-MAX_NUM_FORMS": "4",
        }
        for i in range(4):
            data.update(
                {
                    f"form-{i}-quarter": str(i + 1),
                    f"form-{i}-revenue": str(100000 * (i + 1)),
                    f"form-{i}-new_customers": "2",
                    f"form-{i}-leads": "15",
                }
            )
        response = client.post(reverse("partners:targets", args=[partner_a.pk]), data)
        assert response.status_code == 302
        targets = PartnerTarget.objects.filter(partner=partner_a, year=2027).order_by("quarter")
        assert [t.revenue for t in targets] == [100000, 200000, 300000, 400000]

    def test_invalid_target_shows_an_error(self, client_for, channel, partner_a):
        data = {
            "year": "2027",
            "form-TOTAL_FORMS": "4",
            "form-INITIAL_FORMS": "0",
            "form-MIN_NUM_FORMS": "4",
            "form-MAX_NUM_FORMS": "4",
        }
        for i in range(4):
            data.update({f"form-{i}-quarter": str(i + 1), f"form-{i}-revenue": "-5"})
        response = client_for(channel).post(reverse("partners:targets", args=[partner_a.pk]), data)
        assert response.status_code == 200
        assert "field-error" in response.text
        assert not PartnerTarget.objects.filter(partner=partner_a, year=2027).exists()

    def test_rep_cannot_post_targets(self, client_for, rep, partner_a):
        response = client_for(rep).post(reverse("partners:targets", args=[partner_a.pk]), {})
        assert response.status_code == 404


class TestPortal:
    def test_partner_sees_own_deals_todos_and_registrations(
        self, client_for, partner_a, partner_b, partner_a_user, rep
    ):
        mine = OpportunityFactory(name="Pompe à chaleur Sion", partner=partner_a)
        OpportunityFactory(name="Affaire de Beta", partner=partner_b)
        ActivityFactory(subject="Relancer l'architecte", opportunity=mine)
        DealRegistrationFactory(
            partner=partner_a,
            company_name="Refusée SA",
            status=RegistrationStatus.REJECTED,
            decision_reason="Déjà suivi en direct",
        )
        response = client_for(partner_a_user).get(reverse("partners:portal"))
        assert response.status_code == 200
        assert "Pompe à chaleur Sion" in response.text
        assert "Relancer l&#x27;architecte" in response.text
        assert "Déjà suivi en direct" in response.text
        assert "Affaire de Beta" not in response.text
        assert reverse("opportunities:edit", args=[mine.pk]) in response.text

    def test_partner_marks_a_todo_done_from_the_portal(self, client_for, partner_a, partner_a_user):
        todo = ActivityFactory(opportunity=OpportunityFactory(partner=partner_a))
        client = client_for(partner_a_user)
        assert (
            reverse("activities:toggle", args=[todo.pk])
            in client.get(reverse("partners:portal")).text
        )
        response = client.post(
            reverse("activities:toggle", args=[todo.pk]),
            {"done": "1", "next": reverse("partners:portal")},
        )
        assert response.status_code == 302
        todo.refresh_from_db()
        assert todo.done

    def test_internal_users_are_sent_to_the_partner_list(self, client_for, rep):
        response = client_for(rep).get(reverse("partners:portal"))
        assert response.status_code == 302
        assert response.url == reverse("partners:list")

    @pytest.mark.parametrize("count", [10, 1000])
    def test_query_count_does_not_grow_with_deals(
        self, client_for, partner_a, partner_a_user, rep, count, django_assert_max_num_queries
    ):
        _bulk_deals(count, partner=partner_a, owner=rep)
        _bulk_registrations(count, partner=partner_a)
        client = client_for(partner_a_user)
        with django_assert_max_num_queries(14):
            assert client.get(reverse("partners:portal")).status_code == 200


class TestPortalTodos:
    def test_open_todos_of_the_partners_deals_and_leads_by_due_date(
        self, client_for, partner_a, partner_b, partner_a_user
    ):
        today = timezone.localdate()
        deal = OpportunityFactory(partner=partner_a)
        lead = LeadFactory(partner=partner_a)
        on_deal = ActivityFactory(opportunity=deal, due_date=today + datetime.timedelta(days=5))
        on_lead = ActivityFactory(
            opportunity=None, lead=lead, due_date=today + datetime.timedelta(days=1)
        )
        ActivityFactory(opportunity=deal, done=True, due_date=today)
        ActivityFactory(opportunity=OpportunityFactory(partner=partner_b), due_date=today)
        response = client_for(partner_a_user).get(reverse("partners:portal"))
        assert list(response.context["todos"]) == [on_lead, on_deal]

    @pytest.mark.parametrize("count", [10, 1000])
    def test_query_count_does_not_grow_with_todos(
        self, client_for, partner_a, partner_b, partner_a_user, count, django_assert_max_num_queries
    ):
        today = timezone.localdate()
        mine = OpportunityFactory(partner=partner_a)
        theirs = OpportunityFactory(partner=partner_b)
        Activity.objects.bulk_create(
            Activity(
                subject=f"Tâche {i}",
                opportunity=mine if i % 2 else theirs,
                due_date=today + datetime.timedelta(days=i % 30),
            )
            for i in range(count)
        )
        client = client_for(partner_a_user)
        with django_assert_max_num_queries(14):
            response = client.get(reverse("partners:portal"))
        assert len(response.context["todos"]) == min(count // 2, 30)

    def test_deal_and_lead_todos_interleave_by_date_and_undated_ones_come_last(
        self, client_for, partner_a, partner_a_user
    ):
        today = timezone.localdate()
        deal = OpportunityFactory(partner=partner_a)
        lead = LeadFactory(partner=partner_a)
        undated = ActivityFactory(opportunity=deal, due_date=None)
        # Days 1..40: odd days on the lead, even days on the deal; the page keeps days 1..30.
        by_day = {
            day: ActivityFactory(
                opportunity=None if day % 2 else deal,
                lead=lead if day % 2 else None,
                due_date=today + datetime.timedelta(days=day),
            )
            for day in range(40, 0, -1)
        }
        todos = client_for(partner_a_user).get(reverse("partners:portal")).context["todos"]
        assert list(todos) == [by_day[day] for day in range(1, 31)]
        assert undated not in todos

    def test_undated_todos_fill_the_page_after_the_dated_ones(
        self, client_for, partner_a, partner_a_user
    ):
        deal = OpportunityFactory(partner=partner_a)
        lead = LeadFactory(partner=partner_a)
        undated = ActivityFactory(opportunity=None, lead=lead, due_date=None)
        dated = ActivityFactory(opportunity=deal)
        todos = client_for(partner_a_user).get(reverse("partners:portal")).context["todos"]
        assert list(todos) == [dated, undated]

    def test_a_todo_of_both_a_deal_and_a_lead_of_the_partner_is_listed_once(
        self, client_for, partner_a, partner_a_user
    ):
        todo = ActivityFactory(
            opportunity=OpportunityFactory(partner=partner_a), lead=LeadFactory(partner=partner_a)
        )
        todos = client_for(partner_a_user).get(reverse("partners:portal")).context["todos"]
        assert list(todos) == [todo]


class TestRegistrationForm:
    def _data(self, **overrides):
        data = {
            "company_name": "Boulangerie Favre SA",
            "contact_first_name": "Luc",
            "contact_last_name": "Favre",
            "contact_email": "luc@favre-boulangerie.ch",
            "need": "Froid pour le laboratoire",
            "estimated_amount": "25000",
            "expected_close_date": (timezone.localdate() + datetime.timedelta(days=40)).isoformat(),
        }
        data.update(overrides)
        return data

    def test_partner_user_registers_a_deal(self, client_for, partner_a_user, partner_b):
        response = client_for(partner_a_user).post(
            reverse("partners:registration-create"), self._data(partner=partner_b.pk)
        )
        registration = DealRegistration.objects.get()
        assert response.status_code == 302
        assert registration.partner == partner_a_user.partner
        assert registration.registered_by == partner_a_user
        assert registration.status == RegistrationStatus.SUBMITTED

    def test_missing_mandatory_fields_are_form_errors(self, client_for, partner_a_user):
        response = client_for(partner_a_user).post(
            reverse("partners:registration-create"),
            self._data(need="", estimated_amount="", contact_email=""),
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert set(form.errors) >= {"need", "estimated_amount", "__all__"}
        assert not DealRegistration.objects.exists()

    def test_internal_staff_choose_the_partner(self, client_for, rep, partner_b):
        client = client_for(rep)
        response = client.post(reverse("partners:registration-create"), self._data())
        assert "partner" in response.context["form"].errors
        client.post(reverse("partners:registration-create"), self._data(partner=partner_b.pk))
        assert DealRegistration.objects.get().partner == partner_b

    def test_returned_registration_is_completed_and_resubmitted(
        self, client_for, partner_a, partner_a_user
    ):
        registration = DealRegistrationFactory(
            partner=partner_a, status=RegistrationStatus.RETURNED, decision_reason="Quel budget ?"
        )
        client = client_for(partner_a_user)
        page = client.get(reverse("partners:registration-edit", args=[registration.pk]))
        assert "Quel budget ?" in page.text
        data = self._data(company_name=registration.company_name, estimated_amount="61000")
        response = client.post(reverse("partners:registration-edit", args=[registration.pk]), data)
        assert response.status_code == 302
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.SUBMITTED
        assert registration.estimated_amount == Decimal("61000")


class TestQueueAndDecision:
    def test_queue_flags_a_company_registered_by_two_partners(
        self, client_for, channel, partner_a, partner_b
    ):
        DealRegistrationFactory(partner=partner_a, company_name="Clinique des Alpes SA")
        DealRegistrationFactory(partner=partner_b, company_name="Clinique des Alpes")
        response = client_for(channel).get(reverse("partners:registration-queue"))
        assert response.text.count('class="badge badge-conflict"') == 2

    def test_queue_filters_by_partner_and_status(self, client_for, channel, partner_a, partner_b):
        DealRegistrationFactory(partner=partner_a, company_name="Chez A")
        DealRegistrationFactory(partner=partner_b, company_name="Chez B")
        DealRegistrationFactory(
            partner=partner_b, company_name="Rejetée B", status=RegistrationStatus.REJECTED
        )
        client = client_for(channel)
        response = client.get(reverse("partners:registration-queue"), {"partner": partner_b.pk})
        names = [r.company_name for r in response.context["page_obj"].object_list]
        assert names == ["Chez B"]
        response = client.get(
            reverse("partners:registration-queue"),
            {"status": "rejected"},
            headers={"HX-Request": "true"},
        )
        assert "Rejetée B" in response.text and "Chez A" not in response.text
        assert "<html" not in response.text

    @pytest.mark.parametrize("count", [10, 1000])
    def test_queue_query_count_does_not_grow(
        self, client_for, channel, partner_a, count, django_assert_max_num_queries
    ):
        _bulk_registrations(count, partner=partner_a)
        client = client_for(channel)
        with django_assert_max_num_queries(9):
            assert client.get(reverse("partners:registration-queue")).status_code == 200

    def test_decision_screen_shows_the_conflict(self, client_for, channel, partner_a, partner_b):
        DealRegistrationFactory(partner=partner_a, company_name="Hôtel Bellevue SA")
        second = DealRegistrationFactory(partner=partner_b, company_name="Hotel Bellevue")
        response = client_for(channel).get(
            reverse("partners:registration-detail", args=[second.pk])
        )
        assert response.context["conflicts"]["registrations"]
        assert 'id="conflicts"' in response.text
        assert str(partner_a) in response.text

    def test_partner_does_not_see_the_other_partners_claim(
        self, client_for, partner_a, partner_b, partner_b_user
    ):
        DealRegistrationFactory(partner=partner_a, company_name="Hôtel Bellevue SA")
        second = DealRegistrationFactory(partner=partner_b, company_name="Hotel Bellevue")
        response = client_for(partner_b_user).get(
            reverse("partners:registration-detail", args=[second.pk])
        )
        assert str(partner_a) not in response.text
        assert 'id="conflicts"' not in response.text

    def test_accept_through_the_screen_creates_the_deal(
        self, client_for, channel, rep, partner_a, django_capture_on_commit_callbacks
    ):
        registration = DealRegistrationFactory(partner=partner_a, company_name="Cave Rouge SA")
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(channel).post(
                reverse("partners:registration-accept", args=[registration.pk]),
                {"owner": rep.pk, "account": "new", "contact": "new"},
            )
        assert response.status_code == 302
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.ACCEPTED
        assert registration.opportunity.partner == partner_a
        assert registration.opportunity.owner == rep

    def test_accept_refused_while_a_mandatory_field_is_missing(
        self, client_for, channel, partner_a
    ):
        registration = DealRegistrationFactory(partner=partner_a, need="")
        client = client_for(channel)
        page = client.get(reverse("partners:registration-detail", args=[registration.pk]))
        assert 'aria-disabled="true"' in page.text
        response = client.post(
            reverse("partners:registration-accept", args=[registration.pk]),
            {"owner": channel.pk, "account": "new", "contact": "new"},
        )
        assert response.status_code == 200
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.SUBMITTED
        assert not Opportunity.objects.exists()

    def test_reject_needs_a_reason_and_emails_the_partner(
        self, client_for, channel, partner_a, partner_a_user, django_capture_on_commit_callbacks
    ):
        registration = DealRegistrationFactory(partner=partner_a, registered_by=partner_a_user)
        client = client_for(channel)
        url = reverse("partners:registration-reject", args=[registration.pk])
        response = client.post(url, {"reject-reason": ""})
        assert response.status_code == 200
        assert response.context["reject_form"].errors
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.SUBMITTED
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, {"reject-reason": "Projet déjà en cours avec un autre intégrateur"})
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.REJECTED
        (message,) = mail.outbox
        assert message.to == [partner_a_user.email]
        assert "Projet déjà en cours" in message.body

    def test_partner_sees_the_rejection_reason(self, client_for, partner_a, partner_a_user):
        registration = DealRegistrationFactory(
            partner=partner_a,
            status=RegistrationStatus.REJECTED,
            decision_reason="Hors de votre territoire",
        )
        response = client_for(partner_a_user).get(
            reverse("partners:registration-detail", args=[registration.pk])
        )
        assert "Hors de votre territoire" in response.text
        assert "accept-form" not in response.text


class TestAssignment:
    def test_bulk_assignment_from_the_list(self, client_for, channel, partner_a, partner_b, rep):
        deals = [OpportunityFactory(partner=partner_a, owner=rep) for _ in range(3)]
        client = client_for(channel)
        listing = client.get(reverse("partners:assign"), {"partner": partner_a.pk})
        assert len(listing.context["page_obj"].object_list) == 3
        response = client.post(
            reverse("partners:assign"),
            {
                "opportunities": [d.pk for d in deals[:2]],
                "partner": partner_b.pk,
                **{f"version-{d.pk}": d.version for d in deals},
            },
        )
        assert response.status_code == 302
        assert [Opportunity.objects.get(pk=d.pk).partner_id for d in deals] == [
            partner_b.pk,
            partner_b.pk,
            partner_a.pk,
        ]
        assert OpportunityHistory.objects.filter(tag="partner-assignment").count() == 2

    def test_assign_one_and_the_old_partner_loses_access(
        self, client_for, channel, partner_a, partner_b, partner_a_user, rep
    ):
        deal = OpportunityFactory(partner=partner_a, owner=rep)
        response = client_for(channel).post(
            reverse("partners:assign-one", args=[deal.pk]),
            {"partner": partner_b.pk, "version": deal.version},
        )
        assert response.status_code == 302
        client = client_for(partner_a_user)
        assert client.get(reverse("opportunities:detail", args=[deal.pk])).status_code == 404
        assert client.get(reverse("opportunities:edit", args=[deal.pk])).status_code == 404

    def test_stale_version_is_refused(self, client_for, channel, partner_a, partner_b, rep):
        deal = OpportunityFactory(partner=partner_a, owner=rep)
        response = client_for(channel).post(
            reverse("partners:assign-one", args=[deal.pk]),
            {"partner": partner_b.pk, "version": deal.version + 5},
        )
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        deal.refresh_from_db()
        assert deal.partner == partner_a

    @pytest.mark.parametrize("count", [10, 1000])
    def test_assign_list_query_count_does_not_grow(
        self, client_for, channel, partner_a, rep, count, django_assert_max_num_queries
    ):
        _bulk_deals(count, partner=partner_a, owner=rep)
        client = client_for(channel)
        with django_assert_max_num_queries(10):
            assert client.get(reverse("partners:assign")).status_code == 200


class TestAssignLinkOnTheDealPage:
    def test_channel_manager_gets_the_link_and_a_rep_does_not(
        self, client_for, channel, rep, partner_a
    ):
        deal = OpportunityFactory(owner=rep, partner=partner_a)
        link = reverse("partners:assign-one", args=[deal.pk])
        detail = reverse("opportunities:detail", args=[deal.pk])
        assert link in client_for(channel).get(detail).text
        assert link not in client_for(rep).get(detail).text

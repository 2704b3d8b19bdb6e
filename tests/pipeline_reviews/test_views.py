import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead
from opportunities.models import ForecastCategory, Opportunity, ReasonCode, Stage
from pipeline_reviews import services
from pipeline_reviews.models import Review, ReviewKind, ReviewStatus
from pipeline_reviews.selectors.common import SECTION_PAGE_SIZE
from tests import clock
from tests.factories import AccountFactory, LeadFactory, OpportunityFactory
from tests.factories.reviews import ClosedReviewFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


@pytest.fixture
def review_a(channel, partner_a, this_month):
    return services.review_create(
        by=channel, kind=ReviewKind.MONTHLY_PARTNER, partner=partner_a, period=this_month
    )


def url(name, review, *args):
    return reverse(f"pipeline_reviews:{name}", args=[review.pk, *args])


class TestScoping:
    def test_partner_user_reads_the_recap_of_their_partners_review(
        self, client_for, partner_a_user, review_a
    ):
        response = client_for(partner_a_user).get(url("detail", review_a))
        assert response.status_code == 200
        assert "pipeline_reviews/review_recap.html" in [t.name for t in response.templates]
        assert b"close-review" not in response.content

    def test_partner_gets_404_for_another_partners_review(
        self, client_for, partner_b_user, review_a
    ):
        client = client_for(partner_b_user)
        for name in ("detail", "recap"):
            assert client.get(url(name, review_a)).status_code == 404
        assert client.post(url("commit", review_a), {"commit_amount": "1"}).status_code == 404

    def test_partner_user_cannot_write_even_on_their_own_review(
        self, client_for, partner_a_user, review_a
    ):
        response = client_for(partner_a_user).post(url("commit", review_a), {"commit_amount": "1"})
        assert response.status_code == 404
        review_a.refresh_from_db()
        assert review_a.commit_amount is None

    def test_partner_never_sees_the_channel_manager_review(
        self, client_for, partner_a_user, manager, this_month
    ):
        cm_review = services.review_create(
            by=manager, kind=ReviewKind.CHANNEL_MANAGER, period=this_month
        )
        client = client_for(partner_a_user)
        assert client.get(url("detail", cm_review)).status_code == 404
        assert (
            cm_review.get_kind_display()
            not in client.get(reverse("pipeline_reviews:list")).content.decode()
        )

    def test_archive_lists_only_the_partners_own_reviews(
        self, client_for, partner_a_user, partner_a, partner_b, last_month
    ):
        own = ClosedReviewFactory(partner=partner_a, period_start=last_month)
        other = ClosedReviewFactory(partner=partner_b, period_start=last_month)
        response = client_for(partner_a_user).get(reverse("pipeline_reviews:list"))
        assert list(response.context["reviews"]) == [own]
        assert other not in response.context["reviews"]

    def test_sales_rep_may_read_but_not_run_a_review(self, client_for, rep, review_a):
        client = client_for(rep)
        assert client.get(url("recap", review_a)).status_code == 200
        assert client.post(url("commit", review_a), {"commit_amount": "1"}).status_code == 403


class TestMonthlyScreen:
    def test_renders_the_five_sections(self, client_for, channel, review_a, partner_a_deals):
        response = client_for(channel).get(url("detail", review_a))
        assert response.status_code == 200
        content = response.content.decode()
        for anchor in ('id="leads"', 'id="outcomes"', 'id="pipeline"', 'id="deals"', 'id="commit"'):
            assert anchor in content
        assert response.context["deal_count"] == 3
        assert response.context["deal"] == partner_a_deals[0]
        assert response.context["proposed_commit"] == Decimal("40000.00")

    def test_deal_panel_partial_for_htmx_full_page_otherwise(
        self, client_for, channel, review_a, partner_a_deals
    ):
        client = client_for(channel)
        partial = client.get(url("deal-panel", review_a) + "?position=2", HTTP_HX_REQUEST="true")
        assert partial.status_code == 200
        assert partial.content.decode().lstrip().startswith('<div id="deal-panel"')
        assert partner_a_deals[1].name in partial.content.decode()
        full = client.get(url("deal-panel", review_a) + "?position=2")
        assert full.status_code == 302 and "position=2" in full["Location"]

    def test_deal_update_through_htmx_tags_the_history(
        self, client_for, channel, review_a, partner_a_deals
    ):
        deal = partner_a_deals[0]
        response = client_for(channel).post(
            url("deal", review_a, deal.pk),
            {
                "version": deal.version,
                "stage": Stage.NEEDS_ANALYSIS,
                "amount": "11000",
                "probability": "25",
                "close_date": deal.close_date.isoformat(),
                "forecast_category": ForecastCategory.PIPELINE,
                "next_step": "Visite",
                "position": "1",
            },
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert "review-pipeline-changed" in response["HX-Trigger"]
        deal.refresh_from_db()
        assert (deal.stage, deal.amount, deal.next_step) == (
            Stage.NEEDS_ANALYSIS,
            Decimal("11000"),
            "Visite",
        )
        assert deal.history.order_by("-version").first().tag == f"review:{review_a.pk}"

    def test_stale_version_shows_a_clear_message(
        self, client_for, channel, rep, review_a, partner_a_deals
    ):
        from opportunities.services import opportunity_update

        deal = partner_a_deals[0]
        loaded = deal.version
        opportunity_update(
            opportunity=deal, by=rep, changes={"next_step": "Appel"}, expected_version=deal.version
        )
        response = client_for(channel).post(
            url("deal", review_a, deal.pk),
            {
                "version": loaded,
                "stage": deal.stage,
                "amount": "1",
                "probability": "10",
                "close_date": deal.close_date.isoformat(),
                "forecast_category": deal.forecast_category,
                "next_step": "",
            },
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 409
        assert (
            "Nothing was saved" in response.context["deal_error"]
            or "Rien" in response.context["deal_error"]
        )
        deal.refresh_from_db()
        assert deal.amount == Decimal("10000")

    def test_invalid_deal_values_re_render_the_form(
        self, client_for, channel, review_a, partner_a_deals
    ):
        deal = partner_a_deals[0]
        response = client_for(channel).post(
            url("deal", review_a, deal.pk),
            {"version": deal.version, "stage": "nope", "probability": "140", "close_date": "x"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 422
        assert response.context["deal_form"].errors

    def test_todo_added_from_the_deal_panel(
        self, client_for, channel, review_a, partner_a_deals, director_a
    ):
        deal = partner_a_deals[1]
        response = client_for(channel).post(
            url("todo", review_a, deal.pk),
            {
                "subject": "Rappeler le bureau d'ingénieurs",
                "assignee": director_a.pk,
                "due_date": "2026-12-10",
            },
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        todo = review_a.todos.get()
        assert (todo.opportunity, todo.assignee, todo.due_date) == (
            deal,
            director_a,
            datetime.date(2026, 12, 10),
        )

    def test_commit_is_saved_and_bad_input_is_a_form_error(self, client_for, channel, review_a):
        client = client_for(channel)
        bad = client.post(url("commit", review_a), {"commit_amount": "-5"}, HTTP_HX_REQUEST="true")
        assert bad.status_code == 422
        good = client.post(
            url("commit", review_a), {"commit_amount": "42000", "commit_note": "Solide"}
        )
        assert good.status_code == 302
        review_a.refresh_from_db()
        assert (review_a.commit_amount, review_a.commit_note) == (Decimal("42000"), "Solide")

    def test_lead_qualification_and_planned_actions_edited_in_place(
        self, client_for, channel, review_a, partner_a
    ):
        lead = LeadFactory(partner=partner_a, owner=channel)
        prefix = f"lead{lead.pk}"
        response = client_for(channel).post(
            url("lead", review_a, lead.pk),
            {
                f"{prefix}-organisation_fit": "on",
                f"{prefix}-need_ok": "on",
                f"{prefix}-planned_actions": "Visite",
            },
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        lead.refresh_from_db()
        assert lead.organisation_fit and lead.need_ok and not lead.budget_ok
        assert lead.planned_actions == "Visite"

    def test_outcome_of_a_lost_deal_is_recorded(self, client_for, channel, review_a, partner_a):
        deal = OpportunityFactory(
            partner=partner_a, stage=Stage.CLOSED_LOST, probability=0, loss_reason_id=1
        )
        prefix = f"deal{deal.pk}"
        response = client_for(channel).post(
            url("outcome", review_a, deal.pk),
            {
                f"{prefix}-version": deal.version,
                f"{prefix}-objective_reasons": "Prix",
                f"{prefix}-recovery_possible": "on",
                f"{prefix}-lessons_learned": "Qualifier le budget",
                f"{prefix}-corrective_actions": "Formation",
            },
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.recovery_possible and deal.corrective_actions == "Formation"
        assert deal.history.order_by("-version").first().tag == f"review:{review_a.pk}"

    def test_closing_redirects_to_the_recap_and_later_writes_are_refused(
        self,
        client_for,
        channel,
        review_a,
        partner_a_deals,
        partner_a_user,
        django_capture_on_commit_callbacks,
    ):
        client = client_for(channel)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url("close", review_a))
        assert response.status_code == 302 and response["Location"] == url("recap", review_a)
        review_a.refresh_from_db()
        assert review_a.status == ReviewStatus.CLOSED
        refused = client.post(
            url("commit", review_a), {"commit_amount": "5"}, HTTP_HX_REQUEST="true"
        )
        assert refused.status_code == 409
        toast = json.loads(refused["HX-Trigger"])["toast"]
        assert toast["kind"] == "error" and "clôturée" in toast["text"]
        deal = partner_a_deals[0]
        refused = client.post(
            url("deal", review_a, deal.pk),
            {
                "version": deal.version,
                "stage": deal.stage,
                "probability": "10",
                "close_date": deal.close_date.isoformat(),
                "forecast_category": "pipeline",
            },
        )
        assert refused.status_code == 302
        assert client.get(url("detail", review_a)).status_code == 200


def _bulk_deals(partner, owner, count):
    account = AccountFactory()
    today = timezone.localdate()
    Opportunity.objects.bulk_create(
        [
            Opportunity(
                name=f"Affaire {i}",
                account=account,
                owner=owner,
                partner=partner,
                stage=[Stage.QUALIFICATION, Stage.PROPOSAL, Stage.NEGOTIATION][i % 3],
                probability=[10, 50, 75][i % 3],
                amount=Decimal(1000 + i),
                forecast_category=[
                    ForecastCategory.PIPELINE,
                    ForecastCategory.BEST_CASE,
                    ForecastCategory.COMMIT,
                ][i % 3],
                close_date=today + datetime.timedelta(days=i % 90),
            )
            for i in range(count)
        ]
    )
    Lead.objects.bulk_create([Lead(last_name=f"Piste {i}", partner=partner) for i in range(count)])
    Opportunity.objects.bulk_create(
        [
            Opportunity(
                name=f"Gagnée {i}",
                account=account,
                owner=owner,
                partner=partner,
                stage=Stage.CLOSED_WON,
                probability=100,
                amount=Decimal(500),
                forecast_category=ForecastCategory.CLOSED,
                close_date=today,
                closed_at=timezone.now(),
            )
            for i in range(count // 10 or 1)
        ]
    )


HTMX = {"HTTP_HX_REQUEST": "true"}


def _closed_deals(partner, owner, *, won, lost):
    account = AccountFactory()
    Opportunity.objects.bulk_create(
        Opportunity(
            name=f"Close {i:03}",
            account=account,
            owner=owner,
            partner=partner,
            stage=Stage.CLOSED_WON if i < won else Stage.CLOSED_LOST,
            probability=100 if i < won else 0,
            amount=Decimal(1000 if i < won else 300),
            forecast_category=ForecastCategory.CLOSED if i < won else ForecastCategory.OMITTED,
            close_date=timezone.localdate(),
            closed_at=timezone.now() - datetime.timedelta(minutes=i),
            loss_reason_id=None if i < won else 1,
        )
        for i in range(won + lost)
    )


class TestPagedSections:
    def test_new_leads_show_a_page_and_count_them_all(
        self, client_for, channel, review_a, partner_a
    ):
        leads = [LeadFactory(partner=partner_a) for _ in range(SECTION_PAGE_SIZE + 3)]
        response = client_for(channel).get(url("detail", review_a))
        content = response.content.decode()
        assert f'id="lead-count">({len(leads)})' in content
        assert [lead for lead, _form in response.context["lead_rows"]] == leads[:SECTION_PAGE_SIZE]
        assert f'id="lead-{leads[SECTION_PAGE_SIZE].pk}"' not in content
        assert response.context["leads_next_page"] == 2
        assert url("section", review_a, "leads") + "?page=2" in content

    def test_load_more_leads_returns_the_next_rows_only(
        self, client_for, channel, review_a, partner_a
    ):
        leads = [LeadFactory(partner=partner_a) for _ in range(SECTION_PAGE_SIZE + 3)]
        response = client_for(channel).get(url("section", review_a, "leads") + "?page=2", **HTMX)
        assert response.status_code == 200
        content = response.content.decode()
        assert content.lstrip().startswith("<tr")
        assert [lead for lead, _form in response.context["lead_rows"]] == leads[SECTION_PAGE_SIZE:]
        assert f'id="lead-{leads[0].pk}"' not in content
        assert 'id="leads-more"' not in content
        assert 'id="leads"' not in content

    def test_without_javascript_load_more_reloads_the_page_with_more_rows(
        self, client_for, channel, review_a, partner_a
    ):
        leads = [LeadFactory(partner=partner_a) for _ in range(SECTION_PAGE_SIZE + 3)]
        client = client_for(channel)
        redirect = client.get(url("section", review_a, "leads") + "?page=2")
        assert redirect.status_code == 302
        assert redirect["Location"] == url("detail", review_a) + "?leads_page=2#leads"
        response = client.get(redirect["Location"])
        assert [lead for lead, _form in response.context["lead_rows"]] == leads
        assert response.context["leads_next_page"] is None

    def test_won_and_lost_totals_cover_every_deal_not_only_the_page(
        self, client_for, channel, rep, review_a, partner_a
    ):
        _closed_deals(partner_a, rep, won=SECTION_PAGE_SIZE + 2, lost=5)
        response = client_for(channel).get(url("detail", review_a))
        totals = response.context["outcome_totals"]
        assert (totals["count"], totals["won_count"], totals["lost_count"]) == (
            SECTION_PAGE_SIZE + 7,
            SECTION_PAGE_SIZE + 2,
            5,
        )
        assert totals["won_total"] == Decimal(1000 * (SECTION_PAGE_SIZE + 2))
        assert totals["lost_total"] == Decimal(1500)
        assert len(response.context["outcome_rows"]) == SECTION_PAGE_SIZE
        assert f'id="outcome-count">({SECTION_PAGE_SIZE + 7})' in response.content.decode()

    def test_load_more_outcomes_then_save_one_of_the_loaded_deals(
        self, client_for, channel, rep, review_a, partner_a
    ):
        _closed_deals(partner_a, rep, won=SECTION_PAGE_SIZE + 2, lost=0)
        client = client_for(channel)
        more = client.get(url("section", review_a, "outcomes") + "?page=2", **HTMX)
        loaded = [deal for deal, _form in more.context["outcome_rows"]]
        assert [deal.name for deal in loaded] == [
            f"Close {i:03}" for i in range(SECTION_PAGE_SIZE, SECTION_PAGE_SIZE + 2)
        ]
        assert 'id="outcomes-more"' not in more.content.decode()
        deal = loaded[-1]
        prefix = f"deal{deal.pk}"
        saved = client.post(
            url("outcome", review_a, deal.pk),
            {
                f"{prefix}-version": deal.version,
                f"{prefix}-lessons_learned": "Suivre le devis",
            },
            **HTMX,
        )
        assert saved.status_code == 200
        deal.refresh_from_db()
        assert deal.lessons_learned == "Suivre le devis"

    def test_only_the_leads_and_outcomes_sections_take_pages(self, client_for, channel, review_a):
        client = client_for(channel)
        assert client.get(url("section", review_a, "deals"), **HTMX).status_code == 404
        assert client.get(url("section", review_a, "leads") + "?page=x", **HTMX).status_code == 200


class TestDealWalk:
    def test_position_past_the_end_shows_the_last_deal(
        self, client_for, channel, review_a, partner_a_deals
    ):
        response = client_for(channel).get(url("deal-panel", review_a) + "?position=99", **HTMX)
        assert response.context["position"] == 3
        assert response.context["deal"] == partner_a_deals[2]
        assert response.context["next_position"] is None

    def test_a_saved_deal_stays_in_view_at_its_new_place(
        self, client_for, channel, review_a, partner_a_deals
    ):
        deal = partner_a_deals[0]
        later = partner_a_deals[2].close_date + datetime.timedelta(days=5)
        response = client_for(channel).post(
            url("deal", review_a, deal.pk),
            {
                "version": deal.version,
                "stage": deal.stage,
                "amount": "10000",
                "probability": "10",
                "close_date": later.isoformat(),
                "forecast_category": ForecastCategory.PIPELINE,
                "next_step": "",
                "position": "1",
                # The close date leaves its month: a reason goes with it.
                "reason_code": ReasonCode.objects.get(code="decision_delayed").pk,
            },
            **HTMX,
        )
        assert response.status_code == 200
        assert (response.context["position"], response.context["deal"]) == (3, deal)
        assert response.context["previous_position"] == 2


class TestQueryBudgets:
    def _count(self, client, path):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def test_review_screen_same_queries_at_10_and_1000_deals(
        self,
        client_for,
        channel,
        partner_a,
        partner_b,
        rep,
        this_month,
        django_assert_max_num_queries,
    ):
        small = services.review_create(
            by=channel, kind=ReviewKind.MONTHLY_PARTNER, partner=partner_a, period=this_month
        )
        big = services.review_create(
            by=channel, kind=ReviewKind.MONTHLY_PARTNER, partner=partner_b, period=this_month
        )
        _bulk_deals(partner_a, rep, 10)
        _bulk_deals(partner_b, rep, 1000)
        client = client_for(channel)
        client.get(url("detail", small))  # warm the session and caches
        at_10 = self._count(client, url("detail", small))
        at_1000 = self._count(client, url("detail", big))
        assert at_10 == at_1000
        with django_assert_max_num_queries(30):
            client.get(url("detail", big))
        with django_assert_max_num_queries(20):
            client.get(url("recap", big))

    def test_channel_manager_review_same_queries_at_10_and_1000_deals(
        self, client_for, manager, channel, partner_a, partner_b, rep, this_month
    ):
        review = services.review_create(
            by=manager, kind=ReviewKind.CHANNEL_MANAGER, period=this_month
        )
        client = client_for(manager)
        _bulk_deals(partner_a, rep, 10)
        client.get(url("detail", review))  # warm the session and caches
        at_10 = self._count(client, url("detail", review))
        _bulk_deals(partner_b, rep, 990)
        assert self._count(client, url("detail", review)) == at_10

    def test_quarterly_review_same_queries_at_10_and_1000_deals(
        self, client_for, channel, partner_a, partner_b, rep, this_month
    ):
        quarter = this_month.replace(month=(this_month.month - 1) // 3 * 3 + 1)
        small = services.review_create(
            by=channel, kind=ReviewKind.QUARTERLY, partner=partner_a, period=quarter
        )
        big = services.review_create(
            by=channel, kind=ReviewKind.QUARTERLY, partner=partner_b, period=quarter
        )
        _bulk_deals(partner_a, rep, 10)
        _bulk_deals(partner_b, rep, 1000)
        client = client_for(channel)
        client.get(url("detail", small))  # warm the session and caches
        assert self._count(client, url("detail", small)) == self._count(client, url("detail", big))

    @pytest.mark.parametrize("section", ["leads", "outcomes"])
    def test_load_more_same_queries_at_10_and_1000_rows(
        self, section, client_for, channel, partner_a, partner_b, rep, this_month
    ):
        small = services.review_create(
            by=channel, kind=ReviewKind.MONTHLY_PARTNER, partner=partner_a, period=this_month
        )
        big = services.review_create(
            by=channel, kind=ReviewKind.MONTHLY_PARTNER, partner=partner_b, period=this_month
        )
        _bulk_deals(partner_a, rep, 10)
        _bulk_deals(partner_b, rep, 1000)
        client = client_for(channel)
        path = "{}?page=2"
        client.get(path.format(url("section", small, section)), **HTMX)
        with CaptureQueriesContext(connection) as at_10:
            client.get(path.format(url("section", small, section)), **HTMX)
        with CaptureQueriesContext(connection) as at_1000:
            response = client.get(path.format(url("section", big, section)), **HTMX)
        assert response.status_code == 200
        assert len(at_10.captured_queries) == len(at_1000.captured_queries)

    def test_archive_same_queries_at_10_and_1000_reviews(
        self, client_for, channel, partner_a, django_assert_max_num_queries
    ):
        client = client_for(channel)
        Review.objects.bulk_create(
            [
                Review(
                    kind=ReviewKind.MONTHLY_PARTNER,
                    partner=partner_a,
                    period_start=datetime.date(2000 + i // 12, i % 12 + 1, 1),
                )
                for i in range(10)
            ]
        )
        client.get(reverse("pipeline_reviews:list"))
        at_10 = self._count(client, reverse("pipeline_reviews:list"))
        Review.objects.bulk_create(
            [
                Review(
                    kind=ReviewKind.QUARTERLY,
                    partner=partner_a,
                    period_start=datetime.date(1900 + i // 12, i % 12 + 1, 1),
                )
                for i in range(990)
            ]
        )
        at_1000 = self._count(client, reverse("pipeline_reviews:list"))
        assert at_10 == at_1000
        with django_assert_max_num_queries(12):
            client.get(reverse("pipeline_reviews:list") + "?ordering=partner&page=3")


class TestChannelManagerAndQuarterlyPages:
    def test_manager_creates_and_annotates_the_channel_manager_review(
        self, client_for, manager, channel, partner_a, this_month
    ):
        client = client_for(manager)
        response = client.post(
            reverse("pipeline_reviews:create"),
            {
                "kind": ReviewKind.CHANNEL_MANAGER,
                "period": this_month.strftime("%Y-%m"),
                "format": "call",
            },
        )
        assert response.status_code == 302
        review = Review.objects.get(kind=ReviewKind.CHANNEL_MANAGER)
        page = client.get(url("detail", review))
        assert page.status_code == 200 and partner_a.account.name in page.content.decode()
        response = client.post(
            url("partner-note", review, partner_a.pk),
            {
                f"p{partner_a.pk}-difficulties": "Délais",
                f"p{partner_a.pk}-support_requested": "Avant-vente",
            },
        )
        assert response.status_code == 302
        note = review.partner_notes.get(partner=partner_a)
        assert (note.difficulties, note.support_requested) == ("Délais", "Avant-vente")

    def test_quarterly_review_saves_its_sections_and_prints(
        self, client_for, channel, partner_a, this_month
    ):
        client = client_for(channel)
        response = client.post(
            reverse("pipeline_reviews:create"),
            {
                "kind": ReviewKind.QUARTERLY,
                "partner": partner_a.pk,
                "period": this_month.strftime("%Y-%m"),
                "format": "meeting",
            },
        )
        review = Review.objects.get(kind=ReviewKind.QUARTERLY)
        assert response.status_code == 302
        assert client.get(url("detail", review)).status_code == 200
        response = client.post(
            url("quarterly", review),
            {
                "difficulties": "Stock",
                "registrations_sales": "3",
                "registrations_consultants": "0",
                "registrations_telemarketers": "1",
            },
        )
        assert response.status_code == 302
        review.quarterly.refresh_from_db()
        assert (review.quarterly.difficulties, review.quarterly.registrations_sales) == ("Stock", 3)
        response = client.post(
            url("marketing-add", review),
            {"action_type": "Salon", "budget": "3000", "expected_leads": "8", "resources": ""},
        )
        assert response.status_code == 302 and review.marketing_actions.count() == 1
        bad = client.post(
            url("marketing-add", review), {"action_type": "", "budget": "-1", "expected_leads": "x"}
        )
        assert bad.status_code == 422
        recap = client.get(url("recap", review))
        assert b"Stock" in recap.content and b"Salon" in recap.content

    def test_create_form_errors_are_shown(self, client_for, channel):
        response = client_for(channel).post(
            reverse("pipeline_reviews:create"),
            {"kind": ReviewKind.MONTHLY_PARTNER, "period": "nope", "format": "call"},
        )
        assert response.status_code == 200
        assert response.context["form"].errors.keys() >= {"partner", "period"}


class TestTodoValidation:
    def test_todo_without_subject_or_date_is_a_form_error(
        self, client_for, channel, review_a, partner_a_deals
    ):
        response = client_for(channel).post(
            url("todo", review_a, partner_a_deals[0].pk),
            {"subject": "", "due_date": ""},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 422
        assert set(response.context["todo_form"].errors) == {"subject", "due_date"}
        assert not review_a.todos.exists()

    def test_todo_for_someone_of_another_partner_is_refused(
        self, client_for, channel, review_a, partner_a_deals, partner_b_user
    ):
        response = client_for(channel).post(
            url("todo", review_a, partner_a_deals[0].pk),
            {"subject": "Rappeler", "assignee": partner_b_user.pk, "due_date": "2030-01-01"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 422
        assert "assignee" in response.context["todo_form"].errors
        assert not review_a.todos.exists()


class TestLeadRefusals:
    def test_a_converted_lead_cannot_be_changed_from_the_review(
        self, client_for, channel, review_a, partner_a
    ):
        lead = LeadFactory(partner=partner_a, status="converted", planned_actions="")
        prefix = f"lead{lead.pk}"
        response = client_for(channel).post(
            url("lead", review_a, lead.pk),
            {f"{prefix}-planned_actions": "Relancer"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 422
        lead.refresh_from_db()
        assert lead.planned_actions == ""

    def test_lead_of_another_partner_is_404(self, client_for, channel, review_a, partner_b):
        lead = LeadFactory(partner=partner_b)
        response = client_for(channel).post(url("lead", review_a, lead.pk), {})
        assert response.status_code == 404

"""Figures exactly right and the same everywhere: rounded half up once, at display, in the
formats a company in Switzerland reads, in French and in English, in pages, emails and
exports."""

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from activities.models import ActivityKind
from climcrm import figures
from climcrm.periods import QUARTER, parse_period
from opportunities.models import ForecastCategory, LossReason, Stage, ladder_rank
from pipeline_reviews import emails, selectors, services
from pipeline_reviews.models import ReviewKind, ReviewStatus
from tests.factories import ActivityFactory, OpportunityFactory, UserFactory
from tests.factories.reviews import ClosedReviewFactory

D = Decimal
NBSP = "\u00a0"
ZURICH = ZoneInfo("Europe/Zurich")
MID_NOVEMBER = datetime.datetime(2026, 11, 16, 10, 0, tzinfo=ZURICH)
CLOSING = datetime.date(2026, 12, 5)


@pytest.fixture
def november(db):
    with time_machine.travel(MID_NOVEMBER):
        yield


@pytest.fixture
def weighted_deals(november, rep):
    """Three deals at 50 %, each weighing an odd half: 170 584.50 in all.

    Divided as integers (SQLite keeps whole amounts as integers) each loses its half and
    they weigh 170 583; cut instead of rounded, 170 584.50 shows as 170 584."""
    return [
        OpportunityFactory(
            owner=rep,
            stage=Stage.PROPOSAL,
            probability=50,
            forecast_category=ForecastCategory.BEST_CASE,
            amount=D(amount),
            close_date=CLOSING,
        )
        for amount in (100001, 100003, 141165)
    ]


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def part(html: str, element_id: str) -> str:
    """The element with ``id`` up to the end of its table row or table."""
    rest = html.split(f'id="{element_id}"', 1)[1]
    return rest.split("</tr>" if element_id.startswith("qbr-") else "</table>", 1)[0]


class TestRounding:
    def test_money_rounds_half_up_instead_of_cutting(self):
        with translation.override("fr"):
            assert figures.money(D("170584.50")) == f"CHF{NBSP}170’585"
            assert figures.money(D("170584.49")) == f"CHF{NBSP}170’584"
            assert figures.money(D("1663979.50"), 2) == f"CHF{NBSP}1’663’979.50"
        with translation.override("en"):
            assert figures.money(D("170584.50")) == f"CHF{NBSP}170,585"
            assert figures.money(D("1663979.495"), 2) == f"CHF{NBSP}1,663,979.50"

    def test_percentages_round_half_up_not_to_even(self):
        with translation.override("fr"):
            assert figures.percent(figures.rate(2, 3)) == f"67{NBSP}%"
            assert figures.percent(D("80.8")) == f"81{NBSP}%"
            assert figures.percent(figures.rate(5, 8)) == f"63{NBSP}%"  # 62.5
            assert figures.percent(figures.rate(1, 0)) == "—"

    def test_coverage_has_one_decimal_rounded_half_up(self):
        with translation.override("en"):
            assert figures.ratio(D("1.25")) == "1.3"
            assert figures.ratio(D(5) / D(4)) == "1.3"

    def test_no_figure_is_a_dash_and_a_small_loss_no_minus_zero(self):
        assert figures.money(None) == "—"
        assert figures.number("") == "—"
        assert figures.money(D("-0.4")) == f"CHF{NBSP}0"

    def test_template_filters_are_the_same_functions(self):
        from django.template import Context, Template

        template = Template("{{ a|money }} {{ p|percent }} {{ c|ratio }} {{ d|number:1 }}")
        with translation.override("fr"):
            text = template.render(
                Context({"a": D("170584.5"), "p": D(200) / 3, "c": D("1.25"), "d": 49.95})
            )
        assert text == f"CHF{NBSP}170’585 67{NBSP}% 1.3 50.0"

    def test_exports_carry_every_digit_with_a_point(self):
        assert figures.plain(D("170584.5")) == "170584.50"
        assert figures.plain(D("250.3750")) == "250.375"
        assert figures.plain(D(1000)) == "1000.00"
        assert figures.plain(None) == ""


class TestFormats:
    def test_dates_put_the_day_before_the_month(self):
        with translation.override("fr"):
            assert date_format(CLOSING, "SHORT_DATE_FORMAT") == "05.12.2026"
        with translation.override("en"):
            assert date_format(CLOSING, "SHORT_DATE_FORMAT") == "05/12/2026"
            assert date_format(CLOSING) == "5 Dec 2026"
            stamp = datetime.datetime(2026, 12, 5, 14, 30)
            assert date_format(stamp, "SHORT_DATETIME_FORMAT") == "05/12/2026 14:30"

    @pytest.mark.parametrize(
        ("language", "typed"),
        [("en", "05/12/2026"), ("en", "2026-12-05"), ("fr", "05.12.2026"), ("fr", "05/12/2026")],
    )
    def test_typed_dates_are_read_day_first(self, language, typed):
        with translation.override(language):
            assert forms.DateField().clean(typed) == CLOSING

    def test_a_quarter_is_named_in_each_language_and_keyed_the_same(self):
        period = parse_period("2026-Q4", QUARTER)
        assert period.key == "2026-Q4"
        with translation.override("fr"):
            assert period.label == "T4 2026"
        with translation.override("en"):
            assert period.label == "Q4 2026"

    def test_charts_group_figures_as_the_tables_beside_them(self, manager, november):
        from forecasting.reports.metrics import trends
        from forecasting.scopes import Scope

        for language, separator in (("fr", "’"), ("en", ",")):
            with translation.override(language):
                charts = trends(user=manager, scope=Scope())["charts"]
            assert {chart["thousands"] for chart in charts.values()} == {separator}


class TestWeightedPipelineEverywhere:
    EXPECTED_FR = f"CHF{NBSP}170’585"

    def test_dashboard_and_forecast_show_the_same_rounded_weighted(
        self, client_for, rep, weighted_deals
    ):
        client = client_for(rep)
        dashboard = page(client, reverse("dashboard"))
        forecast = page(client, reverse("forecasting:forecast"), period="2026-Q4")
        for html in (dashboard, forecast):
            assert self.EXPECTED_FR in html
            assert "170’584" not in html and "170’583" not in html

    def test_board_and_list_totals_agree(self, client_for, rep, weighted_deals):
        client = client_for(rep)
        board = page(client, reverse("opportunities:kanban"))
        listing = page(client, reverse("opportunities:list"))
        assert self.EXPECTED_FR in board
        assert self.EXPECTED_FR in listing

    def test_the_board_rounds_once_not_to_cents_first(self, client_for, rep, november):
        # 1 000.99 at 50 % weighs 500.495: 500 once rounded; 500.50, then 501, if its
        # cents were rounded first.
        OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50, amount=D("1000.99"))
        board = page(client_for(rep), reverse("opportunities:kanban"))
        assert f'<dd class="num kanban-weighted">CHF{NBSP}500</dd>' in board

    def test_english_pages_group_with_commas_and_name_the_quarter(
        self, client_for, rep, weighted_deals
    ):
        rep.language = "en"
        rep.save()
        html = page(client_for(rep), reverse("forecasting:forecast"), period="2026-Q4")
        assert f"CHF{NBSP}170,585" in html
        assert "Q4 2026" in html

    def test_the_forecast_export_is_exact_and_machine_readable(
        self, client_for, rep, weighted_deals
    ):
        response = client_for(rep).get(
            reverse("forecasting:forecast-export"), {"period": "2026-Q4"}
        )
        body = response.content.decode("utf-8")
        assert body.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
        # Period, rep, Closed, Commit, Best Case, Pipeline, Weighted pipeline, …
        assert [len(row) for row in rows] == [12, 12, 12]  # header, rep, total
        total = rows[-1]
        assert (total[4], total[6]) == ("341169.00", "170584.50")


@pytest.fixture
def closed_deals(november, rep, partner_a):
    """Partner A's qualified deals closed this quarter: 5 won, 3 lost (62.5 % won)."""
    loss = LossReason.objects.first()
    for index in range(8):
        won = index < 5
        OpportunityFactory(
            owner=rep,
            partner=partner_a,
            stage=Stage.CLOSED_WON if won else Stage.CLOSED_LOST,
            probability=100 if won else 0,
            forecast_category=ForecastCategory.CLOSED if won else ForecastCategory.OMITTED,
            amount=D(10000),
            close_date=datetime.date(2026, 11, 10),
            loss_reason=None if won else loss,
            furthest_rank=ladder_rank(Stage.NEGOTIATION)
            if not won
            else ladder_rank(Stage.CLOSED_WON),
        )


class TestWinRateEverywhere:
    def test_metrics_and_quarterly_review_show_the_same_rounded_win_rate(
        self, client_for, manager, channel, partner_a, closed_deals
    ):
        metrics = page(
            client_for(manager),
            reverse("forecasting:metrics"),
            period="2026-Q4",
            scope=f"partner:{partner_a.pk}",
        )
        win_rates = part(metrics, "win-rate-table")
        assert f"63{NBSP}%" in win_rates and f"62{NBSP}%" not in win_rates

        review = services.review_create(
            by=channel,
            kind=ReviewKind.QUARTERLY,
            partner=partner_a,
            period=datetime.date(2026, 10, 1),
        )
        qbr = page(client_for(channel), reverse("pipeline_reviews:detail", args=[review.pk]))
        assert part(qbr, "qbr-winrate").count(f"63{NBSP}%") == 2  # quarter and year to date


class TestQuarterlySalesVisits:
    def test_only_held_visits_count_and_planned_ones_show_apart(
        self, client_for, channel, partner_a, rep, november
    ):
        deal = OpportunityFactory(owner=rep, partner=partner_a)

        def visit(**values):
            return ActivityFactory(kind=ActivityKind.SALES_VISIT, opportunity=deal, **values)

        # Held in the quarter, though planned in the quarter before.
        visit(
            due_date=datetime.date(2026, 9, 28),
            done=True,
            done_at=datetime.datetime(2026, 10, 2, 9, tzinfo=ZURICH),
        )
        visit(due_date=datetime.date(2026, 11, 3))  # planned, not held
        visit(  # held in the summer: this year, not this quarter
            due_date=datetime.date(2026, 7, 1),
            done=True,
            done_at=datetime.datetime(2026, 7, 1, 14, tzinfo=ZURICH),
        )
        ActivityFactory(kind=ActivityKind.CALL, opportunity=deal, done=True)  # not a visit

        quarter = selectors.quarterly.business_figures(
            partner_id=partner_a.pk, start=datetime.date(2026, 10, 1), end=datetime.date(2027, 1, 1)
        )
        assert (quarter["visits"], quarter["visits_planned"]) == (1, 1)
        year = selectors.quarterly.business_figures(
            partner_id=partner_a.pk, start=datetime.date(2026, 1, 1), end=datetime.date(2027, 1, 1)
        )
        assert (year["visits"], year["visits_planned"]) == (2, 1)

        review = services.review_create(
            by=channel,
            kind=ReviewKind.QUARTERLY,
            partner=partner_a,
            period=datetime.date(2026, 10, 1),
        )
        html = page(client_for(channel), reverse("pipeline_reviews:detail", args=[review.pk]))
        assert '<td class="num">1</td><td class="num">2</td>' in part(html, "qbr-visits")
        assert '<td class="num">1</td><td class="num">1</td>' in part(html, "qbr-visits-planned")


class TestHeaderSearch:
    def test_the_forecast_query_does_not_fill_the_header_search(self, client_for, manager):
        html = page(client_for(manager), reverse("forecasting:forecast"), period="2026-Q4")
        header = html.split('class="header-search"', 1)[1].split("</form>", 1)[0]
        assert 'value=""' in header
        assert "period=" not in header

    def test_the_search_page_keeps_what_was_searched(self, client_for, manager):
        html = page(client_for(manager), reverse("search"), q="Pompe")
        header = html.split('class="header-search"', 1)[1].split("</form>", 1)[0]
        assert 'value="Pompe"' in header


class TestClosedReviewBadge:
    @pytest.fixture
    def closed_review(self, partner_a):
        return ClosedReviewFactory(
            partner=partner_a,
            period_start=datetime.date(2026, 12, 1),
            closed_at=datetime.datetime(2026, 12, 5, 10, tzinfo=ZURICH),
        )

    def test_it_reads_closed_on_with_the_date(self, client_for, channel, closed_review):
        html = page(client_for(channel), reverse("pipeline_reviews:list"))
        assert "Clôturée le 05.12.2026" in html
        channel.language = "en"
        channel.save()
        html = page(client_for(channel), reverse("pipeline_reviews:list"))
        assert "Closed on 05/12/2026" in html

    def test_the_status_alone_is_not_the_label_of_a_deals_close_date(self):
        with translation.override("fr"):
            assert str(ReviewStatus.CLOSED.label) == "Clôturée"

    def test_a_deals_close_date_keeps_its_label(self, client_for, rep, november):
        deal = OpportunityFactory(owner=rep, stage=Stage.CLOSED_WON, probability=100)
        html = page(client_for(rep), reverse("opportunities:detail", args=[deal.pk]))
        assert "<dt>Clôturée le</dt><dd>16.11.2026 10:00</dd>" in html


class TestRecapEmail:
    def test_each_recipient_reads_the_figures_in_their_language(
        self, channel, partner_a, partner_a_user, rep, november
    ):
        OpportunityFactory(
            owner=rep,
            partner=partner_a,
            stage=Stage.PROPOSAL,
            probability=50,
            amount=D(100001),
            close_date=CLOSING,
        )
        review = services.review_create(
            by=channel,
            kind=ReviewKind.MONTHLY_PARTNER,
            partner=partner_a,
            period=datetime.date(2026, 11, 1),
        )
        data = selectors.monthly.monthly_recap_data(user=channel, review=review)
        english = UserFactory(username="reader_en", language="en")
        french = emails.render_recap(review=review, data=data, recipient=partner_a_user)
        english = emails.render_recap(review=review, data=data, recipient=english)
        # 100 001 at 50 % weighs 50 000.50: 50 001 once rounded half up, in both languages.
        assert f"CHF{NBSP}50’001" in french["text_body"]
        assert f"CHF{NBSP}50’001" in french["html_body"]
        assert "05.12.2026" in french["text_body"]
        assert "novembre 2026" in french["subject"]
        assert f"CHF{NBSP}50,001" in english["text_body"]
        assert f"CHF{NBSP}50,001" in english["html_body"]
        assert "05/12/2026" in english["text_body"]
        assert "November 2026" in english["subject"]

    def test_the_recap_keeps_every_digit_until_it_is_shown(
        self, channel, partner_a, partner_a_user, rep, november
    ):
        # 1 000.99 at 50 % weighs 500.495: 500 once rounded, 501 if rounded to cents first.
        OpportunityFactory(
            owner=rep,
            partner=partner_a,
            stage=Stage.PROPOSAL,
            probability=50,
            amount=D("1000.99"),
            close_date=CLOSING,
        )
        review = services.review_create(
            by=channel,
            kind=ReviewKind.MONTHLY_PARTNER,
            partner=partner_a,
            period=datetime.date(2026, 11, 1),
        )
        data = selectors.monthly.monthly_recap_data(user=channel, review=review)
        assert data["deals"][0]["weighted"] == "500.495"
        body = emails.render_recap(review=review, data=data, recipient=partner_a_user)["text_body"]
        assert f"CHF{NBSP}500\n" in body and f"CHF{NBSP}501" not in body

"""Figures exactly right and the same everywhere: rounded half up once, at display, in the
formats a company in Switzerland reads, in French and in English, in pages, emails and
exports."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms
from django.utils import translation
from django.utils.formats import date_format

from climcrm import figures
from forecasting.periods import QUARTER, parse_period

D = Decimal
NBSP = "\u00a0"
ZURICH = ZoneInfo("Europe/Zurich")
MID_NOVEMBER = datetime.datetime(2026, 11, 16, 10, 0, tzinfo=ZURICH)
CLOSING = datetime.date(2026, 12, 5)


@pytest.fixture
def november(db):
    with time_machine.travel(MID_NOVEMBER):
        yield


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
        from forecasting.scopes import Scope
        from forecasting.selectors import trends

        for language, separator in (("fr", "’"), ("en", ",")):
            with translation.override(language):
                charts = trends(user=manager, scope=Scope())["charts"]
            assert {chart["thousands"] for chart in charts.values()} == {separator}

"""Charts drawn in HTML: bar lengths from the figures the tables show."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from climcrm.charts import largest, share, stacked

pytestmark = pytest.mark.django_db


class TestShare:
    @pytest.mark.parametrize(
        ("value", "scale", "expected"),
        [
            (1, 8, "12.5"),
            (1, 3, "33.3"),
            (2, 3, "66.7"),
            # Half up, not half to even: 6.25 is 6.3 (round() would give 6.2).
            (Decimal("0.0625"), 1, "6.3"),
            (Decimal("0.0635"), 1, "6.4"),
            (8, 8, "100.0"),
        ],
    )
    def test_percent_of_the_scale_to_a_tenth_half_up(self, value, scale, expected):
        assert share(value, scale) == Decimal(expected)

    @pytest.mark.parametrize(
        ("value", "scale"), [(None, 10), (0, 10), (-5, 10), (5, 0), (5, None), ("x", 10)]
    )
    def test_nothing_to_draw_is_zero(self, value, scale):
        assert share(value, scale) == 0

    def test_above_the_scale_is_full_length(self):
        assert share(15, 10) == 100

    def test_largest_skips_missing_figures(self):
        assert largest([None, Decimal("3.5"), 2, "x"]) == Decimal("3.5")
        assert largest([]) == 0


class TestStacked:
    def test_segments_are_laid_end_to_end_without_gap_or_overlap(self):
        segments = stacked([("a", "A", 1), ("b", "B", 1), ("c", "C", 1)])
        assert [(s.offset, s.width) for s in segments] == [
            (Decimal("0"), Decimal("33.3")),
            (Decimal("33.3"), Decimal("33.4")),
            (Decimal("66.7"), Decimal("33.3")),
        ]
        assert sum(s.width for s in segments) == 100

    def test_a_longer_scale_leaves_room_and_missing_parts_are_empty(self):
        segments = stacked([("a", "A", 30), ("b", "B", None), ("c", "C", 20)], scale=200)
        assert [(s.key, s.offset, s.width) for s in segments] == [
            ("a", Decimal("0"), Decimal("15.0")),
            ("b", Decimal("15.0"), Decimal("0.0")),
            ("c", Decimal("15.0"), Decimal("10.0")),
        ]


BAR = Template(
    "{% load forecasting_tags %}{% with scale=rows|forecast_scale %}"
    "{% for row in rows %}{% forecast_bar row scale=scale label=row.label %}{% endfor %}"
    "{% endwith %}"
)


def bar_styles(html: str) -> list[str]:
    import re

    return re.findall(r'class="bar-(?:seg seg-(\w+)|target)" style="([^"]*)"', html)


class TestForecastBar:
    def rows(self):
        return [
            {
                "label": "Anna",
                "closed": 100,
                "commit": 50,
                "best_case": 0,
                "pipeline": 50,
                "target": 400,
            },
            {
                "label": "Ben",
                "closed": Decimal("250.5"),
                "commit": 0,
                "best_case": 50,
                "pipeline": 100,
                "target": 100,
            },
        ]

    def test_bars_of_a_page_share_one_scale_and_the_target_is_marked(self):
        html = BAR.render(Context({"rows": self.rows()}))
        # The scale is the longest bar: Anna's target 400 (Ben's categories sum to 400.5).
        assert (
            'class="bar-seg seg-closed" style="inset-inline-start: 0%; inline-size: 25.0%"' in html
        )
        assert 'class="bar-target" style="inset-inline-start: 99.9%"' in html  # 400 / 400.5
        assert 'class="bar-target" style="inset-inline-start: 25.0%"' in html  # 100 / 400.5
        # An empty category draws nothing.
        assert html.count("seg-best_case") == 1

    def test_lengths_keep_a_decimal_point_in_french(self):
        with translation.override("fr"):
            html = BAR.render(Context({"rows": self.rows()}))
        assert "inline-size: 12.5%" in html  # Anna's Commit: 50 / 400.5
        assert "12,5%" not in html
        # The figures said to screen readers are written as the tables write them.
        assert "Closed (gagné) CHF\u00a0250.5" not in html
        assert "CHF\u00a0251" in html  # 250.5 rounded half up, once, at display

    def test_attainment_against_the_target(self):
        template = Template("{% load forecasting_tags %}{% forecast_bar row legend=True %}")
        row = {"closed": 100, "commit": 150, "best_case": 0, "pipeline": 0, "target": 400}
        with translation.override("en"):
            html = template.render(Context({"row": row}))
        assert "25\u00a0% of the target closed, 63\u00a0% with the Commit forecast." in html

    def test_no_target_no_mark_and_no_attainment(self):
        template = Template("{% load forecasting_tags %}{% forecast_bar row legend=True %}")
        row = {"closed": 100, "commit": 0, "best_case": 0, "pipeline": 0, "target": 0}
        html = template.render(Context({"row": row}))
        assert "bar-target" not in html
        assert "forecast-attainment" not in html


def test_stage_bars_are_shares_of_the_largest_amount():
    template = Template(
        "{% with scale=rows|largest_of:'total' %}{% for row in rows %}"
        "{{ row.total|share_of:scale }};{% endfor %}{% endwith %}"
    )
    rows = [{"total": Decimal(500)}, {"total": Decimal(2000)}, {"total": None}]
    with translation.override("fr"):
        assert template.render(Context({"rows": rows})) == "25.0;100.0;0;"

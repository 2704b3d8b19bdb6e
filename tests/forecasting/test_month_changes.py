"""The deals changed in each month (``MonthChange``), kept by the deal services.

Kept change by change, the rows must equal a rebuild from the history, and "what changed"
over a month read from them must equal the same window read from the history's rows."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from climcrm.periods import MONTH, period_containing
from forecasting import kept as kept_facts
from forecasting import month_changes, reports
from forecasting.models import MonthChange, MonthChangeTotal
from forecasting.scopes import PARTNER, REP, Scope
from opportunities.models import Opportunity, Stage
from opportunities.services import opportunity_create, opportunity_move_stage, opportunity_update
from tests import clock
from tests.factories import AccountFactory
from tests.forecasting.conftest import at, scope_for

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

COLUMNS = (
    "opportunity_id",
    "month",
    "stage_start",
    "amount_cents_start",
    "close_date_start",
    "owner_start_id",
    "partner_start_id",
    "stage_end",
    "amount_cents_end",
    "close_date_end",
    "owner_end_id",
    "partner_end_id",
    "kinds",
)


def kept_rows() -> set:
    return set(MonthChange.objects.values_list(*COLUMNS))


def kept_totals() -> set:
    return set(
        MonthChangeTotal.objects.exclude(count=0).values_list(
            "month", "side", "kinds", "start_key", "end_key", "count", "cents_start", "cents_end"
        )
    )


def midnight(year: int, month: int, day: int = 1) -> datetime:
    return timezone.make_aware(datetime(year, month, day))


def this_month() -> tuple[date, date]:
    today = timezone.localdate()
    return today.replace(day=1), today


@pytest.fixture
def midnight_book(changed_book, rep):
    """The changed book, and a deal changed in August and again exactly at midnight on
    1 September (valid then: the end of August and the start of September)."""
    deal = changed_book.deals["slip"]
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal(5100)},
        at=at(8, 20),
        expected_version=deal.version,
    )
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal(5200)},
        at=midnight(2025, 9),
        expected_version=deal.version,
    )
    # Created exactly at midnight on the 1st: it existed at the month's start.
    opportunity_create(
        by=rep,
        at=midnight(2025, 10),
        account=AccountFactory(),
        name="midnight",
        amount=Decimal(800),
        close_date=date(2025, 12, 15),
    )
    return changed_book


def test_rows_kept_by_the_services_equal_a_rebuild(midnight_book, recent):
    kept, totals = kept_rows(), kept_totals()
    assert len(kept) > 15
    # Reassignments and partner changes: some totals have another key at each end.
    assert any(start != end for _m, _s, _k, start, end, *_ in totals)
    assert kept_facts.rebuild()["forecasting_monthchange"] == len(kept)
    assert kept_rows() == kept
    assert kept_totals() == totals


def test_a_change_at_midnight_on_the_1st_ends_the_month_before_and_starts_its_month(
    midnight_book,
):
    deal = midnight_book.deals["slip"]
    august = MonthChange.objects.get(opportunity=deal, month=date(2025, 8, 1))
    september = MonthChange.objects.get(opportunity=deal, month=date(2025, 9, 1))
    assert (august.amount_cents_start, august.amount_cents_end) == (500_000, 520_000)
    assert august.kinds & month_changes.AMOUNT_UP
    assert (september.amount_cents_start, september.amount_cents_end) == (520_000, 520_000)
    assert september.kinds & (month_changes.AMOUNT_UP | month_changes.NEW) == 0
    created = MonthChange.objects.get(opportunity__name="midnight")
    assert created.stage_start == created.stage_end == "qualification"
    assert not created.kinds & month_changes.NEW


def test_a_deleted_deal_leaves_the_rows_a_rebuild_would(midnight_book):
    for key in ("won", "slip"):
        Opportunity.objects.get(pk=midnight_book.deals[key].pk).delete()
    kept, totals = kept_rows(), kept_totals()
    assert not MonthChange.objects.filter(opportunity_id=midnight_book.deals["won"].pk).exists()
    kept_facts.rebuild()
    assert kept_rows() == kept
    assert kept_totals() == totals


def test_kinds_are_the_bits_of_the_comparisons(book):
    rows = MonthChange.objects.filter(month=date(2025, 4, 1))
    kinds = {row.opportunity.name: row.kinds for row in rows.select_related("opportunity")}
    assert kinds["commit"] == month_changes.ADVANCED | month_changes.STILL_OPEN
    assert kinds["back"] == month_changes.MOVED_BACK | month_changes.STILL_OPEN
    assert kinds["noamt"] == month_changes.NEW
    assert kinds["slip"] == month_changes.STILL_OPEN
    # Negotiation at the start; lost on 04-18, reopened to Proposal on 04-25.
    assert kinds["reopen"] == month_changes.MOVED_BACK | month_changes.STILL_OPEN


def test_a_deal_created_and_won_in_the_window_counts_as_new_and_won(db, rep, manager):
    deal = opportunity_create(
        by=rep,
        at=at(6, 3),
        account=AccountFactory(),
        name="quick",
        amount=Decimal(700),
        close_date=date(2025, 6, 30),
    )
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        at=at(6, 20),
        expected_version=deal.version,
    )
    for months in (True, False):
        summary = reports.changes.what_changed(
            user=manager,
            start_day=date(2025, 6, 1),
            end_day=date(2025, 6, 30),
            scope=Scope(),
            months=months,
        )
        assert summary["new"] == {"count": 1, "amount": Decimal(700)}
        assert summary["won"] == {"count": 1, "amount": Decimal(700)}


MONTHS = [date(2025, month, 1) for month in range(3, 11)]


@pytest.mark.parametrize(
    "scope_name", ["all", "rep", "other_rep", "team", "partner_a", "partner_b", "channel"]
)
def test_each_month_read_from_the_kept_rows_equals_the_history(
    midnight_book, recent, manager, request, scope_name
):
    scope = scope_for(scope_name, request)
    windows = [(month, period_containing(MONTH, month).last_day) for month in MONTHS]
    windows.append(this_month())
    counted = 0
    for start_day, end_day in windows:
        assert reports.changes.is_month_window(start_day, end_day)
        kept = reports.changes.what_changed(
            user=manager, start_day=start_day, end_day=end_day, scope=scope
        )
        history = reports.changes.what_changed(
            user=manager, start_day=start_day, end_day=end_day, scope=scope, months=False
        )
        assert kept == history, (start_day, end_day)
        counted += sum(row["count"] for row in kept.values())
    assert counted > 0


def test_a_partner_user_reads_only_their_deals_from_the_kept_rows(
    midnight_book, recent, partner_a_user, manager
):
    for start_day, end_day in [(date(2025, 5, 1), date(2025, 5, 31)), this_month()]:
        summary = reports.changes.what_changed(
            user=partner_a_user, start_day=start_day, end_day=end_day, scope=Scope()
        )
        assert summary == reports.changes.what_changed(
            user=partner_a_user,
            start_day=start_day,
            end_day=end_day,
            scope=Scope(),
            months=False,
        )
    may = reports.changes.what_changed(
        user=partner_a_user, start_day=date(2025, 5, 1), end_day=date(2025, 5, 31), scope=Scope()
    )
    everyone = reports.changes.what_changed(
        user=manager, start_day=date(2025, 5, 1), end_day=date(2025, 5, 31), scope=Scope()
    )
    # In May: "won" (rep, no partner) was won and "lost" lost; partner A's "moved" only
    # changed partner.
    assert everyone["won"]["count"] == 1
    assert may["won"]["count"] == may["lost"]["count"] == 0


@pytest.mark.parametrize(
    ("start_day", "end_day", "expected"),
    [
        (date(2025, 6, 1), date(2025, 6, 30), True),  # a past month
        (date(2025, 6, 1), date(2025, 6, 18), True),  # the month so far
        (date(2025, 6, 1), date(2025, 7, 31), True),  # … and beyond: nothing changed yet
        (date(2025, 6, 1), date(2025, 6, 17), False),  # ends before today
        (date(2025, 5, 1), date(2025, 5, 30), False),  # not the whole month
        (date(2025, 5, 2), date(2025, 5, 31), False),
        (date(2025, 5, 1), date(2025, 6, 30), False),  # two months
    ],
)
def test_which_windows_are_read_from_the_months(monkeypatch, start_day, end_day, expected):
    monkeypatch.setattr(reports.changes.timezone, "localdate", lambda: date(2025, 6, 18))
    assert reports.changes.is_month_window(start_day, end_day) is expected


def test_the_page_reads_the_month_so_far_from_the_kept_rows(recent, client, manager):
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("forecasting:changes"))
    assert response.status_code == 200
    table = MonthChange._meta.db_table
    assert any(table in query["sql"] for query in queries.captured_queries)
    start_day, end_day = this_month()
    summary = reports.changes.what_changed(
        user=manager, start_day=start_day, end_day=end_day, scope=Scope(), months=False
    )
    assert [row["count"] for row in response.context["rows"]] == [
        summary[kind]["count"] for kind in reports.changes.CHANGE_KINDS
    ]


def test_the_month_drilldown_gives_the_deals_and_states_the_history_gives(
    midnight_book, recent, manager
):
    from opportunities.history import as_datetime

    names = [
        f"{name}_{moment}" for name in reports.changes.CHANGE_FIELDS for moment in ("start", "end")
    ]

    def states(deals) -> dict:
        return {deal.pk: tuple(getattr(deal, name) for name in [*names, "kinds"]) for deal in deals}

    start_day, today = this_month()
    windows = [(month, period_containing(MONTH, month).end) for month in MONTHS]
    windows.append((start_day, today + timedelta(days=1)))
    compared = 0
    for month, end_day in windows:
        kept = states(reports.changes.month_deals(month=month))
        history = states(
            reports.changes.compared_deals(start=as_datetime(month), end=as_datetime(end_day))
        )
        assert kept == history, month
        compared += len(kept)
    assert compared > 15


def test_a_slip_counts_only_where_the_deal_was_in_the_scope_at_both_ends(
    db, rep, other_rep, manager
):
    deal = opportunity_create(
        by=other_rep,
        at=at(10, 6),
        account=AccountFactory(),
        name="handed over",
        amount=Decimal(900),
        close_date=date(2025, 11, 20),
    )
    opportunity_update(
        opportunity=deal,
        by=manager,
        changes={"close_date": date(2025, 12, 20), "owner": rep},
        at=at(11, 10),
        expected_version=deal.version,
        reason_code="other",
    )
    window = {"start_day": date(2025, 11, 1), "end_day": date(2025, 11, 30)}
    scopes = {"all": Scope(), "rep": Scope(REP, rep.pk), "other_rep": Scope(REP, other_rep.pk)}
    expected = {"all": (1, 0, 0), "rep": (0, 1, 0), "other_rep": (0, 0, 1)}
    for name, (slipped, moved_in, moved_out) in expected.items():
        scope = scopes[name]
        for months in (True, False):
            summary = reports.changes.what_changed(
                user=manager, scope=scope, months=months, **window
            )
            assert summary["slipped"]["count"] == slipped, (name, months)
            assert summary["moved_in"]["count"] == moved_in, (name, months)
            assert summary["moved_out"]["count"] == moved_out, (name, months)


def test_a_partner_users_month_drilldown_lists_the_deals_theirs_in_that_month(
    midnight_book, partner_a_user, partner_a, manager
):
    window = {"start_day": date(2025, 4, 1), "end_day": date(2025, 4, 30)}
    seen, internal, everyone = set(), set(), set()
    for kind in reports.changes.CHANGE_KINDS:
        changed = partial(reports.changes.changed_deals, kind=kind, **window)
        seen |= set(changed(user=partner_a_user, scope=Scope()))
        internal |= set(changed(user=manager, scope=Scope(PARTNER, partner_a.pk)))
        everyone |= set(changed(user=manager, scope=Scope()))
    # Partner A's deals in April: "commit"; not "slip", which joined them in August.
    assert sorted(deal.name for deal in seen) == ["commit"]
    assert seen == internal
    assert len(everyone) > len(seen)

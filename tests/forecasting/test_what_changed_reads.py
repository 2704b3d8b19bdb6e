""" "What changed" reads each deal's state at both ends from bounded history ranges.

The reference is the definition itself: the rows valid at ``start`` and at ``end``
(``values_as_of``) of the deals with a change in [start, end). Windows include ones whose
ends fall exactly on a change of the book (noon), where "valid at" decides.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from forecasting import reports
from forecasting.scopes import PARTNER, Scope
from opportunities.history import (
    as_datetime,
    changes_between,
    compare_rows,
    compare_states,
    values_as_of,
)
from opportunities.models import Opportunity
from opportunities.services import opportunity_create, opportunity_update
from tests.factories import AccountFactory
from tests.forecasting.conftest import at, scope_for

FIELDS = reports.changes.CHANGE_FIELDS
COLUMNS = {"owner": "owner_id", "partner": "partner_id"}

WINDOWS = [
    (at(4, 1), at(5, 1)),
    (at(5, 1), at(7, 1)),
    (at(3, 1), at(3, 20)),  # starts on three creations, ends on a stage change
    (at(4, 10), at(5, 10)),  # starts on a move to Negotiation, ends on a win
    (at(4, 18), at(4, 25)),  # lost at the start, reopened at the end
    (at(4, 20), at(4, 20) + timedelta(microseconds=1)),  # one change, exactly at the start
    (at(1, 1), at(12, 31)),
]


def by_definition(start, end) -> dict:
    def states(moment):
        return {
            row["opportunity_id"]: tuple(row[COLUMNS.get(name, name)] for name in FIELDS)
            for row in values_as_of(moment).values("opportunity_id", *COLUMNS.values(), *FIELDS)
        }

    touched = set(changes_between(start, end).values_list("opportunity_id", flat=True))
    before, after = states(start), states(end)
    none = (None,) * len(FIELDS)
    return {pk: (before.get(pk, none), after.get(pk, none)) for pk in touched}


def as_pairs(queryset, key: str) -> dict:
    values = queryset.values(key, *[f"{n}_start" for n in FIELDS], *[f"{n}_end" for n in FIELDS])
    return {
        row[key]: (
            tuple(row[f"{n}_start"] for n in FIELDS),
            tuple(row[f"{n}_end"] for n in FIELDS),
        )
        for row in values
    }


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_both_readings_give_the_states_valid_at_both_ends(book, start, end):
    expected = by_definition(start, end)
    assert expected  # every window holds a change
    assert as_pairs(compare_states(start, end, Opportunity.objects.all(), FIELDS), "pk") == (
        expected
    )
    assert as_pairs(compare_rows(start, end, fields=FIELDS), "opportunity_id") == expected


def test_a_change_exactly_at_the_end_is_the_end_state_but_not_a_change(db, rep):
    deal = opportunity_create(
        by=rep,
        at=at(3, 1),
        account=AccountFactory(),
        name="edge",
        amount=Decimal(5000),
        close_date=date(2025, 6, 30),
    )
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal(6000)},
        at=at(4, 10),
        expected_version=deal.version,
    )
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal(7000)},
        at=at(5, 1),
        expected_version=deal.version,
    )
    # Changed on 04-10; its state at 05-01 noon is the change made exactly then.
    assert by_definition(at(4, 1), at(5, 1)) == {
        deal.pk: (
            ("qualification", Decimal(5000), date(2025, 6, 30), rep.pk, None),
            ("qualification", Decimal(7000), date(2025, 6, 30), rep.pk, None),
        )
    }
    assert as_pairs(compare_rows(at(4, 1), at(5, 1), fields=FIELDS), "opportunity_id") == (
        by_definition(at(4, 1), at(5, 1))
    )
    # Nothing in [04-11, 05-01 noon): the change at the very end does not count.
    assert not compare_rows(at(4, 11), at(5, 1), fields=FIELDS).exists()
    assert not compare_states(at(4, 11), at(5, 1), Opportunity.objects.all(), FIELDS).exists()


SCOPES = ["all", "rep", "other_rep", "team", "partner_a", "partner_b"]


@pytest.mark.parametrize("scope_name", SCOPES)
@pytest.mark.parametrize(
    ("start_day", "end_day"),
    [(date(2025, 4, 1), date(2025, 4, 30)), (date(2025, 5, 1), date(2025, 6, 30))],
)
def test_the_drilldown_lists_the_deals_counted(
    book, manager, request, scope_name, start_day, end_day
):
    scope = scope_for(scope_name, request)
    summary = reports.changes.what_changed(
        user=manager, start_day=start_day, end_day=end_day, scope=scope
    )
    for kind in reports.changes.CHANGE_KINDS:
        deals = reports.changes.changed_deals(
            user=manager, start_day=start_day, end_day=end_day, scope=scope, kind=kind
        )
        assert summary[kind]["count"] == deals.count(), kind
        if kind in ("amount_up", "amount_down"):
            amount = sum((d.amount_end_value - d.amount_start_value for d in deals), Decimal(0))
        elif kind == "moved_out":
            amount = sum((d.amount_start_value for d in deals), Decimal(0))
        else:
            amount = sum((d.amount_end_value for d in deals), Decimal(0))
        assert summary[kind]["amount"] == amount, kind


def test_a_partner_user_counts_what_an_internal_user_counts_for_their_partner(
    book, partner_a_user, partner_a, manager
):
    window = {"start_day": date(2025, 4, 1), "end_day": date(2025, 6, 30)}
    summary = reports.changes.what_changed(user=partner_a_user, scope=Scope(), **window)
    # Partner A's deals then: "commit" (to Negotiation on 04-10) and "moved" (from B on
    # 05-20, so moved into their scope).
    assert summary["advanced"] == {"count": 1, "amount": Decimal(20000)}
    assert summary["moved_in"] == {"count": 1, "amount": Decimal(9000)}
    assert sum(row["count"] for row in summary.values()) == 2
    internal = reports.changes.what_changed(
        user=manager, scope=Scope(PARTNER, partner_a.pk), **window
    )
    assert summary == internal
    for months in (True, False):
        may = {"start_day": date(2025, 5, 1), "end_day": date(2025, 5, 31), "months": months}
        assert reports.changes.what_changed(
            user=partner_a_user, scope=Scope(), **may
        ) == reports.changes.what_changed(user=manager, scope=Scope(PARTNER, partner_a.pk), **may)
    deals = reports.changes.changed_deals(
        user=partner_a_user, scope=Scope(), kind="advanced", **window
    )
    assert [(d.name, d.reassigned) for d in deals] == [("commit", False)]


@pytest.mark.parametrize(
    "window",
    [(date(2025, 5, 1), date(2025, 5, 31)), (date(2025, 5, 2), date(2025, 5, 31))],
    ids=["month", "days"],
)
def test_a_deal_no_longer_the_partners_shows_as_reassigned(book, partner_b_user, window):
    start_day, end_day = window
    summary = reports.changes.what_changed(
        user=partner_b_user, start_day=start_day, end_day=end_day, scope=Scope()
    )
    # "moved" was partner B's until 05-20: it left their scope in May.
    assert summary["moved_out"] == {"count": 1, "amount": Decimal(9000)}
    deals = reports.changes.changed_deals(
        user=partner_b_user, start_day=start_day, end_day=end_day, scope=Scope(), kind="moved_out"
    )
    assert [(d.name, d.reassigned, d.stage_then, d.amount_then) for d in deals] == [
        ("moved", True, "qualification", Decimal(9000))
    ]


def test_the_reassigned_row_shows_nothing_of_today(
    book, client_for, partner_b_user, partner_a_user, rep, manager
):
    moved = book.deals["moved"]
    opportunity_update(
        opportunity=moved,
        by=manager,
        changes={"name": "renamed later", "amount": Decimal(77777)},
        at=at(6, 5),
        expected_version=moved.version,
    )
    moved.refresh_from_db()
    url = reverse("forecasting:changes-deals")
    query = "?change=moved_out&start=2025-05-01&end=2025-05-31"
    page = client_for(partner_b_user).get(url + query).content.decode()
    row = page[page.index("data-reassigned") : page.index("</tr>", page.index("data-reassigned"))]
    assert "réattribuée" in row
    assert "9" in row and "000" in row  # the amount then
    assert "77" not in row  # not the amount now
    for today in (
        moved.account.name,
        moved.partner.account.name,  # the new partner
        reverse("opportunities:detail", args=[moved.pk]),
    ):
        assert today not in page, today
    assert (
        client_for(partner_b_user).get(reverse("opportunities:detail", args=[moved.pk])).status_code
        == 404
    )
    # Partner A, whose deal it is now, sees it as theirs in June.
    theirs = client_for(partner_a_user).get(
        url + "?change=amount_up&start=2025-06-01&end=2025-06-30"
    )
    assert reverse("opportunities:detail", args=[moved.pk]) in theirs.content.decode()
    assert "data-reassigned" not in theirs.content.decode()


def test_the_window_ends_after_its_last_day(book, manager):
    # 05-10 noon (won) is inside [05-10 00:00, 05-11 00:00).
    summary = reports.changes.what_changed(
        user=manager, start_day=date(2025, 5, 10), end_day=date(2025, 5, 10), scope=Scope()
    )
    assert summary["won"] == {"count": 1, "amount": Decimal(12000)}
    assert as_datetime(date(2025, 5, 11)) > at(5, 10)

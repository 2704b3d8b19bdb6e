"""A small hand-computed book of deals in 2025, written through the real services.

Times are noon, local time. Forecast period Q2 2025 = [2025-04-01, 2025-07-01).

deal | owner     | partner | story
-----|-----------|---------|---------------------------------------------------------------
won  | rep       | -       | 03-01 qualification 10 000, close 05-15; 03-20 negotiation
     |           |         | (Commit); 05-10 won at 12 000; 06-01 amount → 13 000 after closing
commit| rep      | A       | 03-05 qualification 20 000, close 06-20; 04-10 negotiation (Commit)
best | other_rep | -       | 03-10 proposal 8 000 (Best Case, 50 %), close 05-30
noamt| other_rep | -       | 04-02 qualification, no amount, close 06-10
slip | rep       | -       | 03-15 needs analysis 5 000, close 04-25; 04-20 close → 07-15
back | rep       | -       | 03-01 proposal 7 000, close 05-05; 04-15 back to needs analysis
reopen| other_rep| -       | 03-01 negotiation 4 000, close 04-20; 04-18 lost; 04-25 reopened
     |           |         | by the manager to proposal (Best Case)
lost | rep       | -       | 03-01 needs analysis 6 000, close 05-20; 05-02 lost
moved| rep       | B → A   | 03-01 qualification 9 000, close 06-15; 05-20 partner B → A
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from climcrm.periods import QUARTER, period_containing
from forecasting.scopes import CHANNEL, PARTNER, REP, TEAM, Scope
from opportunities.models import LossReason, OpportunityType, Stage
from opportunities.services import (
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from tests.factories import AccountFactory


def at(month: int, day: int, year: int = 2025) -> datetime:
    return timezone.make_aware(datetime(year, month, day, 12, 0))


@dataclass
class Book:
    deals: dict


@pytest.fixture
def book(db, rep, other_rep, manager, admin_user, partner_a, partner_b, channel):
    loss = LossReason.objects.first()
    deals = {}

    def create(key, by, when, **values):
        values.setdefault("account", AccountFactory())
        values.setdefault("name", key)
        deals[key] = opportunity_create(by=by, at=when, **values)
        return deals[key]

    won = create("won", rep, at(3, 1), amount=Decimal(10000), close_date=date(2025, 5, 15))
    opportunity_move_stage(
        opportunity=won,
        to_stage=Stage.NEGOTIATION,
        by=rep,
        at=at(3, 20),
        expected_version=won.version,
        reason_code="other",
    )
    opportunity_move_stage(
        opportunity=won,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        amount=Decimal(12000),
        at=at(5, 10),
        expected_version=won.version,
        reason_code="other",
    )
    opportunity_update(
        opportunity=won,
        by=manager,
        changes={"amount": Decimal(13000)},
        at=at(6, 1),
        expected_version=won.version,
        reason_code="other",
    )

    commit = create(
        "commit",
        rep,
        at(3, 5),
        amount=Decimal(20000),
        close_date=date(2025, 6, 20),
        partner=partner_a,
    )
    opportunity_move_stage(
        opportunity=commit,
        to_stage=Stage.NEGOTIATION,
        by=rep,
        at=at(4, 10),
        expected_version=commit.version,
        reason_code="other",
    )

    create(
        "best",
        other_rep,
        at(3, 10),
        amount=Decimal(8000),
        close_date=date(2025, 5, 30),
        stage=Stage.PROPOSAL,
    )
    create("noamt", other_rep, at(4, 2), amount=None, close_date=date(2025, 6, 10))

    slip = create(
        "slip",
        rep,
        at(3, 15),
        amount=Decimal(5000),
        close_date=date(2025, 4, 25),
        stage=Stage.NEEDS_ANALYSIS,
    )
    opportunity_update(
        opportunity=slip,
        by=rep,
        changes={"close_date": date(2025, 7, 15)},
        at=at(4, 20),
        expected_version=slip.version,
        reason_code="other",
    )

    back = create(
        "back",
        rep,
        at(3, 1),
        amount=Decimal(7000),
        close_date=date(2025, 5, 5),
        stage=Stage.PROPOSAL,
    )
    opportunity_move_stage(
        opportunity=back,
        to_stage=Stage.NEEDS_ANALYSIS,
        by=rep,
        at=at(4, 15),
        expected_version=back.version,
        reason_code="other",
    )

    reopen = create(
        "reopen",
        other_rep,
        at(3, 1),
        amount=Decimal(4000),
        close_date=date(2025, 4, 20),
        stage=Stage.NEGOTIATION,
    )
    opportunity_move_stage(
        opportunity=reopen,
        to_stage=Stage.CLOSED_LOST,
        by=other_rep,
        loss_reason=loss,
        at=at(4, 18),
        expected_version=reopen.version,
        reason_code="other",
    )
    opportunity_move_stage(
        opportunity=reopen,
        to_stage=Stage.PROPOSAL,
        by=manager,
        at=at(4, 25),
        expected_version=reopen.version,
        reason_code="other",
    )

    lost = create(
        "lost",
        rep,
        at(3, 1),
        amount=Decimal(6000),
        close_date=date(2025, 5, 20),
        stage=Stage.NEEDS_ANALYSIS,
    )
    opportunity_move_stage(
        opportunity=lost,
        to_stage=Stage.CLOSED_LOST,
        by=rep,
        loss_reason=loss,
        at=at(5, 2),
        expected_version=lost.version,
        reason_code="other",
    )

    moved = create(
        "moved",
        rep,
        at(3, 1),
        amount=Decimal(9000),
        close_date=date(2025, 6, 15),
        partner=partner_b,
    )
    opportunity_update(
        opportunity=moved,
        by=admin_user,
        changes={"partner": partner_a},
        at=at(5, 20),
        expected_version=moved.version,
        reason_code="other",
    )
    for deal in deals.values():
        deal.refresh_from_db()
    return Book(deals=deals)


@pytest.fixture
def changed_book(book, rep, other_rep, manager, partner_a):
    """The book, then a reassignment, a change of type and a partner added after a stay."""
    deals = book.deals
    opportunity_update(
        opportunity=deals["commit"],
        by=manager,
        changes={"owner": other_rep},
        at=at(7, 3),
        expected_version=deals["commit"].version,
        reason_code="other",
    )
    opportunity_update(
        opportunity=deals["best"],
        by=manager,
        changes={"type": OpportunityType.EXISTING_BUSINESS},
        at=at(7, 4),
        expected_version=deals["best"].version,
        reason_code="other",
    )
    opportunity_move_stage(
        opportunity=deals["slip"],
        to_stage=Stage.PROPOSAL,
        by=rep,
        at=at(7, 5),
        expected_version=deals["slip"].version,
        reason_code="other",
    )
    opportunity_update(
        opportunity=deals["slip"],
        by=manager,
        changes={"partner": partner_a},
        at=at(8, 1),
        expected_version=deals["slip"].version,
        reason_code="other",
    )
    # A change exactly at midnight on the 1st belongs to the month before's end state.
    opportunity_update(
        opportunity=deals["back"],
        by=rep,
        changes={"amount": Decimal(7500)},
        at=timezone.make_aware(datetime(2025, 9, 1)),
        expected_version=deals["back"].version,
        reason_code="other",
    )
    return book


@pytest.fixture
def recent(changed_book, rep, other_rep, manager, partner_a, partner_b):
    """Deals of this quarter changed before and within the last seven days."""
    today = timezone.localdate()
    quarter = period_containing(QUARTER, today)
    now = timezone.now()

    def days_ago(count):
        return now - timedelta(days=count)

    def create(when, **values):
        values.setdefault("account", AccountFactory())
        values.setdefault("name", "Recent")
        values.setdefault("close_date", quarter.last_day)
        return opportunity_create(by=values.get("owner", rep), at=when, **values)

    kept = create(days_ago(20), amount=Decimal(3000), owner=rep)
    opportunity_move_stage(
        opportunity=kept,
        to_stage=Stage.NEGOTIATION,
        by=rep,
        at=days_ago(2),
        expected_version=kept.version,
        reason_code="other",
    )
    slipped = create(days_ago(30), amount=Decimal(4000), owner=other_rep, partner=partner_a)
    opportunity_update(
        opportunity=slipped,
        by=manager,
        changes={"close_date": quarter.end + timedelta(days=40)},
        at=days_ago(3),
        expected_version=slipped.version,
        reason_code="other",
    )
    pulled = create(
        days_ago(30), amount=Decimal(5000), owner=rep, close_date=quarter.end + timedelta(days=5)
    )
    opportunity_update(
        opportunity=pulled,
        by=manager,
        changes={"close_date": quarter.start, "owner": other_rep, "partner": partner_b},
        at=days_ago(1),
        expected_version=pulled.version,
        reason_code="other",
    )
    create(days_ago(4), amount=None, owner=other_rep, stage=Stage.PROPOSAL)
    # Entered Commit at 2 000 (created in Negotiation), 2 500 from 30 days ago, won at 3 000:
    # its estimate is 2 000 whatever the amount at its month's or quarter's start.
    committed = create(
        days_ago(40),
        amount=Decimal(2000),
        owner=rep,
        stage=Stage.NEGOTIATION,
        close_date=today,
    )
    opportunity_update(
        opportunity=committed,
        by=rep,
        changes={"amount": Decimal(2500)},
        at=days_ago(30),
        expected_version=committed.version,
        reason_code="other",
    )
    opportunity_move_stage(
        opportunity=committed,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        amount=Decimal(3000),
        at=days_ago(1),
        expected_version=committed.version,
        reason_code="other",
    )
    won = create(days_ago(25), amount=Decimal(6000), owner=rep, partner=partner_b)
    opportunity_move_stage(
        opportunity=won,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        amount=Decimal(6500),
        at=days_ago(1),
        expected_version=won.version,
        reason_code="other",
    )
    return quarter


def scope_for(name: str, request) -> Scope:
    """A scope named after the fixtures: "all", "team" (manager's), "channel", a partner
    fixture, or a rep fixture."""
    if name == "all":
        return Scope()
    if name == "team":
        return Scope(TEAM, request.getfixturevalue("manager").pk)
    if name == "channel":
        return Scope(CHANNEL, request.getfixturevalue("channel").pk)
    if name.startswith("partner"):
        return Scope(PARTNER, request.getfixturevalue(name).pk)
    return Scope(REP, request.getfixturevalue(name).pk)

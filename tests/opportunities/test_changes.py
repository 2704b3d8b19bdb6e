"""The deal service announces each change once, inside its transaction, to the subscribers
the apps registered; what the subscribers keep equals a rebuild from the deals."""

import datetime
from decimal import Decimal

import pytest

from forecasting import kept as kept_facts
from forecasting import summaries
from forecasting.models import PipelineSummary
from leads import funnel
from leads import services as lead_services
from leads.models import Lead
from opportunities import changes
from opportunities.models import LossReason, Opportunity, OpportunityHistory, Stage
from opportunities.services import opportunity_create, opportunity_move_stage, opportunity_update
from tests.factories import AccountFactory

CLOSE = datetime.date(2027, 3, 31)


@pytest.fixture
def heard(monkeypatch):
    """Every change announced, in order, besides the subscribers the apps registered."""
    seen: list[changes.DealChange] = []

    def listen(change):
        # Inside the service's transaction: the deal's row holds the new version, the
        # change's history row is not written yet.
        row = Opportunity.objects.get(pk=change.deal.pk)
        written = OpportunityHistory.objects.filter(opportunity_id=change.deal.pk)
        seen.append((change, row.version, written.filter(version=row.version).exists()))

    monkeypatch.setattr(changes, "_subscribers", [*changes.subscribers(), listen])
    return seen


def _deal(rep, **values):
    return opportunity_create(
        by=rep,
        name="Pompe à chaleur",
        account=AccountFactory(),
        amount=Decimal("50000"),
        close_date=CLOSE,
        tag="test",
        **values,
    )


def test_forecasting_and_leads_subscribe_when_the_apps_are_ready():
    assert summaries.on_deal_change in changes.subscribers()
    assert funnel.on_deal_change in changes.subscribers()


def test_subscribing_twice_calls_once(monkeypatch):
    monkeypatch.setattr(changes, "_subscribers", [])
    calls = []
    changes.subscribe(calls.append)
    changes.subscribe(calls.append)
    changes.announce("a change")
    assert calls == ["a change"]


def test_each_change_is_announced_once_with_old_and_new_values(db, rep, heard):
    deal = _deal(rep)
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal("60000")},
        expected_version=deal.version,
        tag="edit",
    )
    opportunity_move_stage(
        opportunity=deal, to_stage=Stage.PROPOSAL, by=rep, expected_version=deal.version
    )
    created, amended, moved = (change for change, _version, _history in heard)
    assert len(heard) == 3
    assert created.created and created.before is None
    assert created.after["stage"] == Stage.QUALIFICATION
    assert (created.by, created.tag, created.deal.pk) == (rep, "test", deal.pk)
    assert amended.before["amount"] == Decimal("50000")
    assert amended.after["amount"] == Decimal("60000")
    assert (amended.tag, amended.stage_changed) == ("edit", False)
    assert (moved.before["stage"], moved.after["stage"]) == (Stage.QUALIFICATION, Stage.PROPOSAL)
    assert moved.stage_changed
    # Each one announced after the deal's row was saved, before its history row.
    assert [(version, history) for _change, version, history in heard] == [
        (1, False),
        (2, False),
        (3, False),
    ]


def test_a_change_that_changes_nothing_is_not_announced(db, rep, heard):
    deal = _deal(rep)
    opportunity_update(
        opportunity=deal, by=rep, changes={"amount": deal.amount}, expected_version=deal.version
    )
    assert len(heard) == 1  # the creation only


def test_a_failing_subscriber_rolls_the_change_back(db, rep, monkeypatch):
    deal = _deal(rep)
    kept = list(PipelineSummary.objects.order_by("pk").values())

    def refuse(change):
        raise RuntimeError("subscriber failed")

    monkeypatch.setattr(changes, "_subscribers", [*changes.subscribers(), refuse])
    with pytest.raises(RuntimeError):
        opportunity_move_stage(
            opportunity=deal, to_stage=Stage.PROPOSAL, by=rep, expected_version=deal.version
        )
    deal.refresh_from_db()
    assert (deal.stage, deal.version) == (Stage.QUALIFICATION, 1)
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 1
    # The totals the first subscriber had already written went back with the change.
    assert list(PipelineSummary.objects.order_by("pk").values()) == kept


def _totals() -> dict:
    return {
        tuple(row[name] for name in summaries.KEY_FIELDS): (
            row["count"],
            Decimal(row["amount"]).quantize(Decimal("0.01")),
            Decimal(row["weighted"]).quantize(Decimal("0.0001")),
            round(row["days"], 6),
        )
        for row in PipelineSummary.objects.values()
        if row["count"] or row["amount"] or row["weighted"] or row["days"]
    }


def test_the_subscribers_keep_what_a_rebuild_gives(db, rep, other_rep, manager, partner_a):
    lead = lead_services.lead_create(
        by=rep, owner=rep, first_name="Anne", last_name="Dupuis", company="Régie Exemple SA"
    )
    converted = lead_services.lead_convert(
        lead=lead, by=rep, amount=Decimal("1000"), close_date=CLOSE
    ).opportunity
    other = _deal(rep)
    for deal, to_stage, by in (
        (converted, Stage.NEEDS_ANALYSIS, rep),
        (other, Stage.NEGOTIATION, rep),
        (converted, Stage.CLOSED_WON, rep),
        (converted, Stage.PROPOSAL, manager),  # reopened
    ):
        opportunity_move_stage(
            opportunity=deal,
            to_stage=to_stage,
            by=by,
            expected_version=deal.version,
            reason_code="other",
        )
    opportunity_update(
        opportunity=other,
        by=manager,
        changes={"owner": other_rep, "partner": partner_a, "amount": Decimal("42000")},
        expected_version=other.version,
        reason_code="other",
    )
    opportunity_move_stage(
        opportunity=other,
        to_stage=Stage.CLOSED_LOST,
        by=manager,
        loss_reason=LossReason.objects.first(),
        expected_version=other.version,
    )

    kept = _totals()
    assert kept, "the subscribers wrote no totals"
    kept_facts.rebuild(tables=("forecasting_pipelinesummary",))
    assert _totals() == kept

    lead.refresh_from_db()
    kept_progress = lead.deal_progress
    assert kept_progress == funnel.SRL | funnel.SQL  # in Qualification once, qualified
    Lead.objects.filter(pk=lead.pk).update(deal_progress=0)
    kept_facts.rebuild(tables=("leads_lead",))
    lead.refresh_from_db()
    assert lead.deal_progress == kept_progress

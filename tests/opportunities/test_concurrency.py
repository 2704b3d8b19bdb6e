"""No lost updates: a save made on a stale version is refused, on SQLite and PostgreSQL."""

import datetime
import inspect
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from opportunities.models import Opportunity, OpportunityHistory, Stage
from opportunities.services import (
    StaleVersionError,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from partners import services as partner_services
from pipeline_reviews import services as review_services
from tests import clock, versions
from tests.factories import AccountFactory

pytestmark = [pytest.mark.time_machine(clock.NOW)]

IN_A_MONTH = clock.today() + datetime.timedelta(days=30)


def _deal(rep):
    return opportunity_create(
        by=rep,
        name="Régulation CVC",
        account=AccountFactory(),
        amount=Decimal("20000"),
        close_date=IN_A_MONTH,
    )


@pytest.mark.django_db
def test_second_save_on_a_stale_version_is_refused_and_names_the_fields(rep, manager):
    deal = _deal(rep)
    loaded_by_rep = Opportunity.objects.get(pk=deal.pk)
    loaded_by_manager = Opportunity.objects.get(pk=deal.pk)

    opportunity_update(
        opportunity=loaded_by_manager,
        by=manager,
        changes={"amount": Decimal("25000")},
        expected_version=loaded_by_manager.version,
    )
    with pytest.raises(StaleVersionError) as caught:
        opportunity_update(
            opportunity=loaded_by_rep,
            by=rep,
            changes={"stage": Stage.PROPOSAL},
            expected_version=loaded_by_rep.version,
        )

    assert "amount" in str(caught.value).lower() or "montant" in str(caught.value).lower()
    assert [c.field for c in caught.value.changes] == ["amount"]
    deal.refresh_from_db()
    assert (deal.stage, deal.amount, deal.version) == (Stage.QUALIFICATION, Decimal("25000"), 2)
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 2


@pytest.mark.django_db
def test_save_on_the_current_version_goes_through(rep):
    deal = _deal(rep)
    result = opportunity_update(
        opportunity=deal, by=rep, changes={"stage": Stage.PROPOSAL}, expected_version=1
    )
    assert result.opportunity.version == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_edits_one_wins_the_other_is_refused(rep, manager):
    """On PostgreSQL two connections really overlap: the second waits on the row lock
    (select_for_update) and then sees the new version. Elsewhere the same two edits run
    one after the other, which still exercises the refusal."""
    deal = _deal(rep)
    outcomes: dict[str, object] = {}
    locked = threading.Event()

    def first_editor():
        try:
            with transaction.atomic():
                opportunity_update(
                    opportunity=Opportunity.objects.get(pk=deal.pk),
                    by=manager,
                    changes={"amount": Decimal("30000")},
                    expected_version=1,
                )
                # The row stays locked until this transaction ends: let the second
                # editor run into the lock first.
                locked.set()
                time.sleep(0.5)
            outcomes["first"] = "saved"
        except Exception as exc:  # noqa: BLE001 - reported through outcomes
            outcomes["first"] = exc
            locked.set()
        finally:
            connection.close()

    def second_editor():
        try:
            locked.wait(10)
            loaded = Opportunity.objects.get(pk=deal.pk)
            # Read before the first commit: the editor still holds version 1.
            outcomes["second_saw_version"] = loaded.version
            opportunity_update(
                opportunity=loaded,
                by=rep,
                changes={"stage": Stage.PROPOSAL},
                expected_version=loaded.version,
            )
            outcomes["second"] = "saved"
        except Exception as exc:  # noqa: BLE001 - reported through outcomes
            outcomes["second"] = exc
        finally:
            connection.close()

    if connection.vendor == "postgresql":
        threads = [threading.Thread(target=first_editor), threading.Thread(target=second_editor)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert outcomes["second_saw_version"] == 1
    else:
        # SQLite serialises writers on the whole database: run the two edits in turn,
        # the second still on the version it loaded before the first one saved.
        stale = Opportunity.objects.get(pk=deal.pk)
        first_editor()
        try:
            opportunity_update(
                opportunity=stale, by=rep, changes={"stage": Stage.PROPOSAL}, expected_version=1
            )
            outcomes["second"] = "saved"
        except StaleVersionError as exc:
            outcomes["second"] = exc

    assert outcomes["first"] == "saved"
    assert isinstance(outcomes["second"], StaleVersionError), outcomes
    deal.refresh_from_db()
    assert (deal.amount, deal.stage, deal.version) == (Decimal("30000"), Stage.QUALIFICATION, 2)
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 2


# --------------------------------------------------------------------------- no bypass


def _signature_requires(function, name: str) -> bool:
    parameter = inspect.signature(function).parameters[name]
    return parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty


@pytest.mark.parametrize(
    "service",
    [
        opportunity_update,
        opportunity_move_stage,
        partner_services.opportunity_assign_partner,
        review_services.review_deal_update,
        review_services.review_outcome_update,
    ],
    ids=lambda f: f.__name__,
)
def test_every_service_that_changes_a_deal_requires_the_version_read(service):
    assert _signature_requires(service, "expected_version")


@pytest.mark.django_db
class TestVersionRequired:
    """One check in ``opportunity_update`` refuses anything but the deal's current version."""

    @pytest.fixture(autouse=True)
    def fixed_clock(self, time_machine):
        time_machine.move_to(versions.NOW)

    @pytest.fixture
    def deal(self, rep, manager):
        return versions.changed_by_someone_else(_deal(rep), manager)

    @pytest.mark.parametrize(
        "sent", [None, "", "0", 0, "-1", "deux", " ", "2.0", "٢", True, "9" * 30]
    )
    def test_a_change_without_a_usable_version_is_refused(self, rep, deal, sent):
        with pytest.raises(StaleVersionError) as caught:
            opportunity_update(
                opportunity=deal,
                by=rep,
                changes={"next_step": "Relancer"},
                expected_version=sent,
            )
        assert caught.value.changes == []
        assert versions.says_someone_else_changed_it(str(caught.value))
        versions.assert_untouched(deal, next_step="")

    @pytest.mark.parametrize("sent", [1, "1"])
    def test_a_change_on_an_older_version_is_refused_and_says_what_changed(self, rep, deal, sent):
        with pytest.raises(StaleVersionError) as caught:
            opportunity_update(
                opportunity=deal, by=rep, changes={"next_step": "Relancer"}, expected_version=sent
            )
        assert [c.field for c in caught.value.changes] == ["amount"]
        assert "montant" in str(caught.value).lower()
        versions.assert_untouched(deal, next_step="")

    def test_a_version_the_deal_never_had_is_refused(self, rep, deal):
        with pytest.raises(StaleVersionError):
            opportunity_update(
                opportunity=deal, by=rep, changes={"next_step": "Relancer"}, expected_version=3
            )
        versions.assert_untouched(deal, next_step="")

    def test_even_a_change_that_changes_nothing_needs_the_version(self, rep, deal):
        with pytest.raises(StaleVersionError):
            opportunity_update(
                opportunity=deal, by=rep, changes={"amount": deal.amount}, expected_version=""
            )

    @pytest.mark.parametrize("sent", [2, "2", " 2 "])
    def test_the_current_version_goes_through(self, rep, deal, sent):
        result = opportunity_update(
            opportunity=deal, by=rep, changes={"next_step": "Relancer"}, expected_version=sent
        )
        assert (result.opportunity.version, result.opportunity.next_step) == (3, "Relancer")
        assert OpportunityHistory.objects.filter(opportunity=deal).count() == 3

    @pytest.mark.parametrize("sent", [None, "", "0", "1"])
    def test_a_stage_move_without_the_current_version_is_refused(self, rep, deal, sent):
        with pytest.raises(StaleVersionError):
            opportunity_move_stage(
                opportunity=deal, to_stage=Stage.PROPOSAL, by=rep, expected_version=sent
            )
        versions.assert_untouched(deal, stage=Stage.QUALIFICATION)

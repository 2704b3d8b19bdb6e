"""No lost updates: a save made on a stale version is refused, on SQLite and PostgreSQL."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from opportunities.models import Opportunity, OpportunityHistory, Stage
from opportunities.services import StaleVersionError, opportunity_create, opportunity_update
from tests import clock
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

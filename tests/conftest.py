"""The fixed cast of users, one per role, shared by every test; the session's clock."""

import pytest
import time_machine

from tests import clock
from tests.factories import PartnerFactory, UserFactory


def pytest_configure(config):
    """With ``CLIMCRM_TEST_NOW`` set, the whole session (every xdist worker, the live
    server's thread) runs from that moment on, ticking."""
    try:
        moment = clock.moment_from_env()
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if moment is not None:
        config._climcrm_clock = time_machine.travel(moment, tick=True)
        config._climcrm_clock.start()


def pytest_unconfigure(config):
    traveller = getattr(config, "_climcrm_clock", None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    if getattr(config, "_climcrm_clock", None) is None:
        return "clock: real"
    return f"clock: {clock.ENV}={clock.describe(clock.NOW)}"


@pytest.fixture
def partner_a(db):
    return PartnerFactory(account__name="Alpha Solutions SA")


@pytest.fixture
def partner_b(db):
    return PartnerFactory(account__name="Beta Systèmes Sàrl")


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", roles=["sales_manager"])


@pytest.fixture
def rep(db, manager):
    return UserFactory(username="rep", roles=["sales_rep"], manager=manager)


@pytest.fixture
def other_rep(db, manager):
    return UserFactory(username="rep2", roles=["sales_rep"], manager=manager)


@pytest.fixture
def channel(db, partner_a, partner_b):
    user = UserFactory(username="channel", roles=["channel_manager"])
    partner_a.channel_manager = user
    partner_a.save()
    partner_b.channel_manager = user
    partner_b.save()
    return user


@pytest.fixture
def partner_a_user(db, partner_a):
    return UserFactory(
        username="partner_a", roles=["partner_user"], partner=partner_a, partner_title="salesperson"
    )


@pytest.fixture
def partner_b_user(db, partner_b):
    return UserFactory(
        username="partner_b", roles=["partner_user"], partner=partner_b, partner_title="salesperson"
    )


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", roles=["admin"], is_staff=True, is_superuser=True)


@pytest.fixture
def client_for(client):
    """client_for(user) -> a test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login

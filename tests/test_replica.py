"""Reports on a streaming replica (``REPORTS_DATABASE_URL``): the report pages read it and
show the primary's figures, every write goes to the primary, and the replica refuses one.

The session starts a hot standby of the test database's server with ``scripts/replica.sh``
(a base backup over the replication protocol: the server's pg_hba.conf needs a
``replication`` line, which ``.ci/run`` adds) and stops it at the end. A replica that cannot
start fails these tests; they are skipped only on SQLite.
"""

import os
import re
import socket
import subprocess
import time
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, router
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities.models import Opportunity
from opportunities.services import opportunity_update
from tests import clock
from tests.factories.reviews import ReviewFactory
from tests.forecasting.factories import bulk_deals

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
    # The replica's alias is a mirror of the test database (as REPORTS_DATABASE_URL's is):
    # the tests may read it, and it is never flushed.
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, "replica"]),
]

SCRIPT = settings.BASE_DIR / "scripts" / "replica.sh"
ALIAS = "replica"
REPORTS = [
    reverse("forecasting:forecast"),
    reverse("forecasting:forecast") + "?group=partner",
    reverse("forecasting:metrics"),
    reverse("forecasting:changes"),
    reverse("forecasting:accuracy"),
]
# What differs between two renderings of the same figures: the masked CSRF token.
TOKEN = re.compile(r"[A-Za-z0-9]{64}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _replica_script(action: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="session")
def replica_port(django_db_setup):
    """A hot standby of the test server, on a free port, for the whole session, and a
    ``replica`` alias reading it (the test database's name, the replica's port)."""
    if connection.vendor != "postgresql":
        pytest.skip("a streaming replica of PostgreSQL: CI runs this on PostgreSQL")
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "PRIMARY_HOST": db["HOST"] or "127.0.0.1",
        "PRIMARY_PORT": str(db["PORT"] or 5432),
        "PRIMARY_USER": db["USER"] or "postgres",
        "REPLICA_PORT": str(port),
    }
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    started = _replica_script("start", env)
    if started.returncode != 0:
        _replica_script("stop", env)
        pytest.fail(
            "Could not start a streaming replica of the test database's server with "
            f"scripts/replica.sh:\n{started.stdout}{started.stderr}",
            pytrace=False,
        )
    connections.settings[ALIAS] = {
        **db,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "TEST": {**db.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS},
    }
    try:
        yield port
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
        stopped = _replica_script("stop", env)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture
def replica(replica_port, settings):
    """The reports read the replica, as with ``REPORTS_DATABASE_URL``."""
    settings.REPORTS_DB_ALIAS = ALIAS
    return connections[ALIAS]


def caught_up(replica_connection) -> None:
    """Waits until the replica has replayed everything the primary has written so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        written = cursor.fetchone()[0]
    deadline = time.monotonic() + 30
    with replica_connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [written])
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "the replica is more than 30 s behind"
            time.sleep(0.05)


def test_report_pages_read_the_replica_and_show_the_primarys_figures(
    replica, client_for, manager, rep, partner_a, settings
):
    bulk_deals(30, owner=rep, partner=partner_a)
    caught_up(replica)
    client = client_for(manager)
    for url in REPORTS:
        settings.REPORTS_DB_ALIAS = DEFAULT_DB_ALIAS
        on_primary = client.get(url)
        settings.REPORTS_DB_ALIAS = ALIAS
        with CaptureQueriesContext(replica) as read:
            on_replica = client.get(url)
        assert on_primary.status_code == on_replica.status_code == 200, url
        assert read.captured_queries, f"{url} did not read the replica"
        assert TOKEN.sub("", on_replica.content.decode()) == TOKEN.sub(
            "", on_primary.content.decode()
        ), url


def test_writes_go_to_the_primary_and_the_replica_refuses_them(replica, rep, manager):
    for model in apps.get_models():
        assert router.db_for_write(model) == DEFAULT_DB_ALIAS, model
    bulk_deals(1, owner=rep)
    deal = Opportunity.objects.get()
    caught_up(replica)
    with CaptureQueriesContext(replica) as on_replica:
        opportunity_update(
            opportunity=deal,
            by=manager,
            changes={"amount": Decimal("123456")},
            expected_version=deal.version,
        )
    assert on_replica.captured_queries == []
    with pytest.raises(DatabaseError, match="read-only transaction"):
        Opportunity.objects.using(ALIAS).filter(pk=deal.pk).update(amount=Decimal("1"))
    caught_up(replica)
    assert Opportunity.objects.using(ALIAS).get(pk=deal.pk).amount == Decimal("123456")


def test_the_review_screen_reads_the_primary(replica, client_for, channel, partner_a, rep):
    """A review is held on what was just changed: never on a replica a few seconds behind."""
    bulk_deals(5, owner=rep, partner=partner_a)
    review = ReviewFactory(partner=partner_a)
    with CaptureQueriesContext(replica) as on_replica:
        response = client_for(channel).get(
            reverse("pipeline_reviews:detail", args=[review.pk]), follow=True
        )
    assert response.status_code == 200
    assert on_replica.captured_queries == []

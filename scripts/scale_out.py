#!/usr/bin/env python
"""Scale out, checked: two gunicorn instances and two workers on one PostgreSQL database.

    .venv/bin/python scripts/scale_out.py
    .venv/bin/python scripts/scale_out.py --server postgres://postgres@127.0.0.1:5432/postgres

Makes a scratch database on that server (dropped at the end), migrates it, and writes a small
cast: a channel manager, a partner with its sales director and salesperson, two deals of the
partner and the partner's open monthly review. Then, with every request alternating between
the two instances:

1. the channel manager logs in on one instance and is logged in on the other (sessions);
2. deals move through the board's endpoint, each move carrying the version read from the
   other instance; a move replayed with a version read before the last move is refused with
   409 by the other instance, and the history holds exactly the accepted moves (locking);
3. the review is closed on one instance: both workers race for its recap emails, and each
   recipient gets exactly one, written by Django's file email backend into a folder both
   workers share; each periodic job's occurrence was started once.

Prints each check and exits 1 if one fails. Traffic stays on 127.0.0.1; about half a minute.
``tests/background/test_scale_out.py`` runs the same checks against the test database.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
HOST = "127.0.0.1"
PASSWORD = "climcrm-demo"
SECRET_KEY = "scale-out-check-shared-by-every-instance-" + "x" * 20


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


# --- the processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_env(database_url: str, mail_dir: Path) -> dict[str, str]:
    """The environment of every instance and worker: one database, one secret key, the
    emails written as files into one folder."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CLIMCRM_TESTING", "CLIMCRM_TEST_NOW", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DATABASE_URL=database_url,
        # DEBUG on serves static files without collectstatic; nothing checked here depends
        # on it, and the key is set so that it is the same in every process.
        DEBUG="1",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=HOST,
        EMAIL_URL="filemail:///" + str(mail_dir).lstrip("/"),
        CRM_SCHEDULER_INTERVAL="1",
        LOG_LEVEL="WARNING",
    )
    return env


class Stack:
    """``web`` gunicorn instances and ``workers`` workers, stopped on exit."""

    def __init__(self, database_url: str, mail_dir: Path, *, web: int = 2, workers: int = 2):
        self.env = process_env(database_url, mail_dir)
        self.ports = [free_port() for _ in range(web)]
        self.workers = workers
        self.processes: list[subprocess.Popen] = []
        # Read by output(), even after the processes stopped; gone with the object.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def bases(self) -> list[str]:
        return [f"{HOST}:{port}" for port in self.ports]

    def _start(self, command: list[str]) -> None:
        self.processes.append(
            subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def __enter__(self) -> Stack:
        for port in self.ports:
            self._start(
                [GUNICORN, "climcrm.wsgi:application", f"--bind={HOST}:{port}",
                 "--workers=2", "--threads=2", "--timeout=60"]
            )  # fmt: skip
        for number in range(self.workers):
            self._start(
                [PYTHON, "manage.py", "worker", "--no-reload", "--interval=0.2",
                 f"--worker-id=scale-out-{number + 1}"]
            )  # fmt: skip
        deadline = time.monotonic() + 60
        for base in self.bases:
            while not _healthy(base):
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                    self.__exit__(None, None, None)
                    raise RuntimeError("the instances did not start:\n" + self.output())
                time.sleep(0.3)
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]


def _healthy(base: str) -> bool:
    try:
        connection = http.client.HTTPConnection(base, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


# --- a browser that goes from one instance to the other ----------------------------------


class Browser:
    """Keeps its cookies whichever instance answers, as one browser behind a balancer."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, base, method, path, data=None, *, htmx=False):
        headers = {"Host": HOST}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(data or {})
        if htmx:
            headers["HX-Request"] = "true"
        connection = http.client.HTTPConnection(base, timeout=30)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, text, response.headers

    def get(self, base, path):
        return self.request(base, "GET", path)

    def post(self, base, path, data=None, *, htmx=False):
        return self.request(base, "POST", path, data, htmx=htmx)


# --- the cast and the checks ---------------------------------------------------------------


def prepare() -> dict:
    """The cast, written through this process's Django connection (committed)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.utils import timezone

    from opportunities.models import Stage
    from pipeline_reviews import services as reviews
    from pipeline_reviews.models import ReviewKind
    from tests.factories import OpportunityFactory, PartnerFactory, UserFactory

    partner = PartnerFactory(account__name="Alpinfra Scale SA")
    channel = UserFactory(username="scale_channel", roles=["channel_manager"], language="en")
    partner.channel_manager = channel
    partner.save()
    director = UserFactory(
        username="scale_director", roles=["partner_user"], partner=partner,
        partner_title="sales_director",
    )  # fmt: skip
    salesperson = UserFactory(
        username="scale_salesperson", roles=["partner_user"], partner=partner,
        partner_title="salesperson", language="en",
    )  # fmt: skip
    # Hashed as the instances hash (a test process may use a faster hasher they refuse).
    channel.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    channel.save(update_fields=["password"])
    rep = UserFactory(username="scale_rep", roles=["sales_rep"])
    deals = [
        OpportunityFactory(owner=rep, partner=partner, stage=Stage.QUALIFICATION) for _ in range(2)
    ]
    review = reviews.review_create(
        by=channel,
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner,
        period=timezone.localdate().replace(day=1),
    )
    return {
        "username": channel.username,
        "deals": [deal.pk for deal in deals],
        "review": review.pk,
        "recipients": sorted(user.email for user in (channel, director, salesperson)),
    }


_VERSION = re.compile(r'name="version" value="(\d+)"')


def _version(browser: Browser, base: str, deal: int) -> int:
    from django.urls import reverse

    status, text, _headers = browser.get(base, reverse("opportunities:kanban-move", args=[deal]))
    match = _VERSION.search(text)
    if status != 200 or match is None:
        raise RuntimeError(f"no version on the move page of deal {deal} (HTTP {status})")
    return int(match.group(1))


def _move(browser: Browser, base: str, deal: int, stage: str, version: int) -> int:
    from django.urls import reverse

    from opportunities.models import ReasonCode

    path = reverse("opportunities:kanban-move", args=[deal])
    # A step back asks for a reason; one is always given, so only the version decides.
    # Seeded by a migration, but a test run may have emptied the table before this one.
    reason = ReasonCode.objects.get_or_create(
        code="other", defaults={"label_en": "Other", "label_fr": "Autre"}
    )[0].pk
    values = {"stage": stage, "version": version, "reason_code": reason}
    status, _text, _headers = browser.post(base, path, values, htmx=True)
    return status


def _emails(mail_dir: Path) -> list[str]:
    """The recipient of every email the file backend wrote, one entry per email."""
    recipients = []
    for path in sorted(mail_dir.glob("*.log")):
        recipients += re.findall(r"^To: (.+)$", path.read_text(errors="replace"), re.MULTILINE)
    return sorted(recipient.strip() for recipient in recipients)


def run_checks(bases: list[str], cast: dict, mail_dir: Path, *, wait: float = 30) -> list[Check]:
    from django.db.models import Count
    from django.urls import reverse
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from climcrm.models import EmailStatus, ScheduledRun
    from climcrm.outbox import send_email
    from opportunities.models import Opportunity, OpportunityHistory
    from pipeline_reviews.models import RecapEmail

    checks: list[Check] = []
    one, two = bases[0], bases[1]
    browser = Browser()

    # 1. Sessions: logged in on one instance, known on the other.
    browser.get(one, reverse("login"))
    status, _text, headers = browser.post(
        one, reverse("login"), {"username": cast["username"], "password": PASSWORD}
    )
    logged_in = status == 302 and headers.get("Location") == reverse("dashboard")
    status_two, text_two, _h = browser.get(two, reverse("dashboard"))
    checks.append(
        Check(
            "sessions: logged in on one instance, the other knows it",
            logged_in and status_two == 200 and 'name="username"' not in text_two,
            f"login HTTP {status}, dashboard on the other HTTP {status_two}",
        )
    )

    # 2. Locking: every move carries the version read from the other instance.
    first, second = cast["deals"]
    accepted = refused = 0
    outcomes = []
    stages = ["needs_analysis", "proposal", "negotiation"]
    for number, stage in enumerate(stages):
        reader, writer = (one, two) if number % 2 == 0 else (two, one)
        for deal in (first, second):
            status = _move(browser, writer, deal, stage, _version(browser, reader, deal))
            outcomes.append(status)
            accepted += status == 200
    stale = _version(browser, two, first)
    status_fresh = _move(browser, two, first, "proposal", stale)
    status_stale = _move(browser, one, first, "qualification", stale)
    accepted += status_fresh == 200
    refused += status_stale == 409
    histories = OpportunityHistory.objects.filter(opportunity_id__in=cast["deals"]).count()
    stages_now = dict(Opportunity.objects.filter(pk__in=cast["deals"]).values_list("pk", "stage"))
    checks.append(
        Check(
            "locking: each move with the version read on the other instance is accepted",
            outcomes == [200] * len(outcomes) and status_fresh == 200,
            f"{accepted} moves accepted ({outcomes + [status_fresh]})",
        )
    )
    checks.append(
        Check(
            "locking: a move on a version read before the last one is refused (409)",
            status_stale == 409 and stages_now == {first: "proposal", second: "negotiation"},
            f"HTTP {status_stale}; stages now {stages_now}",
        )
    )
    checks.append(
        Check(
            "locking: the history holds exactly the accepted moves",
            histories == accepted + len(cast["deals"]),
            f"{histories} history rows for {accepted} moves and {len(cast['deals'])} creations",
        )
    )

    # 3. Recaps: the review closed on one instance, both workers racing for the emails.
    status, _text, _h = browser.post(two, reverse("pipeline_reviews:close", args=[cast["review"]]))
    recaps = RecapEmail.objects.filter(review_id=cast["review"])
    # Each recap handed out twice more, as a retry racing its first sending would be: the
    # two workers take these at once.
    queue = DatabaseBackend("default", {})
    for pk in recaps.values_list("pk", flat=True):
        for _copy in range(2):
            queue.enqueue(send_email, ["pipeline_reviews.recapemail", pk], {})
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if recaps.exists() and not recaps.exclude(status=EmailStatus.SENT).exists():
            break
        time.sleep(0.3)
    sendings = DBTaskResult.objects.filter(task_path=send_email.module_path)
    while time.monotonic() < deadline and sendings.exclude(status="SUCCESSFUL").exists():
        time.sleep(0.3)
    time.sleep(1)
    sent = _emails(mail_dir)
    outcomes = sorted(sendings.values_list("return_value", flat=True))
    checks.append(
        Check(
            "recaps: the review closes on one instance",
            status == 302 and recaps.count() == len(cast["recipients"]),
            f"HTTP {status}, {recaps.count()} recap(s) written",
        )
    )
    checks.append(
        Check(
            "recaps: each recipient gets exactly one, with two workers",
            sent == cast["recipients"]
            and set(recaps.values_list("status", flat=True)) == {EmailStatus.SENT},
            f"{len(sent)} email(s) written for {len(outcomes)} sending(s) {outcomes}: {sent}",
        )
    )
    doubled = (
        ScheduledRun.objects.values("job", "occurrence").annotate(n=Count("id")).filter(n__gt=1)
    )
    workers = set()
    for ids in DBTaskResult.objects.values_list("worker_ids", flat=True):
        workers.update(ids)
    started = ScheduledRun.objects.count()
    periodic_tasks = DBTaskResult.objects.filter(
        task_path__in=ScheduledRun.objects.values("job")
    ).count()
    checks.append(
        Check(
            "periodic jobs: each occurrence started once by the two workers",
            started > 0 and not doubled.exists() and periodic_tasks == started,
            f"{started} occurrence(s), {periodic_tasks} task(s); task runs by {sorted(workers)}",
        )
    )
    return checks


# --- standalone -------------------------------------------------------------------------


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--server",
        default=os.environ.get("SCALE_OUT_SERVER", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL database URL on the server to use (its scratch database goes beside)",
    )
    args = parser.parse_args()
    import psycopg

    name = f"climcrm_scale_out_{os.getpid()}"
    server = urllib.parse.urlsplit(args.server)
    database_url = urllib.parse.urlunsplit(server._replace(path="/" + name))
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = process_env(database_url, BASE_DIR)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=BASE_DIR, env=env, check=True
        )
        os.environ.update(DATABASE_URL=database_url, DEBUG="1", SECRET_KEY=SECRET_KEY)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "climcrm.settings")
        sys.path.insert(0, str(BASE_DIR))
        import django

        django.setup()
        cast = prepare()
        with tempfile.TemporaryDirectory() as folder:
            mail_dir = Path(folder)
            started = time.monotonic()
            with Stack(database_url, mail_dir) as stack:
                checks = run_checks(stack.bases, cast, mail_dir)
            took = time.monotonic() - started
        from django.db import connections

        connections.close_all()
    finally:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    passed = sum(check.ok for check in checks)
    print(f"{passed} passed, {len(checks) - passed} failed ({took:.0f} s)")
    return 0 if all(check.ok for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Load and fault test: gunicorn on PostgreSQL, bounded in time, traffic on 127.0.0.1 only.

    .venv/bin/python scripts/soak.py                 # 60 s of load, then the faults
    .venv/bin/python scripts/soak.py --duration 20   # shorter
    .venv/bin/python scripts/soak.py --pg-cluster main --pg-port 5432   # the shared cluster

Phases:
1. setup: a PostgreSQL cluster of its own (``soak`` on port 5433, created on first run so a
   restart disturbs nobody), database ``climcrm_soak`` rebuilt, migrated, demo data seeded,
   static files collected; gunicorn started (2 workers, 4 threads, DEBUG off).
2. load: readers on the deal list, the board and deal pages, writers moving a small set of
   deals concurrently through the board's move endpoint (or the deal edit form). Counts 5xx
   (must be 0) and checks that no update is lost: every accepted move is a history row, no
   history row exists that was not accepted, and each deal ends in its last accepted stage.
3. database restart: PostgreSQL is stopped for a few seconds while requests keep coming.
   They must fail fast (an error status, no hang) and succeed again once it is back, with
   the same gunicorn processes (persistent connections are health-checked).
4. mail outage: a review is closed while the SMTP server is unreachable; it must close with
   its recap pending, then ``send_review_recaps`` sends it exactly once (run twice).

Prints a summary table and exits 1 when a check fails. Needs root or the postgres user for
the cluster commands (pg_createcluster/pg_ctlcluster).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = str(BASE_DIR / ".venv" / "bin" / "python")
GUNICORN = str(BASE_DIR / ".venv" / "bin" / "gunicorn")
DEMO_PASSWORD = "climcrm-demo"
HOST = "127.0.0.1"


# ---------------------------------------------------------------------------- output


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.failures: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.rows.append((name, "ok" if ok else "FAIL", detail))
        if not ok:
            self.failures.append(f"{name}: {detail}")
        log(f"{'ok  ' if ok else 'FAIL'} {name} {detail}")
        return ok

    def info(self, name: str, detail: str) -> None:
        self.rows.append((name, "info", detail))
        log(f"info {name} {detail}")

    def table(self) -> str:
        width = max(len(r[0]) for r in self.rows) if self.rows else 10
        lines = [f"{'check'.ljust(width)}  result  detail", "-" * (width + 60)]
        lines += [f"{n.ljust(width)}  {s.ljust(6)}  {d}" for n, s, d in self.rows]
        return "\n".join(lines)


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


# ------------------------------------------------------------------------ PostgreSQL


def pg_version(cluster: str) -> str:
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] == cluster:
            return parts[0]
    return ""


def pg_ctl(version: str, cluster: str, action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, action],
        check=True,
        capture_output=True,
        text=True,
    )


def ensure_cluster(cluster: str, port: int) -> str:
    version = pg_version(cluster)
    if not version:
        main = pg_version("main")
        if not main:
            raise SystemExit("No PostgreSQL cluster found (pg_lsclusters).")
        log(f"creating PostgreSQL cluster {main}/{cluster} on port {port}")
        subprocess.run(
            ["pg_createcluster", main, cluster, "--port", str(port), "--", "--auth=trust"],
            check=True,
            capture_output=True,
            text=True,
        )
        version = main
    status = subprocess.run(
        ["pg_ctlcluster", version, cluster, "status"], capture_output=True, text=True
    )
    if status.returncode != 0:
        pg_ctl(version, cluster, "start")
    wait_for_port(port, 30)
    return version


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def psql(port: int, sql: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            HOST,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def database_exists(port: int, name: str) -> bool:
    result = subprocess.run(
        [
            "psql",
            "-h",
            HOST,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() == "1"


# ---------------------------------------------------------------------------- HTTP


@dataclass
class Response:
    status: int
    headers: dict
    body: str
    seconds: float


class Browser:
    """A logged-in user over plain HTTP. Cookies are kept by hand: the app runs with its
    production settings (secure cookies) behind a pretend TLS proxy (X-Forwarded-Proto)."""

    def __init__(self, port: int, timeout: float = 15.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None, headers=None) -> Response:
        body = urllib.parse.urlencode(data or {}, doseq=True) if method == "POST" else None
        all_headers = {
            "Host": f"{HOST}:{self.port}",
            "X-Forwarded-Proto": "https",
            "Origin": f"https://{HOST}:{self.port}",
            "Referer": f"https://{HOST}:{self.port}/",
            "Accept-Language": "fr",
        }
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            if "csrftoken" in self.cookies:
                all_headers["X-CSRFToken"] = self.cookies["csrftoken"]
        all_headers.update(headers or {})
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            raw = connection.getresponse()
            text = raw.read().decode("utf-8", "replace")
            for name, value in raw.getheaders():
                if name.lower() == "set-cookie":
                    pair = value.split(";", 1)[0]
                    key, _, val = pair.partition("=")
                    if "expires=Thu, 01 Jan 1970" in value or val in ('""', ""):
                        self.cookies.pop(key.strip(), None)
                    else:
                        self.cookies[key.strip()] = val.strip()
            return Response(raw.status, dict(raw.getheaders()), text, time.monotonic() - started)
        finally:
            connection.close()

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, data: dict, **kw) -> Response:
        return self.request("POST", path, data=data, **kw)

    def login(self, username: str) -> None:
        page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if not token:
            raise RuntimeError(f"no CSRF token on the login page ({page.status})")
        response = self.post(
            "/login/",
            {
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": DEMO_PASSWORD,
            },
        )
        if response.status != 302:
            reason = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.body))[:300]
            raise RuntimeError(f"login of {username} failed: {response.status} {reason}")


@dataclass
class Stats:
    statuses: Counter = field(default_factory=Counter)
    latencies: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (what, status or exception)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, response: Response | None, error: str = "") -> None:
        with self.lock:
            if response is None:
                self.statuses["exception"] += 1
                self.errors.append((what, error))
                return
            self.statuses[response.status] += 1
            self.latencies.append(response.seconds)
            if response.status >= 500:
                self.errors.append((what, response.status))

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if isinstance(s, int) and s >= 500)

    def summary(self) -> str:
        total = sum(self.statuses.values())
        lat = sorted(self.latencies) or [0]
        p95 = lat[int(len(lat) * 0.95) - 1] if len(lat) > 1 else lat[0]
        by = ", ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items(), key=str))
        return (
            f"{total} requests ({by}); median {statistics.median(lat) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
        )


# ------------------------------------------------------------------------- Django side


def django_env(database_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CLIMCRM_TESTING",)}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="climcrm.settings",
        ALLOWED_HOSTS=f"{HOST},localhost",
        SECURE_SSL_REDIRECT="0",
        CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def setup_django(database_url: str) -> None:
    """The script reads the database directly to pick deals and check the history."""
    os.environ.update(django_env(database_url, DEBUG="1"))
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def discover_urls(deal_pk: int) -> dict:
    from django.urls import NoReverseMatch, reverse

    def first(*candidates):
        for name, args in candidates:
            try:
                return name, reverse(name, args=args)
            except NoReverseMatch:
                continue
        return None, None

    urls = {}
    for key, names in {
        "list": [("opportunities:list", [])],
        "board": [("opportunities:kanban", []), ("opportunities:board", [])],
        "dashboard": [("dashboard", [])],
        "forecast": [("forecasting:forecast", [])],
        "leads": [("leads:list", [])],
        "accounts": [("accounts:list", [])],
    }.items():
        name, url = first(*names)
        if url:
            urls[key] = url
    name, url = first(("opportunities:detail", [deal_pk]))
    if url:
        urls["detail"] = url.replace(str(deal_pk), "{pk}")
    name, url = first(
        ("opportunities:kanban-move", [deal_pk]),
        ("opportunities:move", [deal_pk]),
        ("opportunities:move-stage", [deal_pk]),
        ("opportunities:kanban_move", [deal_pk]),
    )
    if url:
        urls["move"] = url.replace(str(deal_pk), "{pk}")
        urls["move_name"] = name
    name, url = first(("opportunities:edit", [deal_pk]), ("opportunities:update", [deal_pk]))
    if url:
        urls["edit"] = url.replace(str(deal_pk), "{pk}")
    return urls


# ------------------------------------------------------------------------------ phases


OPEN = ["qualification", "needs_analysis", "proposal", "negotiation"]


@dataclass
class Move:
    deal: int
    to_stage: str
    expected_version: int
    accepted: bool
    status: int


class Writer(threading.Thread):
    def __init__(self, browser, deals, urls, stop, stats, moves, moves_lock, rng):
        super().__init__(daemon=True)
        self.browser, self.deals, self.urls = browser, deals, urls
        self.stop, self.stats, self.moves, self.moves_lock = stop, stats, moves, moves_lock
        self.rng = rng

    def run(self) -> None:
        from django.db import close_old_connections

        from opportunities.models import Opportunity

        while not self.stop.is_set():
            pk = self.rng.choice(self.deals)
            close_old_connections()
            stage, version = Opportunity.objects.filter(pk=pk).values_list("stage", "version")[0]
            target = self.rng.choice([s for s in OPEN if s != stage])
            try:
                response = self.send(pk, target, version)
            except Exception as error:  # noqa: BLE001 - counted, the run goes on
                self.stats.record("move", None, repr(error))
                continue
            self.stats.record("move", response)
            accepted = self.accepted(response)
            with self.moves_lock:
                self.moves.append(Move(pk, target, version, accepted, response.status))
            time.sleep(self.rng.uniform(0, 0.05))

    def send(self, pk: int, stage: str, version: int) -> Response:
        if "move" in self.urls:
            return self.browser.post(
                self.urls["move"].format(pk=pk),
                {
                    "stage": stage,
                    "to_stage": stage,
                    "version": version,
                    "expected_version": version,
                },
                headers={"HX-Request": "true"},
            )
        return self.browser.post(
            self.urls["edit"].format(pk=pk), {"stage": stage, "version": version}
        )

    @staticmethod
    def accepted(response: Response) -> bool:
        if response.status not in (200, 204, 302):
            return False
        trigger = response.headers.get("HX-Trigger", "")
        return '"error"' not in trigger


class Reader(threading.Thread):
    def __init__(self, browser, paths, stop, stats, rng, pause=0.0):
        super().__init__(daemon=True)
        self.browser, self.paths, self.stop, self.stats = browser, paths, stop, stats
        self.rng, self.pause = rng, pause

    def run(self) -> None:
        while not self.stop.is_set():
            path = self.rng.choice(self.paths)()
            try:
                response = self.browser.get(path)
            except Exception as error:  # noqa: BLE001
                self.stats.record(path, None, repr(error))
            else:
                self.stats.record(path, response)
            if self.pause:
                time.sleep(self.pause)


def load_phase(args, report, port, urls, users) -> None:
    from opportunities.models import Opportunity, OpportunityHistory

    rng = random.Random(args.seed)
    deal_ids = list(
        Opportunity.objects.filter(stage__in=OPEN).order_by("pk").values_list("pk", flat=True)
    )
    if not deal_ids:
        report.check("load: deals to move", False, "no open deal in the demo data")
        return
    hot = rng.sample(deal_ids, min(args.hot_deals, len(deal_ids)))
    all_ids = deal_ids[:200]
    history_before = {
        pk: OpportunityHistory.objects.filter(opportunity_id=pk).count() for pk in hot
    }
    paths = []
    for key in ("list", "board", "dashboard", "forecast", "leads", "accounts"):
        if key in urls:
            paths.append(lambda u=urls[key]: u)
            if key in ("list", "board"):
                paths.append(lambda u=urls[key]: f"{u}?page={rng.randint(1, 5)}&ordering=-amount")
    if "detail" in urls:
        paths += [lambda: urls["detail"].format(pk=rng.choice(all_ids))] * 3
    report.info("load: pages read", ", ".join(sorted(k for k in urls if k != "move_name")))
    writable = "move" in urls or "edit" in urls
    report.check(
        "load: a write endpoint exists",
        writable,
        urls.get("move_name", "opportunities:edit" if "edit" in urls else "none found"),
    )

    stop = threading.Event()
    read_stats, write_stats = Stats(), Stats()
    moves: list[Move] = []
    moves_lock = threading.Lock()
    threads = []
    for i in range(args.readers):
        browser = users[i % len(users)]
        threads.append(Reader(browser, paths, stop, read_stats, random.Random(rng.random())))
    if writable:
        for _ in range(args.writers):
            browser = Browser(port)
            browser.login("admin")
            threads.append(
                Writer(
                    browser,
                    hot,
                    urls,
                    stop,
                    write_stats,
                    moves,
                    moves_lock,
                    random.Random(rng.random()),
                )
            )
    log(
        f"load: {args.readers} readers, {args.writers} writers on {len(hot)} deals "
        f"for {args.duration:.0f} s"
    )
    for thread in threads:
        thread.start()
    time.sleep(args.duration)
    stop.set()
    for thread in threads:
        thread.join(30)

    report.info("load: reads", read_stats.summary())
    report.check(
        "load: no 5xx on reads",
        read_stats.server_errors == 0 and read_stats.statuses["exception"] == 0,
        str(read_stats.errors[:5]),
    )
    if not writable:
        return
    accepted = [m for m in moves if m.accepted]
    refused = Counter(m.status for m in moves if not m.accepted)
    report.info("load: writes", write_stats.summary())
    report.info("load: moves", f"{len(accepted)} accepted, refused by status {dict(refused)}")
    report.check(
        "load: no 5xx on writes",
        write_stats.server_errors == 0 and write_stats.statuses["exception"] == 0,
        str(write_stats.errors[:5]),
    )
    report.check("load: moves were accepted", len(accepted) > 0, f"{len(accepted)}")
    verify_moves(report, hot, accepted, history_before)


def verify_moves(report, hot, accepted, history_before) -> None:
    from opportunities.models import Opportunity, OpportunityHistory

    lost, phantom, wrong_final = [], [], []
    by_deal = defaultdict(list)
    for move in accepted:
        by_deal[move.deal].append(move)
    for pk in hot:
        rows = list(
            OpportunityHistory.objects.filter(opportunity_id=pk)
            .order_by("version")
            .values_list("version", "stage")
        )
        rows_by_version = dict(rows)
        deal_moves = sorted(by_deal[pk], key=lambda m: m.expected_version)
        for move in deal_moves:
            # With optimistic locking an accepted move from version v wrote version v + 1.
            if rows_by_version.get(move.expected_version + 1) != move.to_stage:
                lost.append((pk, move.expected_version + 1, move.to_stage))
        new_rows = len(rows) - history_before[pk]
        if new_rows != len(deal_moves):
            phantom.append((pk, f"{new_rows} history rows for {len(deal_moves)} accepted moves"))
        deal = Opportunity.objects.get(pk=pk)
        if deal_moves:
            last = deal_moves[-1]
            if (deal.stage, deal.version) != (last.to_stage, last.expected_version + 1):
                wrong_final.append((pk, deal.stage, deal.version, last.to_stage))
    report.check("load: every accepted move is in the history", not lost, str(lost[:5]))
    report.check("load: no write beyond the accepted ones", not phantom, str(phantom[:5]))
    report.check("load: final stage = last accepted move", not wrong_final, str(wrong_final[:5]))


def restart_phase(args, report, port, urls, gunicorn, version) -> None:
    workers_before = worker_pids(gunicorn.pid)
    browser = Browser(port, timeout=args.request_timeout)
    browser.login("manager")
    paths = [urls.get("list", "/"), urls.get("board", "/"), "/healthz"]
    ok_before = all(browser.get(p).status == 200 for p in paths)
    report.check("restart: pages answer before", ok_before)

    stop = threading.Event()
    during = Stats()
    threads = [
        Reader(browser, [lambda p=p: p for p in paths], stop, during, random.Random(i), 0.1)
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    time.sleep(2)
    log(f"restart: stopping PostgreSQL {version}/{args.pg_cluster} for {args.down_seconds} s")
    pg_ctl(version, args.pg_cluster, "stop")
    down_started = time.monotonic()
    time.sleep(0.5)
    down = Stats()
    slowest = 0.0
    while time.monotonic() - down_started < args.down_seconds:
        for path in paths:
            try:
                response = browser.get(path)
            except Exception as error:  # noqa: BLE001
                down.record(path, None, repr(error))
                continue
            down.record(path, response)
            slowest = max(slowest, response.seconds)
        time.sleep(0.2)
    pg_ctl(version, args.pg_cluster, "start")
    up_at = time.monotonic()
    log("restart: PostgreSQL started again")
    recovered_after = None
    while time.monotonic() - up_at < 30:
        try:
            if all(browser.get(p).status == 200 for p in paths):
                recovered_after = time.monotonic() - up_at
                break
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.2)
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(30)

    statuses = {s for s in down.statuses if isinstance(s, int)}
    report.info("restart: while down", down.summary())
    # 503 with Retry-After: the error handler says "try again" when the database is away.
    report.check(
        "restart: requests fail cleanly while down (503)",
        down.statuses["exception"] == 0 and statuses == {503},
        f"statuses {dict(down.statuses)}, slowest {slowest:.2f} s",
    )
    report.check(
        "restart: no request hangs while down",
        slowest < args.request_timeout,
        f"slowest {slowest:.2f} s (limit {args.request_timeout:.0f} s)",
    )
    report.check(
        "restart: pages answer again without restarting gunicorn",
        recovered_after is not None,
        f"after {recovered_after:.2f} s" if recovered_after is not None else "not within 30 s",
    )
    # After recovery, a clean stretch: every request succeeds.
    after = Stats()
    for _ in range(20):
        for path in paths:
            after.record(path, browser.get(path))
    report.check("restart: no error after recovery", after.server_errors == 0, after.summary())
    workers_after = worker_pids(gunicorn.pid)
    report.check(
        "restart: same gunicorn master and workers",
        gunicorn.poll() is None and workers_before == workers_after,
        f"workers {sorted(workers_before)} -> {sorted(workers_after)}",
    )


def worker_pids(master: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    )
    return {int(x) for x in out.stdout.split()}


class SMTPSink(socketserver.ThreadingTCPServer):
    """A mail server on 127.0.0.1 that accepts everything and counts the messages."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.messages: list[bytes] = []
        super().__init__((HOST, 0), _SMTPHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 soak ESMTP")
        lines: list[bytes] = []
        in_data = False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    in_data = False
                    self.server.messages.append(b"".join(lines))
                    lines = []
                    self.reply("250 queued")
                else:
                    lines.append(line)
                continue
            command = line[:4].upper()
            if command == b"EHLO":
                self.reply("250-soak")
                self.reply("250 8BITMIME")
            elif command == b"DATA":
                in_data = True
                self.reply("354 end with a dot")
            elif command == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


def mail_phase(args, report, port, database_url) -> None:
    """A review closed while SMTP is down keeps its recap in the outbox; sent later, once."""
    from django.db import connections
    from django.urls import NoReverseMatch, reverse

    from pipeline_reviews.models import Review

    connections.close_all()  # the database was restarted under this process too
    env = django_env(database_url, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    commands = manage(env, "help", "--commands", check=False).stdout.split()
    if "send_review_recaps" not in commands:
        report.check("mail: send_review_recaps command exists", False, "not found")
        return
    outbox = recap_model()
    if outbox is None:
        report.check("mail: recap outbox model exists", False, "not found")
        return
    review = (
        Review.objects.filter(closed_at__isnull=True, kind="monthly_partner")
        .order_by("-period_start", "pk")
        .first()
    )
    if review is None:
        review = open_a_review()
    if review is None:
        report.check("mail: an open monthly review to close", False, "none could be opened")
        return
    try:
        close_url = reverse("pipeline_reviews:close", args=[review.pk])
    except NoReverseMatch:
        report.check("mail: review close URL", False, "pipeline_reviews:close not found")
        return
    browser = Browser(port, timeout=60)
    browser.login("admin")
    pending_before = pending_recaps(outbox)
    started = time.monotonic()
    response = browser.post(close_url, {})
    took = time.monotonic() - started
    review.refresh_from_db()
    report.check(
        "mail: the review closes while SMTP is unreachable",
        response.status in (200, 302) and review.closed_at is not None,
        f"HTTP {response.status} in {took:.1f} s, closed_at={review.closed_at:%H:%M:%S}"
        if review.closed_at
        else f"HTTP {response.status}",
    )
    pending = pending_recaps(outbox)
    mine = outbox.objects.filter(review=review).count()
    report.check(
        "mail: its recaps are pending in the outbox",
        mine > 0 and pending - pending_before == mine,
        f"{mine} recap(s) for the review, {pending} pending in all",
    )
    down = manage(
        {**env, "EMAIL_URL": f"smtp://{HOST}:{args.dead_smtp_port}", "EMAIL_TIMEOUT": "3"},
        "send_review_recaps",
        check=False,
    )
    report.check(
        "mail: sending while SMTP is still down keeps them",
        pending_recaps(outbox) == pending and "Traceback" not in down.stderr,
        f"exit {down.returncode}: {down.stdout.strip()[-80:]}",
    )
    sink = SMTPSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        up = {**env, "EMAIL_URL": f"smtp://{HOST}:{sink.port}"}
        first = manage(up, "send_review_recaps")
        after_first = len(sink.messages)
        second = manage(up, "send_review_recaps")
        after_second = len(sink.messages)
    finally:
        sink.shutdown()
        sink.server_close()
    report.info("mail: sender runs", f"{first.stdout.strip()} / {second.stdout.strip()}")
    report.check(
        "mail: recaps sent once the server is back",
        after_first == pending and pending_recaps(outbox) == 0,
        f"{after_first} message(s) for {pending} pending",
    )
    report.check(
        "mail: sent exactly once",
        after_second == after_first
        and outbox.objects.filter(review=review, sent_at__isnull=False).count() == mine,
        f"{after_second - after_first} more on a second run",
    )


def open_a_review():
    """A monthly partner review for a month nobody reviewed yet (runs on a reused database)."""
    import datetime

    from django.utils import timezone

    from accounts.models import Partner
    from climcrm.models import User
    from pipeline_reviews import services

    admin = User.objects.get(username="admin")
    month = timezone.localdate().replace(day=1)  # the installation's month, not the machine's
    for partner in Partner.objects.order_by("pk"):
        for _ in range(36):
            month = (month - datetime.timedelta(days=1)).replace(day=1)
            try:
                return services.review_create(
                    by=admin, kind="monthly_partner", period=month, partner=partner
                )
            except Exception:  # noqa: BLE001 - that month is taken, try the one before
                continue
    return None


def recap_model():
    from django.apps import apps

    for model in apps.get_app_config("pipeline_reviews").get_models():
        if "recap" in model.__name__.lower() or "outbox" in model.__name__.lower():
            return model
    return None


def pending_recaps(model) -> int:
    names = {f.name for f in model._meta.get_fields()}
    for name in ("sent_at", "delivered_at"):
        if name in names:
            return model.objects.filter(**{f"{name}__isnull": True}).count()
    if "status" in names:
        return model.objects.exclude(status="sent").count()
    return model.objects.count()


# -------------------------------------------------------------------------------- main


def collect_static(report, env) -> None:
    """Production static files. A library whose source map was not vendored makes the
    manifest storage fail: that is reported, then the map is copied from node_modules so the
    rest of the run can go on."""
    for _attempt in range(5):
        result = manage(env, "collectstatic", "--no-input", "-v0", check=False)
        if result.returncode == 0:
            report.check("setup: collectstatic with the production storage", True)
            return
        missing = re.search(r"The file '([^']+)' could not be found", result.stderr)
        if not missing:
            break
        report.check(
            "setup: collectstatic with the production storage",
            False,
            f"{missing.group(1)} is referenced but not vendored (scripts/vendor_assets.py)",
        )
        name = Path(missing.group(1)).name
        found = sorted((BASE_DIR / "node_modules").rglob(name))
        if not found:
            break
        target = BASE_DIR / "static" / missing.group(1)
        shutil.copyfile(found[0], target)
    raise SystemExit(f"collectstatic failed:\n{result.stderr[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="load phase seconds")
    parser.add_argument("--readers", type=int, default=6)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--hot-deals", type=int, default=12, help="deals the writers fight over")
    parser.add_argument(
        "--port", type=int, default=0, help="gunicorn port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument("--pg-cluster", default="soak")
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--database", default="climcrm_soak")
    parser.add_argument("--down-seconds", type=float, default=5.0)
    parser.add_argument("--request-timeout", type=float, default=15.0)
    parser.add_argument("--dead-smtp-port", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--skip-restart", action="store_true")
    parser.add_argument("--skip-mail", action="store_true")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()

    report = Report()
    started = time.monotonic()
    if not args.port:
        args.port = free_port()
    elif port_in_use(args.port):
        raise SystemExit(f"Port {args.port} is already in use on {HOST}.")
    workdir = Path(tempfile.mkdtemp(prefix="climcrm-soak-"))
    version = ensure_cluster(args.pg_cluster, args.pg_port)
    database_url = f"postgres://postgres@{HOST}:{args.pg_port}/{args.database}"
    dev = django_env(database_url, DEBUG="1")
    exists = database_exists(args.pg_port, args.database)
    if args.fresh or not exists:
        log(f"database {database_url}: rebuilt")
        psql(args.pg_port, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        psql(args.pg_port, f'CREATE DATABASE "{args.database}"')
    else:
        log(f"database {database_url}: reused (--fresh rebuilds it)")
    manage(dev, "migrate", "--no-input", "-v0")
    seeded = time.monotonic()
    manage(dev, "seed_demo")  # does nothing when the demo data is there
    report.info("setup: demo data", f"ready in {time.monotonic() - seeded:.1f} s")
    manage(dev, "compilemessages", "--ignore=.venv", "--ignore=node_modules", "-v0")
    prod = django_env(
        database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        EMAIL_URL=f"smtp://{HOST}:{args.dead_smtp_port}",
        EMAIL_TIMEOUT="3",
    )
    collect_static(report, prod)
    setup_django(database_url)

    from opportunities.models import Opportunity

    some_deal = Opportunity.objects.order_by("pk").values_list("pk", flat=True).first()
    urls = discover_urls(some_deal or 1)

    log_path = workdir / "gunicorn.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - closed at the end
    gunicorn = subprocess.Popen(
        [
            GUNICORN,
            "climcrm.wsgi:application",
            "--bind",
            f"{HOST}:{args.port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
        ],
        cwd=BASE_DIR,
        env=prod,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if not wait_for_port(args.port, 30) or gunicorn.poll() is not None:
            raise SystemExit(f"gunicorn did not start; see {log_path}")
        log(f"gunicorn {gunicorn.pid} on http://{HOST}:{args.port}/")
        time.sleep(1)
        users = []
        for name in ("rep", "manager", "partner_a", "channel", "admin", "rep2"):
            browser = Browser(args.port)
            browser.login(name)
            users.append(browser)
        load_phase(args, report, args.port, urls, users)
        if not args.skip_restart:
            restart_phase(args, report, args.port, urls, gunicorn, version)
        if not args.skip_mail:
            mail_phase(args, report, args.port, database_url)
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        try:
            gunicorn.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(gunicorn.pid, signal.SIGKILL)
        log_file.close()
    tracebacks = log_path.read_text().count("Traceback")
    report.info("gunicorn log", f"{log_path} ({tracebacks} tracebacks)")
    report.info("total time", f"{time.monotonic() - started:.0f} s")
    print()
    print(report.table())
    print()
    if report.failures:
        print(f"{len(report.failures)} check(s) failed.")
        return 1
    print("All checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

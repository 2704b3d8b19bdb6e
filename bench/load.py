"""Pages under load: gunicorn on 127.0.0.1 driven by wrk, logged in through a session cookie.

gunicorn runs with DEBUG off, a throw-away SECRET_KEY and ALLOWED_HOSTS=127.0.0.1, on the
same database as the command (DATABASE_URL), 2 workers × 4 threads by default for a 2-core
machine. For every page wrk runs ``duration`` seconds; a small Lua script counts the
responses that are not 2xx (redirects to the login page included) and prints the latency
percentiles.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone

from bench import measure
from bench.dataset import size_label

BASE_DIR = Path(__file__).resolve().parent.parent

WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  bad = 0
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do
    non2xx = non2xx + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\": %d, \\"duration_us\\": %d, \\"non2xx\\": %d, " ..
    "\\"socket_errors\\": %d, \\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d, " ..
    "\\"max_us\\": %d, \\"mean_us\\": %.1f}\\n",
    summary.requests, summary.duration, non2xx,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def session_cookie(user) -> str:
    """A session of ``user`` stored like a real login's, for the Cookie header."""
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, *, workers: int, threads: int, log):
        self.workers, self.threads, self.log = workers, threads, log
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        env = dict(os.environ)
        env.update(
            {
                "DEBUG": "0",
                "CLIMCRM_TESTING": "0",
                "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "127.0.0.1",
                "SECURE_SSL_REDIRECT": "0",
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "climcrm.settings",
            }
        )
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "climcrm.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ]
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        self.log(
                            f"  gunicorn on {self.base} (pid {self.process.pid}, "
                            f"{self.workers} workers × {self.threads} threads)"
                        )
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn did not answer on /healthz within 30 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def check(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def run_wrk(url: str, cookie: str, *, duration: int, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        completed = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "30s",
                "-s",
                script.name,
                "-H",
                f"Cookie: {cookie}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 120,
            check=False,
        )
    finally:
        os.unlink(script.name)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"wrk failed: {completed.stderr or completed.stdout}")


def run(
    *,
    duration: int = 30,
    workers: int = 2,
    threads: int = 4,
    connections: int = 8,
    only: list[str] | None = None,
    log=print,
) -> dict:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    users = measure.bench_users()
    targets = measure.bench_targets(users)
    n = measure.dataset_size()
    cookies = {}
    pages = []
    with Gunicorn(workers=workers, threads=threads, log=log) as server:
        for page in measure.PAGES:
            if only and page.key not in only:
                continue
            url, why = measure.resolve(page, users, targets)
            user = users.get(page.user)
            if url is None or user is None:
                why = why or f"no {page.user} user"
                log(f"  {page.label}: {why}")
                pages.append(
                    {"key": page.key, "label": page.label, "available": False, "note": why}
                )
                continue
            if page.user not in cookies:
                cookies[page.user] = session_cookie(user)
            full = server.base + url
            status = check(full, cookies[page.user])
            stats = run_wrk(
                full,
                cookies[page.user],
                duration=duration,
                connections=connections,
                threads=min(connections, 2),
            )
            seconds = stats["duration_us"] / 1e6 or 1
            row = {
                "key": page.key,
                "label": page.label,
                "url": url,
                "user": user.username,
                "available": True,
                "first_status": status,
                "requests": stats["requests"],
                "rps": round(stats["requests"] / seconds, 1),
                "p50_ms": round(stats["p50_us"] / 1000, 1),
                "p90_ms": round(stats["p90_us"] / 1000, 1),
                "p99_ms": round(stats["p99_us"] / 1000, 1),
                "max_ms": round(stats["max_us"] / 1000, 1),
                "errors": stats["non2xx"] + stats["socket_errors"],
                "non2xx": stats["non2xx"],
                "socket_errors": stats["socket_errors"],
                "note": "" if status == 200 else f"HTTP {status}",
            }
            log(
                f"  {page.label}: {row['rps']} req/s, p50 {row['p50_ms']} ms, "
                f"p99 {row['p99_ms']} ms, errors {row['errors']}"
            )
            pages.append(row)
    return {
        "size": size_label(n),
        "opportunities": n,
        "at": timezone.now().isoformat(timespec="seconds"),
        "duration": duration,
        "workers": workers,
        "threads": threads,
        "connections": connections,
        "machine": measure.machine(),
        "pages": pages,
    }


# --------------------------------------------------------------------------- the morning


# A sales morning: (weight, page key of ``measure.PAGES``) — the dashboards, the board, the
# list, searches, and a deal edit (its form read, then saved with the version it read).
MORNING = (
    (3, "dashboard"),
    (2, "dashboard_manager"),
    (2, "kanban"),
    (2, "opp_list"),
    (1, "opp_search"),
    (1, "search"),
    (1, "edit"),  # the next step of a deal, in place (read with its version, saved)
)


class FormReader(HTMLParser):
    """The fields of each POST form of a page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self.fields: list[tuple[str, str]] = []
        self._in_post_form = False
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_post_form = a.get("method", "").lower() == "post"
            self.fields = []
            if self._in_post_form:
                self.forms.append(self.fields)
        if not self._in_post_form or "name" not in a and tag != "option":
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select, self._select_value = a["name"], None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            self.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._in_post_form = False


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds of the app (gunicorn's processes) and of the database (the server's
    backends serving this database, when it runs on this machine) over the run. Backends
    come and go (``CONN_MAX_AGE``): the process list is sampled twice a second, so a backend
    that ends during the run counts up to its last sample."""

    def __init__(self, gunicorn_pid: int):
        from django.db import connection

        self.gunicorn_pid = gunicorn_pid
        # Backend titles read "postgres: 15/main: <user> <database> <client> <state>".
        self.title = f" {connection.settings_dict['NAME']} ".encode()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sides: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._started = False

    def _processes(self) -> dict[int, str]:
        found = dict.fromkeys((self.gunicorn_pid, *_children(self.gunicorn_pid)), "app")
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    title = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if title.startswith(b"postgres: ") and self.title in title:
                    found[int(entry.name)] = "database"
        return found

    def _read(self) -> None:
        for pid, side in self._processes().items():
            self.sides[pid] = side
            self.last[pid] = _cpu_seconds(pid) or self.last.get(pid, 0.0)
            # Running before the start: counted from there; started since: all of it.
            self.first.setdefault(pid, 0.0 if self._started else self.last[pid])

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self._read()

    def start(self) -> None:
        self._read()
        self._started = True
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self._read()
        used = {"app": 0.0, "database": 0.0}
        for pid, side in self.sides.items():
            used[side] += max(self.last[pid] - self.first[pid], 0.0)
        return used


def _morning_client(base: str, plan: list[tuple[str, str, str]], deal_url: str, cookie: str):
    """One simulated user: walks ``plan`` (page key, URL, cookie) over and over on one
    keep-alive connection until ``stop`` is set; the edit reads the deal's form and saves it
    with the version it read."""
    parsed = urllib.parse.urlsplit(base)

    def client(stop, results: list, offset: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        i = offset
        while not stop.is_set():
            key, url, page_cookie = plan[i % len(plan)]
            i += 1
            started = time.monotonic()
            try:
                if key == "edit":
                    ok = _edit(conn, deal_url, cookie, i)
                else:
                    conn.request("GET", url, headers={"Cookie": page_cookie})
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
                ok = False
            results.append((key, time.monotonic() - started, ok))
        conn.close()

    return client


def _edit(conn: http.client.HTTPConnection, url: str, cookie: str, n: int) -> bool:
    """A deal's next step edited in place, as on its page: the field's form (with the
    version it was read at), then the save with that version."""
    htmx = {"Cookie": cookie, "HX-Request": "true"}
    conn.request("GET", f"{url}?edit=1", headers=htmx)
    response = conn.getresponse()
    page = response.read().decode()
    if response.status != 200:
        return False
    reader = FormReader()
    reader.feed(page)
    fields = next((dict(form) for form in reader.forms if dict(form).get("version")), None)
    if fields is None:
        return False
    fields["value"] = f"Relancer le client ({n})"
    # The CSRF cookie the page set, as a browser sends it back with the form's token.
    set_cookies = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        set_cookies.load(header)
    sent = cookie
    if settings.CSRF_COOKIE_NAME in set_cookies:
        sent += f"; {settings.CSRF_COOKIE_NAME}={set_cookies[settings.CSRF_COOKIE_NAME].value}"
    conn.request(
        "POST",
        url,
        body=urllib.parse.urlencode(fields),
        headers={
            **htmx,
            "Cookie": sent,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRFToken": fields.get("csrfmiddlewaretoken", ""),
            "Referer": f"http://{conn.host}:{conn.port}{url}",
        },
    )
    response = conn.getresponse()
    response.read()
    # Saved: the field as it is now (200); stale would be 409, invalid 400.
    return response.status == 200


def morning(
    *,
    duration: int = 60,
    workers: int = 2,
    threads: int = 4,
    clients: int = 8,
    log=print,
) -> dict:
    """The mixed morning: ``clients`` users at once, each walking ``MORNING`` (in its own
    order) on one gunicorn; requests per second, errors, and the CPU the app and the
    database spent per request."""
    from opportunities.models import Opportunity

    users = measure.bench_users()
    targets = measure.bench_targets(users)
    pages = {page.key: page for page in measure.PAGES}
    cookies: dict[str, str] = {}
    plan: list[tuple[str, str, str]] = []
    for weight, key in MORNING:
        if key == "edit":
            plan += [("edit", "", "")] * weight
            continue
        url, why = measure.resolve(pages[key], users, targets)
        user = users.get(pages[key].user)
        if url is None or user is None:
            raise RuntimeError(f"{key}: {why or 'no user'}")
        if pages[key].user not in cookies:
            cookies[pages[key].user] = session_cookie(user)
        plan += [(key, url, cookies[pages[key].user])] * weight
    # Interleaved, so that every client mixes reads and the edit.
    plan = [plan[(i * 5) % len(plan)] for i in range(len(plan))]
    manager = users["manager"]
    editor_cookie = session_cookie(manager)
    # Each client edits its own deal of the team: the edits never race each other.
    deals = list(
        Opportunity.objects.filter(owner__manager=manager, closed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:clients]
    )
    if len(deals) < clients:
        raise RuntimeError("not enough open deals of the manager's team to edit")
    from django.urls import reverse

    results: list[tuple[str, float, bool]] = []
    with Gunicorn(workers=workers, threads=threads, log=log) as server:
        stop = threading.Event()
        for key, url, cookie in plan:  # warm-up, and each page answers before the run
            if key != "edit" and check(server.base + url, cookie) != 200:
                raise RuntimeError(f"{key}: {url} does not answer 200")
        meter = CpuMeter(server.process.pid)
        meter.start()
        started = time.monotonic()
        pool = [
            threading.Thread(
                target=_morning_client(
                    server.base,
                    plan,
                    reverse("opportunities:inline", args=[deals[c], "next_step"]),
                    editor_cookie,
                ),
                args=(stop, results, c * 3),
            )
            for c in range(clients)
        ]
        for thread in pool:
            thread.start()
        time.sleep(duration)
        stop.set()
        for thread in pool:
            thread.join()
        seconds = time.monotonic() - started
        cpu = meter.stop()
    by_key: dict[str, list[float]] = {}
    errors = 0
    for key, took, ok in results:
        by_key.setdefault(key, []).append(took)
        errors += not ok
    # An edit is two requests (the form, the save).
    requests = len(results) + len(by_key.get("edit", []))
    server_cpu = cpu["app"] + cpu["database"]
    summary = {
        "size": size_label(measure.dataset_size()),
        "at": timezone.now().isoformat(timespec="seconds"),
        "duration": round(seconds, 1),
        "workers": workers,
        "threads": threads,
        "clients": clients,
        "machine": measure.machine(),
        "requests": requests,
        "errors": errors,
        "rps": round(requests / seconds, 1),
        "app_cpu_s": round(cpu["app"], 1),
        "database_cpu_s": round(cpu["database"], 1),
        "app_ms_per_request": round(1000 * cpu["app"] / max(requests, 1), 1),
        "database_ms_per_request": round(1000 * cpu["database"] / max(requests, 1), 1),
        "rps_per_core": round(requests / server_cpu, 1) if server_cpu else None,
        "pages": {
            key: {
                "count": len(times),
                "p50_ms": round(1000 * statistics.median(times), 1),
                "p95_ms": round(1000 * sorted(times)[int(0.95 * (len(times) - 1))], 1),
            }
            for key, times in sorted(by_key.items())
        },
    }
    log(
        f"  morning: {requests} requests in {seconds:.0f} s, {summary['rps']} req/s, "
        f"{errors} errors; CPU per request: app {summary['app_ms_per_request']} ms, "
        f"database {summary['database_ms_per_request']} ms → "
        f"{summary['rps_per_core']} req/s per core"
    )
    for key, row in summary["pages"].items():
        log(f"    {key}: {row['count']} × p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
    return summary

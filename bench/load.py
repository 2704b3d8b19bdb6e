"""Pages under load: gunicorn on 127.0.0.1 driven by wrk, logged in through a session cookie.

gunicorn runs with DEBUG off, a throw-away SECRET_KEY and ALLOWED_HOSTS=127.0.0.1, on the
same database as the command (DATABASE_URL), 2 workers × 4 threads by default for a 2-core
machine. For every page wrk runs ``duration`` seconds; a small Lua script counts the
responses that are not 2xx (redirects to the login page included) and prints the latency
percentiles.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
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

"""Security headers, the Content-Security-Policy, `check --deploy` and CSP-safe templates."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)
pytestmark = pytest.mark.django_db


def production_env(**extra) -> dict:
    """The environment of a production process: DEBUG off, a real key, a real mail server."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "DEBUG",
            "CLIMCRM_TESTING",
            "DATABASE_URL",
            "SECRET_KEY",
            # Set by the browser tests' conftest for Playwright; never in production.
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    env.update(
        DEBUG="0",
        CLIMCRM_TESTING="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="crm.example.ch",
        CSRF_TRUSTED_ORIGINS="https://crm.example.ch",
        EMAIL_URL="smtp+tls://crm:secret@mail.example.ch:587",
        DATABASE_URL="sqlite:////tmp/climcrm-deploy-check.sqlite3",
        DJANGO_SETTINGS_MODULE="climcrm.settings",
        **extra,
    )
    return env


def run_in_production(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


class TestSecurityHeaders:
    @pytest.fixture(params=["login", "dashboard"])
    def response(self, request, client, rep):
        if request.param == "dashboard":
            client.force_login(rep)
        return client.get(reverse(request.param))

    def test_the_csp_allows_no_inline_or_eval_script(self, response):
        assert response.status_code == 200
        directives = csp_directives(response["Content-Security-Policy"])
        script_src = directives.get("script-src", directives.get("default-src"))
        assert script_src, "no script-src nor default-src"
        assert "'unsafe-inline'" not in script_src
        assert "'unsafe-eval'" not in script_src
        assert "*" not in script_src and "data:" not in script_src
        assert not any(source.startswith(("http:", "https:")) for source in script_src)
        assert directives["object-src"] == ["'none'"]
        assert directives["base-uri"] == ["'self'"]
        assert directives["frame-ancestors"] == ["'none'"]

    def test_the_other_headers_are_set(self, response):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"

    def test_the_session_cookie_is_http_only_and_same_site(self, client, rep):
        response = client.post(reverse("login"), {"username": "rep", "password": "climcrm-demo"})
        assert response.status_code == 302
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["httponly"]
        assert cookie["samesite"] == "Lax"
        assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE


class TestProductionSettings:
    def test_check_deploy_is_clean(self):
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=BASE_DIR,
            env=production_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout

    def test_production_refuses_to_start_without_a_secret_key(self):
        env = production_env()
        del env["SECRET_KEY"]
        result = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr

    def test_cookies_are_secure_and_https_is_enforced(self):
        code = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE")}))
"""
        result = run_in_production(code)
        assert result.returncode == 0, result.stderr
        import json

        values = json.loads(result.stdout.strip().splitlines()[-1])
        assert values == {
            "DEBUG": False,
            "SESSION_COOKIE_SECURE": True,
            "CSRF_COOKIE_SECURE": True,
            "LANGUAGE_COOKIE_SECURE": True,
            "SESSION_COOKIE_HTTPONLY": True,
            "SECURE_SSL_REDIRECT": True,
            "SECURE_HSTS_SECONDS": 31536000,
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "CSRF_COOKIE_SAMESITE": "Lax",
        }

    def test_a_production_response_sets_secure_cookies(self):
        code = """
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings
# Rendering only: no collectstatic manifest in a checkout.
override_settings(STORAGES={
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}).enable()
client = Client(HTTP_HOST="crm.example.ch")
plain = client.get("/login/")
print("redirect", plain.status_code, plain.get("Location"))
response = client.get("/login/", secure=True)
cookie = response.cookies["csrftoken"]
print("csrf", response.status_code, bool(cookie["secure"]))
print("hsts", response.get("Strict-Transport-Security"))
"""
        result = run_in_production(code)
        assert result.returncode == 0, result.stderr
        lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
        assert lines["redirect"] == "301 https://crm.example.ch/login/"
        assert lines["csrf"] == "200 True"
        assert lines["hsts"].startswith("max-age=31536000; includeSubDomains")


def project_templates() -> list[Path]:
    roots = [BASE_DIR / "templates"] + [
        BASE_DIR / app / "templates"
        for app in settings.INSTALLED_APPS
        if (BASE_DIR / app / "templates").is_dir()
    ]
    return sorted(path for root in roots for path in root.rglob("*.html"))


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_ATTRIBUTE = re.compile(r"<[a-z][^>]*?\s(on[a-z]+|hx-on[:\-][\w:\-]*)\s*=", re.I | re.S)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


class TestTemplatesKeepToTheCsp:
    def test_there_are_templates_to_scan(self):
        assert len(project_templates()) >= 10

    @pytest.mark.parametrize(
        "snippet",
        [
            "<script>alert(1)</script>",
            '<script type="module">x()</script>',
            '<button onclick="go()">',
            '<div hx-on:click="go()">',
            '<div hx-on::after-request="go()">',
            '<a href="javascript:go()">',
            '<body\n  onload="go()">',
        ],
    )
    def test_the_scanner_catches(self, snippet):
        assert (
            INLINE_SCRIPT.search(snippet)
            or EVENT_ATTRIBUTE.search(snippet)
            or (JAVASCRIPT_URL.search(snippet))
        )

    @pytest.mark.parametrize(
        "snippet",
        [
            "<script src=\"{% static 'js/app.js' %}\" defer></script>",
            '<script type="application/json" id="data">{}</script>',
            '<button hx-post="/x" hx-confirm="Sure?">',
            "<p>Tonight only</p>",
        ],
    )
    def test_the_scanner_lets_through(self, snippet):
        assert not INLINE_SCRIPT.search(snippet)
        assert not EVENT_ATTRIBUTE.search(snippet)
        assert not JAVASCRIPT_URL.search(snippet)

    def test_no_template_has_inline_script_or_event_handlers(self):
        problems = []
        for path in project_templates():
            text = path.read_text()
            for pattern in (INLINE_SCRIPT, EVENT_ATTRIBUTE, JAVASCRIPT_URL):
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"{path.relative_to(BASE_DIR)}:{line}: {match.group(0)[:80]}")
        assert not problems, "\n".join(problems)

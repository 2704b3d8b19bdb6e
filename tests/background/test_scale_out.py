"""Scale out: two gunicorn instances and two workers on one PostgreSQL database.

The processes share this test's database (its commits are real), and the checks are those
of ``scripts/scale_out.py``: sessions, locking, and each recap sent once.
"""

import importlib.util
import sys
import urllib.parse

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _scale_out():
    path = settings.BASE_DIR / "scripts" / "scale_out.py"
    spec = importlib.util.spec_from_file_location("scale_out", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scale_out", module)
    spec.loader.exec_module(module)
    return module


def _database_url() -> str:
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "")
    password = ":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


def test_two_instances_and_two_workers_keep_sessions_locks_and_send_each_recap_once(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("several processes on one database: PostgreSQL only (CI runs it there)")
    scale_out = _scale_out()
    cast = scale_out.prepare()
    with scale_out.Stack(_database_url(), tmp_path) as stack:
        checks = scale_out.run_checks(stack.bases, cast, tmp_path)
        output = stack.output()
    failed = [f"{check.name}: {check.detail}" for check in checks if not check.ok]
    assert failed == [], "\n".join(failed) + "\n" + output
    assert len(checks) == 7

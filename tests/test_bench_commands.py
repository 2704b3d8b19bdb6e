"""The benchmark commands work end to end on a tiny dataset (SQLite and PostgreSQL)."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Q

from accounts.models import Account, Contact, Partner
from activities.models import Activity
from climcrm.models import User
from leads.models import Lead
from opportunities.models import Opportunity, OpportunityHistory
from tests import clock

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def test_build_dataset_makes_consistent_history_and_refuses_a_filled_database():
    call_command("build_dataset", size="50", verbosity=0)

    assert Opportunity.objects.count() == 50
    assert Account.objects.count() == 10 + 20
    assert Contact.objects.count() == 20
    assert Lead.objects.count() == 100
    assert Activity.objects.count() == 150
    assert Partner.objects.count() == 20
    assert User.objects.count() == 50
    assert User.objects.filter(partner__isnull=False, groups__name="partner_user").count() >= 3
    manager = User.objects.get(username="manager")
    assert manager.check_password("climcrm-demo")
    assert manager.groups.filter(name="sales_manager").exists()

    per_deal = Opportunity.objects.annotate(
        rows=Count("history"),
        last=Max("history__version"),
        current=Count("history", filter=Q(history__valid_until__isnull=True)),
    )
    for deal in per_deal:
        assert deal.current == 1
        assert deal.rows == deal.last == deal.version
        rows = list(deal.history.order_by("version"))
        assert [r.version for r in rows] == list(range(1, deal.version + 1))
        assert rows[0].is_creation and rows[0].prev_stage == ""
        for before, after in zip(rows, rows[1:], strict=False):
            assert before.valid_until == after.changed_at
            assert after.prev_stage == before.stage
            assert after.prev_amount == before.amount
            assert after.prev_close_date == before.close_date
        assert (rows[-1].stage, rows[-1].amount, rows[-1].close_date) == (
            deal.stage,
            deal.amount,
            deal.close_date,
        )
    assert 3 * 50 <= OpportunityHistory.objects.count() <= 7 * 50

    with pytest.raises(CommandError, match="--reset"):
        call_command("build_dataset", size="50", verbosity=0)
    call_command("build_dataset", size="20", reset=True, verbosity=0)
    assert Opportunity.objects.count() == 20
    assert User.objects.count() == 50


def test_build_dataset_fills_the_metrics_columns_as_the_migration_computes_them():
    import importlib

    from django.apps import apps
    from django.db import connection

    backfill = importlib.import_module("opportunities.migrations.0008_metrics_summary_columns")
    call_command("build_dataset", size="60", verbosity=0)
    built = (
        dict(Opportunity.objects.values_list("pk", "furthest_rank")),
        dict(OpportunityHistory.objects.values_list("pk", "prev_stage_entered_at")),
    )
    assert set(built[0].values()) - {0} and any(built[1].values())

    class Editor:
        def __init__(self):
            self.connection = connection

        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    Opportunity.objects.update(furthest_rank=0)
    OpportunityHistory.objects.update(prev_stage_entered_at=None)
    backfill.backfill(apps, Editor())
    assert (
        dict(Opportunity.objects.values_list("pk", "furthest_rank")),
        dict(OpportunityHistory.objects.values_list("pk", "prev_stage_entered_at")),
    ) == built


def test_build_dataset_fills_the_funnel_columns_and_totals_as_the_migrations_do():
    import importlib

    from django.db import connection

    from forecasting.kept import rebuild
    from forecasting.models import PipelineSummary
    from leads.models import Lead

    migration = importlib.import_module("leads.migrations.0007_lead_funnel_columns")
    call_command("build_dataset", size="60", verbosity=0)
    built = dict(Lead.objects.values_list("pk", "reached_mql"))
    progress = dict(Lead.objects.values_list("pk", "deal_progress"))
    totals = set(PipelineSummary.objects.values_list("kind", "month", "owner_key", "count"))
    assert any(built.values()) and any(progress.values()) and totals
    Lead.objects.update(reached_mql=False, deal_progress=0)
    with connection.cursor() as cursor:
        cursor.execute(migration.FILL_MQL)
        cursor.execute(migration.FILL_PROGRESS)
    assert dict(Lead.objects.values_list("pk", "reached_mql")) == built
    assert dict(Lead.objects.values_list("pk", "deal_progress")) == progress
    rebuild(tables=("forecasting_pipelinesummary",))
    assert set(PipelineSummary.objects.values_list("kind", "month", "owner_key", "count")) == totals


def test_build_dataset_fills_the_accuracy_amounts_as_the_migration_computes_them():
    import importlib

    from django.apps import apps
    from django.db import connection

    backfill = importlib.import_module("opportunities.migrations.0009_changes_accuracy_reads")
    columns = (
        "pk",
        "created_amount",
        "commit_entry_amount",
        "close_month_start_amount",
        "close_quarter_start_amount",
    )
    call_command("build_dataset", size="300", verbosity=0)
    built = {row[0]: row[1:] for row in Opportunity.objects.values_list(*columns)}
    # Each kind of value occurs, so the comparison below compares something.
    for index in range(4):
        assert any(values[index] is not None for values in built.values())
    assert any(values[2] != values[3] for values in built.values())

    class Editor:
        def __init__(self):
            self.connection = connection

        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    Opportunity.objects.update(**dict.fromkeys(columns[1:]))
    backfill.backfill(apps, Editor())
    assert {row[0]: row[1:] for row in Opportunity.objects.values_list(*columns)} == built


def test_bench_pages_measures_the_floor_page_and_writes_json(tmp_path, capsys):
    call_command("build_dataset", size="50", verbosity=0)

    call_command("bench_pages", page=["floor"], requests=2, warmup=0, output_dir=str(tmp_path))

    data = json.loads((tmp_path / "50.json").read_text())
    assert data["opportunities"] == 50
    pages = {page["key"]: page for page in data["pages"]}
    floor = pages["floor"]
    assert floor["status"] == 200
    assert len(floor["samples_ms"]) == 2
    assert 1 <= floor["queries"] <= 5
    assert 0 < floor["sql_share"] <= 1
    output = capsys.readouterr().out
    assert (
        "| page | size | queries | median ms | p95 ms | SQL share | page ÷ SQL | Python CPU ms "
        "| × 10k |" in output
    )

    call_command("bench_pages", summary=True, output_dir=str(tmp_path))
    assert "floor (healthz, logged in)" in capsys.readouterr().out
    assert "floor (healthz, logged in)" in (tmp_path / "latest.md").read_text()


def test_bench_pages_rejects_an_unknown_page(tmp_path):
    with pytest.raises(CommandError, match="Unknown page"):
        call_command("bench_pages", page=["nope"], output_dir=str(tmp_path))


def test_build_dataset_fills_the_month_changes_and_every_to_do_group_of_each_owner():
    from datetime import date

    from django.utils import timezone

    from activities.selectors import my_task_counts
    from forecasting import reports
    from forecasting.models import MonthChange
    from forecasting.scopes import Scope

    call_command("build_dataset", size="60", verbosity=0)
    assert MonthChange.objects.exists()
    manager = User.objects.filter(groups__name="sales_manager").first()
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for start_day, end_day in [
        (today.replace(day=1), today),
        (last_month, today.replace(day=1) - timedelta(days=1)),
        (date(today.year - 1, 1, 1), date(today.year - 1, 1, 31)),
    ]:
        kept, history = (
            reports.changes.what_changed(
                user=manager, start_day=start_day, end_day=end_day, scope=Scope(), months=months
            )
            for months in (True, False)
        )
        assert kept == history, start_day
    owners = (
        Activity.objects.filter(done=False)
        .values("assignee")
        .annotate(count=Count("pk"))
        .filter(count__gte=3)
    )
    assert owners
    for owner in User.objects.filter(pk__in=owners.values("assignee")):
        assert all(my_task_counts(user=owner, today=today).values()), owner
    # The rep the benchmark measures has all three, whatever the size.
    assert all(my_task_counts(user=User.objects.get(username="rep"), today=today).values())


def test_build_dataset_closes_deals_on_their_closing_day_in_the_installations_time_zone():
    """As the deal services do: a deal closed at 23:30 UTC in winter closed the next day in
    Zurich, and "today" there is the day the to-dos are due."""
    from django.utils import timezone

    from activities.selectors import my_task_counts

    call_command("build_dataset", size="200", verbosity=0)
    closed = Opportunity.objects.filter(closed_at__isnull=False)
    assert closed.count() > 50
    for deal in closed:
        assert deal.close_date == timezone.localdate(deal.closed_at), deal.pk
    rep = User.objects.get(username="rep")
    assert my_task_counts(user=rep, today=timezone.localdate())["today"]


def test_build_dataset_writes_every_kept_figure_as_a_rebuild_computes_it(capsys):
    """The open to-dos of the deals and the funnel bits of the leads come with the rows
    (no rewrite after the load): ``totals --check`` finds them, and every kept total, equal
    to a rebuild from the records and the history."""
    call_command("build_dataset", size="300", verbosity=0)
    assert Opportunity.objects.filter(open_todos__gt=0, next_todo_due__isnull=False).exists()
    assert Lead.objects.filter(deal_progress__gt=0).exists()
    call_command("totals", check=True)
    assert "0 row(s) differ" in capsys.readouterr().out


def test_build_dataset_reports_the_time_of_each_phase():
    from bench import dataset

    lines: list[str] = []
    result = dataset.build(40, log=lines.append)
    assert {"prepare", "load opportunities_opportunity", "kept totals", "vacuum/analyse"} <= set(
        result["phases"]
    )
    assert any(line.startswith("load leads_lead: 80 rows in ") for line in lines)

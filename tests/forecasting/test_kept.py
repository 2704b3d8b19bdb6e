"""``manage.py totals``: the kept totals checked against a rebuild from the history, and
repaired."""

import importlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from forecasting import kept
from forecasting.models import MonthChange, MonthChangeTotal, PipelineSummary
from leads.models import Lead
from opportunities.models import Opportunity
from tests import clock

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def run(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("totals", *args, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


def test_clean_after_normal_use(recent):
    code, out = run("--check")
    assert code == 0, out
    for table in kept.TABLES:
        assert f"{table}: 0 row(s) differ" in out


def _corrupt_summary():
    row = PipelineSummary.objects.filter(kind="created", partner_key=-1).order_by("id").first()
    PipelineSummary.objects.filter(pk=row.pk).update(amount=row.amount + 7)
    return row


def test_a_corrupted_running_total_is_caught_and_repaired(recent):
    row = _corrupt_summary()
    code, out = run("--check")
    assert code == 1
    assert "forecasting_pipelinesummary: 1 row(s) differ" in out
    line = next(line for line in out.splitlines() if line.startswith("forecasting_pipeline"))
    assert f"month={row.month}" in line and f"owner_key={row.owner_key}" in line
    assert "kind=created" in line
    assert "forecasting_monthchange: 0 row(s) differ" in out

    code, out = run("--rebuild")
    assert code == 0, out
    assert PipelineSummary.objects.get(pk__gt=0, **_key_of(row)).amount == row.amount
    assert run("--check")[0] == 0


def _key_of(row) -> dict:
    return {name: getattr(row, name) for name in kept.FACTS[0].keys}


def test_a_missing_or_extra_row_is_caught(recent):
    change = MonthChange.objects.order_by("id").first()
    MonthChange.objects.filter(pk=change.pk).delete()
    MonthChangeTotal.objects.create(
        month=change.month, side="o", kinds=1, start_key=999, end_key=999, count=3
    )
    code, out = run("--check")
    assert code == 1
    assert "forecasting_monthchange: 1 row(s) differ" in out
    assert f"opportunity_id={change.opportunity_id}, month={change.month}\tkept (missing)" in out
    assert "forecasting_monthchangetotal: 1 row(s) differ" in out
    assert "start_key=999" in out
    run("--rebuild")
    assert MonthChange.objects.filter(opportunity=change.opportunity, month=change.month).exists()
    assert not MonthChangeTotal.objects.filter(start_key=999).exists()
    assert run("--check")[0] == 0


def test_columns_kept_on_leads_and_deals_are_checked(recent, rep):
    deal = Opportunity.objects.order_by("id").first()
    Opportunity.objects.filter(pk=deal.pk).update(open_todos=deal.open_todos + 2)
    lead = Lead.objects.create(company="Gamma SA", last_name="Muster", owner=rep)
    Lead.objects.filter(pk=lead.pk).update(deal_progress=4)
    code, out = run("--check")
    assert code == 1
    assert "opportunities_opportunity: 1 row(s) differ" in out
    assert f"opportunities_opportunity\tid={deal.pk}\tkept open_todos={deal.open_todos + 2}" in out
    assert "leads_lead: 1 row(s) differ" in out
    assert f"leads_lead\tid={lead.pk}\tkept reached_mql=" in out
    run("--rebuild")
    deal.refresh_from_db()
    lead.refresh_from_db()
    assert (deal.open_todos, lead.deal_progress) == (deal.open_todos, 0)
    assert run("--check")[0] == 0


def test_rebuild_since_leaves_earlier_months(recent):
    months = sorted(
        set(PipelineSummary.objects.exclude(kind="open").values_list("month", flat=True))
    )
    early, late = months[0], months[-1]
    for month in (early, late):
        row = PipelineSummary.objects.filter(month=month).exclude(kind="open").first()
        PipelineSummary.objects.filter(pk=row.pk).update(count=row.count + 1)
    assert "forecasting_pipelinesummary: 2 row(s) differ" in run("--check")[1]
    assert "forecasting_pipelinesummary: 1 row(s) differ" in run("--check", "--since", str(late))[1]
    run("--rebuild", "--since", str(late))
    code, out = run("--check")
    assert code == 1
    assert "forecasting_pipelinesummary: 1 row(s) differ" in out
    assert f"month={early}" in out
    assert run("--check", "--since", str(late))[0] == 0


def test_the_migrations_frozen_fills_give_the_rebuilds_rows(recent):
    """Migrations 0004–0006 fill the tables they add from the history with their own SQL:
    on the deals there, the same rows as a rebuild."""
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    summaries_fill = importlib.import_module("forecasting.migrations.0004_pipeline_summary").fill
    months_fill = importlib.import_module("forecasting.migrations.0005_month_changes").fill
    totals_fill = importlib.import_module("forecasting.migrations.0006_month_change_totals").FILL
    for model in (PipelineSummary, MonthChange, MonthChangeTotal):
        model.objects.all().delete()
    editor = SimpleNamespace(connection=connection)
    summaries_fill(apps, editor)
    months_fill(apps, editor)
    with connection.cursor() as cursor:
        for sql in totals_fill:
            cursor.execute(sql)
    assert PipelineSummary.objects.exists() and MonthChangeTotal.objects.exists()
    code, out = run("--check")
    assert code == 0, out

"""Writing checked rows in bulk, with everything a deal created one by one would write.

An imported deal gets what ``opportunities.services.opportunity_create`` gives a new deal —
the stage machine's probability and forecast category, the amounts forecast accuracy
reads, one history row (tagged ``imported``), its month row and its share of the kept
totals (``forecasting.summaries``, ``forecasting.month_changes``) — computed in Python for a
whole batch and written with a few statements: on PostgreSQL a ``COPY`` per table, ids
taken from the sequence beforehand; elsewhere ``bulk_create``.
"""

import json
from datetime import UTC, datetime, time

from django.conf import settings
from django.db import connections, models
from django.utils import timezone

from accounts.models import Account, Contact
from forecasting import month_changes, summaries
from forecasting.models import MonthChange
from opportunities.models import (
    CLOSED_STAGES,
    TRACKED_FIELDS,
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    OpportunityType,
    Stage,
    StageSetting,
    ladder_rank,
)
from opportunities.services import (
    CLOSING_CATEGORY,
    CLOSING_PROBABILITY,
    FALLBACK_DEFAULTS,
    _keep_accuracy_amounts,
)

HISTORY_TAG = "imported"


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.generated]


def insert(model, rows: list[dict], *, using: str) -> list[int]:
    """Insert ``rows`` (attname → value; missing columns take their default) and return
    their ids, in order."""
    if not rows:
        return []
    connection = connections[using]
    if connection.vendor != "postgresql":
        objects = model.objects.using(using).bulk_create(
            [model(**row) for row in rows], batch_size=500
        )
        return [obj.pk for obj in objects]
    fields = _columns(model)
    quote = connection.ops.quote_name
    table = model._meta.db_table
    pk = model._meta.pk
    defaults = {}
    for f in fields:
        if f.primary_key:
            continue
        default = f.get_default()
        defaults[f.attname] = json.dumps(default) if isinstance(f, models.JSONField) else default
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        names = ", ".join(quote(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for pk_value, row in zip(ids, rows, strict=True):
                copy.write_row(
                    [
                        pk_value
                        if f.primary_key
                        else (
                            json.dumps(row[f.attname])
                            if f.attname in json_fields and f.attname in row
                            else row.get(f.attname, defaults[f.attname])
                        )
                        for f in fields
                    ]
                )
    return ids


def write_accounts(rows: list[dict], *, using: str, now: datetime) -> int:
    insert(Account, [{**row, "created_at": now, "updated_at": now} for row in rows], using=using)
    return len(rows)


def write_contacts(rows: list[dict], *, using: str, now: datetime) -> int:
    insert(Contact, [{**row, "created_at": now, "updated_at": now} for row in rows], using=using)
    return len(rows)


def stage_defaults() -> dict[str, tuple[int, str]]:
    defaults = {stage.value: value for stage, value in FALLBACK_DEFAULTS.items()}
    for setting in StageSetting.objects.all():
        defaults[setting.stage] = (setting.default_probability, setting.default_forecast_category)
    return defaults


def _closed_at(close_date, created_at: datetime, now: datetime) -> datetime:
    """A closed deal closed at the start of its close date, within [created, now]."""
    moment = timezone.make_aware(datetime.combine(close_date, time.min))
    return min(max(moment, created_at), now).astimezone(UTC)


def build_deal(values: dict, *, defaults: dict, now: datetime, currency: str) -> Opportunity:
    """The deal ``opportunity_create`` would create from these values, created at the date
    the file gives (else now)."""
    stage = values["stage"]
    # In UTC, as the database gives them back: a sales cycle across a change of summer time
    # is counted in real hours, as a rebuild of the totals counts it.
    created_at = (values.get("created_at") or now).astimezone(UTC)
    default_probability, default_category = defaults[stage]
    deal = Opportunity(
        external_id=values.get("external_id", ""),
        name=values["name"],
        account_id=values["account_id"],
        owner_id=values["owner_id"],
        partner_id=values.get("partner_id"),
        type=values.get("type") or OpportunityType.NEW_BUSINESS,
        stage=stage,
        amount=values.get("amount"),
        currency=currency,
        close_date=values["close_date"],
        expected_delivery=values.get("expected_delivery"),
        next_step=values.get("next_step", ""),
        loss_reason_id=values.get("loss_reason_id") if stage == Stage.CLOSED_LOST else None,
        created_at=created_at,
        updated_at=now,
        stage_changed_at=created_at,
        version=1,
    )
    if stage in CLOSED_STAGES:
        deal.probability = CLOSING_PROBABILITY[Stage(stage)]
        deal.forecast_category = CLOSING_CATEGORY[Stage(stage)]
        deal.forecast_category_is_manual = False
        deal.closed_at = _closed_at(deal.close_date, created_at, now)
    else:
        probability = values.get("probability")
        deal.probability = default_probability if probability is None else probability
        category = values.get("forecast_category") or default_category
        deal.forecast_category = category
        deal.forecast_category_is_manual = category != default_category
        deal.closed_at = None
    deal.furthest_rank = ladder_rank(stage)
    _keep_accuracy_amounts(
        deal,
        creating=True,
        entering_commit=deal.forecast_category == ForecastCategory.COMMIT,
        now=created_at,
    )
    return deal


_DEAL_ATTNAMES = [f.attname for f in _columns(Opportunity) if not f.primary_key]


def write_deals(rows: list[dict], *, by, using: str, now: datetime, defaults: dict) -> int:
    """Create the deals of ``rows`` with their history row, month row and kept totals."""
    if not rows:
        return 0
    currency = settings.CRM_CURRENCY
    deals = [build_deal(row, defaults=defaults, now=now, currency=currency) for row in rows]
    ids = insert(
        Opportunity,
        [{name: getattr(deal, name) for name in _DEAL_ATTNAMES} for deal in deals],
        using=using,
    )
    history, created = [], []
    for deal_id, deal in zip(ids, deals, strict=True):
        deal.pk = deal_id
        row = {
            "opportunity_id": deal_id,
            "version": 1,
            "changed_at": deal.created_at,
            "valid_until": None,
            "changed_by_id": by.pk,
            "is_creation": True,
            "changed_fields": [],
            "tag": HISTORY_TAG,
            "prev_stage": "",
            "prev_forecast_category": "",
        }
        for name in TRACKED_FIELDS:
            attname = f"{name}_id" if name in ("owner", "partner") else name
            row[attname] = getattr(deal, attname)
        history.append(row)
        created.append((summaries.deal_state(deal), deal.created_at))
    insert(OpportunityHistory, history, using=using)
    summaries.record_created_deals(created, using=using)
    month_rows, deltas = month_changes.created_rows(created)
    insert(MonthChange, month_rows, using=using)
    month_changes.apply_totals(deltas, using=using)
    return len(deals)

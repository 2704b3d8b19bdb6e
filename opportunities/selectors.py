"""Reads for the opportunity pages: every one starts from the user's visible deals."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Page
from django.db.models import Count, DecimalField, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from climcrm.choices import BANT
from climcrm.figures import money, percent
from climcrm.ordering import ordering_for
from climcrm.pagination import CountedPaginator
from climcrm.visibility import get_visible_or_404
from opportunities.amounts import deal_totals, weighted_total_expression
from opportunities.filters import OpportunityListFilter, with_default_status
from opportunities.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    TRACKED_FIELDS,
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    Stage,
)
from opportunities.visibility import visible_opportunities

# Sort key in the query string → ORM ordering (a stable tie-breaker is added).
OPPORTUNITY_ORDERINGS = {
    "name": ("name",),
    "account": ("account__name",),
    "stage": ("stage",),
    "amount": ("amount",),
    "probability": ("probability",),
    "close_date": ("close_date",),
    "owner": ("owner__last_name", "owner__first_name"),
    "partner": ("partner__account__name",),
    "created": ("created_at",),
    "updated": ("updated_at",),
}
DEFAULT_OPPORTUNITY_ORDERING = "close_date"


def opportunity_base_queryset(user) -> QuerySet:
    return visible_opportunities(user).select_related(
        "account", "owner", "partner__account", "primary_contact"
    )


def opportunity_list(*, user, params, request=None) -> tuple[OpportunityListFilter, QuerySet, str]:
    """The filterset, the filtered and sorted deals, and the ordering key applied."""
    params = with_default_status(params)
    filterset = OpportunityListFilter(
        params, queryset=opportunity_base_queryset(user), request=request
    )
    queryset = filterset.qs
    ordering_key, ordering = ordering_for(
        params.get("ordering"), OPPORTUNITY_ORDERINGS, DEFAULT_OPPORTUNITY_ORDERING
    )
    if not params.get("ordering"):
        ordering = [*filterset.search_order(), *ordering]
    return filterset, queryset.order_by(*ordering), ordering_key


def deal_parts(queryset: QuerySet) -> tuple[QuerySet, QuerySet]:
    """The open deals and the closed ones of ``queryset``, each read from its covering index
    (a closed deal is one with a ``closed_at``: ``opp_closed_at_iff_closed``)."""
    return (
        queryset.filter(stage__in=OPEN_STAGES),
        queryset.filter(stage__in=CLOSED_STAGES, closed_at__isnull=False),
    )


def opportunity_search_page(*, user, queryset: QuerySet, number) -> tuple[Page, dict]:
    """A searched list's page (``?page=``) and the totals of every deal the search found,
    with the search run once: one narrow query (no joins, ids only) finds the page's deals
    in order with the totals as window aggregates over all matches; the page's rows are
    then read by id. A page past the last one falls back to the totals' aggregate."""
    size = settings.CRM_PAGE_SIZE
    try:
        number = max(int(number), 1)
    except (TypeError, ValueError):
        number = 1
    zero = Value(Decimal("0"))
    head = list(
        queryset.annotate(
            matched_count=Window(Count("pk")),
            matched_total=Coalesce(Window(Sum("amount")), zero, output_field=DecimalField()),
            matched_weighted=weighted_total_expression(window=True),
        ).values_list("pk", "matched_count", "matched_total", "matched_weighted")[
            (number - 1) * size : number * size
        ]
    )
    if not head and number > 1:
        totals = opportunity_totals(queryset)
        page = CountedPaginator(queryset, size, count=totals["count"]).get_page(number)
        return page, totals
    _pk, count, total, weighted = head[0] if head else (None, 0, Decimal("0"), Decimal("0"))
    totals = {"count": count, "total": total, "weighted": weighted}
    ids = [row[0] for row in head]
    by_id = opportunity_base_queryset(user).in_bulk(ids) if ids else {}
    rows = [by_id[pk] for pk in ids]
    paginator = CountedPaginator(queryset, size, count=count)
    return Page(rows, number, paginator), totals


def opportunity_totals(queryset: QuerySet) -> dict:
    """Count, amount and weighted amount of the filtered set: the board's computation
    (``deal_totals``) added up over the stages."""
    totals = {"count": 0, "total": Decimal(0), "weighted": Decimal(0)}
    for row in deal_totals(deal_parts(queryset), today=timezone.localdate()).values():
        for name in totals:
            totals[name] += row[name]
    return totals


def opportunity_export_rows(queryset: QuerySet):
    """The filtered deals for the CSV export, read in chunks (the export streams)."""
    return queryset.select_related(
        "account", "owner", "partner__account", "primary_contact", "loss_reason"
    ).iterator(chunk_size=1000)


def opportunity_get(*, user, pk) -> Opportunity:
    return get_visible_or_404(
        visible_opportunities(user).select_related(
            "account",
            "owner",
            "partner__account",
            "primary_contact",
            "loss_reason",
            "lead",
        ),
        pk=pk,
    )


def opportunity_for_edit(*, user, pk) -> Opportunity:
    return get_visible_or_404(
        visible_opportunities(user).select_related("account", "partner__channel_manager"), pk=pk
    )


@dataclass
class HistoryChange:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    row: OpportunityHistory
    changes: list[HistoryChange] = field(default_factory=list)
    other_fields: list[str] = field(default_factory=list)


def _display(field_name: str, value, row: OpportunityHistory, prefix: str) -> str:
    if value is None or value == "":
        return "—"
    if field_name == "stage":
        return str(Stage(value).label)
    if field_name == "forecast_category":
        return str(ForecastCategory(value).label)
    if field_name == "amount":
        return money(value, 2)
    if field_name == "probability":
        return percent(value)
    if field_name == "close_date":
        return date_format(value, "SHORT_DATE_FORMAT")
    if field_name in ("owner", "partner"):
        related = getattr(row, f"{prefix}{field_name}")
        return str(related) if related is not None else "—"
    return str(value)


def opportunity_history(*, opportunity: Opportunity) -> list[HistoryEntry]:
    """The deal's history, newest first, with each change as label / old / new text."""
    rows = (
        OpportunityHistory.objects.filter(opportunity=opportunity)
        .select_related(
            "changed_by",
            "owner",
            "prev_owner",
            "partner__account",
            "prev_partner__account",
            "reason_code",
        )
        .order_by("-version")
    )
    entries = []
    for row in rows:
        entry = HistoryEntry(row=row)
        for name in TRACKED_FIELDS:
            if name not in row.changed_fields:
                continue
            old = getattr(
                row, f"prev_{name}_id" if name in ("owner", "partner") else f"prev_{name}"
            )
            new = getattr(row, f"{name}_id" if name in ("owner", "partner") else name)
            entry.changes.append(
                HistoryChange(
                    label=_field_label(name),
                    old=_display(name, old, row, "prev_"),
                    new=_display(name, new, row, ""),
                )
            )
        entry.other_fields = [
            _field_label(name)
            for name in row.changed_fields
            if name not in TRACKED_FIELDS and _is_field(name)
        ]
        entries.append(entry)
    return entries


def _field_label(name: str) -> str:
    """The field's name as the deal form shows it."""
    field = Opportunity._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))


def _is_field(name: str) -> bool:
    try:
        Opportunity._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a field removed since the row was written
        return False
    return True


def bant_checklist(opportunity: Opportunity) -> list[dict]:
    return [
        {"label": label, "ok": getattr(opportunity, check), "note": getattr(opportunity, note)}
        for check, note, label in BANT
    ]

"""What the reviews share: the archive, the review before, the window a review covers, paging
of its sections, amounts for the recaps' JSON and ``hydrate`` (snapshot JSON back to values
for the templates)."""

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from climcrm.figures import plain, rate
from climcrm.roles import is_partner_user
from opportunities.history import as_datetime
from opportunities.models import ForecastCategory, Opportunity, Stage
from pipeline_reviews.models import Review, ReviewKind, ReviewStatus
from pipeline_reviews.periods import add_months
from pipeline_reviews.visibility import visible_reviews

ZERO = Decimal("0")


def money(value) -> str | None:
    """An amount for the JSON of a recap, every digit kept: pages and emails round it once,
    when they show it (a weighted amount may have four decimals)."""
    if value is None:
        return None
    return plain(value)


def share(part, whole) -> str | None:
    """A percentage for the JSON of a recap, at full precision (``climcrm.figures.rate``)."""
    value = rate(part, whole)
    return None if value is None else str(value)


def dec(value) -> Decimal:
    if value in (None, ""):
        return ZERO
    return Decimal(value)


SORTS = {
    "period": ("period_start", "id"),
    "-period": ("-period_start", "-id"),
    "partner": ("partner__account__name", "-period_start"),
    "-partner": ("-partner__account__name", "-period_start"),
    "kind": ("kind", "-period_start"),
    "-kind": ("-kind", "-period_start"),
}


def review_list(*, user, partner_id=None, kind: str = "", status: str = "", sort: str = ""):
    qs = visible_reviews(user).select_related("partner__account", "created_by")
    if is_partner_user(user):
        qs = qs.exclude(kind=ReviewKind.CHANNEL_MANAGER)
    if partner_id:
        qs = qs.filter(partner_id=partner_id)
    if kind in ReviewKind.values:
        qs = qs.filter(kind=kind)
    if status in ReviewStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by(*SORTS.get(sort, SORTS["-period"]))


def same_partner(partner_id: int | None) -> Q:
    """The rows of this partner, or the rows of no partner (a review of direct sales)."""
    return Q(partner__isnull=True) if partner_id is None else Q(partner_id=partner_id)


def previous_review(review: Review) -> Review | None:
    """The last closed review of the same kind for the same partner before this one."""
    return (
        Review.objects.filter(
            same_partner(review.partner_id),
            kind=review.kind,
            status=ReviewStatus.CLOSED,
            period_start__lt=review.period_start,
        )
        .select_related("snapshot")
        .order_by("-period_start", "-id")
        .first()
    )


def review_window(review: Review, previous: Review | None) -> tuple[datetime.datetime, Any]:
    """[since, until]: from the previous review's closing (or the month before the period
    when there is none) to this review's closing (or now while it runs)."""
    if previous is not None and previous.closed_at:
        since = previous.closed_at
    else:
        since = as_datetime(add_months(review.period_start, -1))
    until = review.closed_at or timezone.now()
    return since, until


# Rows of the "new leads" and "won or lost" sections shown at a time ("load more" adds the
# next ones); the counts and totals of the headings cover every row.
SECTION_PAGE_SIZE = 10


def section_page(queryset: QuerySet, *, page: int, first: int = 1) -> dict:
    """Rows of pages ``first`` to ``page`` of a section, and whether more follow: one query
    (one row more than shown tells if there is a next page)."""
    start = (first - 1) * SECTION_PAGE_SIZE
    end = page * SECTION_PAGE_SIZE
    rows = list(queryset[start : end + 1])
    return {
        "rows": rows[: end - start],
        "page": page,
        "next_page": page + 1 if len(rows) > end - start else None,
    }


def deal_json(deal: Opportunity) -> dict:
    return {
        "id": deal.pk,
        "name": deal.name,
        "account": deal.account.name,
        "owner": str(deal.owner),
        "stage": deal.stage,
        "amount": money(deal.amount),
        "probability": deal.probability,
        "weighted": money(deal.weighted_amount),
        "close_date": deal.close_date.isoformat(),
        "forecast_category": deal.forecast_category,
        "next_step": deal.next_step,
        "version": deal.version,
    }


def deal_json_rows(queryset: QuerySet, *extra: str) -> list[dict]:
    """``deal_json`` of every deal of ``queryset``, read as values (plus the ``extra``
    columns): lists of hundreds or thousands of deals, where building three model instances
    per deal (deal, account, owner) would cost more than the query."""
    rows = queryset.values(
        "id",
        "name",
        "account__name",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
        "stage",
        "amount",
        "probability",
        "close_date",
        "forecast_category",
        "next_step",
        "version",
        *extra,
    )
    result = []
    for row in rows:
        # User.__str__: the full name, or the username without one.
        owner = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
        amount = row["amount"]
        result.append(
            {
                "id": row["id"],
                "name": row["name"],
                "account": row["account__name"],
                "owner": owner or row["owner__username"],
                "stage": row["stage"],
                "amount": money(amount),
                "probability": row["probability"],
                "weighted": money(amount * row["probability"] / 100)
                if amount is not None
                else None,
                "close_date": row["close_date"].isoformat(),
                "forecast_category": row["forecast_category"],
                "next_step": row["next_step"],
                "version": row["version"],
                **{name: row[name] for name in extra},
            }
        )
    return result


def hydrate(data: dict) -> dict:
    """Snapshot JSON → values templates format (dates back to dates, stage labels)."""
    stages = dict(Stage.choices)
    categories = dict(ForecastCategory.choices)
    result = dict(data)
    for key in ("since", "taken_at", "as_of", "previous_as_of"):
        if data.get(key):
            result[key] = datetime.datetime.fromisoformat(data[key])
    for key in ("deals", "closed_deals"):
        result[key] = [
            {
                **deal,
                "stage_label": stages.get(deal["stage"], deal["stage"]),
                "forecast_category_label": categories.get(
                    deal["forecast_category"], deal["forecast_category"]
                ),
                "close_date": datetime.date.fromisoformat(deal["close_date"]),
            }
            for deal in data.get(key, [])
        ]
    for key in ("todos", "carried_todos"):
        result[key] = [
            {
                **todo,
                "due_date": datetime.date.fromisoformat(todo["due_date"])
                if todo["due_date"]
                else None,
            }
            for todo in data.get(key, [])
        ]
    if "managers" in data:
        result["managers"] = [
            {
                **manager,
                "partners": [
                    {
                        **partner,
                        "deals": [
                            {**deal, "close_date": datetime.date.fromisoformat(deal["close_date"])}
                            for deal in partner["deals"]
                        ],
                    }
                    for partner in manager["partners"]
                ],
            }
            for manager in data["managers"]
        ]
    if "by_stage" in data:
        result["by_stage"] = [
            {**row, "label": stages.get(row["stage"], row["stage"])} for row in data["by_stage"]
        ]
    return result

"""The monthly partner review: its leads, outcomes, deals walked one by one, to-dos, the
pipeline by stage against the review before, the commit, and its recap.

The ``monthly_recap_data`` builder returns plain JSON values (amounts as strings, dates in
ISO format): the same dictionary is shown while the review runs, frozen in the snapshot when
it closes, and rendered in the recap emails."""

from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from activities.visibility import visible_activities
from leads.visibility import visible_leads
from opportunities.amounts import pipeline_by_stage
from opportunities.history import values_as_of
from opportunities.models import CLOSED_STAGES, OPEN_STAGES, ForecastCategory, Opportunity, Stage
from opportunities.visibility import visible_opportunities
from pipeline_reviews.models import Review, ReviewKind
from pipeline_reviews.selectors.common import (
    ZERO,
    deal_json,
    deal_json_rows,
    dec,
    money,
    previous_review,
    review_window,
)


def new_leads(*, user, review: Review, since, until) -> QuerySet:
    return (
        visible_leads(user)
        .filter(partner_id=review.partner_id, created_at__gt=since, created_at__lte=until)
        .select_related("owner")
        .order_by("created_at", "id")
    )


def closed_deals(*, user, review: Review, since, until) -> QuerySet:
    return (
        visible_opportunities(user)
        .filter(
            partner_id=review.partner_id,
            stage__in=CLOSED_STAGES,
            closed_at__gt=since,
            closed_at__lte=until,
        )
        .select_related("account", "loss_reason", "owner")
        .order_by("-closed_at", "id")
    )


def partner_open_deals(*, user, partner_id) -> QuerySet:
    return visible_opportunities(user).filter(partner_id=partner_id, stage__in=OPEN_STAGES)


def outcome_totals(queryset: QuerySet) -> dict:
    """Won and lost deals of the section: counts and amounts over all of them, in SQL."""
    won, lost = Q(stage=Stage.CLOSED_WON), Q(stage=Stage.CLOSED_LOST)
    return queryset.order_by().aggregate(
        count=Count("id"),
        won_count=Count("id", filter=won),
        won_total=Coalesce(Sum("amount", filter=won), Value(ZERO)),
        lost_count=Count("id", filter=lost),
        lost_total=Coalesce(Sum("amount", filter=lost), Value(ZERO)),
    )


def _deal_walk(*, user, review: Review) -> QuerySet:
    """The order in which the deal-by-deal section walks the deals: by close date."""
    return partner_open_deals(user=user, partner_id=review.partner_id).order_by("close_date", "id")


def open_deal_count(*, user, review: Review) -> int:
    return partner_open_deals(user=user, partner_id=review.partner_id).count()


def open_deal_position(*, user, review: Review, deal_id: int) -> int | None:
    """1-based place of an open deal in the walk, or None when it is not (or no longer) open."""
    walk = _deal_walk(user=user, review=review)
    deal = walk.filter(pk=deal_id).values("close_date", "id").first()
    if deal is None:
        return None
    before = Q(close_date__lt=deal["close_date"]) | Q(
        close_date=deal["close_date"], id__lt=deal["id"]
    )
    return walk.filter(before).count() + 1


def deal_at(*, user, review: Review, position: int) -> Opportunity | None:
    """The open deal at a 1-based place of the walk."""
    return (
        _deal_walk(user=user, review=review)
        .select_related("account", "owner", "loss_reason", "partner")[position - 1 : position]
        .first()
    )


def deal_todos(*, user, review: Review, deal_id: int) -> QuerySet:
    return (
        visible_activities(user)
        .filter(review=review, opportunity_id=deal_id)
        .select_related("assignee")
        .order_by("due_date", "id")
    )


def review_todos(*, user, review: Review) -> QuerySet:
    return (
        visible_activities(user)
        .filter(review=review)
        .select_related("assignee", "opportunity")
        .order_by("due_date", "id")
    )


def carried_todos(*, user, review: Review, previous: Review | None) -> QuerySet:
    """The previous review's to-dos, done or not, and any still open from older reviews."""
    qs = visible_activities(user).filter(
        review__partner_id=review.partner_id,
        review__kind=ReviewKind.MONTHLY_PARTNER,
        review__period_start__lt=review.period_start,
    )
    condition = Q(done=False)
    if previous is not None:
        condition |= Q(review=previous)
    return (
        qs.filter(condition)
        .select_related("assignee", "opportunity", "review")
        .order_by("done", "due_date", "id")
    )


def proposed_commit(*, user, partner_id) -> Decimal:
    total = (
        partner_open_deals(user=user, partner_id=partner_id)
        .filter(forecast_category=ForecastCategory.COMMIT)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or ZERO


def won_between(*, user, partner_id, since, until) -> dict:
    row = (
        visible_opportunities(user)
        .filter(
            partner_id=partner_id,
            stage=Stage.CLOSED_WON,
            closed_at__gt=since,
            closed_at__lte=until,
        )
        .aggregate(total=Sum("amount"), count=Count("id"))
    )
    return {"total": row["total"] or ZERO, "count": row["count"]}


def stage_summary(queryset) -> list[dict]:
    """Open stages only: count, amount and weighted amount (JSON values)."""
    return [
        {
            "stage": row["stage"],
            "count": row["count"],
            "total": money(row["total"]),
            "weighted": money(row["weighted"]),
        }
        for row in pipeline_by_stage(queryset)
        if row["stage"] in OPEN_STAGES
    ]


def compare_summaries(current: list[dict], previous: list[dict] | None) -> list[dict]:
    """Rows of the current summary with the previous one's values and the differences."""
    before = {row["stage"]: row for row in (previous or [])}
    labels = dict(Stage.choices)
    rows = []
    for row in current:
        prev = before.get(row["stage"])
        rows.append(
            {
                **row,
                "label": labels[row["stage"]],
                "prev_count": prev["count"] if prev else None,
                "prev_total": prev["total"] if prev else None,
                "prev_weighted": prev["weighted"] if prev else None,
                "delta_count": row["count"] - prev["count"] if prev else None,
                "delta_total": dec(row["total"]) - dec(prev["total"]) if prev else None,
                "delta_weighted": dec(row["weighted"]) - dec(prev["weighted"]) if prev else None,
            }
        )
    return rows


def totals(rows: list[dict]) -> dict:
    return {
        "count": sum(row["count"] for row in rows),
        "total": money(sum((dec(row["total"]) for row in rows), ZERO)),
        "weighted": money(sum((dec(row["weighted"]) for row in rows), ZERO)),
    }


def _todo_json(todo) -> dict:
    return {
        "id": todo.pk,
        "subject": todo.subject,
        "assignee": str(todo.assignee) if todo.assignee else "",
        "due_date": todo.due_date.isoformat() if todo.due_date else None,
        "done": todo.done,
        "deal_id": todo.opportunity_id,
        "deal": todo.opportunity.name if todo.opportunity_id else "",
    }


def _history_deal_json(row) -> dict:
    return {
        "id": row.opportunity_id,
        "name": row.opportunity.name,
        "account": row.opportunity.account.name,
        "owner": str(row.owner) if row.owner_id else "",
        "stage": row.stage,
        "amount": money(row.amount),
        "probability": row.probability,
        "weighted": money(row.amount * row.probability / 100) if row.amount is not None else None,
        "close_date": row.close_date.isoformat(),
        "forecast_category": row.forecast_category,
        "next_step": "",
        "version": row.version,
    }


def monthly_recap_data(*, user, review: Review, as_of=None) -> dict:
    """Everything the recap shows; frozen as the snapshot when the review closes.

    ``as_of`` (a past moment: backdated closings, demo data) reads the pipeline from the
    history as it was then instead of the live deals.
    """
    previous = previous_review(review)
    since, until = review_window(review, previous)
    if as_of is None:
        open_deals = partner_open_deals(user=user, partner_id=review.partner_id)
        by_stage = stage_summary(open_deals)
        deals = deal_json_rows(open_deals.order_by("close_date", "id"))
        proposed = proposed_commit(user=user, partner_id=review.partner_id)
    else:
        rows = values_as_of(as_of).filter(
            partner_id=review.partner_id,
            stage__in=OPEN_STAGES,
            opportunity__in=visible_opportunities(user),
        )
        by_stage = stage_summary(rows)
        deals = [
            _history_deal_json(row)
            for row in rows.select_related("opportunity__account", "owner").order_by(
                "close_date", "opportunity_id"
            )
        ]
        proposed = (
            rows.filter(forecast_category=ForecastCategory.COMMIT).aggregate(t=Sum("amount"))["t"]
            or ZERO
        )
    won = won_between(user=user, partner_id=review.partner_id, since=since, until=until)
    closed = closed_deals(user=user, review=review, since=since, until=until)
    return {
        "kind": review.kind,
        "review_id": review.pk,
        "since": since.isoformat(),
        "taken_at": until.isoformat(),
        "by_stage": by_stage,
        "totals": totals(by_stage),
        "deals": deals,
        "closed_deals": [
            {
                **deal_json(deal),
                "objective_reasons": deal.objective_reasons,
                "recovery_possible": deal.recovery_possible,
                "lessons_learned": deal.lessons_learned,
                "corrective_actions": deal.corrective_actions,
            }
            for deal in closed
        ],
        "commit": {
            "amount": money(review.commit_amount),
            "note": review.commit_note,
            "proposed": money(proposed),
        },
        "previous_commit": money(previous.commit_amount) if previous else None,
        "won_since_previous": money(won["total"]),
        "won_count": won["count"],
        "new_leads": new_leads(user=user, review=review, since=since, until=until).count(),
        "todos": [_todo_json(todo) for todo in review_todos(user=user, review=review)],
        "carried_todos": [
            _todo_json(todo) for todo in carried_todos(user=user, review=review, previous=previous)
        ],
    }

"""The monthly channel-manager review: per channel manager, then per partner, business by
stage against the month before, won against the previous commit, the new commit, new leads."""

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from opportunities.amounts import weighted_amount_expression
from opportunities.history import as_datetime, values_as_of
from opportunities.models import OPEN_STAGES, Opportunity, Stage
from pipeline_reviews.models import Review, ReviewKind
from pipeline_reviews.periods import add_months
from pipeline_reviews.selectors.common import ZERO, deal_json_rows, dec, money


def _history_by_partner_stage(at, *, partner_ids, hot: Q) -> tuple[dict, dict]:
    """Per partner and open stage at ``at``: count, amount and weighted amount of every deal,
    and of the deals matching ``hot``, read in one pass over the history."""
    rows = (
        values_as_of(at)
        .filter(partner_id__in=partner_ids, stage__in=OPEN_STAGES)
        # No ordering: the history's (by the deal's close date) would join every deal.
        .order_by()
        .values("partner", "stage")
        .annotate(
            count=Count("id"),
            total=Coalesce(Sum("amount"), Value(0), output_field=DecimalField()),
            weighted=Coalesce(
                Sum(weighted_amount_expression()), Value(0), output_field=DecimalField()
            ),
            hot_count=Count("id", filter=hot),
            hot_total=Coalesce(Sum("amount", filter=hot), Value(0), output_field=DecimalField()),
            hot_weighted=Coalesce(
                Sum(weighted_amount_expression(), filter=hot),
                Value(0),
                output_field=DecimalField(),
            ),
        )
    )
    every: dict = {}
    hottest: dict = {}
    for row in rows:
        every.setdefault(row["partner"], {})[row["stage"]] = {
            "count": row["count"],
            "total": money(row["total"]),
            "weighted": money(row["weighted"]),
        }
        if row["hot_count"]:
            hottest.setdefault(row["partner"], {})[row["stage"]] = {
                "count": row["hot_count"],
                "total": money(row["hot_total"]),
                "weighted": money(row["hot_weighted"]),
            }
    return every, hottest


def _stage_rows(per_stage: dict, prev_per_stage: dict, stages) -> list[dict]:
    labels = dict(Stage.choices)
    empty = {"count": 0, "total": "0.00", "weighted": "0.00"}
    rows = []
    for stage in stages:
        now = per_stage.get(stage, empty)
        before = prev_per_stage.get(stage, empty)
        rows.append(
            {
                "stage": stage,
                "label": str(labels[stage]),
                "count": now["count"],
                "total": now["total"],
                "weighted": now["weighted"],
                "prev_count": before["count"],
                "prev_total": before["total"],
                "prev_weighted": before["weighted"],
                "delta_count": now["count"] - before["count"],
                "delta_total": money(dec(now["total"]) - dec(before["total"])),
            }
        )
    return rows


def _merge(partner_ids, per_partner: dict) -> dict:
    merged: dict = {}
    for pid in partner_ids:
        for stage, values in per_partner.get(pid, {}).items():
            slot = merged.setdefault(stage, {"count": 0, "total": "0.00", "weighted": "0.00"})
            slot["count"] += values["count"]
            slot["total"] = money(dec(slot["total"]) + dec(values["total"]))
            slot["weighted"] = money(dec(slot["weighted"]) + dec(values["weighted"]))
    return merged


def channel_manager_review_data(*, review: Review) -> dict:
    """Per channel manager, then per partner: business by stage against the previous month,
    won against the previous commit, the new commit, new leads from RS and from partners."""
    from accounts.models import Partner
    from leads.models import Lead

    start = review.period_start
    end = add_months(start, 1)
    now = review.closed_at or timezone.now()
    as_of_end = min(as_datetime(end), now)
    partners = list(
        Partner.objects.filter(channel_manager__isnull=False)
        .select_related("account", "channel_manager")
        .order_by("channel_manager__last_name", "channel_manager__first_name", "account__name")
    )
    ids = [p.pk for p in partners]
    hot = Q(stage__in=[Stage.NEGOTIATION], probability__gt=50)
    current, hot_current = _history_by_partner_stage(as_of_end, partner_ids=ids, hot=hot)
    previous, hot_previous = _history_by_partner_stage(as_datetime(start), partner_ids=ids, hot=hot)
    won = {
        row["partner"]: row["total"]
        for row in Opportunity.objects.filter(
            partner_id__in=ids,
            stage=Stage.CLOSED_WON,
            closed_at__gte=as_datetime(start),
            closed_at__lt=as_datetime(end),
        )
        .values("partner")
        .annotate(total=Sum("amount"))
    }
    commits = {
        (row["partner_id"], row["period_start"]): row["commit_amount"]
        for row in Review.objects.filter(
            kind=ReviewKind.MONTHLY_PARTNER,
            partner_id__in=ids,
            period_start__in=[start, add_months(start, -1)],
        ).values("partner_id", "period_start", "commit_amount")
    }
    leads: dict = {}
    for row in (
        Lead.objects.filter(
            partner_id__in=ids,
            created_at__gte=as_datetime(start),
            created_at__lt=as_datetime(end),
        )
        .values("partner", "origin")
        .annotate(count=Count("id"))
    ):
        leads.setdefault(row["partner"], {})[row["origin"]] = row["count"]
    hot_deals: dict = {}
    for deal in deal_json_rows(
        Opportunity.objects.filter(
            partner_id__in=ids, stage=Stage.NEGOTIATION, probability__gt=50
        ).order_by("close_date", "id"),
        "partner_id",
    ):
        hot_deals.setdefault(deal.pop("partner_id"), []).append(deal)

    def figures(pids: list[int], stage_now, stage_before, stages) -> dict:
        prev_commit = [commits.get((pid, add_months(start, -1))) for pid in pids]
        new_commit = [commits.get((pid, start)) for pid in pids]
        return {
            "by_stage": _stage_rows(_merge(pids, stage_now), _merge(pids, stage_before), stages),
            "won": money(sum((dec(won.get(pid)) for pid in pids), ZERO)),
            "previous_commit": money(sum((dec(c) for c in prev_commit if c), ZERO))
            if any(c is not None for c in prev_commit)
            else None,
            "new_commit": money(sum((dec(c) for c in new_commit if c), ZERO))
            if any(c is not None for c in new_commit)
            else None,
            "leads_rs": sum(leads.get(pid, {}).get("rs", 0) for pid in pids),
            "leads_bp": sum(leads.get(pid, {}).get("bp", 0) for pid in pids),
        }

    managers: list[dict] = []
    for partner in partners:
        manager = partner.channel_manager
        assert manager is not None  # the partners above all have one
        if not managers or managers[-1]["id"] != manager.pk:
            managers.append({"id": manager.pk, "name": str(manager), "partners": []})
        managers[-1]["partners"].append(
            {
                "id": partner.pk,
                "name": partner.account.name,
                **figures([partner.pk], hot_current, hot_previous, [Stage.NEGOTIATION]),
                "deals": hot_deals.get(partner.pk, []),
            }
        )
    for group in managers:
        pids = [p["id"] for p in group["partners"]]
        group.update(figures(pids, current, previous, OPEN_STAGES))
    return {
        "kind": review.kind,
        "review_id": review.pk,
        "taken_at": now.isoformat(),
        "as_of": as_of_end.isoformat(),
        "previous_as_of": as_datetime(start).isoformat(),
        "managers": managers,
    }

"""Many deals fast (bulk_create), each with its history rows, for query budgets."""

import datetime
from decimal import Decimal

from django.utils import timezone

from forecasting import kept
from opportunities.models import (
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    Stage,
    ladder_rank,
)
from tests.factories import AccountFactory

STAGES = [
    (Stage.QUALIFICATION, 10, ForecastCategory.PIPELINE),
    (Stage.PROPOSAL, 50, ForecastCategory.BEST_CASE),
    (Stage.NEGOTIATION, 75, ForecastCategory.COMMIT),
]


def bulk_deals(count: int, *, owner, partner=None, today=None) -> None:
    """``count`` open deals closing this quarter, created 40 days ago and changed 5 days
    ago (two history rows each), a few without amount."""
    today = today or timezone.localdate()
    account = AccountFactory()
    now = timezone.now()
    created = now - datetime.timedelta(days=40)
    changed = now - datetime.timedelta(days=5)
    deals = []
    for index in range(count):
        stage, probability, category = STAGES[index % len(STAGES)]
        deals.append(
            Opportunity(
                name=f"Bulk {index}",
                account=account,
                owner=owner,
                partner=partner,
                stage=stage,
                probability=probability,
                forecast_category=category,
                amount=None if index % 10 == 0 else Decimal(1000 + index),
                close_date=today,
                created_at=created,
                stage_changed_at=created,
                furthest_rank=ladder_rank(stage),
                version=2,
            )
        )
    deals = Opportunity.objects.bulk_create(deals)
    rows = []
    for deal in deals:
        common = {
            "opportunity": deal,
            "stage": deal.stage,
            "probability": deal.probability,
            "forecast_category": deal.forecast_category,
            "owner": owner,
            "partner": partner,
            "close_date": deal.close_date,
        }
        rows.append(
            OpportunityHistory(
                version=1,
                changed_at=created,
                valid_until=changed,
                is_creation=True,
                amount=None,
                **common,
            )
        )
        rows.append(
            OpportunityHistory(
                version=2,
                changed_at=changed,
                changed_fields=["amount"],
                amount=deal.amount,
                prev_amount=None,
                prev_stage=deal.stage,
                prev_probability=deal.probability,
                prev_close_date=deal.close_date,
                prev_forecast_category=deal.forecast_category,
                prev_owner=owner,
                prev_partner=partner,
                **common,
            )
        )
    OpportunityHistory.objects.bulk_create(rows)
    kept.rebuild(tables=("forecasting_pipelinesummary",))  # the running totals the metrics read

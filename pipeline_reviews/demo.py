"""Demo reviews for partner A: two closed monthly reviews (the two previous months) with
their snapshots and to-dos, the current month's review in progress, the last quarter's
business review, and the current month's channel-manager review."""

import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from opportunities.history import as_datetime, values_as_of
from opportunities.models import OPEN_STAGES, ForecastCategory, Opportunity
from pipeline_reviews.models import ReviewFormat, ReviewKind
from pipeline_reviews.periods import add_months, month_start, quarter_start
from pipeline_reviews.services import (
    marketing_action_add,
    partner_note_update,
    quarterly_update,
    review_close,
    review_commit_set,
    review_create,
    review_todo_add,
)

# Two months of the same partner, one after the other: the story the reviews tell.
COMMIT_NOTES = {
    2: "Premier engagement du trimestre : deux affaires en négociation, le reste à qualifier.",
    1: "Engagement relevé : les offres du mois passé sont en négociation, une affaire glisse "
    "au mois prochain faute de budget validé.",
}
DEMO_TASKS = [
    "Relancer le maître d'ouvrage pour la décision",
    "Organiser une démonstration sur site",
    "Envoyer l'offre révisée avec le configurateur",
    "Valider le budget avec la direction technique",
    "Planifier la visite de l'installation existante",
]


def seed(ctx) -> None:
    partner = ctx.partners["a"]
    channel = ctx.users["channel"]
    head = ctx.users.get("channel_head") or ctx.users["manager"]
    attendees = [ctx.users["partner_a_director"], ctx.users["partner_a"]]
    today = timezone.localdate()
    current = month_start(today)
    deals = list(
        Opportunity.objects.filter(partner=partner, stage__in=OPEN_STAGES).order_by(
            "close_date", "id"
        )[:6]
    )
    created = 0
    for months_back, todo_done in ((2, True), (1, False)):
        period = add_months(current, -months_back)
        review = review_create(
            by=channel,
            kind=ReviewKind.MONTHLY_PARTNER,
            partner=partner,
            period=period,
            format=ReviewFormat.CALL,
            attendees=attendees,
        )
        for index, deal in enumerate(deals[months_back : months_back + 3]):
            todo = review_todo_add(
                review=review,
                by=channel,
                deal=deal,
                subject=DEMO_TASKS[(index + months_back) % len(DEMO_TASKS)],
                assignee=attendees[index % 2],
                due_date=period + datetime.timedelta(days=20 + index),
            )
            if todo_done and index != 1:
                todo.done = True
                todo.done_at = as_datetime(period + datetime.timedelta(days=18))
                todo.save(update_fields=["done", "done_at"])
        closed_at = as_datetime(period + datetime.timedelta(days=4)) + datetime.timedelta(hours=10)
        commit = _commit_as_of(partner, closed_at)
        review_commit_set(
            review=review,
            by=channel,
            amount=commit,
            note=COMMIT_NOTES[months_back],
        )
        review_close(review=review, by=channel, at=min(closed_at, timezone.now()), notify=False)
        created += 1
    review_create(
        by=channel,
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner,
        period=current,
        format=ReviewFormat.MEETING,
        attendees=attendees,
    )
    quarterly = review_create(
        by=channel,
        kind=ReviewKind.QUARTERLY,
        partner=partner,
        period=add_months(quarter_start(today), -3),
        format=ReviewFormat.MEETING,
        attendees=attendees,
    )
    quarterly_update(
        review=quarterly,
        by=channel,
        values={
            "training_last_quarter": "Deux commerciaux certifiés sur la gamme pompes à chaleur.",
            "training_gap": "Un consultant de moins que prévu au plan.",
            "registrations_sales": 2,
            "registrations_consultants": 1,
            "registrations_telemarketers": 1,
            "marketing_last_quarter": "Salon Habitat & Jardin, campagne e-mail régies.",
            "contract": f"Contrat de distribution valable jusqu'à fin {today.year + 1}.",
            "payment_status": "À jour.",
            "process_compliance": "Leads déclarés dans les délais; revues mensuelles tenues.",
            "support_days": Decimal("4.5"),
            "support_nature": "Avant-vente sur deux appels d'offres, formation configurateur.",
            "difficulties": "Délais de livraison des pompes à chaleur.",
            "priorities": "Obtenir un stock de démonstration.",
        },
    )
    marketing_action_add(
        review=quarterly,
        by=channel,
        action_type="Petit-déjeuner régies immobilières",
        budget=Decimal("4500"),
        expected_leads=12,
        resources="Un orateur technique RS",
    )
    cm_review = review_create(by=head, kind=ReviewKind.CHANNEL_MANAGER, period=current)
    partner_note_update(
        review=cm_review,
        by=head,
        partner=partner,
        values={
            "difficulties": "Cycle de décision long chez les régies.",
            "progress_areas": "Qualification des projets en amont.",
            "support_requested": "Appui avant-vente sur les grands comptes.",
        },
    )
    ctx.log(f"{created + 3} reviews for {partner} (two closed, three in progress)")


def _commit_as_of(partner, moment) -> Decimal:
    total = (
        values_as_of(moment)
        .filter(partner=partner, forecast_category=ForecastCategory.COMMIT, stage__in=OPEN_STAGES)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal("0")

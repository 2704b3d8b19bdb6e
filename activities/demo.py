"""Demo activities: calls, visits and notes on a share of the deals, and open to-dos."""

import datetime
import random

from django.utils import timezone

from activities.models import Activity, ActivityKind
from activities.signals import refresh_deals
from leads.models import OPEN_LEAD_STATUSES, Lead
from opportunities.models import OPEN_STAGES, Opportunity

CALLS = ["Appel de suivi", "Appel de qualification", "Point téléphonique avec l'acheteur"]
VISITS = ["Visite du site", "Visite commerciale chez le client", "Démonstration sur place"]
NOTES = ["Budget confirmé par la direction", "Concurrent présent sur l'appel d'offres"]
TASKS = [
    "Envoyer l'offre révisée",
    "Relancer pour la décision",
    "Préparer la présentation technique",
    "Planifier la visite du chantier",
    "Vérifier les délais de livraison",
]


def seed(ctx) -> None:
    deals = ctx.extra.get("opportunities")
    if deals is None:
        deals = list(Opportunity.objects.select_related("partner").order_by("id"))
    if not deals:
        ctx.log("activities: no deals, nothing to add")
        return
    partner_users: dict[int, list] = {}
    for key in ("partner_a", "partner_b", "partner_a_director", "partner_b_director"):
        user = ctx.users.get(key)
        if user is not None and user.partner_id:
            partner_users.setdefault(user.partner_id, []).append(user)

    today = timezone.localdate()
    now = timezone.now()
    rng = random.Random(1124)
    rows: list[Activity] = []
    # About half the deals get a history of contacts, and most open ones (the rest are the
    # stale deals a manager should chase); open ones also get a to-do.
    followed = [
        deal
        for index, deal in enumerate(deals)
        if index % 2 == 0 or (deal.stage in OPEN_STAGES and rng.random() < 0.6)
    ]
    for deal in followed:
        when = now - datetime.timedelta(days=rng.randint(2, 60))
        assignees = [deal.owner] + partner_users.get(deal.partner_id, [])
        rows.append(
            Activity(
                kind=ActivityKind.CALL,
                subject=rng.choice(CALLS),
                opportunity=deal,
                assignee=deal.owner,
                created_by=deal.owner,
                due_date=timezone.localdate(when),
                done=True,
                done_at=when,
            )
        )
        rows.append(
            Activity(
                kind=rng.choice([ActivityKind.SALES_VISIT, ActivityKind.NOTE]),
                subject=rng.choice(VISITS + NOTES),
                opportunity=deal,
                assignee=rng.choice(assignees),
                created_by=deal.owner,
                due_date=timezone.localdate(when) + datetime.timedelta(days=1),
                done=True,
                done_at=when + datetime.timedelta(days=1),
            )
        )
        if deal.stage in OPEN_STAGES:
            # A third overdue, some due today, the rest in the coming weeks.
            offset = rng.choice([-12, -5, -2, 0, 0, 3, 7, 14, 21])
            rows.append(
                Activity(
                    kind=ActivityKind.TASK,
                    subject=rng.choice(TASKS),
                    opportunity=deal,
                    assignee=rng.choice(assignees),
                    created_by=deal.owner,
                    due_date=today + datetime.timedelta(days=offset),
                )
            )
    leads = Lead.objects.filter(status__in=OPEN_LEAD_STATUSES).order_by("id")[:30]
    for lead in leads:
        owner = lead.owner or ctx.users.get("rep")
        rows.append(
            Activity(
                kind=ActivityKind.CALL,
                subject="Premier contact",
                lead=lead,
                assignee=owner,
                created_by=owner,
                due_date=today + datetime.timedelta(days=rng.choice([-3, 0, 2, 5])),
            )
        )
    Activity.objects.bulk_create(rows, batch_size=500)
    # bulk_create sends no signal: sum up the deals' open to-dos as the signals would.
    refresh_deals({row.opportunity_id for row in rows}, using="default")
    ctx.log(f"activities: {len(rows)} calls, visits, notes and to-dos")

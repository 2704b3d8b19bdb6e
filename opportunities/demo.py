"""Demo deals with an 18-month history written through the services (backdated with ``at=``).

Each deal is created, then lives through a believable sequence — stage advances, a step
back now and then, amount revisions, slipped close dates, a manual forecast category —
and the older ones close won or lost with a reason.
"""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from climcrm.choices import Source
from climcrm.permissions import partner_editable_fields
from climcrm.roles import is_partner_user
from opportunities.history import as_datetime
from opportunities.models import (
    OPEN_STAGES,
    ForecastCategory,
    LossReason,
    Stage,
)
from opportunities.services import ReasonRequiredError, opportunity_create, opportunity_update

DEMO_REASONS = ("customer_budget_moved", "decision_delayed", "competitor", "scope_reduced")

SUBJECTS = [
    "Pompe à chaleur",
    "Régulation CVC",
    "Monitoring énergétique",
    "Contrat de maintenance",
    "Audit énergétique",
    "Installation photovoltaïque",
    "Bornes de recharge",
    "Ventilation double flux",
    "Rénovation chaufferie",
    "Gestion technique du bâtiment",
    "Climatisation salle serveurs",
    "Récupération de chaleur",
]
SITES = [
    "siège",
    "bâtiment B",
    "entrepôt",
    "site de production",
    "école",
    "aile est",
    "nouveau bâtiment",
    "succursale",
]
NEXT_STEPS = [
    "Envoyer l'offre révisée",
    "Visite du site avec le technicien",
    "Présentation au comité de direction",
    "Relancer le responsable des achats",
    "Organiser une démo",
    "Attendre la décision du conseil",
    "Préparer le cahier des charges",
]
LOSS_TEXTS = {
    "price": "Offre 15 % plus chère que le concurrent.",
    "competitor": "Le client a retenu un installateur local.",
    "no_budget": "Budget reporté à l'an prochain.",
    "project_abandoned": "Projet de rénovation abandonné.",
    "timing": "Délais de livraison trop longs pour le client.",
    "product_fit": "Notre solution ne couvre pas leur système existant.",
    "other": "Réorganisation interne chez le client.",
}
LEARNINGS = [
    "Impliquer le décideur plus tôt.",
    "Préparer une variante moins chère.",
    "Bien qualifier le budget dès le départ.",
    "La démo sur site a fait la différence.",
]
DAYS = 540
DIRECT_SOURCES = [
    Source.WEB_FORM,
    Source.EVENT,
    Source.LINKEDIN,
    Source.EMAIL_CAMPAIGN,
    Source.REFERRAL,
    Source.OTHER,
]


def _amount() -> Decimal:
    base = random.choice([8, 12, 18, 25, 35, 48, 60, 75, 90, 120, 160, 240])
    return Decimal(base * 1000 + random.randint(0, 19) * 250)


def _next_moment(moment, now, low: int, high: int):
    later = moment + datetime.timedelta(days=random.randint(low, high), hours=random.randint(1, 8))
    return later if later < now else None


def _update(deal, by, at, **changes):
    if is_partner_user(by):
        changes = {k: v for k, v in changes.items() if k in partner_editable_fields()}
    # The demo holds the deal it last wrote: that is the version it read.
    try:
        result = opportunity_update(
            opportunity=deal, by=by, changes=changes, expected_version=deal.version, at=at
        )
    except ReasonRequiredError:
        # A step back: the demo gives it one of the usual reasons.
        result = opportunity_update(
            opportunity=deal,
            by=by,
            changes=changes,
            expected_version=deal.version,
            at=at,
            reason_code=random.choice(DEMO_REASONS),
        )
    return result.opportunity


def _life(deal, *, owner, editor, manager, start, now, loss_reasons, outcome):
    """Walk one deal through its history; ``outcome`` is won, lost or open."""
    moment = start
    plan = {}
    stage_index = 0
    # Lost deals mostly fall out before the negotiation; won ones go through it.
    target_index = {
        "open": random.choice([1, 2, 2, 3, 3]),
        "lost": random.choice([1, 2, 2, 3]),
    }.get(outcome, 3)
    steps = 0
    while stage_index < target_index and steps < 10:
        steps += 1
        moment = _next_moment(moment, now, 7, 45)
        if moment is None:
            return deal
        roll = random.random()
        who = editor if random.random() < 0.4 else owner
        if roll < 0.12 and stage_index > 0:
            stage_index -= 1  # moved back: the customer reopened the requirements
            deal = _update(deal, who, moment, stage=OPEN_STAGES[stage_index])
        elif roll < 0.22:
            deal = _update(
                deal,
                who,
                moment,
                close_date=deal.close_date + datetime.timedelta(days=random.randint(14, 75)),
                next_step=random.choice(NEXT_STEPS),
            )
        elif roll < 0.32 and deal.amount:
            factor = Decimal(random.choice(["0.85", "0.9", "1.1", "1.2", "1.35"]))
            deal = _update(deal, who, moment, amount=(deal.amount * factor).quantize(Decimal("1")))
        else:
            stage_index += 1
            changes = {"stage": OPEN_STAGES[stage_index], "next_step": random.choice(NEXT_STEPS)}
            if stage_index >= 2:
                changes["budget_ok"] = True
                changes["need_ok"] = True
            if stage_index == 3:
                changes["authority_ok"] = random.random() < 0.8
                changes["timing_ok"] = True
            deal = _update(deal, who, moment, **changes)
            if stage_index == 2 and outcome == "won" and "commit_date" not in plan:
                # The rep commits the deal at the proposal, on the date it will be won.
                plan["commit_date"] = timezone.localdate(moment) + datetime.timedelta(
                    days=random.randint(60, 120)
                )
                deal = _update(
                    deal,
                    owner,
                    moment + datetime.timedelta(minutes=5),
                    forecast_category=ForecastCategory.COMMIT,
                    close_date=plan["commit_date"],
                )
            elif stage_index == 2 and random.random() < 0.45:
                deal = _update(
                    deal,
                    owner,
                    moment + datetime.timedelta(minutes=5),
                    forecast_category=ForecastCategory.COMMIT,
                )
    if outcome == "open":
        today = timezone.localdate(now)
        # Most open deals are planned ahead; about one in seven is overdue.
        if deal.close_date < today + datetime.timedelta(days=5):
            ahead = random.random() < 0.85
            if ahead or deal.close_date < today - datetime.timedelta(days=45):
                # Overdue by days or weeks, as a rep who follows up leaves them.
                days = random.randint(7, 120) if ahead else -random.randint(3, 40)
                later = _next_moment(moment, now, 1, 20) or now - datetime.timedelta(hours=1)
                deal = _update(
                    deal,
                    owner,
                    max(later, moment + datetime.timedelta(minutes=5)),
                    close_date=today + datetime.timedelta(days=days),
                    next_step=random.choice(NEXT_STEPS),
                )
        return deal
    if outcome == "won":
        # Won on the date it was committed for (a few days either side): a deal in Commit
        # at a period's start is mostly won in that period (accuracy near 100 %).
        planned = plan.get("commit_date") or timezone.localdate(moment) + datetime.timedelta(
            days=random.randint(20, 60)
        )
        won_at = max(
            moment + datetime.timedelta(days=2),
            as_datetime(planned + datetime.timedelta(days=random.randint(-6, 3)))
            + datetime.timedelta(hours=random.randint(8, 17)),
        )
        if won_at >= now:
            return deal
        moment = won_at
    else:
        moment = _next_moment(moment, now, 5, 40)
    if moment is None:
        return deal
    if outcome == "won":
        deal = _update(
            deal,
            owner,
            moment,
            stage=Stage.CLOSED_WON,
            objective_reasons="Meilleur rapport qualité-prix et service local.",
            lessons_learned=random.choice(LEARNINGS),
        )
    else:
        reason = random.choice(loss_reasons)
        deal = _update(
            deal,
            owner,
            moment,
            stage=Stage.CLOSED_LOST,
            loss_reason=reason,
            loss_reason_text=LOSS_TEXTS.get(reason.code, ""),
            lessons_learned=random.choice(LEARNINGS),
            recovery_possible=random.random() < 0.3,
        )
        if random.random() < 0.05:
            # A manager reopens a lost deal when the customer comes back.
            later = _next_moment(moment, now, 10, 40)
            if later:
                deal = _update(
                    deal,
                    manager,
                    later,
                    stage=Stage.NEEDS_ANALYSIS,
                    close_date=timezone.localdate(later) + datetime.timedelta(days=60),
                )
    return deal


def seed(ctx) -> None:
    accounts = ctx.extra.get("accounts") or []
    contacts = ctx.extra.get("contacts") or {}
    if not accounts:
        return
    owners = [ctx.users[key] for key in ("rep", "rep", "rep2", "rep2", "rep3", "manager")]
    manager = ctx.users["manager"]
    partners = [
        (ctx.partners["a"], ctx.users["partner_a"]),
        (ctx.partners["b"], ctx.users["partner_b"]),
    ]
    loss_reasons = list(LossReason.objects.filter(is_active=True))
    now = timezone.now()
    deals = []
    for index in range(ctx.size):
        account = random.choice(accounts)
        owner = random.choice(owners)
        partner, partner_user = random.choice(partners) if random.random() < 0.25 else (None, None)
        age = int(DAYS * random.random() ** 0.8)
        start = now - datetime.timedelta(days=age, hours=random.randint(0, 10))
        if age > 150:
            outcome = random.choices(["won", "lost", "open"], [45, 40, 15])[0]
        elif age > 60:
            outcome = random.choices(["won", "lost", "open"], [25, 20, 55])[0]
        else:
            outcome = "open"
        people = contacts.get(account.pk) or [None]
        subject = random.choice(SUBJECTS)
        deal = opportunity_create(
            by=owner,
            at=start,
            name=f"{subject} – {random.choice(SITES)}",
            account=account,
            primary_contact=random.choice(people),
            owner=owner,
            partner=partner,
            amount=_amount(),
            close_date=timezone.localdate(start) + datetime.timedelta(days=random.randint(30, 150)),
            next_step=random.choice(NEXT_STEPS),
            next_step_date=timezone.localdate(start) + datetime.timedelta(days=7),
            source=Source.PARTNER if partner else random.choice(DIRECT_SOURCES),
        )
        deal = _life(
            deal,
            owner=owner,
            editor=partner_user or owner,
            manager=manager,
            start=start,
            now=now,
            loss_reasons=loss_reasons,
            outcome=outcome,
        )
        deals.append(deal)
        if index % 100 == 99:
            ctx.log(f"{index + 1} opportunities…")
    ctx.extra["opportunities"] = deals
    ctx.log(f"{len(deals)} opportunities with their history")

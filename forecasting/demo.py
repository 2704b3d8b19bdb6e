"""Demo data: quarterly targets per rep and partner, snapshots of past quarters, and a year
of weekly forecast calls."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from climcrm.periods import MONTH, QUARTER, last_periods, period_containing
from forecasting.models import Target
from forecasting.services import forecast_snapshot_take
from forecasting.submissions import (
    forecast_adjustment_create,
    forecast_submission_create,
    partner_key,
    rep_key,
    week_of,
)
from opportunities.models import OPEN_STAGES, ForecastCategory, Opportunity, Stage

# Each rep's target against what they commit: one ahead, one on track, one behind.
TARGET_RATIOS = (Decimal("0.90"), Decimal("1.00"), Decimal("1.10"), Decimal("1.05"))
TARGET_STEP = Decimal(5000)


def _committed(period, **owner) -> Decimal:
    """Won and Commit amounts of the demo deals closing in ``period`` (of one rep or partner)."""
    committed = Q(stage=Stage.CLOSED_WON) | Q(
        stage__in=OPEN_STAGES, forecast_category=ForecastCategory.COMMIT
    )
    deals = Opportunity.objects.filter(
        committed, close_date__gte=period.start, close_date__lt=period.end, **owner
    )
    return deals.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def _targets(periods, ratio: Decimal, floor: Decimal, **owner) -> list[Decimal]:
    """Targets close to what the demo deals commit, so attainment reads like real quarters:
    half the quarter's own Won and Commit, half the average quarter (targets do not swing as
    much as deals do), times ``ratio``, rounded to 5,000; never under ``floor``."""
    committed = [_committed(period, **owner) for period in periods]
    average = sum(committed, Decimal(0)) / len(committed)
    targets = []
    for amount in committed:
        steps = ((amount + average) / 2 * ratio / TARGET_STEP).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        targets.append(max(steps * TARGET_STEP, floor))
    return targets


def seed(ctx) -> None:
    today = timezone.localdate()
    year = today.year
    reps = [ctx.users[key] for key in ("rep", "rep2", "rep3", "manager") if key in ctx.users]
    floor = Decimal(max(ctx.size, 50) * 200)
    quarters = [
        period_containing(QUARTER, date(target_year, 3 * quarter - 2, 1))
        for target_year in (year - 1, year)
        for quarter in range(1, 5)
    ]
    targets = []
    for index, rep in enumerate(reps):
        ratio = TARGET_RATIOS[index % len(TARGET_RATIOS)]
        for period, amount in zip(
            quarters, _targets(quarters, ratio, floor, owner=rep), strict=True
        ):
            targets.append(
                Target(user=rep, year=period.year, quarter=period.quarters[0], amount=amount)
            )
    partner_a = ctx.partners.get("a")
    if partner_a is not None:
        # Partner A gets its own revenue targets this year; partner B keeps its business plan.
        this_year = quarters[4:]
        amounts = _targets(this_year, Decimal("0.95"), floor / 2, partner=partner_a)
        for period, amount in zip(this_year, amounts, strict=True):
            targets.append(
                Target(partner=partner_a, year=year, quarter=period.quarters[0], amount=amount)
            )
    Target.objects.bulk_create(targets, ignore_conflicts=True)
    written = 0
    for period in last_periods(QUARTER, 4, today):
        written += forecast_snapshot_take(kind=QUARTER, period_start=period.start)
    for period in last_periods(MONTH, 3, today):
        written += forecast_snapshot_take(kind=MONTH, period_start=period.start)
    ctx.log(
        f"forecasting: {len(targets)} targets since {date(year - 1, 1, 1)}, {written} snapshots"
    )
    _submissions(ctx)


# ---------------------------------------------------------------- the weekly forecast call

SUBMISSION_NOTES = (
    "Deux projets glissent au trimestre prochain, le client attend son budget.",
    "Commande signée chez le client principal, reste la mise en service.",
    "Offre révisée à la baisse après la visite technique.",
    "Nouvelle demande arrivée par un bureau d'ingénieurs, chiffrage en cours.",
    "Prudent sur le Best Case : deux décisions attendues en comité.",
    "Le gros chantier passe en Commit, bon de commande promis pour vendredi.",
    "Un projet perdu contre un concurrent moins cher.",
    "Rien de neuf cette semaine, les dates tiennent.",
)
ADJUSTMENT_NOTES = (
    "Historique trop optimiste sur ce portefeuille, je retiens moins.",
    "Le projet de rénovation n'a pas encore de budget voté.",
    "Je connais le client : la commande arrivera avant la fin du trimestre.",
    "Deux offres sans date de décision, je les sors du Commit.",
    "Confirmé par téléphone avec l'acheteur, on peut monter.",
    "Délai de livraison du fournisseur : mise en service au trimestre prochain.",
)
QUARTERS_OF_CALLS = 4
# Roughly one submission in six carries a note, one in seven is adjusted by the manager.
NOTE_RATE = 0.17
ADJUST_RATE = 0.14
ROUND_TO = Decimal(500)
ZERO = Decimal(0)


def _at(day: date, hour: int, minute: int = 0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _rounded(amount: Decimal) -> Decimal:
    return max((amount / ROUND_TO).quantize(Decimal(1), rounding=ROUND_HALF_UP) * ROUND_TO, ZERO)


@dataclass
class _Subject:
    """A rep (``user``) or a partner whose director submits, and who adjusts it."""

    key: str
    by: object
    adjuster: object
    partner: object = None
    user: object = None
    # How far off the first weeks of a period are, as a share of what is finally committed:
    # most start cautious and commit more as deals firm up, one is optimistic.
    bias: Decimal = Decimal(1)


def _call_weeks(period, now) -> list:
    """The Monday of each week of the period (the first one may start before it), up to
    now."""
    mondays = []
    monday = week_of(period.start)
    while monday < period.end and _at(monday, 0) <= now:
        mondays.append(monday)
        monday += timedelta(days=7)
    return mondays


def _weekly_figures(rng, subject, base: Decimal, weeks: int) -> list[tuple[Decimal, Decimal]]:
    """Commit and Best Case week by week: from the subject's first guess towards ``base``
    (the deals' own Commit), with a little noise; Best Case narrows towards Commit."""
    figures = []
    for index in range(weeks):
        progress = Decimal(index) / Decimal(max(weeks - 1, 1))
        ratio = subject.bias + (Decimal(1) - subject.bias) * progress
        noise = Decimal(rng.randint(-25, 25)) / 1000
        commit = _rounded(base * (ratio + noise))
        spread = Decimal("1.35") - Decimal("0.27") * progress + Decimal(rng.randint(0, 60)) / 1000
        figures.append((commit, max(_rounded(commit * spread), commit)))
    return figures


def _submission_events(rng, subjects, now) -> list[tuple]:
    """Every submission and adjustment of the demo's forecast calls, with its moment, in
    order. This week, the last rep and the last partner have not submitted yet; the first
    rep's and the first partner's managers have already adjusted theirs."""
    today = timezone.localdate(now)
    this_week = week_of(today)
    week_start = _at(this_week, 0)
    partners = [s for s in subjects if s.partner is not None]
    late = {[s for s in subjects if s.partner is None][-1].key, partners[-1].key}
    adjusted_now = {subjects[0].key, partners[0].key}
    events = []
    for period in last_periods(QUARTER, QUARTERS_OF_CALLS, today):
        closing = _at(period.end, 0) - timedelta(minutes=1)
        weeks = _call_weeks(period, now)
        full = len(_call_weeks(period, closing))
        for subject in subjects:
            owner = {"partner": subject.partner} if subject.partner else {"owner": subject.user}
            base = _committed(period, **owner) or Decimal(40000)
            figures = _weekly_figures(rng, subject, base, full)
            for index, monday in enumerate(weeks):
                current = monday == this_week
                if (current and subject.key in late) or (not current and rng.random() < 0.05):
                    continue  # not yet this week; now and then a week missed
                # Thursday or Friday, during office hours, inside the period and before now.
                moment = _at(monday + timedelta(days=rng.choice((3, 4))), 8)
                moment += timedelta(minutes=rng.randint(0, 9 * 60))
                moment = min(max(moment, _at(period.start, 8)), closing)
                if moment > now:
                    moment = week_start + (now - week_start) * rng.uniform(0.4, 0.8)
                commit, best_case = figures[index]
                note = rng.choice(SUBMISSION_NOTES) if rng.random() < NOTE_RATE else ""
                events.append((moment, "submit", subject, period, commit, best_case, note))
                if rng.random() < ADJUST_RATE or (current and subject.key in adjusted_now):
                    later = moment + timedelta(minutes=rng.randint(20, 240))
                    if later > min(now, closing):
                        later = moment + (min(now, closing) - moment) * rng.uniform(0.2, 0.8)
                    figure, amount = (
                        ("commit", commit) if rng.random() < 0.75 else ("best_case", best_case)
                    )
                    factor = Decimal(rng.choice((88, 90, 92, 95, 105, 110))) / 100
                    events.append(
                        (
                            later,
                            "adjust",
                            subject,
                            figure,
                            _rounded(amount * factor),
                            rng.choice(ADJUSTMENT_NOTES),
                        )
                    )
    return sorted(events, key=lambda event: event[0])


def _submissions(ctx) -> None:
    """A year of weekly forecast calls, through the services, at the moments they were made:
    each rep and each partner's sales director submit every week; managers and the channel
    manager adjust some of them."""
    rng = random.Random(19)
    now = timezone.now()
    manager, channel = ctx.users.get("manager"), ctx.users.get("channel")
    subjects = []
    for index, key in enumerate(("rep", "rep2", "rep3")):
        if key in ctx.users and manager is not None:
            rep = ctx.users[key]
            bias = Decimal(("1.10", "0.72", "0.80")[index])
            subjects.append(_Subject(rep_key(rep.pk), rep, manager, user=rep, bias=bias))
    for index, key in enumerate(("a", "b")):
        director = ctx.users.get(f"partner_{key}_director")
        if key in ctx.partners and director is not None and channel is not None:
            partner = ctx.partners[key]
            bias = Decimal(("1.20", "0.75")[index])
            subjects.append(
                _Subject(partner_key(partner.pk), director, channel, partner=partner, bias=bias)
            )
    if not any(s.partner for s in subjects) or not any(s.user for s in subjects):
        return
    latest: dict = {}
    submitted = adjusted = 0
    for moment, action, subject, *values in _submission_events(rng, subjects, now):
        if action == "submit":
            period, commit, best_case, note = values
            latest[subject.key] = forecast_submission_create(
                by=subject.by,
                period=period,
                commit=commit,
                best_case=best_case,
                note=note,
                partner=subject.partner,
                now=moment,
            )
            submitted += 1
        else:
            figure, amount, note = values
            forecast_adjustment_create(
                by=subject.adjuster,
                submission=latest[subject.key],
                figure=figure,
                to_amount=amount,
                note=note,
                now=moment,
            )
            adjusted += 1
    ctx.log(f"forecast calls: {submitted} submissions, {adjusted} adjustments")

"""Demo leads: every status and source over 18 months, some converted through the
conversion service (with their accounts, contacts and deals), some disqualified, some
brought by the two partners."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from climcrm.choices import OriginChannel, Source
from climcrm.text import strip_accents
from leads.models import Lead, LeadStatus
from leads.services import lead_change_status, lead_convert, lead_create

FIRST_NAMES = [
    "Anne",
    "Luc",
    "Sophie",
    "Marc",
    "Claire",
    "Pierre",
    "Nathalie",
    "Jean",
    "Isabelle",
    "Nicolas",
    "Valérie",
    "Olivier",
    "Céline",
    "Laurent",
    "Sandrine",
    "Urs",
    "Monika",
    "Reto",
    "Chiara",
    "Matteo",
    "Élodie",
    "Frédéric",
    "Léa",
    "Yves",
]
LAST_NAMES = [
    "Favre",
    "Rochat",
    "Meylan",
    "Bonvin",
    "Perret",
    "Morand",
    "Vuilleumier",
    "Gilliéron",
    "Pittet",
    "Cuénod",
    "Zufferey",
    "Berset",
    "Müller",
    "Keller",
    "Rossi",
    "Bianchi",
    "Chappuis",
    "Dubois",
    "Jaccard",
    "Rey",
    "Mottier",
    "Brélaz",
    "Aebischer",
    "Gex",
]
COMPANY_WORDS = [
    ("Régie", "Sàrl"),
    ("Gérance", "SA"),
    ("Coopérative", ""),
    ("Immobilière", "SA"),
    ("Fondation", ""),
    ("PPE", ""),
    ("Bau", "AG"),
    ("Verwaltung", "GmbH"),
    ("Résidence", "Sàrl"),
    ("Hoirie", ""),
]
PLACES = [
    "du Léman",
    "des Alpes",
    "du Jura",
    "de la Broye",
    "du Chablais",
    "Riviera",
    "Lavaux",
    "Seeland",
    "du Gros-de-Vaud",
    "de la Sarine",
    "Zürichsee",
    "Ticino",
]
TITLES = [
    ("Gérant d'immeubles", False),
    ("Directeur", True),
    ("Responsable technique", False),
    ("Administratrice", True),
    ("Président du conseil", True),
    ("Assistante de gérance", False),
]
PROJECTS = [
    "Les Jardins de la Plaine, Yverdon",
    "Quartier des Fiches, bâtiment C",
    "Route de Berne 12",
    "Écoquartier de la Pointe",
    "Chemin des Vignes 5-9",
    "Résidence du Parc, étape 2",
]
DISQUALIFY_REASONS = [
    "Pas de budget avant 2028.", "Hors cible: maison individuelle.",
    "Déjà équipé par un concurrent.", "Contact injoignable après cinq relances.",
    "Projet abandonné par le propriétaire.",
]  # fmt: skip
FREEMAIL = ["gmail.com", "bluewin.ch", "hotmail.com"]


def _slug(text: str) -> str:
    return "".join(ch for ch in strip_accents(text.lower()) if ch.isalnum()) or "x"


def _company() -> str:
    word, suffix = random.choice(COMPANY_WORDS)
    return f"{word} {random.choice(PLACES)} {suffix}".strip()


def _status_for(age_days: int) -> str:
    """Older leads have had time to move on; recent ones are mostly still open."""
    roll = random.random()
    if age_days < 30:
        table = [(0.5, LeadStatus.NEW), (0.8, LeadStatus.WORKING), (0.92, LeadStatus.MQL)]
    elif age_days < 120:
        table = [(0.15, LeadStatus.NEW), (0.4, LeadStatus.WORKING), (0.6, LeadStatus.MQL),
                 (0.85, LeadStatus.CONVERTED)]  # fmt: skip
    else:
        table = [(0.05, LeadStatus.NEW), (0.15, LeadStatus.WORKING), (0.25, LeadStatus.MQL),
                 (0.55, LeadStatus.CONVERTED)]  # fmt: skip
    for threshold, status in table:
        if roll < threshold:
            return status
    return LeadStatus.DISQUALIFIED


def seed(ctx) -> None:
    if Lead.objects.exists():
        return
    now = timezone.now()
    reps = [ctx.users[key] for key in ("rep", "rep2", "rep3") if key in ctx.users]
    partners = ctx.partners or {}
    existing_accounts = list(ctx.extra.get("accounts", []))
    count = max(12, 2 * ctx.size // 3)
    sources = list(Source.values)
    created = converted = disqualified = 0
    converted_deals = []

    for index in range(count):
        age = random.randint(0, 540)
        created_at = now - datetime.timedelta(days=age, minutes=random.randint(0, 600))
        first, last = random.choice(FIRST_NAMES), random.choice(LAST_NAMES)
        # Every status and every source appear whatever the random draw.
        status = list(LeadStatus.values)[index] if index < 5 else _status_for(age)
        source = sources[index % len(sources)] if index < len(sources) else random.choice(sources)
        # Some leads are new people at companies we already know (duplicate proposals).
        if existing_accounts and random.random() < 0.15:
            account = random.choice(existing_accounts)
            matched_account = account
            company = account.name
            domain = account.website.split("//")[-1].removeprefix("www.").strip("/") or None
        else:
            company = _company()
            domain = None
            matched_account = None
        domain = domain or (
            random.choice(FREEMAIL) if random.random() < 0.15 else f"{_slug(company)[:20]}.ch"
        )
        title, decides = random.choice(TITLES)
        values = {
            "first_name": first,
            "last_name": last,
            "email": f"{_slug(first)}.{_slug(last)}{index}@{domain}",
            "phone": f"+41 2{random.randint(1, 7)} {random.randint(200, 999)} "
            f"{random.randint(10, 99)} {random.randint(10, 99)}",
            "company": company,
            "job_title": title,
            "source": source,
            "notes": "",
            "project_name": random.choice(PROJECTS) if random.random() < 0.2 else "",
            "budget_ok": random.random() < 0.5,
            "authority_ok": decides,
            "need_ok": random.random() < 0.7,
            "timing_ok": random.random() < 0.4,
            "organisation_fit": random.random() < 0.7,
            "opportunity_fit": random.random() < 0.5,
            "stakeholder_fit": decides,
        }
        partner_key = random.choice(["a", "b"]) if random.random() < 0.2 else None
        by = random.choice(reps) if reps else None
        if partner_key and partner_key in partners:
            values.update(
                partner=partners[partner_key],
                origin=OriginChannel.PARTNER,
                source=Source.PARTNER if random.random() < 0.7 else source,
            )
        if source == Source.WEB_FORM and status == LeadStatus.NEW and not partner_key:
            owner = None
        else:
            owner = by
        lead = lead_create(by=by, owner=owner, at=created_at, **values)
        created += 1
        if status == LeadStatus.NEW:
            continue
        actor = owner or by
        moment = created_at + datetime.timedelta(days=random.randint(1, 6))
        path = {
            LeadStatus.WORKING: [LeadStatus.WORKING],
            LeadStatus.MQL: [LeadStatus.WORKING, LeadStatus.MQL],
            LeadStatus.CONVERTED: [LeadStatus.WORKING, LeadStatus.MQL],
            LeadStatus.DISQUALIFIED: [LeadStatus.WORKING],
        }[status][: random.randint(1, 2)]
        for step in path:
            moment = min(moment + datetime.timedelta(days=random.randint(1, 12)), now)
            lead_change_status(lead=lead, to_status=step, by=actor, at=moment)
        moment = min(moment + datetime.timedelta(days=random.randint(2, 20)), now)
        if status == LeadStatus.DISQUALIFIED:
            lead_change_status(
                lead=lead,
                to_status=LeadStatus.DISQUALIFIED,
                by=actor,
                reason=random.choice(DISQUALIFY_REASONS),
                at=moment,
            )
            disqualified += 1
        elif status == LeadStatus.CONVERTED:
            result = lead_convert(
                lead=lead,
                by=actor,
                account=matched_account,
                create_opportunity=random.random() < 0.85,
                amount=Decimal(random.randrange(8_000, 180_000, 500)),
                close_date=max(
                    timezone.localdate(moment) + datetime.timedelta(days=random.randint(45, 200)),
                    timezone.localdate(now) + datetime.timedelta(days=random.randint(7, 120)),
                ),
                at=moment,
            )
            converted += 1
            if result.opportunity is not None:
                converted_deals.append(result.opportunity)

    ctx.extra["leads_converted_opportunities"] = converted_deals
    ctx.log(
        f"{created} leads ({converted} converted, {disqualified} disqualified, "
        f"{len(converted_deals)} deals from conversions)"
    )

"""Demo data of the partner channel: business plans and deal registrations in every status,
including customers claimed by both partners (the conflict queue). No email leaves during
the seeding."""

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import PartnerTarget
from partners import services
from partners.models import RegistrationStatus

# (quarter revenue in CHF, new customers, leads) per partner; the plan grows over the year.
PLANS = {
    "a": [(180000, 3, 25), (220000, 4, 30), (200000, 3, 25), (260000, 5, 35)],
    "b": [(90000, 2, 12), (110000, 2, 15), (100000, 2, 12), (140000, 3, 18)],
}

REGISTRATIONS = [
    # (partner, company, contact first/last, email, need, amount, days to close, outcome)
    (
        "a",
        "Clinique du Valais SA",
        "Martine",
        "Roduit",
        "m.roduit@clinique-valais.ch",
        "Climatisation des blocs opératoires",
        185000,
        120,
        "submitted",
    ),
    (
        "a",
        "Hôtel des Alpes SA",
        "Pierre",
        "Crettex",
        "p.crettex@hotel-alpes.ch",
        "Rénovation de la ventilation des chambres",
        96000,
        90,
        "accepted",
    ),
    (
        "a",
        "Fromagerie Gruyère Sàrl",
        "Nicolas",
        "Pasquier",
        "n.pasquier@fromagerie-gruyere.ch",
        "Chambre froide pour l'affinage",
        42000,
        60,
        "rejected",
    ),
    ("a", "Cave du Rhône SA", "Sabine", "Germanier", "", "", None, 75, "returned"),
    (
        "b",
        "Ecole Internationale de Nyon",
        "Julia",
        "Meier",
        "j.meier@ein.ch",
        "Pompes à chaleur pour deux bâtiments",
        230000,
        150,
        "submitted",
    ),
    (
        "b",
        "Résidence Les Cèdres SA",
        "Olivier",
        "Rossier",
        "o.rossier@cedres.ch",
        "Climatisation des espaces communs",
        64000,
        45,
        "accepted",
    ),
    (
        "b",
        "Garage du Lac Sàrl",
        "Kevin",
        "Morel",
        "k.morel@garagedulac.ch",
        "Chauffage de l'atelier",
        18000,
        30,
        "rejected",
    ),
    (
        "b",
        "Boulangerie Pittet",
        "Anne",
        "Pittet",
        "anne.pittet@bluewin.ch",
        "Froid pour le laboratoire",
        27000,
        50,
        "returned",
    ),
    # The conflict: both partners claim the same company (spelled differently).
    (
        "a",
        "Groupe Médical Léman SA",
        "Hélène",
        "Favre",
        "h.favre@gml.ch",
        "Climatisation du nouveau centre",
        310000,
        180,
        "submitted",
    ),
    (
        "b",
        "Groupe medical Leman",
        "Hélène",
        "Favre",
        "h.favre@gml.ch",
        "Centre médical : climatisation et ventilation",
        295000,
        170,
        "submitted",
    ),
    # Partner B claims a customer partner A holds under protection (same email domain):
    # flagged at once, it cannot be accepted while the protection runs.
    (
        "b",
        "Hôtel des Alpes Crans-Montana",
        "Sophie",
        "Bagnoud",
        "s.bagnoud@hotel-alpes.ch",
        "Climatisation du spa",
        54000,
        100,
        "submitted",
    ),
    # Two names for one building: the same site address, claimed by both partners.
    (
        "a",
        "Résidence du Parc",
        "Luc",
        "Constantin",
        "l.constantin@regie-sion.ch",
        "Ventilation des appartements",
        140000,
        160,
        "submitted",
    ),
    (
        "b",
        "PPE Parc 8",
        "Claire",
        "Fournier",
        "c.fournier@ppe-parc8.ch",
        "Pompes à chaleur et ventilation",
        150000,
        150,
        "submitted",
    ),
    # An accepted registration whose protection has run out.
    (
        "a",
        "Menuiserie Bonvin SA",
        "Marc",
        "Bonvin",
        "marc@menuiserie-bonvin.ch",
        "Aspiration et chauffage de l'atelier",
        38000,
        20,
        "expired",
    ),
]

SITE_ADDRESSES = {
    "Résidence du Parc": "Avenue du Parc 8, 1950 Sion",
    "PPE Parc 8": "Av. du Parc 8, CH-1950 Sion",
}

REASONS = {
    "rejected": "Client déjà suivi en direct par notre équipe.",
    "returned": "Merci de préciser le besoin, le montant estimé et l'email du contact.",
}


def seed(ctx) -> None:
    year = timezone.localdate().year
    for key, partner in ctx.partners.items():
        for quarter, (revenue, customers, leads) in enumerate(PLANS[key], start=1):
            PartnerTarget.objects.update_or_create(
                partner=partner,
                year=year,
                quarter=quarter,
                defaults={
                    "revenue": Decimal(revenue),
                    "new_customers": customers,
                    "leads": leads,
                },
            )
    channel = ctx.users["channel"]
    owner = ctx.users.get("rep") or channel
    today = timezone.localdate()
    counts: dict[str, int] = {}
    for key, company, first, last, email, need, amount, days, outcome in REGISTRATIONS:
        by = ctx.users[f"partner_{key}"]
        submitted = timezone.now() - datetime.timedelta(days=10 if outcome != "expired" else 120)
        registration = services.registration_submit(
            by=by,
            at=submitted,
            company_name=company,
            contact_first_name=first,
            contact_last_name=last,
            contact_email=email,
            contact_phone="+41 27 555 01 23" if key == "a" else "+41 22 555 04 56",
            need=need,
            estimated_amount=Decimal(amount) if amount else None,
            expected_close_date=today + datetime.timedelta(days=days),
            site_address=SITE_ADDRESSES.get(company, ""),
        )
        if outcome in ("accepted", "expired"):
            decided = submitted + datetime.timedelta(days=2)
            services.registration_accept(
                registration=registration, by=channel, owner=owner, at=decided, notify=False
            )
        elif outcome == "rejected":
            services.registration_reject(
                registration=registration, by=channel, reason=REASONS["rejected"], notify=False
            )
        elif outcome == "returned":
            services.registration_return(
                registration=registration, by=channel, reason=REASONS["returned"], notify=False
            )
        counts[outcome] = counts.get(outcome, 0) + 1
    expired = sum(
        1
        for partner in ctx.partners.values()
        for r in partner.registrations.filter(status=RegistrationStatus.ACCEPTED)
        if r.is_expired
    )
    ctx.log(
        f"business plans {year} for {len(ctx.partners)} partners; registrations: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        + f" ({expired} with protection expired, 3 customers claimed by both partners)"
    )

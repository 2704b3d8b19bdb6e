"""Demo accounts: Swiss and French companies, two contacts each."""

import datetime
import random
import unicodedata

from django.utils import timezone

from accounts.models import Account, Partner
from accounts.services import account_create, contact_create
from climcrm.demo import demo_user

# (name, industry, street, postal code, city, country)
COMPANIES = [
    ("Boulangerie Moret SA", "Food", "Rue de Bourg 12", "1003", "Lausanne", "CH"),
    ("Clinique des Alpes SA", "Healthcare", "Avenue de la Gare 41", "1950", "Sion", "CH"),
    ("Gérance Immobilière Dupraz Sàrl", "Real estate", "Rue du Rhône 58", "1204", "Genève", "CH"),
    ("Hôtel du Lac Neuchâtel SA", "Hospitality", "Quai Ostervald 2", "2000", "Neuchâtel", "CH"),
    ("Fromagerie Gruyère Vallotton Sàrl", "Food", "Route de Bulle 7", "1663", "Gruyères", "CH"),
    ("Zürcher Kantonalbau AG", "Construction", "Badenerstrasse 120", "8004", "Zürich", "CH"),
    ("Transports Rochat SA", "Logistics", "Chemin des Routiers 4", "1023", "Crissier", "CH"),
    ("Imprimerie Favre & Fils SA", "Printing", "Rue de Lausanne 88", "1700", "Fribourg", "CH"),
    (
        "Commune de Martigny",
        "Public sector",
        "Place de l'Hôtel-de-Ville 1",
        "1920",
        "Martigny",
        "CH",
    ),
    ("École Internationale Léman SA", "Education", "Route de Chêne 61", "1208", "Genève", "CH"),
    ("Menuiserie Berthod Sàrl", "Construction", "Rue des Artisans 15", "1920", "Martigny", "CH"),
    ("Pharmacie du Midi SA", "Healthcare", "Rue du Midi 9", "1003", "Lausanne", "CH"),
    ("Vignobles Cornut SA", "Wine", "Route du Vignoble 23", "1096", "Cully", "CH"),
    ("Bernasconi Elettricità SA", "Electrical", "Via Cantonale 18", "6900", "Lugano", "CH"),
    ("Garage Central Perrin SA", "Automotive", "Avenue de France 30", "1950", "Sion", "CH"),
    (
        "Résidence Les Tilleuls Sàrl",
        "Healthcare",
        "Chemin des Tilleuls 5",
        "1700",
        "Fribourg",
        "CH",
    ),
    ("Schneider Metallbau AG", "Industry", "Industriestrasse 44", "3008", "Bern", "CH"),
    (
        "Laiterie Centrale Fribourg SA",
        "Food",
        "Route de la Glâne 107",
        "1752",
        "Villars-sur-Glâne",
        "CH",
    ),
    (
        "Horlogerie Jaquet Sàrl",
        "Watchmaking",
        "Rue Jaquet-Droz 31",
        "2300",
        "La Chaux-de-Fonds",
        "CH",
    ),
    ("Migrosbau Ostschweiz AG", "Retail", "Rosenbergstrasse 22", "9000", "St. Gallen", "CH"),
    (
        "Coopérative d'habitation La Ruche",
        "Real estate",
        "Avenue d'Échallens 70",
        "1004",
        "Lausanne",
        "CH",
    ),
    ("Thermes de Lavey SA", "Hospitality", "Route des Bains 48", "1892", "Lavey-les-Bains", "CH"),
    ("Data Léman Sàrl", "IT", "Rue de la Gare 17", "1260", "Nyon", "CH"),
    ("Université Populaire du Valais", "Education", "Rue de Lausanne 45", "1950", "Sion", "CH"),
    ("Chocolats Villars Artisans SA", "Food", "Route de la Fonderie 2", "1700", "Fribourg", "CH"),
    ("Brasserie du Jura SA", "Food", "Rue de la Brasserie 3", "2800", "Delémont", "CH"),
    ("Hôpital Riviera-Chablais", "Healthcare", "Route du Vieux-Séquoia 20", "1847", "Rennaz", "CH"),
    ("Keller Logistik AG", "Logistics", "Hardturmstrasse 161", "8005", "Zürich", "CH"),
    ("Caves Orsat Sàrl", "Wine", "Rue du Simplon 2", "1920", "Martigny", "CH"),
    ("Mercier Architectes SA", "Architecture", "Boulevard Helvétique 24", "1207", "Genève", "CH"),
    ("Ville de Neuchâtel", "Public sector", "Faubourg du Lac 3", "2000", "Neuchâtel", "CH"),
    ("Papeterie Monnier SA", "Retail", "Rue de Romont 20", "1700", "Fribourg", "CH"),
    ("Fiduciaire Gay-Crosier Sàrl", "Services", "Avenue de Tourbillon 34", "1950", "Sion", "CH"),
    ("Sportzentrum Limmat AG", "Sport", "Limmatquai 90", "8001", "Zürich", "CH"),
    ("EMS La Providence", "Healthcare", "Rue de la Providence 10", "2000", "Neuchâtel", "CH"),
    (
        "Parc Immobilier Romand SA",
        "Real estate",
        "Place Saint-François 1",
        "1003",
        "Lausanne",
        "CH",
    ),
    ("Constructions Bonnard SA", "Construction", "Zone Industrielle 8", "1870", "Monthey", "CH"),
    ("Centre Commercial Balexert SA", "Retail", "Avenue Louis-Casaï 27", "1209", "Genève", "CH"),
    ("Ecole hôtelière de Glion SA", "Education", "Route de Glion 111", "1823", "Glion", "CH"),
    ("Scierie Python Sàrl", "Industry", "Route de la Scierie 6", "1634", "La Roche", "CH"),
    ("Aéroport Régional Sion SA", "Transport", "Route de l'Aéroport 55", "1950", "Sion", "CH"),
    ("Médical Imagerie Genève SA", "Healthcare", "Rue Pierre-Fatio 15", "1204", "Genève", "CH"),
    ("Huber Haustechnik AG", "Building services", "Seestrasse 210", "8810", "Horgen", "CH"),
    ("Hôtel Beau-Rivage Vevey SA", "Hospitality", "Quai Perdonnet 9", "1800", "Vevey", "CH"),
    ("Piscines Vaudoises Sàrl", "Sport", "Chemin du Bois-Genoud 1", "1023", "Crissier", "CH"),
    ("Laboratoires Dubied SA", "Pharma", "Rue Louis-Favre 4", "2017", "Boudry", "CH"),
    (
        "Groupe Scolaire Saint-Michel",
        "Education",
        "Rue Saint-Pierre-Canisius 10",
        "1700",
        "Fribourg",
        "CH",
    ),
    ("Energie Chablais SA", "Energy", "Rue du Pré 4", "1870", "Monthey", "CH"),
    ("Restaurant Le Raisin Sàrl", "Hospitality", "Place du Marché 6", "1095", "Lutry", "CH"),
    ("Savoie Habitat SA", "Real estate", "12 avenue de Genève", "74000", "Annecy", "FR"),
    ("Lyon Froid Industrie SAS", "Industry", "45 rue de Gerland", "69007", "Lyon", "FR"),
    (
        "Hôtel Mont-Blanc Chamonix SAS",
        "Hospitality",
        "62 allée du Majestic",
        "74400",
        "Chamonix",
        "FR",
    ),
    ("Clinique du Parc Annemasse SA", "Healthcare", "8 rue du Parc", "74100", "Annemasse", "FR"),
    ("Boucherie Chevalley Sàrl", "Food", "Grand-Rue 28", "1510", "Moudon", "CH"),
    (
        "Musée d'Art et d'Histoire Fondation",
        "Culture",
        "Rue Charles-Galland 2",
        "1206",
        "Genève",
        "CH",
    ),
    ("Bäckerei Steiner AG", "Food", "Marktgasse 12", "3011", "Bern", "CH"),
    ("Centre Sportif de Malley SA", "Sport", "Chemin du Viaduc 14", "1008", "Prilly", "CH"),
    ("Domaine du Mont d'Or SA", "Wine", "Route du Mont d'Or 2", "1958", "Pont-de-la-Morge", "CH"),
    ("Regionalspital Emmental AG", "Healthcare", "Oberburgstrasse 54", "3400", "Burgdorf", "CH"),
    ("Banque Cantonale Régionale SA", "Finance", "Place Pury 4", "2000", "Neuchâtel", "CH"),
]

FIRST_NAMES = [
    "Nicolas",
    "Isabelle",
    "Pierre",
    "Christine",
    "Laurent",
    "Sandrine",
    "Olivier",
    "Valérie",
    "Stéphane",
    "Nathalie",
    "Daniel",
    "Catherine",
    "Yves",
    "Martine",
    "Patrick",
    "Sylvie",
    "Thomas",
    "Corinne",
    "Michel",
    "Anne",
    "Reto",
    "Andrea",
    "Urs",
    "Monika",
    "Luca",
    "Chiara",
]
LAST_NAMES = [
    "Aebischer",
    "Bonvin",
    "Chappuis",
    "Délèze",
    "Ecoffey",
    "Fournier",
    "Gillioz",
    "Jaccard",
    "Monnet",
    "Pittet",
    "Rey",
    "Savoy",
    "Tornare",
    "Vuilleumier",
    "Zbinden",
    "Crettenand",
    "Maillard",
    "Berset",
    "Rossier",
    "Clerc",
    "Müller",
    "Meier",
    "Brunner",
    "Rossi",
    "Fontana",
]
JOB_TITLES = [
    ("Directeur général", True),
    ("Directrice financière", True),
    ("Responsable technique", False),
    ("Responsable des achats", True),
    ("Chef de projet", False),
    ("Responsable des bâtiments", False),
    ("Gérant", True),
    ("Responsable énergie", False),
]


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower() if ch.isalnum())


def _phone(country: str) -> str:
    pairs = " ".join(str(random.randint(10, 99)) for _ in range(2))
    if country == "FR":
        return f"+33 4 {random.randint(10, 99)} {random.randint(10, 99)} {pairs}"
    return f"+41 {random.randint(21, 79)} {random.randint(200, 999)} {pairs}"


def _partners(ctx) -> None:
    """The two demo partners and their users; the contracts run around the day the demo is
    seeded: one since last year, one newer."""
    year = timezone.localdate().year
    alpinfra = Partner.objects.create(
        account=Account.objects.create(
            name="Alpinfra Solutions SA", city="Sion", postal_code="1950", industry="IT"
        ),
        channel_manager=ctx.users["channel"],
        contract_start=datetime.date(year - 1, 1, 1),
        contract_end=datetime.date(year + 1, 12, 31),
    )
    leman = Partner.objects.create(
        account=Account.objects.create(
            name="Léman Bâtiment Sàrl", city="Nyon", postal_code="1260", industry="Construction"
        ),
        channel_manager=ctx.users["channel"],
        contract_start=datetime.date(year - 1, 7, 1),
        contract_end=datetime.date(year + 1, 6, 30),
    )
    ctx.partners = {"a": alpinfra, "b": leman}
    ctx.users["partner_a"] = demo_user(
        "partner_a",
        "Luca",
        "Bianchi",
        ["partner_user"],
        partner=alpinfra,
        partner_title="salesperson",
    )
    ctx.users["partner_a_director"] = demo_user(
        "partner_a_dir",
        "Anne",
        "Zufferey",
        ["partner_user"],
        partner=alpinfra,
        partner_title="sales_director",
    )
    ctx.users["partner_b"] = demo_user(
        "partner_b",
        "Thomas",
        "Girard",
        ["partner_user"],
        partner=leman,
        partner_title="salesperson",
        language="en",
    )
    ctx.users["partner_b_director"] = demo_user(
        "partner_b_dir",
        "Élodie",
        "Dubois",
        ["partner_user"],
        partner=leman,
        partner_title="sales_director",
    )
    ctx.log(f"{len(ctx.partners)} partners")


def seed(ctx) -> None:
    _partners(ctx)
    owners = [ctx.users[key] for key in ("rep", "rep2", "rep3", "manager")]
    accounts = []
    contacts = {}
    for index, (name, industry, street, postal_code, city, country) in enumerate(COMPANIES):
        domain = f"{_slug(name.split()[0])}{_slug(name.split()[-1])}.{country.lower()}"
        account = account_create(
            by=None,
            name=name,
            industry=industry,
            website=f"https://www.{domain}",
            street=street,
            postal_code=postal_code,
            city=city,
            country=country,
            owner=owners[index % len(owners)],
        )
        accounts.append(account)
        people = []
        for n in range(2):
            first = random.choice(FIRST_NAMES)
            last = random.choice(LAST_NAMES)
            title, decides = JOB_TITLES[(index + n * 3) % len(JOB_TITLES)]
            people.append(
                contact_create(
                    first_name=first,
                    last_name=last,
                    email=f"{_slug(first)}.{_slug(last)}@{domain}",
                    phone=_phone(country),
                    job_title=title,
                    account=account,
                    is_decision_maker=decides,
                )
            )
        contacts[account.pk] = people
    ctx.extra["accounts"] = accounts
    ctx.extra["contacts"] = contacts
    ctx.log(f"{len(accounts)} accounts, {sum(len(c) for c in contacts.values())} contacts")

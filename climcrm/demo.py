"""Demo users and partners: the cast every other demo step builds on."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group

from climcrm.models import User

DEMO_PASSWORD = "climcrm-demo"
DEMO_USERS = [
    ("admin", "administrator (Django admin)"),
    ("manager", "sales manager (directeur commercial)"),
    ("rep", "sales rep (commercial)"),
    ("channel", "channel manager"),
    ("partner_a", "partner user at Alpinfra Solutions SA"),
    ("partner_b", "partner user at Léman Bâtiment Sàrl"),
]


@dataclass
class DemoContext:
    size: int
    stdout: Any
    users: dict = field(default_factory=dict)
    partners: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def log(self, text: str) -> None:
        self.stdout.write(f"  {text}")


def _user(username: str, first: str, last: str, roles: list[str], **extra: Any) -> User:
    """The demo user of that name (created with the demo password), in ``roles``."""
    values = {"first_name": first, "last_name": last, "email": f"{username}@climcrm.test"}
    user, created = User.objects.get_or_create(
        username=username, defaults={"language": "fr", **values, **extra}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    for name in roles:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def seed(ctx: DemoContext) -> None:
    from django.utils import timezone

    from accounts.models import Account, Partner

    # The contracts run around the day the demo is seeded: one since last year, one newer.
    year = timezone.localdate().year

    assert Group.objects.filter(name="sales_rep").exists()
    manager = _user("manager", "Claire", "Rochat", ["sales_manager"])
    ctx.users["manager"] = manager
    ctx.users["rep"] = _user("rep", "Julien", "Favre", ["sales_rep"], manager=manager)
    ctx.users["rep2"] = _user("rep2", "Sophie", "Meylan", ["sales_rep"], manager=manager)
    ctx.users["rep3"] = _user(
        "rep3", "Marc", "Bonvin", ["sales_rep"], manager=manager, language="en"
    )
    ctx.users["channel"] = _user("channel", "Nadia", "Perret", ["channel_manager"])
    ctx.users["channel_head"] = _user(
        "bruno", "Bruno", "Keller", ["channel_manager", "sales_manager"]
    )
    ctx.users["admin"] = _user(
        "admin", "Admin", "ClimCRM", ["admin"], is_staff=True, is_superuser=True, language="en"
    )
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
    ctx.users["partner_a"] = _user(
        "partner_a",
        "Luca",
        "Bianchi",
        ["partner_user"],
        partner=alpinfra,
        partner_title="salesperson",
    )
    ctx.users["partner_a_director"] = _user(
        "partner_a_dir",
        "Anne",
        "Zufferey",
        ["partner_user"],
        partner=alpinfra,
        partner_title="sales_director",
    )
    ctx.users["partner_b"] = _user(
        "partner_b",
        "Thomas",
        "Girard",
        ["partner_user"],
        partner=leman,
        partner_title="salesperson",
        language="en",
    )
    ctx.users["partner_b_director"] = _user(
        "partner_b_dir",
        "Élodie",
        "Dubois",
        ["partner_user"],
        partner=leman,
        partner_title="sales_director",
    )
    ctx.log(f"{len(ctx.users)} users, {len(ctx.partners)} partners")

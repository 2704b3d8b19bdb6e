"""Demo users and partners: the cast every other demo step builds on."""

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


def demo_user(username: str, first: str, last: str, roles: list[str], **extra: Any) -> User:
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
    assert Group.objects.filter(name="sales_rep").exists()
    manager = demo_user("manager", "Claire", "Rochat", ["sales_manager"])
    ctx.users["manager"] = manager
    ctx.users["rep"] = demo_user("rep", "Julien", "Favre", ["sales_rep"], manager=manager)
    ctx.users["rep2"] = demo_user("rep2", "Sophie", "Meylan", ["sales_rep"], manager=manager)
    ctx.users["rep3"] = demo_user(
        "rep3", "Marc", "Bonvin", ["sales_rep"], manager=manager, language="en"
    )
    ctx.users["channel"] = demo_user("channel", "Nadia", "Perret", ["channel_manager"])
    ctx.users["channel_head"] = demo_user(
        "bruno", "Bruno", "Keller", ["channel_manager", "sales_manager"]
    )
    ctx.users["admin"] = demo_user(
        "admin", "Admin", "ClimCRM", ["admin"], is_staff=True, is_superuser=True, language="en"
    )
    ctx.log(f"{len(ctx.users)} internal users")

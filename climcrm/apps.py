from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClimcrmConfig(AppConfig):
    name = "climcrm"
    verbose_name = _("People and roles")

    def ready(self) -> None:
        from climcrm import signals  # noqa: F401  (audit of logins)

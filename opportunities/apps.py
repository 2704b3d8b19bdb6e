from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "opportunities"
    verbose_name = _("Opportunities")

    def ready(self):
        # Imported here: the app registry is ready only now.
        from opportunities import lists, visibility

        lists.register()
        visibility.provide_account_deals()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and partners")

    def ready(self):
        # Imported here: the app registry is ready only now.
        from accounts import lists

        lists.register()

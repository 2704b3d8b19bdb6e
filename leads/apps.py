from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self):
        # Imported here: the app registry is ready only now.
        from leads import lists
        from leads.funnel import on_deal_change
        from opportunities.changes import subscribe

        subscribe(on_deal_change)
        lists.register()

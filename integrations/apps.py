from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        # Imported here: the app registry is ready only now.
        from climcrm import events
        from integrations import webhooks
        from opportunities.changes import subscribe

        subscribe(webhooks.on_deal_change)
        events.subscribe(webhooks.on_event)

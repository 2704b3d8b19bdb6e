from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = _("Forecast and metrics")

    def ready(self):
        # Imported here: the app registry is ready only now (models, receivers).
        from forecasting import signals  # noqa: F401 - connects the receivers
        from forecasting.summaries import on_deal_change
        from opportunities.changes import subscribe

        subscribe(on_deal_change)

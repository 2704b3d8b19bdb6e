from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = _("Forecast and metrics")

    def ready(self):
        from forecasting import signals  # noqa: F401 - connects the receivers

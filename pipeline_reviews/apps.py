from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineReviewsConfig(AppConfig):
    name = "pipeline_reviews"
    verbose_name = _("Pipeline reviews")

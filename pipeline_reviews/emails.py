"""The recap email of a monthly review: rendered per recipient, in their language."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from pipeline_reviews.models import Review
from pipeline_reviews.selectors.common import hydrate


def render_recap(*, review: Review, data: dict, recipient) -> dict[str, str]:
    """Subject, text and HTML of the recap for ``recipient`` (frozen in the outbox row)."""

    language = recipient.language if recipient.language in ("fr", "en") else "fr"
    with translation.override(language):
        context = {
            "labels": _labels(review, recipient),
            "review": review,
            "partner": review.partner,
            "recap": hydrate(data),
            "recipient": recipient,
            "site_url": getattr(settings, "SITE_URL", ""),
        }
        subject = _("Pipeline review %(partner)s, %(period)s: recap") % {
            "partner": review.partner,
            "period": date_format(review.period_start, "F Y"),
        }
        return {
            "subject": subject,
            "text_body": render_to_string("emails/pipeline_reviews/recap.txt", context),
            "html_body": render_to_string("emails/pipeline_reviews/recap.html", context),
        }


def _labels(review: Review, recipient) -> dict[str, str]:
    """The words of the email, translated here so they live in this app's catalogue."""
    return {
        "greeting": _("Hello %(name)s,")
        % {"name": recipient.get_full_name() or recipient.username},
        "intro": _("Here is the recap of the pipeline review of %(partner)s for %(period)s.")
        % {"partner": review.partner, "period": date_format(review.period_start, "F Y")},
        "todos": _("To-dos"),
        "no_todo": _("No to-do was agreed."),
        "what": _("What"),
        "deal": _("Deal"),
        "who": _("Who"),
        "by_when": _("By when"),
        "by_stage": _("Summary by stage"),
        "stage": _("Stage"),
        "deals": _("Deals"),
        "amount": _("Amount"),
        "weighted": _("Weighted"),
        "total": _("Total"),
        "new_commit": _("New commit"),
        "previous_commit": _("Previous commit"),
        "won_since": _("Won since the previous review"),
        "pipeline": _("Updated pipeline"),
        "no_deal": _("No open deal."),
        "probability": _("Probability"),
        "close_date": _("Close date"),
        "category": _("Forecast category"),
        "next_step": _("Next step"),
    }

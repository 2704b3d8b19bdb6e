"""Choices shared by several apps (leads and opportunities carry the same source and buying
signals)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    EVENT = "event", _("Event")
    LINKEDIN = "linkedin", _("LinkedIn")
    EMAIL_CAMPAIGN = "email_campaign", _("Email campaign")
    REFERRAL = "referral", _("Referral")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class OriginChannel(models.TextChoices):
    INTERNAL = "rs", _("Internal (RS)")
    PARTNER = "bp", _("Partner (BP)")


# The buying signals a lead shows, carried to its deal (same field names on both).
BUYING_SIGNALS = (
    ("asked_demo", _("Asked for a demo")),
    ("asked_pricing", _("Asked for pricing")),
    ("tested_trial", _("Tested a trial")),
    ("gave_decision_date", _("Gave a decision date")),
)
SIGNAL_FIELDS = tuple(name for name, _label in BUYING_SIGNALS)

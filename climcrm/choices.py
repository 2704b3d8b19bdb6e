"""Choices shared by several apps (leads and opportunities carry the same source)."""

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

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


# BANT (seed 004): each criterion's tick, its note and its name, in the order every page
# shows them. Leads and opportunities carry the same eight fields.
BANT = (
    ("budget_ok", "budget_note", _("Budget")),
    ("authority_ok", "authority_note", _("Authority")),
    ("need_ok", "need_note", _("Need")),
    ("timing_ok", "timing_note", _("Timing")),
)
BANT_CHECKS = tuple(check for check, _note, _label in BANT)
BANT_FIELDS = tuple(name for check, note, _label in BANT for name in (check, note))

"""Webhook endpoints and their deliveries; calendar feed tokens."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from climcrm.events import EVENT_NAMES
from integrations.addresses import check_url


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """An address told about the events it subscribes to, for the records its owner sees."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=new_secret,
        help_text=_("The receiver checks each delivery's signature with this secret."),
    )
    events = models.JSONField(_("events"), default=list, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Only the records this user may see are sent."),
    )
    active = models.BooleanField(_("active"), default=True)
    allow_private = models.BooleanField(
        _("allow a private address"),
        default=False,
        help_text=_(
            "Deliver to an address of the internal network (private, loopback, link-local)."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Checked at each save, whoever saves: an address that turned private is refused.
        check_url(self.url, allow_private=self.allow_private, field="url")
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        unknown = sorted(set(self.events or []) - set(EVENT_NAMES))
        if unknown:
            raise ValidationError({"events": _("Unknown events: %s.") % ", ".join(unknown)})
        check_url(self.url, allow_private=self.allow_private, field="url")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint: written with the change, sent by a worker, once."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_id = models.UUIDField(_("event id"))
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id}"


class CalendarFeed(models.Model):
    """A user's private calendar address; only the token's hash is kept."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="calendar_feed",
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return str(self.user)

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from climcrm.events import EVENT_NAMES
from climcrm.roles import is_admin
from integrations import webhooks
from integrations.models import CalendarFeed, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=[(name, name) for name in EVENT_NAMES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "owner", "active", "allow_private", "secret"]


class DeliveryAdminMixin:
    actions = ["redeliver"]

    @admin.action(description=_("Send the selected deliveries again now"))
    def redeliver(self, request, queryset):
        count = webhooks.redeliver(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)s delivery will be sent again.",
                "%(count)s deliveries will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "owner", "active", "allow_private", "delivery_log"]
    list_filter = ["active"]
    list_select_related = ["owner"]
    search_fields = ["name", "url"]

    @admin.display(description=_("delivery log"))
    def delivery_log(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:integrations_webhookdelivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">{}</a>', url, obj.pk, _("Deliveries")
        )

    def get_readonly_fields(self, request, obj=None):
        # Only an administrator lets an endpoint reach the internal network.
        return () if is_admin(request.user) else ("allow_private",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(DeliveryAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "endpoint",
        "event",
        "status",
        "attempts",
        "status_code",
        "response_ms",
        "delivered_at",
        "last_error",
    ]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "delivered_at",
        "status_code",
        "response_ms",
        "last_error",
        "created_at",
    ]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Feeds can be listed and revoked (deleted); their token is never shown."""

    list_display = ["user", "created_at", "last_used_at"]
    list_select_related = ["user"]
    fields = ["user", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

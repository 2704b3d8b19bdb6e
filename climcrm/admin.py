"""Users with their roles, team manager and partner link; the outbox and periodic jobs.

(The audit log's read-only admin lives with the privacy app; task runs are django-tasks-db's
"Task results".)
"""

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from climcrm import outbox
from climcrm.models import OutgoingEmail, ScheduledRun, User


class RelatedListFilter(admin.RelatedFieldListFilter):
    """Django's filter by a related object, its choices read in one query.

    Django names each choice with ``str()`` of a plain row: a partner, named by its account,
    costs one query per partner. The choices here join what the related model's own admin
    joins for its list (``list_select_related``), in its admin's order.
    """

    def field_choices(self, field, request, model_admin):
        related = field.remote_field.model
        try:
            related_admin = model_admin.admin_site.get_model_admin(related)
        except NotRegistered:
            return super().field_choices(field, request, model_admin)
        rows = related._default_manager.complex_filter(field.get_limit_choices_to())
        joined = related_admin.list_select_related
        if isinstance(joined, (list, tuple)) and joined:
            rows = rows.select_related(*joined)
        ordering = related_admin.get_ordering(request)
        if ordering:
            rows = rows.order_by(*ordering)
        return [(row.pk, str(row)) for row in rows]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "first_name",
        "last_name",
        "email",
        "role_names",
        "manager",
        "partner",
        "is_active",
    )
    list_filter = ("groups", "is_active", "is_staff", "partner", "language")
    search_fields = ("username", "first_name", "last_name", "email")
    autocomplete_fields = ("manager", "partner")
    list_select_related = ("manager", "partner__account")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            _("ClimCRM"),
            {"fields": ("language", "manager", "partner", "partner_title")},
        ),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (
            _("ClimCRM"),
            {"fields": ("first_name", "last_name", "email", "language", "groups", "manager")},
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, obj: User) -> str:
        return ", ".join(sorted(group.name for group in obj.groups.all()))


class OutboxAdmin(admin.ModelAdmin):
    """An outbox's admin: read only, with one action: send the selected waiting or failed
    emails now."""

    actions = ["retry_now"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the selected emails again now"))
    def retry_now(self, request, queryset):
        count = outbox.retry_now(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)s email will be sent again.",
                "%(count)s emails will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(OutboxAdmin):
    list_display = ["created_at", "kind", "email", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", "language"]
    search_fields = ["email", "subject"]
    date_hierarchy = "created_at"
    readonly_fields = (
        "kind",
        "email",
        "recipient",
        "language",
        "subject",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
        "created_at",
        "key",
    )
    fields = readonly_fields

    @admin.display(description=_("text"))
    def body(self, obj: OutgoingEmail) -> str:
        # A password-reset link is a key to an account: nobody reads it here.
        return str(_("(confidential)")) if obj.sensitive else obj.text_body


@admin.register(ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin):
    list_display = ["job", "occurrence", "started_at", "task_id"]
    list_filter = ["job"]
    date_hierarchy = "occurrence"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

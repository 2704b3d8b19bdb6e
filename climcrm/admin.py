"""Users with their roles, team manager and partner link.

(The audit log's read-only admin lives with the privacy app.)
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from climcrm.models import User


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
        *DjangoUserAdmin.fieldsets,
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

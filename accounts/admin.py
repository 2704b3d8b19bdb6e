from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Account, Contact, Partner, PartnerTarget


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("first_name", "last_name", "email", "phone", "job_title", "is_decision_maker")
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "country", "industry", "owner", "contact_count", "created_at")
    list_filter = ("country", "industry", "owner")
    search_fields = ("name", "normalized_name", "city", "website")
    autocomplete_fields = ("owner",)
    readonly_fields = ("normalized_name", "created_at", "updated_at")
    list_select_related = ("owner",)
    ordering = ("name", "pk")
    inlines = [ContactInline]
    show_full_result_count = False
    # Each row of the change list costs the admin about half a millisecond to render.
    list_per_page = 50

    def get_queryset(self, request):
        # A subquery per account shown, where a join with every contact and a GROUP BY
        # would count the contacts of every account (and slow the filters' and the
        # count's queries, which start from this queryset too).
        contacts = (
            Contact.objects.filter(account=OuterRef("pk"))
            .order_by()
            .values("account")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(contact_total=Coalesce(Subquery(contacts), 0, output_field=IntegerField()))
        )

    @admin.display(description=Contact._meta.verbose_name_plural, ordering="contact_total")
    def contact_count(self, obj) -> int:
        return obj.contact_total


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = (
        "last_name",
        "first_name",
        "account",
        "email",
        "phone",
        "job_title",
        "is_decision_maker",
    )
    list_filter = ("is_decision_maker",)
    search_fields = ("last_name", "first_name", "email", "account__name")
    autocomplete_fields = ("account",)
    list_select_related = ("account",)
    readonly_fields = ("anonymised_at", "created_at", "updated_at")


class PartnerTargetInline(admin.TabularInline):
    model = PartnerTarget
    extra = 0
    fields = ("year", "quarter", "revenue", "new_customers", "leads")
    ordering = ("year", "quarter")


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "channel_manager", "contract_start", "contract_end", "is_active")
    list_filter = ("is_active", "channel_manager")
    search_fields = ("account__name", "account__normalized_name")
    autocomplete_fields = ("account", "channel_manager")
    list_select_related = ("account", "channel_manager")
    inlines = [PartnerTargetInline]


@admin.register(PartnerTarget)
class PartnerTargetAdmin(admin.ModelAdmin):
    list_display = ("partner", "year", "quarter", "revenue", "new_customers", "leads")
    list_filter = ("year", "quarter", "partner")
    search_fields = ("partner__account__name",)
    autocomplete_fields = ("partner",)
    list_select_related = ("partner__account",)

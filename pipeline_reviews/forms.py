import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.visibility import visible_partners
from climcrm.choices import BANT_CHECKS
from climcrm.fields import keep_stored_text
from climcrm.models import User
from climcrm.roles import is_partner_user
from leads.models import Lead
from opportunities.forms import ReasonFieldsMixin, VersionField, probability_help
from opportunities.models import ForecastCategory, LossReason, Opportunity, Stage
from pipeline_reviews.models import (
    MarketingAction,
    PartnerReviewNote,
    QuarterlyDetails,
    Review,
    ReviewFormat,
    ReviewKind,
)


class MonthField(forms.DateField):
    input_formats = ["%Y-%m", "%Y-%m-%d", "%m.%Y"]
    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    default_error_messages = {"invalid": _("Enter a month, for example 2026-03.")}


class ReviewCreateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ReviewKind.choices)
    partner = forms.ModelChoiceField(
        label=_("Partner"),
        queryset=None,
        required=False,
        help_text=_("Not needed for the channel-manager review."),
    )
    period = MonthField(
        label=_("Month"),
        help_text=_("For a quarterly review, any month of the quarter reviewed."),
    )
    format = forms.ChoiceField(label=_("Format"), choices=ReviewFormat.choices)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = (
            visible_partners(user).filter(is_active=True).select_related("account")
        )
        self.fields["period"].initial = timezone.localdate().replace(day=1)

    def clean(self):
        data = super().clean()
        if data.get("kind") != ReviewKind.CHANNEL_MANAGER and not data.get("partner"):
            self.add_error("partner", _("Choose the partner under review."))
        return data


class ReviewSetupForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=ReviewFormat.choices)
    attendees = forms.ModelMultipleChoiceField(
        label=_("Attendees at the partner"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = Review._meta.get_field("notes").formfield(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, **kwargs)
        keep_stored_text(self, review)
        if review.partner_id:
            self.fields["attendees"].queryset = User.objects.filter(
                partner_id=review.partner_id, is_active=True
            ).order_by("partner_title", "last_name")
            self.fields["attendees"].label_from_instance = lambda u: (
                f"{u} ({u.get_partner_title_display()})" if u.partner_title else str(u)
            )


class LeadReviewForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = [
            "organisation_fit",
            "opportunity_fit",
            "stakeholder_fit",
            *BANT_CHECKS,
            "planned_actions",
        ]
        widgets = {"planned_actions": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The inputs sit in table cells; they belong to the row's form by its id.
        for field in self.fields.values():
            field.widget.attrs["form"] = f"lead-form-{self.instance.pk}"


class OutcomeForm(forms.ModelForm):
    version = VersionField()

    class Meta:
        model = Opportunity
        fields = ["objective_reasons", "recovery_possible", "lessons_learned", "corrective_actions"]
        labels = {
            "objective_reasons": _("Objective reasons"),
            "recovery_possible": _("Recovery possible"),
            "lessons_learned": _("Lessons learned"),
            "corrective_actions": _("Corrective actions"),
        }
        widgets = {
            "objective_reasons": forms.Textarea(attrs={"rows": 2}),
            "lessons_learned": forms.Textarea(attrs={"rows": 2}),
            "corrective_actions": forms.Textarea(
                attrs={"rows": 2, "placeholder": _("Training, qualification…")}
            ),
        }


class DealReviewForm(ReasonFieldsMixin, forms.Form):
    version = VersionField()
    stage = forms.ChoiceField(label=_("Stage"), choices=Stage.choices)
    amount = forms.DecimalField(
        label=_("Amount"), min_value=0, max_digits=14, decimal_places=2, required=False
    )
    amount_confirmed = forms.BooleanField(
        label=_("Amount confirmed by the prospect"), required=False
    )
    probability = forms.IntegerField(label=_("Probability (%)"), min_value=0, max_value=100)
    close_date = forms.DateField(
        label=_("Close date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"),
        choices=[
            (value, label)
            for value, label in ForecastCategory.choices
            if value not in (ForecastCategory.CLOSED, ForecastCategory.OMITTED)
        ],
    )
    next_step = forms.CharField(label=_("Next step"), max_length=255, required=False)
    loss_reason = forms.ModelChoiceField(
        label=_("Loss reason (if lost)"),
        queryset=LossReason.objects.filter(is_active=True),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["probability"].help_text = probability_help()
        self.add_reason_fields()

    @classmethod
    def for_deal(cls, deal: Opportunity, **kwargs):
        initial = {
            "version": deal.version,
            "stage": deal.stage,
            "amount": deal.amount,
            "amount_confirmed": deal.amount_confirmed,
            "probability": deal.probability,
            "close_date": deal.close_date,
            "forecast_category": deal.forecast_category,
            "next_step": deal.next_step,
            "loss_reason": deal.loss_reason_id,
        }
        return cls(initial=initial, **kwargs)

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("version", "reason_code", "reason_text"):
            data.pop(name, None)
        return data


class TodoForm(forms.Form):
    subject = forms.CharField(label=_("What"), max_length=255)
    assignee = forms.ModelChoiceField(label=_("Who"), queryset=User.objects.none(), required=False)
    due_date = forms.DateField(
        label=_("By when"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(is_active=True).filter(
            partner_id=review.partner_id
        ) | User.objects.filter(
            is_active=True,
            partner__isnull=True,
            groups__name__in=["sales_rep", "sales_manager", "channel_manager"],
        )
        self.fields["assignee"].queryset = people.distinct().order_by("first_name", "last_name")
        self.fields["due_date"].initial = timezone.localdate() + datetime.timedelta(days=14)


class CommitForm(forms.Form):
    commit_amount = forms.DecimalField(
        label=_("New commit"), min_value=0, max_digits=14, decimal_places=2
    )
    commit_note = Review._meta.get_field("commit_note").formfield(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PartnerNoteForm(forms.ModelForm):
    class Meta:
        model = PartnerReviewNote
        fields = ["difficulties", "progress_areas", "support_requested", "corrective_actions"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}


class QuarterlyForm(forms.ModelForm):
    class Meta:
        model = QuarterlyDetails
        fields = [
            field.name
            for field in QuarterlyDetails._meta.concrete_fields
            if field.name not in ("id", "review")
        ]
        widgets = {
            field.name: forms.Textarea(attrs={"rows": 2})
            for field in QuarterlyDetails._meta.get_fields()
            if field.get_internal_type() == "TextField"
        }


QUARTERLY_SECTIONS = [
    (
        _("1. Training"),
        [
            "training_last_quarter",
            "training_gap",
            "registrations_sales",
            "registrations_consultants",
            "registrations_telemarketers",
        ],
    ),
    (_("2. Marketing"), ["marketing_last_quarter", "marketing_gap"]),
    (
        _("3. Contract"),
        [
            "contract",
            "business_plan",
            "payment_status",
            "process_compliance",
            "sales_administration",
        ],
    ),
    (
        _("4. Business analysis: what the figures do not say"),
        [
            "share_of_partner_business",
            "sales_motivation",
            "sales_skills",
            "support_days",
            "support_nature",
        ],
    ),
    (
        _("5. After sales: customer satisfaction"),
        [
            "satisfaction_installations",
            "satisfaction_architectures",
            "satisfaction_information",
            "satisfaction_support",
            "satisfaction_overall",
            "satisfaction_training_needs",
            "satisfaction_support_requests",
        ],
    ),
    (_("6. Difficulties met by the partner"), ["difficulties"]),
    (_("7. Priorities and requests of the partner"), ["priorities"]),
]


def quarterly_sections(form) -> list[tuple[str, list]]:
    return [(title, [form[name] for name in names]) for title, names in QUARTERLY_SECTIONS]


class MarketingActionForm(forms.ModelForm):
    class Meta:
        model = MarketingAction
        fields = ["action_type", "budget", "expected_leads", "resources"]


class ArchiveFilterForm(forms.Form):
    partner = forms.ModelChoiceField(label=_("Partner"), queryset=None, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All kinds"))] + ReviewKind.choices, required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = visible_partners(user).select_related("account")
        if is_partner_user(user):
            del self.fields["partner"]
            self.fields["kind"].choices = [("", _("All kinds"))] + [
                c for c in ReviewKind.choices if c[0] != ReviewKind.CHANNEL_MANAGER
            ]

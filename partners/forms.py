from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact, Partner
from climcrm.models import User
from climcrm.roles import is_partner_user
from climcrm.text import parse_id
from opportunities.models import Stage
from partners.models import ConflictDecision, DealRegistration, MatchKey, RegistrationStatus
from partners.selectors import internal_owner_choices
from partners.services import REFUSE_REJECT, REFUSE_RETURN

REGISTRATION_FORM_FIELDS = [
    "company_name",
    "project_name",
    "site_address",
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "contact_phone",
    "need",
    "estimated_amount",
    "expected_close_date",
]


class DealRegistrationForm(forms.ModelForm):
    """Registration by a partner user; internal staff also choose the partner."""

    partner = forms.ModelChoiceField(
        label=_("Partner"), queryset=Partner.objects.none(), required=False
    )

    class Meta:
        model = DealRegistration
        fields = REGISTRATION_FORM_FIELDS
        widgets = {
            "need": forms.Textarea(attrs={"rows": 4}),
            "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "estimated_amount": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
        }
        help_texts = {
            "need": _("What the customer wants to buy, and why now."),
            "site_address": _(
                "Where the installation will be, if known: street and number, postal code and town."
            ),
        }

    # The mandatory fields of a registration: acceptance refuses a registration without them.
    mandatory = (
        "company_name",
        "contact_last_name",
        "need",
        "estimated_amount",
        "expected_close_date",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name in self.mandatory:
            self.fields[name].required = True
        if is_partner_user(user) or self.instance.pk:
            del self.fields["partner"]
        else:
            self.fields["partner"].required = True
            self.fields["partner"].queryset = Partner.objects.filter(is_active=True).select_related(
                "account"
            )
            self.order_fields(["partner", *REGISTRATION_FORM_FIELDS])

    def clean_estimated_amount(self):
        amount = self.cleaned_data.get("estimated_amount")
        if amount is not None and amount <= 0:
            raise forms.ValidationError(_("Enter an amount greater than zero."))
        return amount

    def clean_expected_close_date(self):
        value = self.cleaned_data.get("expected_close_date")
        if value is not None and value < timezone.localdate() and not self.instance.pk:
            raise forms.ValidationError(_("The expected close date cannot be in the past."))
        return value

    def clean(self):
        data = super().clean()
        if not (data.get("contact_email") or data.get("contact_phone")):
            self.add_error(None, _("Give the contact's email or phone number."))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in REGISTRATION_FORM_FIELDS}


class AcceptRegistrationForm(forms.Form):
    NEW = "new"

    owner = forms.ModelChoiceField(
        label=_("Deal owner"),
        queryset=internal_owner_choices(),
        help_text=_("The internal person responsible for the deal."),
    )
    account = forms.ChoiceField(label=_("Account"))
    contact = forms.ChoiceField(label=_("Contact"))

    def __init__(self, *args, registration, accounts, contacts, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = internal_owner_choices()
        self.fields["owner"].initial = user.pk
        self.fields["account"].choices = [
            (self.NEW, _("Create the account “%(name)s”") % {"name": registration.company_name})
        ] + [(str(a.pk), _("Link to existing: %(name)s") % {"name": a.name}) for a in accounts]
        self.fields["account"].initial = str(accounts[0].pk) if accounts else self.NEW
        self.fields["contact"].choices = [
            (self.NEW, _("Create the contact “%(name)s”") % {"name": registration.contact_name})
        ] + [(str(c.pk), f"{c.full_name} · {c.email} · {c.account.name}") for c in contacts]
        self.fields["contact"].initial = str(contacts[0].pk) if contacts else self.NEW

    def _resolve(self, name, model):
        value = self.cleaned_data.get(name)
        if value in (None, "", self.NEW):
            return None
        return model.objects.filter(pk=int(value)).first()

    def chosen_account(self):
        return self._resolve("account", Account)

    def chosen_contact(self):
        return self._resolve("contact", Contact)


class DecisionReasonForm(forms.Form):
    reason = DealRegistration._meta.get_field("decision_reason").formfield(
        label=_("Reason (the partner will read it)"),
        required=True,
        help_text="",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RegistrationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All"))]
        + list(RegistrationStatus.choices)
        + [("expired", _("Protection expired"))],
    )
    partner = forms.ModelChoiceField(
        label=_("Partner"), required=False, queryset=Partner.objects.none()
    )
    q = forms.CharField(label=_("Company or contact"), required=False)
    conflicts = forms.BooleanField(label=_("Conflicts only"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if is_partner_user(user):
            del self.fields["partner"]
            del self.fields["conflicts"]
        else:
            self.fields["partner"].queryset = Partner.objects.select_related("account")


class TargetRowForm(forms.Form):
    quarter = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=4)
    revenue = forms.DecimalField(
        label=_("Revenue target"), min_value=0, max_digits=14, decimal_places=2, required=False
    )
    new_customers = forms.IntegerField(label=_("New customers"), min_value=0, required=False)
    leads = forms.IntegerField(label=_("Leads"), min_value=0, required=False)


class BaseTargetFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        quarters = [form.cleaned_data.get("quarter") for form in self.forms if form.cleaned_data]
        if sorted(q for q in quarters if q) != [1, 2, 3, 4]:
            raise forms.ValidationError(_("The business plan has exactly the four quarters."))


TargetFormSet = forms.formset_factory(
    TargetRowForm, formset=BaseTargetFormSet, extra=0, min_num=4, max_num=4, validate_max=True
)


class AssignForm(forms.Form):
    partner = forms.ModelChoiceField(
        label=_("Partner"),
        queryset=Partner.objects.none(),
        required=False,
        empty_label=_("No partner (direct deal)"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = Partner.objects.filter(is_active=True).select_related(
            "account"
        )


class AssignFilterForm(forms.Form):
    q = forms.CharField(label=_("Deal or account"), required=False)
    partner = forms.ChoiceField(label=_("Partner"), required=False)
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("All open"))] + list(Stage.choices)
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [
            ("", _("Any")),
            ("none", _("No partner")),
        ] + [(str(p.pk), str(p)) for p in Partner.objects.select_related("account")]


class ConflictFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Matching on"),
        required=False,
        choices=[("", _("Any key"))] + list(MatchKey.choices),
    )
    scope = forms.ChoiceField(
        label=_("Partners"),
        required=False,
        choices=[("mine", _("My partners")), ("all", _("All partners"))],
    )

    def __init__(self, *args, scoped: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not scoped:
            del self.fields["scope"]


class ConflictDecisionForm(forms.Form):
    """The channel manager's decision on one group of competing registrations."""

    NONE = "none"
    REFUSALS = [
        (REFUSE_REJECT, _("Reject them")),
        (REFUSE_RETURN, _("Return them for more information")),
    ]

    winner = forms.ChoiceField(label=_("Registration to accept"), widget=forms.RadioSelect)
    refusal = forms.ChoiceField(
        label=_("The other partners' registrations"),
        choices=REFUSALS,
        initial=REFUSE_REJECT,
        widget=forms.RadioSelect,
    )
    reason = ConflictDecision._meta.get_field("reason").formfield(
        label=_("Reason for the decision"),
        required=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    message = ConflictDecision._meta.get_field("message").formfield(
        label=_("Message to the refused partners"),
        required=False,
        help_text=_(
            "Optional when rejecting in favour of another registration: each partner is "
            "told only that another partner registered the customer. Never name a partner."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    owner = forms.ModelChoiceField(
        label=_("Deal owner"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("The internal person responsible for the deal the accepted one creates."),
    )
    account = forms.ChoiceField(label=_("Account"), required=False)
    seen = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, group, accounts, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group
        choices = []
        for member in group.members:
            if member.status == RegistrationStatus.SUBMITTED and member.protected_claim_until:
                # Another partner's protection runs: not a choice (partners.services).
                continue
            if member.status == RegistrationStatus.SUBMITTED:
                label = _("Accept the registration of %(partner)s") % {"partner": member.partner}
            elif member.is_protected:
                label = _("Keep the protected registration of %(partner)s") % {
                    "partner": member.partner
                }
            else:
                continue
            choices.append((str(member.pk), label))
        choices.append((self.NONE, _("None: refuse them all")))
        self.fields["winner"].choices = choices
        self.fields["owner"].queryset = internal_owner_choices()
        self.fields["owner"].initial = user.pk
        self.fields["account"].choices = [
            (self.NONE, _("Create the account from the accepted registration"))
        ] + [(str(a.pk), _("Link to existing: %(name)s") % {"name": a.name}) for a in accounts]
        self.fields["account"].initial = str(accounts[0].pk) if accounts else self.NONE
        self.fields["seen"].initial = ",".join(str(m.pk) for m in group.members)

    def clean_seen(self) -> set[int]:
        ids = {parse_id(value) for value in self.cleaned_data["seen"].split(",")}
        if None in ids:
            raise forms.ValidationError(_("Open the conflict again before deciding."))
        return ids

    def winner_id(self) -> int | None:
        value = self.cleaned_data.get("winner")
        return None if value in (None, "", self.NONE) else int(value)

    def chosen_account(self) -> Account | None:
        value = self.cleaned_data.get("account")
        if value in (None, "", self.NONE):
            return None
        return Account.objects.filter(pk=int(value)).first()


class AppealForm(forms.Form):
    appeal = DealRegistration._meta.get_field("appeal").formfield(
        label=_("New information"),
        required=True,
        help_text=_(
            "What the channel manager did not know: they decide again, once. "
            "The decision on the appeal is final."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

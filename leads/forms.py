from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.visibility import visible_partners
from leads.filters import owner_choices
from leads.models import Lead, LeadStatus
from leads.services import LEAD_FIELDS, MANUAL_STATUSES, PARTNER_LOCKED_FIELDS
from opportunities.models import OpportunityType

NEW = "new"


class LeadForm(forms.ModelForm):
    """The fields of a lead; saved through leads.services, never by the form."""

    class Meta:
        model = Lead
        fields = LEAD_FIELDS
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "planned_actions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.partner_id:
            for name in PARTNER_LOCKED_FIELDS:
                self.fields.pop(name, None)
        else:
            self.fields["owner"].queryset = owner_choices()
            self.fields["partner"].queryset = visible_partners(user).select_related("account")

    def clean(self):
        data = super().clean()
        if data.get("origin") == "bp" and "partner" in self.fields and not data.get("partner"):
            self.add_error("partner", _("A lead brought by a partner needs the partner."))
        return data

    def _post_clean(self):
        # The model's rules are applied by the service; the form only checks its fields.
        pass


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    reason = Lead._meta.get_field("disqualification_reason").formfield(
        label=_("Disqualification reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, lead: Lead | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead
        # The menu opens on the lead's status as it is, never on another one.
        self.fields["status"].choices = [
            (value, label) for value, label in LeadStatus.choices if value in MANUAL_STATUSES
        ]
        if lead is not None:
            self.fields["status"].initial = lead.status

    def clean(self):
        data = super().clean()
        if self.lead is not None and data.get("status") == self.lead.status:
            self.add_error("status", _("The lead already has this status."))
        reason_missing = "reason" not in self.errors and not (data.get("reason") or "").strip()
        if data.get("status") == LeadStatus.DISQUALIFIED and reason_missing:
            self.add_error("reason", _("Say why the lead is disqualified."))
        return data


class BulkActionForm(forms.Form):
    ASSIGN = "assign"
    STATUS = "status"

    action = forms.ChoiceField(
        label=_("Action"),
        choices=[(ASSIGN, _("Assign to owner")), (STATUS, _("Change status"))],
    )
    leads = forms.ModelMultipleChoiceField(
        label=_("Leads"),
        queryset=Lead.objects.none(),
        error_messages={"required": _("Select at least one lead.")},
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    reason = Lead._meta.get_field("disqualification_reason").formfield(
        label=_("Disqualification reason"), required=False, widget=forms.TextInput
    )

    def __init__(self, *args, leads_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leads"].queryset = leads_queryset
        self.fields["owner"].queryset = owner_choices()
        self.fields["status"].choices = [("", "---------")] + [
            (value, label) for value, label in LeadStatus.choices if value in MANUAL_STATUSES
        ]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == self.ASSIGN and not data.get("owner"):
            self.add_error("owner", _("Choose the owner to assign."))
        if action == self.STATUS:
            if not data.get("status"):
                self.add_error("status", _("Choose the new status."))
            elif (
                data["status"] == LeadStatus.DISQUALIFIED
                and "reason" not in self.errors
                and not (data.get("reason") or "").strip()
            ):
                self.add_error("reason", _("Say why the leads are disqualified."))
        return data


class ConvertForm(forms.Form):
    account = forms.ChoiceField(label=_("Account"), widget=forms.RadioSelect)
    account_name = forms.CharField(
        label=_("Name of the new account"), max_length=200, required=False
    )
    contact = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect)
    create_opportunity = forms.BooleanField(
        label=_("Create an opportunity in Qualification"), required=False, initial=True
    )
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    close_date = forms.DateField(
        label=_("Close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("Suggested from the account"))] + list(OpportunityType.choices),
    )

    def __init__(self, *args, accounts, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.accounts = {str(a.pk): a for a in accounts}
        self.contacts = {str(c.pk): c for c in contacts}
        self.fields["account"].choices = [(NEW, _("Create a new account"))] + [
            (key, str(account)) for key, account in self.accounts.items()
        ]
        self.fields["contact"].choices = [(NEW, _("Create a new contact"))] + [
            (key, f"{contact} <{contact.email}> · {contact.account}")
            for key, contact in self.contacts.items()
        ]

    def clean(self):
        data = super().clean()
        account_key, contact_key = data.get("account"), data.get("contact")
        data["account_obj"] = self.accounts.get(account_key) if account_key != NEW else None
        data["contact_obj"] = self.contacts.get(contact_key) if contact_key != NEW else None
        if account_key == NEW and not (data.get("account_name") or "").strip():
            self.add_error("account_name", _("Enter the account's name."))
        contact = data["contact_obj"]
        if contact is not None:
            account = data["account_obj"]
            if account is None or contact.account_id != account.pk:
                self.add_error(
                    "contact",
                    _(
                        "This contact belongs to %(account)s: pick that account, "
                        "or create a new contact."
                    )
                    % {"account": contact.account},
                )
        if data.get("create_opportunity") and not (data.get("opportunity_name") or "").strip():
            self.add_error("opportunity_name", _("Enter the opportunity's name."))
        return data


class WebToLeadForm(forms.Form):
    """The public form. ``website`` is a honeypot: people never see it, robots fill it."""

    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    email = forms.EmailField(label=_("Email"))
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    notes = Lead._meta.get_field("notes").formfield(
        label=_("Your message"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    @property
    def is_robot(self) -> bool:
        return bool((self.data.get("website") or "").strip())


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "CSV UTF-8, Unicode text (UTF-16) or Windows-1252 as Excel saves them, columns "
            "separated by semicolons, commas or tabs, with a header row. Maximum %(size)s."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = self.fields["file"].help_text % {
            "size": filesizeformat(settings.CRM_MAX_UPLOAD_BYTES)
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.CRM_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is too large (maximum %(size)s).")
                % {"size": filesizeformat(settings.CRM_MAX_UPLOAD_BYTES)}
            )
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Upload a .csv file."))
        return upload

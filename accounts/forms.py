from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact
from accounts.services import ACCOUNT_FIELDS, CONTACT_FIELDS
from accounts.visibility import visible_accounts
from climcrm.lookup import use_lookup
from climcrm.models import internal_users
from climcrm.permissions import can_reassign_account
from climcrm.text import normalize_company_name


class AccountForm(forms.ModelForm):
    """Validates input only: the view passes cleaned_data to the account services."""

    class Meta:
        model = Account
        fields = list(ACCOUNT_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = internal_users()
        self.fields["country"].help_text = _("Two-letter code, e.g. CH, FR.")
        if not can_reassign_account(user, self.instance if self.instance.pk else None):
            # Shown, not editable: the form then keeps the current (or initial) owner.
            self.fields["owner"].disabled = True
            self.fields["owner"].help_text = _(
                "Only a sales manager can give an account to someone else."
            )

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        normalized = normalize_company_name(name)
        if normalized:
            duplicate = (
                Account.objects.filter(normalized_name=normalized)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if duplicate is not None:
                raise forms.ValidationError(
                    _("An account with this name already exists: %(name)s."),
                    code="duplicate",
                    params={"name": duplicate.name},
                )
        return name

    def clean_country(self):
        return (self.cleaned_data.get("country") or "").strip().upper()

    def _post_clean(self):
        # The services validate the model; nothing is written to the instance here.
        pass

    def changes(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in ACCOUNT_FIELDS if name in self.cleaned_data
        }


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = list(CONTACT_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = visible_accounts(user).order_by("name")
        use_lookup(self.fields["account"], "accounts:lookup")
        self.fields["email"].help_text = ""

    def _post_clean(self):
        pass

    def changes(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in CONTACT_FIELDS if name in self.cleaned_data
        }

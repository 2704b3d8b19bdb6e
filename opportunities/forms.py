"""Create and edit forms for deals. They validate input; the services do the writing."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from accounts.visibility import visible_accounts, visible_contacts, visible_partners
from climcrm.choices import BANT_FIELDS
from climcrm.fields import REASON_MAX_LENGTH, FreeTextFormField, keep_stored_text
from climcrm.lookup import use_lookup
from climcrm.models import internal_users
from climcrm.permissions import (
    can_assign_partner,
    can_change_forecast_category,
    partner_editable_fields,
)
from climcrm.roles import is_manager, is_partner_user
from opportunities.models import (
    OPEN_STAGES,
    ForecastCategory,
    LossReason,
    Opportunity,
    Stage,
)
from opportunities.reasons import active_reason_codes
from opportunities.services import EDITABLE_FIELDS

# Form fields in display order, grouped for the template.
FIELDSETS = [
    (
        "deal",
        _("Deal"),
        ["name", "account", "primary_contact", "owner", "partner", "type", "source"],
    ),
    (
        "forecast",
        _("Stage and forecast"),
        [
            "stage",
            "probability",
            "amount",
            "amount_confirmed",
            "close_date",
            "expected_delivery",
            "forecast_category",
        ],
    ),
    ("next", _("Next step"), ["next_step", "next_step_date", "site_address"]),
    (
        "bant",
        _("BANT qualification"),
        list(BANT_FIELDS),
    ),
    (
        "characteristics",
        _("Pain, interest and fit"),
        ["pain_ok", "pain_note", "interest_ok", "interest_note", "fit_ok", "fit_note"],
    ),
    (
        "signals",
        _("Buying signals"),
        ["asked_demo", "asked_pricing", "tested_trial", "gave_decision_date"],
    ),
    ("loss", _("Loss"), ["loss_reason", "loss_reason_text"]),
    (
        "closing",
        _("Closing review"),
        ["objective_reasons", "lessons_learned", "recovery_possible", "corrective_actions"],
    ),
]
# Seed 000: which probability to give a deal.
PROBABILITY_GUIDE = (
    (25, _("the contact seems rather to be exploring our solutions")),
    (
        50,
        _(
            "the contact needs solutions like ours but may still turn to a competitor, "
            "for example in a call for tenders"
        ),
    ),
    (75, _("the contact is convinced in principle to work with us")),
)


def probability_help() -> str:
    """The stage's default, then seed 000's guide: what 25, 50 and 75 % mean."""
    guide = "; ".join(
        _("%(value)s %%: %(text)s") % {"value": value, "text": text}
        for value, text in PROBABILITY_GUIDE
    )
    return _("Leave as is to take the stage's default. Guide — %(guide)s.") % {"guide": guide}


FORM_FIELDS = [name for _key, _label, names in FIELDSETS for name in names]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VersionField(forms.CharField):
    """The version of the deal the page was built from, sent back with the change.

    The form passes it on as submitted: ``opportunity_update`` alone decides what it means,
    so a missing, empty or malformed version is refused like a stale one, never as a
    hidden field's error the user cannot see.
    """

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        # Never localised: a version is an identifier, not a figure ("1 024" would not parse).
        return str(value) if isinstance(value, int) else value


class ReasonFieldsMixin:
    """``reason_code`` and ``reason_text``: asked of every change, required by the deal
    service when the change goes backward (``opportunities.reasons``). Not required here:
    the service alone decides, and its refusal lands on ``reason_code``."""

    def add_reason_fields(self) -> None:
        self.fields["reason_code"] = forms.ModelChoiceField(
            label=_("Reason for the change"),
            queryset=active_reason_codes(),
            required=False,
            empty_label=_("Choose a reason"),
            help_text=_(
                "Needed when the close date leaves its month, the amount goes down, the deal "
                "moves back a stage or its forecast category goes down."
            ),
        )
        self.fields["reason_text"] = FreeTextFormField(
            label=_("Reason details"), required=False, max_length=REASON_MAX_LENGTH
        )
        self.fields["reason_text"].widget.attrs["rows"] = 2

    def reason(self) -> dict:
        """The reason as ``opportunity_update`` takes it."""
        data = self.cleaned_data
        return {
            "reason_code": data.get("reason_code"),
            "reason_text": data.get("reason_text") or "",
        }


class OpportunityForm(ReasonFieldsMixin, forms.Form):
    """Builds its fields from the model; which of them a user gets depends on their role."""

    version = VersionField()

    def __init__(self, *args, user, opportunity: Opportunity | None = None, **kwargs):
        self.user = user
        self.opportunity = opportunity
        super().__init__(*args, **kwargs)
        for name in FORM_FIELDS:
            model_field = Opportunity._meta.get_field(name)
            self.fields[name] = model_field.formfield()
        self._configure()
        if opportunity is not None:
            keep_stored_text(self, opportunity)
        allowed = self.allowed_fields()
        for name in list(self.fields):
            if name != "version" and name not in allowed:
                del self.fields[name]
        if opportunity is not None:
            self.add_reason_fields()

    def _configure(self) -> None:
        f = self.fields
        f["account"].queryset = visible_accounts(self.user).order_by("name")
        f["primary_contact"].queryset = visible_contacts(self.user).select_related("account")
        f["owner"].queryset = internal_users()
        f["partner"].queryset = visible_partners(self.user).select_related("account")
        use_lookup(f["account"], "accounts:lookup")
        use_lookup(f["primary_contact"], "accounts:contact-lookup", forward=("account",))
        f["loss_reason"].queryset = LossReason.objects.filter(is_active=True)
        f["probability"].validators += [MinValueValidator(0), MaxValueValidator(100)]
        f["probability"].widget.attrs.update({"min": 0, "max": 100, "step": 1})
        f["probability"].required = False
        f["probability"].help_text = probability_help()
        f["amount"].widget.attrs.update({"min": 0, "step": "0.01"})
        f["amount"].min_value = 0
        f["amount"].validators.append(MinValueValidator(0))
        for name in ("close_date", "expected_delivery", "next_step_date"):
            f[name].widget = DATE_WIDGET
        f["close_date"].required = False  # required while open: checked in clean()
        f["forecast_category"].choices = [
            (value, label)
            for value, label in ForecastCategory.choices
            if value not in (ForecastCategory.CLOSED, ForecastCategory.OMITTED)
            or (self.opportunity is not None and self.opportunity.forecast_category == value)
        ]
        f["forecast_category"].required = False
        f["forecast_category"].help_text = _(
            "Set from the stage unless you choose one; your choice is kept until the deal closes."
        )
        f["stage"].widget.attrs["data-stage-select"] = "1"
        f["loss_reason"].empty_label = _("Choose a reason")
        for name in ("loss_reason_text", "objective_reasons", "lessons_learned"):
            f[name].widget.attrs["rows"] = 3
        f["corrective_actions"].widget.attrs["rows"] = 2
        if self.opportunity is None:
            f["owner"].initial = self.user.pk
            f["stage"].initial = Stage.QUALIFICATION

    def allowed_fields(self) -> set[str]:
        if is_partner_user(self.user):
            return set(partner_editable_fields()) & set(FORM_FIELDS)
        allowed = set(FORM_FIELDS)
        if not can_assign_partner(self.user):
            allowed.discard("partner")
        if not is_manager(self.user):
            # Reps create and keep their own deals; managers assign them.
            allowed.discard("owner")
        if self.opportunity is not None and not can_change_forecast_category(
            self.user, self.opportunity
        ):
            allowed.discard("forecast_category")
        return allowed

    def fieldsets(self):
        """(key, label, [bound fields]) for the fields this user has, in order."""
        result = []
        for key, label, names in FIELDSETS:
            bound = [self[name] for name in names if name in self.fields]
            if bound:
                result.append((key, label, bound))
        if "reason_code" in self.fields:
            result.append(
                ("reason", _("Reason for the change"), [self["reason_code"], self["reason_text"]])
            )
        return result

    def clean(self):
        cleaned = super().clean()
        stage = cleaned.get("stage") or (self.opportunity.stage if self.opportunity else None)
        if stage in OPEN_STAGES and "close_date" in self.fields and not cleaned.get("close_date"):
            self.add_error("close_date", _("An open deal needs a close date."))
        lost = stage == Stage.CLOSED_LOST and "loss_reason" in self.fields
        if lost and not cleaned.get("loss_reason"):
            self.add_error("loss_reason", _("Choose why the deal was lost."))
        if stage == Stage.CLOSED_WON and "amount" in self.fields:
            amount = cleaned.get("amount")
            if amount is None or amount <= 0:
                self.add_error("amount", _("A won deal needs an amount greater than zero."))
        return cleaned

    def changes(self) -> dict:
        """The fields that differ from the deal as loaded (for an edit) or all of them."""
        values = {
            name: value
            for name, value in self.cleaned_data.items()
            if name in EDITABLE_FIELDS and name in self.fields
        }
        if values.get("probability") is None:
            values.pop("probability", None)
        if not values.get("forecast_category"):
            values.pop("forecast_category", None)
        if self.opportunity is None:
            return values
        return {
            name: value
            for name, value in values.items()
            if name in self.changed_data or _differs(self.opportunity, name, value)
        }


def _is_fk(name: str) -> bool:
    return Opportunity._meta.get_field(name).is_relation


def _differs(opportunity: Opportunity, name: str, value) -> bool:
    if _is_fk(name):
        current = getattr(opportunity, f"{name}_id")
        return current != (value.pk if value is not None else None)
    return getattr(opportunity, name) != value


def initial_from(opportunity: Opportunity) -> dict:
    initial = {"version": opportunity.version}
    for name in FORM_FIELDS:
        if _is_fk(name):
            initial[name] = getattr(opportunity, f"{name}_id")
        else:
            initial[name] = getattr(opportunity, name)
    return initial

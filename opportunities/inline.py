"""Inline edit of a deal's key fields on the opportunity list and page.

A value is a link to the edit page; with htmx it opens a small form in place (the version
read comes with it), the save goes through ``opportunity_update`` like every other change,
and the field comes back as it is now — with the refusal beside it when the save was stale
(409) or invalid (400).
"""

from functools import lru_cache

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from climcrm import figures
from climcrm.permissions import (
    can_change_forecast_category,
    can_edit_opportunity,
    partner_editable_fields,
)
from climcrm.roles import is_partner_user
from climcrm.templatetags.ui import icon
from climcrm.visibility import get_visible_or_404
from opportunities.forms import DATE_WIDGET, ReasonFieldsMixin, VersionField
from opportunities.models import ForecastCategory, Opportunity
from opportunities.services import ReasonRequiredError, StaleVersionError, opportunity_update
from opportunities.visibility import visible_opportunities

# The fields a deal's list row and page edit in place, in the order they are shown.
INLINE_FIELDS = ("amount", "probability", "close_date", "next_step", "forecast_category")
TEMPLATE = "opportunities/inline_field.html"
# Set by the owner and managers on open deals; Closed and Omitted come from closing the deal.
OPEN_CATEGORIES = [
    (value, label)
    for value, label in ForecastCategory.choices
    if value not in (ForecastCategory.CLOSED, ForecastCategory.OMITTED)
]


def inline_editable(user, deal: Opportunity) -> frozenset[str]:
    """The fields ``user`` may edit in place on ``deal``: none on a closed deal (its page
    and the stage path reopen it), the partner's fields for a partner user."""
    if not deal.is_open or not can_edit_opportunity(user, deal):
        return frozenset()
    fields = set(INLINE_FIELDS)
    if is_partner_user(user):
        fields &= partner_editable_fields()
    if not can_change_forecast_category(user, deal):
        fields.discard("forecast_category")
    return frozenset(fields)


def _value_field(name: str) -> forms.Field:
    if name == "amount":
        return forms.DecimalField(
            label=gettext_lazy("Amount"),
            required=False,
            min_value=0,
            max_digits=14,
            decimal_places=2,
            widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
        )
    if name == "probability":
        return forms.IntegerField(
            label=gettext_lazy("Probability (%)"),
            min_value=0,
            max_value=100,
            widget=forms.NumberInput(attrs={"step": "1", "min": "0", "max": "100"}),
        )
    if name == "close_date":
        return forms.DateField(label=gettext_lazy("Close date"), widget=DATE_WIDGET)
    if name == "next_step":
        return forms.CharField(label=gettext_lazy("Next step"), max_length=255, required=False)
    return forms.ChoiceField(label=gettext_lazy("Forecast category"), choices=OPEN_CATEGORIES)


class InlineForm(ReasonFieldsMixin, forms.Form):
    """The value, and the reason for the change: shown once the service asked for one
    (``ask_reason``), or when one was sent."""

    version = VersionField()

    def __init__(self, *args, deal: Opportunity, field_name: str, **kwargs):
        # Ids unique on a page of deals: one form per field and deal.
        kwargs.setdefault("auto_id", f"inline-{deal.pk}-{field_name}-%s")
        super().__init__(*args, **kwargs)
        self.fields["value"] = _value_field(field_name)
        self.fields["value"].widget.attrs.update({"autofocus": True, "class": "inline-input"})
        self.add_reason_fields()
        self.ask_reason = bool(self.is_bound and self.data.get("reason_code"))

    def marked_invalid(self) -> "InlineForm":
        """The input tells assistive technology it is invalid and where the reason is."""
        for name in ("value", "reason_code", "reason_text"):
            if name in self.errors:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": self[name].id_for_label + "-error"}
                )
        return self


LABELS = {
    "amount": gettext_lazy("Amount"),
    "probability": gettext_lazy("Probability"),
    "close_date": gettext_lazy("Close date"),
    "next_step": gettext_lazy("Next step"),
    "forecast_category": gettext_lazy("Forecast category"),
}


def field_context(user, deal: Opportunity, name: str, *, compact: bool = False, **extra):
    """What ``inline_field.html`` shows of one field being edited (its form)."""
    return {
        "deal": deal,
        "name": name,
        "label": LABELS[name],
        "compact": compact,
        **extra,
    }


def _shown(deal: Opportunity, name: str, compact: bool) -> str:
    """The field's value as the list and the page show it."""
    if name == "amount":
        return figures.money(deal.amount, 0 if compact else 2)
    if name == "probability":
        return figures.percent(deal.probability)
    if name == "close_date":
        return date_format(deal.close_date, "SHORT_DATE_FORMAT") if deal.close_date else ""
    if name == "next_step":
        return deal.next_step or "—"
    return deal.get_forecast_category_display()


@lru_cache(maxsize=64)
def _edit_hint(language: str | None, name: str) -> str:
    """The edit link's hint for a field, in the active language, escaped."""
    return escape(_("Edit: %(label)s") % {"label": LABELS[name]})


def field_html(user, deal: Opportunity, name: str, *, compact: bool = False, message="") -> str:
    """One field as shown: its value, a link to the edit page that htmx turns into the
    field's form when ``user`` may edit it, and the reason a save was refused (``message``).

    Written here rather than in a template: a page of deals shows five per row. A page of
    deals computes each deal's ``inline_fields`` once (``with_inline_fields``); a single
    field computes its own."""
    fields = getattr(deal, "inline_fields", None)
    if fields is None:
        fields = inline_editable(user, deal)
    value = escape(_shown(deal, name, compact))
    if name in fields:
        page = reverse("opportunities:detail", args=[deal.pk])
        hint = _edit_hint(get_language(), name)
        value = (
            f'<a class="inline-value" href="{page}edit/" hx-get="{page}inline/{name}/?edit=1'
            f'{"&amp;compact=1" if compact else ""}" hx-target="closest .inline-field" '
            f'hx-swap="outerHTML" title="{hint}">{value} <span class="visually-hidden">— '
            f"{hint}</span>{icon('pencil')}</a>"
        )
    refused = ""
    if message:
        value += f' <span class="inline-message" role="alert">{escape(message)}</span>'
        refused = " is-refused"
    return mark_safe(  # noqa: S308 - every value above is escaped
        f'<span class="inline-field{refused}" id="deal-{deal.pk}-{name}">{value}</span>'
    )


def with_inline_fields(user, deals) -> list[Opportunity]:
    deals = list(deals)
    for deal in deals:
        deal.inline_fields = inline_editable(user, deal)
    return deals


def _render(request, deal, name, status=200, form=None, message="") -> HttpResponse:
    """The field's form, or the field as shown (with the refusal ``message``)."""
    compact = request.GET.get("compact") == "1"
    if form is None:
        html = field_html(request.user, deal, name, compact=compact, message=message)
        return HttpResponse(html, status=status)
    context = field_context(request.user, deal, name, compact=compact, form=form)
    return render(request, TEMPLATE, context, status=status)


def _initial(deal: Opportunity, name: str):
    value = getattr(deal, name)
    return value if value is not None else ""


@require_http_methods(["GET", "POST"])
def inline_field(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """GET: the field as shown (``?edit=1``: its form). POST: save it, answer the field."""
    if name not in INLINE_FIELDS:
        raise Http404
    deal = get_visible_or_404(visible_opportunities(request.user).select_related("partner"), pk=pk)
    if not request.htmx:
        # Without JavaScript the value links to the edit page; anything else lands there.
        return redirect("opportunities:edit", pk=deal.pk)
    editable = name in inline_editable(request.user, deal)
    if request.method == "GET":
        if request.GET.get("edit") and editable:
            form = InlineForm(
                deal=deal,
                field_name=name,
                initial={"value": _initial(deal, name), "version": deal.version},
            )
            return _render(request, deal, name, form=form)
        return _render(request, deal, name)

    if not editable:
        message = _("You may not change this deal.")
        return _refused(_render(request, deal, name, status=403, message=message), message)
    form = InlineForm(request.POST, deal=deal, field_name=name)
    if not form.is_valid():
        return _render(request, deal, name, status=400, form=form.marked_invalid())
    value = form.cleaned_data["value"]
    try:
        result = opportunity_update(
            opportunity=deal,
            by=request.user,
            changes={name: value},
            expected_version=form.cleaned_data["version"],
            tag="inline",
            **form.reason(),
        )
    except ReasonRequiredError as error:
        # The value stays as typed; the reason inputs appear beside it.
        form.ask_reason = True
        for message in error.messages:
            form.add_error("reason_code", message)
        return _render(request, deal, name, status=400, form=form.marked_invalid())
    except StaleVersionError as error:
        current = error.opportunity
        message = str(error)
        return _refused(_render(request, current, name, status=409, message=message), message)
    except ValidationError as error:
        for message in error.messages:
            form.add_error("value", message)
        return _render(request, deal, name, status=400, form=form.marked_invalid())
    except PermissionError as error:
        return _refused(_render(request, deal, name, status=403, message=str(error)), str(error))
    response = _render(request, result.opportunity, name)
    text = _("The deal was saved.") if result.changed_fields else _("Nothing changed.")
    trigger_client_event(response, "toast", {"text": text, "kind": "success"})
    return trigger_client_event(response, "deal-saved", {"id": deal.pk})


def _refused(response: HttpResponse, message: str) -> HttpResponse:
    return trigger_client_event(response, "toast", {"text": message, "kind": "error"})

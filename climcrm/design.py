"""The design system's own pages: the staff style guide and the theme switch."""

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from climcrm.context_processors import THEMES

THEME_COOKIE_AGE = 365 * 24 * 3600


@login_not_required
@require_POST
def set_theme(request: HttpRequest) -> HttpResponse:
    """Light, dark, or the system's theme ("auto"), kept in a cookie for a year. The page's
    script switches at once without this request; this is the path without JavaScript."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    theme = request.POST.get("theme")
    if theme in THEMES:
        response.set_cookie(
            "theme", theme, max_age=THEME_COOKIE_AGE, samesite="Lax", secure=request.is_secure()
        )
    else:
        response.delete_cookie("theme", samesite="Lax")
    return response


class SampleForm(forms.Form):
    """Fields of every kind, to show the form components."""

    name = forms.CharField(label=_("Name"), help_text=_("As the customer writes it."))
    amount = forms.DecimalField(label=_("Amount"), required=False)
    stage = forms.ChoiceField(
        label=_("Stage"),
        choices=[("qualification", "Qualification"), ("proposal", "Proposal")],
    )
    stages = forms.MultipleChoiceField(
        label=_("Stages"),
        required=False,
        choices=[
            ("qualification", "Qualification"),
            ("needs_analysis", "Needs Analysis"),
            ("proposal", "Proposal"),
            ("negotiation", "Negotiation"),
        ],
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    close_date = forms.DateField(
        label=_("Close date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    decision_maker = forms.BooleanField(label=_("Decision maker"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


@require_GET
def style_guide(request: HttpRequest) -> HttpResponse:
    """Every component, in the light and the dark theme: for the people who build pages."""
    if not request.user.is_staff:
        raise Http404
    bound = SampleForm({"name": "", "stage": "proposal", "stages": ["proposal"]})
    bound.is_valid()
    return render(
        request,
        "climcrm/style_guide.html",
        {
            "sample_form": bound,
            "filter_form": SampleForm(initial={"stages": ["proposal"]}),
            "schemes": ["light", "dark"],
            "tones": ["neutral", "info", "accent", "success", "warning", "danger"],
            "statuses": [
                ("qualification", "Qualification"),
                ("needs_analysis", "Needs Analysis"),
                ("proposal", "Proposal"),
                ("negotiation", "Negotiation"),
                ("closed_won", "Closed Won"),
                ("closed_lost", "Closed Lost"),
            ],
        },
    )

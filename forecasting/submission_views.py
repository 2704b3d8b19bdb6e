"""Pages of the weekly forecast call: submit, the call (roll-up), one submission (and its
adjustment), the trend."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from climcrm.charts import share
from climcrm.fields import NOTE_MAX_LENGTH, FreeTextFormField
from climcrm.forms import add_service_errors
from climcrm.models import User
from climcrm.periods import KINDS, MONTH, QUARTER, parse_period
from climcrm.roles import is_channel_manager, is_internal, is_manager, is_partner_user
from forecasting.models import ForecastFigure, ForecastSubmission
from forecasting.submission_reports import forecast_call, forecast_trend
from forecasting.submissions import (
    GROUP_KINDS,
    TEAM,
    adjustments_visible_to_partners,
    can_adjust,
    can_adjust_group,
    can_submit_for_partner,
    forecast_adjustment_create,
    forecast_group_adjustment_create,
    forecast_proposal,
    forecast_submission_create,
    group_adjustment_history,
    group_adjustments,
    group_key,
    group_member_keys,
    latest_submissions,
    partner_key,
    rep_key,
    submission_period,
    submitted_figures,
    visible_submissions,
)
from opportunities.models import ForecastCategory, Stage

# The deals shown under a submission and under the proposal (all are kept).
LINES_SHOWN = 200
SUBMISSION_KINDS = [(value, label) for value, label in KINDS if value in (MONTH, QUARTER)]


class SubmissionForm(forms.Form):
    commit = forms.CharField(label=gettext_lazy("Commit"), required=False)
    best_case = forms.CharField(label=gettext_lazy("Best Case"), required=False)
    note = FreeTextFormField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AdjustmentForm(forms.Form):
    figure = forms.ChoiceField(label=gettext_lazy("Figure"), choices=ForecastFigure.choices)
    to_amount = forms.CharField(label=gettext_lazy("Adjusted figure"), required=False)
    note = FreeTextFormField(
        label=gettext_lazy("Why"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _require_reporting_user(request: HttpRequest) -> None:
    if not (is_internal(request.user) or is_partner_user(request.user)):
        raise Http404


def _period(request: HttpRequest):
    kind = request.GET.get("kind") or request.POST.get("kind")
    kind = kind if kind in (MONTH, QUARTER) else QUARTER
    return parse_period(request.GET.get("period") or request.POST.get("period"), kind)


@require_http_methods(["GET", "POST"])
def submission_form(request: HttpRequest) -> HttpResponse:
    """A rep submits their own forecast; a partner's sales director the partner's."""
    _require_reporting_user(request)
    period = _period(request)
    user = request.user
    partner = user.partner if is_partner_user(user) else None
    may_submit = can_submit_for_partner(user, partner) if partner is not None else True
    subject = {"partner": partner} if partner is not None else {"user": user}
    proposal = forecast_proposal(period=period, **subject)
    form = SubmissionForm(
        request.POST if request.method == "POST" else None,
        initial={"commit": proposal.commit, "best_case": proposal.best_case},
    )
    status = 200
    if request.method == "POST":
        if not may_submit:
            raise PermissionDenied(_("Only the partner's sales director submits its forecast."))
        form.is_valid()
        try:
            forecast_submission_create(
                by=user,
                period=period,
                commit=form.cleaned_data.get("commit"),
                best_case=form.cleaned_data.get("best_case"),
                note=form.cleaned_data.get("note", ""),
                partner=partner,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            messages.success(request, _("Forecast submitted."))
            return redirect(
                reverse("forecasting:submission-call") + f"?kind={period.kind}&period={period.key}"
            )
    key = partner_key(partner.pk) if partner is not None else rep_key(user.pk)
    latest = latest_submissions(period=period, keys=[key]).get(key)
    context = {
        "period": period,
        "kinds": SUBMISSION_KINDS,
        "form": form,
        "proposal": proposal,
        "deals": proposal.deals.select_related("account")[:LINES_SHOWN],
        "deal_count": proposal.deals.count(),
        "latest": latest,
        "partner": partner,
        "may_submit": may_submit,
        "period_ended": period.end <= timezone.localdate(),
        "is_partner": partner is not None,
    }
    return render(request, "forecasting/submission_form.html", context, status=status)


@require_GET
def submission_call(request: HttpRequest) -> HttpResponse:
    """The week's submissions of everyone the user oversees, rolled up."""
    _require_reporting_user(request)
    period = _period(request)
    call = forecast_call(user=request.user, period=period)
    context = {
        "period": period,
        "kinds": SUBMISSION_KINDS,
        "call": call,
        "is_partner": is_partner_user(request.user),
        "is_overseer": is_manager(request.user) or is_channel_manager(request.user),
        "may_submit": not is_partner_user(request.user)
        or can_submit_for_partner(request.user, request.user.partner),
    }
    return render(request, "forecasting/submission_call.html", context)


def _visible_submission(user, pk: int) -> ForecastSubmission:
    submission = visible_submissions(user).filter(pk=pk).first()
    if submission is None:
        raise Http404
    return submission


def _labelled(lines) -> list:
    """The frozen lines with the labels of their stage and forecast category."""
    stages, categories = dict(Stage.choices), dict(ForecastCategory.choices)
    rows = list(lines)
    for line in rows:
        line.stage_label = stages.get(line.stage, line.stage)
        line.category_label = categories.get(line.forecast_category, line.forecast_category)
    return rows


def _detail_context(request: HttpRequest, submission: ForecastSubmission, form=None) -> dict:
    partner = is_partner_user(request.user)
    show_adjustments = not partner or adjustments_visible_to_partners()
    period = submission_period(submission)
    latest = latest_submissions(period=period, keys=[submission.scope_key])
    newer = latest.get(submission.scope_key)
    newer = newer if newer is not None and newer.pk != submission.pk else None
    # A superseded forecast is history: only the latest one is adjusted.
    adjustable = newer is None and can_adjust(request.user, submission)
    return {
        "submission": submission,
        "lines": _labelled(submission.lines.all()[:LINES_SHOWN]),
        "line_count": submission.lines.count(),
        "adjustments": submission.adjustments.select_related("adjusted_by")
        if show_adjustments
        else [],
        "show_adjustments": show_adjustments,
        "can_adjust": adjustable,
        "form": form or (AdjustmentForm() if adjustable else None),
        "is_partner": partner,
        "period": period,
        "newer": newer,
    }


@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reporting_user(request)
    submission = _visible_submission(request.user, pk)
    return render(
        request, "forecasting/submission_detail.html", _detail_context(request, submission)
    )


@require_POST
def submission_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager adjusts a figure of a submission, with a note."""
    _require_reporting_user(request)
    submission = _visible_submission(request.user, pk)
    if is_partner_user(request.user):
        raise PermissionDenied(_("Partner users cannot adjust a forecast."))
    if not can_adjust(request.user, submission):
        raise Http404
    form = AdjustmentForm(request.POST)
    form.is_valid()
    try:
        forecast_adjustment_create(
            by=request.user,
            submission=submission,
            figure=request.POST.get("figure", ""),
            to_amount=request.POST.get("to_amount"),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        context = _detail_context(request, submission, form=form)
        return render(request, "forecasting/submission_detail.html", context, status=400)
    except PermissionDenied as exc:
        raise Http404 from exc
    messages.success(request, _("Forecast adjusted."))
    return redirect("forecasting:submission-detail", pk=submission.pk)


def _group_context(*, kind: str, head: User, period, form) -> dict:
    key = group_key(kind, head.pk)
    member_keys = group_member_keys(key)
    members = submitted_figures(period=period, keys=member_keys)
    current = group_adjustments(period=period, keys=[key]).get(key, {})
    unadjusted = {
        figure: sum((getattr(row, f"adjusted_{figure}") for row in members.values()), Decimal(0))
        for figure in ("commit", "best_case")
    }
    return {
        "period": period,
        "kind": kind,
        "head": head,
        "member_count": len(member_keys),
        "submitted_count": len(members),
        "unadjusted": unadjusted,
        "current": current,
        "history": group_adjustment_history(period=period, key=key),
        "form": form,
        "period_ended": period.end <= timezone.localdate(),
        "call_url": reverse("forecasting:submission-call")
        + f"?kind={period.kind}&period={period.key}",
    }


@require_http_methods(["GET", "POST"])
def submission_group_adjust(request: HttpRequest, kind: str, head: int) -> HttpResponse:
    """The level above adjusts a team's or a channel's total for the period, with a note.
    Everyone else, partner users first, finds nothing here."""
    _require_reporting_user(request)
    if kind not in GROUP_KINDS or is_partner_user(request.user):
        raise Http404
    if not can_adjust_group(request.user, group_key(kind, head)):
        raise Http404
    head_user = User.objects.filter(pk=head).first()
    if head_user is None:
        raise Http404
    period = _period(request)
    form = AdjustmentForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        form.is_valid()
        try:
            forecast_group_adjustment_create(
                by=request.user,
                period=period,
                group_key=group_key(kind, head),
                figure=request.POST.get("figure", ""),
                to_amount=request.POST.get("to_amount"),
                note=request.POST.get("note", ""),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        except PermissionDenied as exc:
            raise Http404 from exc
        else:
            if kind == TEAM:
                messages.success(request, _("Team total adjusted."))
            else:
                messages.success(request, _("Channel total adjusted."))
            return redirect(
                reverse("forecasting:submission-call") + f"?kind={period.kind}&period={period.key}"
            )
    context = _group_context(kind=kind, head=head_user, period=period, form=form)
    return render(request, "forecasting/submission_group_adjust.html", context, status=status)


@require_GET
def submission_trend(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    period = _period(request)
    side = request.GET.get("side") or (
        "partner" if is_channel_manager(request.user) and not is_manager(request.user) else "rep"
    )
    figure = request.GET.get("figure")
    figure = figure if figure in ForecastFigure.values else ForecastFigure.COMMIT
    trend = forecast_trend(user=request.user, period=period, side=side, figure=figure)
    side_choices = (
        []
        if is_partner_user(request.user)
        else [("rep", _("Sales reps")), ("partner", _("Partners"))]
    )
    rows = [
        {
            "week": point.week,
            "cells": [
                {"value": value, "width": share(value, trend.scale) if value is not None else 0}
                for value in point.values
            ],
        }
        for point in trend.points
    ]
    context = {
        "period": period,
        "kinds": SUBMISSION_KINDS,
        "trend": trend,
        "side_choices": side_choices,
        "rows": rows,
        "figure_choices": ForecastFigure.choices,
        "is_partner": is_partner_user(request.user),
        "zero": Decimal(0),
    }
    return render(request, "forecasting/submission_trend.html", context)

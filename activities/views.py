from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from activities import selectors, services
from activities.forms import ActivityForm
from activities.selectors import Target
from climcrm.forms import add_service_errors
from climcrm.pagination import CountedPaginator
from climcrm.permissions import can_add_activity, can_change_activity
from climcrm.roles import is_manager

PANEL = "activities/_panel.html"
PANEL_PAGE = "activities/activity_list.html"


def _safe_next(request: HttpRequest, fallback: str) -> str:
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if request.htmx and request.htmx.current_url:
        # The page the panel sits on, as a path of this site.
        page = urlsplit(request.htmx.current_url)
        if page.netloc == request.get_host():
            candidates.append(page.path + (f"?{page.query}" if page.query else ""))
    for target in candidates:
        # Only paths on this site: a bare word would be read as a view name by redirect().
        if (
            target
            and target.startswith("/")
            and url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
        ):
            return target
    return fallback


def _panel_url(target: Target) -> str:
    return f"{reverse('activities:panel')}?{target.kind}={target.pk}"


def _panel_context(request: HttpRequest, target: Target, form: ActivityForm | None = None):
    assignees = selectors.assignable_users(user=request.user, target=target)
    return {
        "target": target,
        "form": form or ActivityForm(assignees=assignees),
        "next": _safe_next(request, _panel_url(target)),
        "today": timezone.localdate(),
        "can_add": can_add_activity(request.user, **target.lookup),
        **selectors.panel_activities(user=request.user, target=target),
    }


@require_GET
def panel(request: HttpRequest) -> HttpResponse:
    """The activities of one deal, lead or account: HTMX fragment or a page of its own."""
    target = selectors.panel_target(user=request.user, params=request.GET)
    context = _panel_context(request, target)
    return render(request, PANEL if request.htmx else PANEL_PAGE, context)


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    target = selectors.panel_target(user=request.user, params=request.POST)
    assignees = selectors.assignable_users(user=request.user, target=target)
    form = ActivityForm(request.POST, assignees=assignees)
    if form.is_valid():
        try:
            activity = services.activity_create(
                by=request.user, **form.cleaned_data, **target.lookup
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionError as error:
            if request.htmx:
                response = render(request, PANEL, _panel_context(request, target))
                return trigger_client_event(
                    response, "toast", {"text": str(error), "kind": "error"}
                )
            raise PermissionDenied(str(error)) from error
        else:
            text = _("“%(subject)s” added.") % {"subject": activity.subject}
            if request.htmx:
                response = render(request, PANEL, _panel_context(request, target))
                return trigger_client_event(response, "toast", {"text": text, "kind": "success"})
            messages.success(request, text)
            return redirect(_safe_next(request, _panel_url(target)))
    context = _panel_context(request, target, form=form)
    if request.htmx:
        return render(request, PANEL, context)
    return render(request, PANEL_PAGE, context, status=400)


@require_POST
def toggle_done(request: HttpRequest, pk: int) -> HttpResponse:
    """The done checkbox: checked completes the to-do, unchecked reopens it."""
    activity = selectors.activity_for_user_or_404(user=request.user, pk=pk)
    done = request.POST.get("done") in ("on", "1", "true")
    try:
        if done:
            services.activity_complete(activity=activity, by=request.user)
        else:
            services.activity_reopen(activity=activity, by=request.user)
    except PermissionError as error:
        if request.htmx:
            # The item comes back as it was (its box unticked again), with the reason.
            response = render(
                request,
                "activities/_item.html",
                {
                    "activity": activity,
                    "today": timezone.localdate(),
                    "show_target": _show(request),
                },
            )
            return trigger_client_event(response, "toast", {"text": str(error), "kind": "error"})
        raise PermissionDenied(str(error)) from error
    if request.htmx:
        context = {
            "activity": activity,
            "today": timezone.localdate(),
            "show_target": _show(request),
        }
        return render(request, "activities/_item.html", context)
    return redirect(_safe_next(request, reverse("activities:my-tasks")))


def _show(request: HttpRequest) -> bool:
    return request.POST.get("show_target") == "1"


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_for_user_or_404(user=request.user, pk=pk)
    if not can_change_activity(request.user, activity):
        raise PermissionDenied(services.change_refusal(request.user, activity))
    target = _target_of(activity)
    assignees = selectors.assignable_users(user=request.user, target=target)
    if request.method == "POST":
        form = ActivityForm.for_activity(activity, data=request.POST, assignees=assignees)
        status = 400
        if form.is_valid():
            changes = dict(form.cleaned_data)
            changes["assignee"] = changes.get("assignee") or activity.assignee or request.user
            try:
                services.activity_update(activity=activity, by=request.user, changes=changes)
            except ValidationError as error:
                add_service_errors(form, error)
            except PermissionError as error:
                # Taken out of the user's hands meanwhile: the form keeps what they typed.
                form.add_error(None, str(error))
                status = 403
            else:
                messages.success(request, _("Activity saved."))
                return redirect(_safe_next(request, _panel_url(target)))
    else:
        form = ActivityForm.for_activity(activity, assignees=assignees)
        status = 200
    context = {"activity": activity, "form": form, "next": _safe_next(request, _panel_url(target))}
    return render(request, "activities/activity_form.html", context, status=status)


@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_for_user_or_404(user=request.user, pk=pk)
    target = _target_of(activity)
    try:
        services.activity_delete(activity=activity, by=request.user)
    except PermissionError as error:
        raise PermissionDenied(str(error)) from error
    messages.success(request, _("“%(subject)s” deleted.") % {"subject": activity.subject})
    return redirect(_safe_next(request, _panel_url(target)))


# The groups of "My tasks": each is paged on its own query parameter ("page" for upcoming,
# the group that had pages first) and is the id of its section (an HTMX target).
TASK_GROUPS = (
    ("overdue", "overdue_page", "tasks-overdue"),
    ("today", "today_page", "tasks-today"),
    ("upcoming", "page", "tasks-upcoming"),
)


def _page_url(request: HttpRequest, param: str, number: int) -> str:
    query = request.GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"


# Rows per group page: three groups on one screen, each a page a person reads through.
TASKS_PER_GROUP = 20


@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    team = request.GET.get("team") == "1" and is_manager(request.user)
    groups = selectors.my_tasks(user=request.user, today=today, team=team)
    counts = selectors.my_task_counts(user=request.user, today=today, team=team)
    context = {"today": today, "team": team, "can_see_team": is_manager(request.user)}
    for name, param, section in TASK_GROUPS:
        # Counted with the other groups in one query instead of one COUNT per group.
        paginator = CountedPaginator(groups[name], TASKS_PER_GROUP, count=counts[name])
        page = paginator.get_page(request.GET.get(param))
        context[f"{name}_group"] = {
            "section": section,
            "page": page,
            "count": counts[name],
            "previous_url": _page_url(request, param, page.previous_page_number())
            if page.has_previous()
            else "",
            "next_url": _page_url(request, param, page.next_page_number())
            if page.has_next()
            else "",
        }
    context.update(
        {
            "overdue": context["overdue_group"]["page"].object_list,
            "due_today": context["today_group"]["page"].object_list,
            "upcoming": context["upcoming_group"]["page"].object_list,
            "page_obj": context["upcoming_group"]["page"],
            "has_tasks": any(counts.values()),
        }
    )
    template = "activities/my_tasks.html"
    target = request.htmx.target if request.htmx else None
    if target in {section for _name, _param, section in TASK_GROUPS}:
        template += f"#{target}"
    return render(request, template, context)


def _target_of(activity) -> Target:
    for kind in ("opportunity", "lead", "account"):
        obj = getattr(activity, kind)
        if obj is not None:
            return Target(kind, obj)
    raise ValueError("activity without target")

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard import selectors
from dashboard.palette import palette_groups


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    context = selectors.dashboard_context(user=request.user)
    return render(request, "dashboard/dashboard.html", context)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:100]
    results = selectors.global_search(user=request.user, query=query)
    template = "dashboard/search.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    # ``search_query`` fills the header's box: other pages have a ``query`` of their own.
    context = {"query": query, "search_query": query, "results": results}
    return render(request, template, context)


# --- command palette -------------------------------------------------------------------


@require_GET
def command_palette(request: HttpRequest) -> HttpResponse:
    """The palette's options for what was typed (an HTMX fragment; a page without it)."""
    query = (request.GET.get("q") or "").strip()[:100]
    groups = palette_groups(
        request=request, query=query, current_path=request.GET.get("from", "")[:500]
    )
    template = "dashboard/command_palette.html"
    if request.htmx:
        template += "#palette-options"
    return render(request, template, {"groups": groups, "palette_query": query})

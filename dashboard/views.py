from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard import selectors


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

"""Pages of the pipeline import: upload, columns, dry run, progress and result.

Sales managers and administrators import; anyone else gets 404. An import belongs to
whoever uploaded it.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from climcrm.audit import audit_export
from climcrm.roles import is_manager
from climcrm.visibility import get_visible_or_404
from imports import columns, services
from imports.forms import MappingForm, UploadForm
from imports.models import ImportKind, ImportMode, PipelineImport
from leads.uploads import UploadLimitHandler, rejected_rows_response, too_large_message

Status = PipelineImport.Status


def _require_importer(request: HttpRequest) -> None:
    if not is_manager(request.user):
        raise Http404


def _get_import(request: HttpRequest, pk: int) -> PipelineImport:
    _require_importer(request)
    return get_visible_or_404(PipelineImport.objects.filter(created_by=request.user), pk=pk)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def import_start_view(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    # The limit must be in place before anything (the CSRF check included) reads the body.
    request.upload_handlers.insert(0, UploadLimitHandler(request))
    return _import_start(request)


@csrf_protect
def _import_start(request: HttpRequest) -> HttpResponse:
    form = UploadForm(user=request.user, initial={"kind": request.GET.get("kind", "")})
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, user=request.user)
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.CRM_MAX_UPLOAD_BYTES + 64 * 1024 or getattr(
            request, "leads_upload_too_large", False
        ):
            form.is_valid()
            form.add_error(None, too_large_message())
            status = 413
        elif form.is_valid():
            try:
                job = services.import_create(
                    upload=form.cleaned_data["file"],
                    kind=form.cleaned_data["kind"],
                    by=request.user,
                    saved=form.cleaned_data["saved"],
                )
            except services.ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("imports:mapping", pk=job.pk)
    recent = PipelineImport.objects.filter(created_by=request.user).order_by("-created_at")[:10]
    context = {"form": form, "recent": recent, "kinds": _columns_help()}
    return render(request, "imports/import_start.html", context, status=status)


def _columns_help() -> list[dict]:
    return [
        {
            "label": label,
            "columns": [
                {"label": c.label, "required": c.required} for c in columns.columns_of(kind)
            ],
        }
        for kind, label in ImportKind.choices
    ]


@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _get_import(request, pk)
    if job.status not in (Status.MAPPING, Status.CHECKING, Status.CHECKED):
        return redirect("imports:result", pk=job.pk)
    form = MappingForm(request.POST or None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            services.import_set_mapping(
                job=job,
                mapping=form.mapping(),
                mode=form.cleaned_data["mode"],
                save_as=form.cleaned_data["save_as"],
                by=request.user,
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            if form.cleaned_data["save_as"]:
                messages.success(
                    request,
                    _("Mapping saved as “%(name)s”.") % {"name": form.cleaned_data["save_as"]},
                )
            return redirect("imports:dry-run", pk=job.pk)
    labels = columns.field_labels(job.kind)
    missing = [labels[name] for name in services.missing_fields(job.kind, job.mapping)]
    sample = next(services.data_rows(job), None)
    context = {
        "job": job,
        "form": form,
        "missing": missing,
        "rows": list(zip(form.column_fields(), sample[1] if sample else [], strict=False)),
    }
    return render(request, "imports/import_mapping.html", context)


@require_GET
def import_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    """The dry run's progress while a worker checks the rows, then what the import would
    do. With HTMX, only the region that asks again every second while checking."""
    job = _get_import(request, pk)
    if job.status == Status.MAPPING:
        return redirect("imports:mapping", pk=job.pk)
    if job.status not in (Status.CHECKING, Status.CHECKED):
        return redirect("imports:result", pk=job.pk)
    summary = services.DryRun.from_job(job)
    labels = columns.field_labels(job.kind)
    context = {
        "job": job,
        "summary": summary,
        "columns": [labels[name] for name in job.mapping.values()],
        "fields": list(job.mapping.values()),
        "blocked": job.mode == ImportMode.WHOLE_FILE and summary.refused > 0,
        "nothing_to_do": summary.new == 0,
    }
    template = "imports/import_dry_run.html"
    if request.htmx:
        template += "#dry-run"
    return render(request, template, context)


@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the import to a worker and show its progress: it goes on if the page closes."""
    job = _get_import(request, pk)
    services.import_start(job=job)
    return redirect("imports:result", pk=job.pk)


@require_GET
def import_result(request: HttpRequest, pk: int) -> HttpResponse:
    """The import's progress while a worker imports, then its result. With HTMX, only the
    status region (which asks again every second until the import is over)."""
    job = _get_import(request, pk)
    if job.status in (Status.MAPPING, Status.CHECKING, Status.CHECKED):
        return redirect("imports:dry-run", pk=job.pk)
    template = "imports/import_result.html"
    if request.htmx:
        template += "#import-status"
    return render(request, template, {"job": job})


@require_GET
def import_refused(request: HttpRequest, pk: int) -> HttpResponse:
    """The refused rows with their reasons: as imported, or as the dry run sees them."""
    job = _get_import(request, pk)
    audit_export(request, f"pipeline import {job.pk} refused rows")
    return rejected_rows_response(
        kept=job.rejected_content if job.status in (Status.DONE, Status.REFUSED) else None,
        header=services.rejected_header(job),
        results=services.iter_results(job),
        filename=f"refused-{job.pk}.csv",
    )

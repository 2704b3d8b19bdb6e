"""What the lead import's pages share with the pipeline import's (the imports app, built on
this one): the upload limit, and the file of refused rows with their reasons."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpResponse, StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from climcrm.csvexport import SafeWriter
from leads.importing import rejected_line


class UploadLimitHandler(FileUploadHandler):
    """Stops reading an uploaded file as soon as it passes the limit."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.CRM_MAX_UPLOAD_BYTES:
            self.request.leads_upload_too_large = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


def too_large_message() -> str:
    return _("The file is too large (maximum %(size)s).") % {
        "size": filesizeformat(settings.CRM_MAX_UPLOAD_BYTES)
    }


def rejected_rows_response(
    *, kept: str | None, header: list[str], results: Iterable[Any], filename: str
) -> HttpResponse:
    """The refused rows as a CSV file: those the import kept once it ran (``kept``), else
    the refused ones among ``results``, the rows as the preview checks them (streamed)."""
    response: HttpResponse
    if kept is not None:
        response = HttpResponse("\ufeff" + kept, content_type="text/csv; charset=utf-8")
    else:
        writer = SafeWriter(delimiter=";")

        def rows():
            yield "\ufeff"
            yield writer.writerow(header)
            for result in results:
                if result.errors:
                    yield writer.writerow(rejected_line(result))

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

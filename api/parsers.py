"""JSON bodies, bounded: a body over ``CRM_API_MAX_BODY_BYTES`` is refused (413) before it is
read whole."""

import json

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.CRM_API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            declared = int(length or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise PayloadTooLarge
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge
        try:
            return json.loads(body.decode(settings.DEFAULT_CHARSET or "utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(_("The body is not valid JSON.")) from exc

"""One shape for every error: ``{"errors": {field: [message, ...]}}`` for invalid input,
``{"detail": message}`` otherwise, with the messages of the pages (in the language of
``Accept-Language``)."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from leads.services import LeadAlreadyConvertedError, LeadReadOnlyError
from opportunities.services import StaleVersionError


def _as_lists(data) -> dict:
    if isinstance(data, dict):
        errors = {}
        for name, value in data.items():
            key = api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name
            if isinstance(value, dict):
                value = [
                    f"{inner}: {' '.join(map(str, v))}" for inner, v in _as_lists(value).items()
                ]
            elif not isinstance(value, list):
                value = [value]
            errors[key] = [str(message) for message in value]
        return errors
    if not isinstance(data, list):
        data = [data]
    return {api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in data]}


def _from_django(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return _as_lists(exc.message_dict)
    return _as_lists(exc.messages)


def handle(exc, context):
    if isinstance(exc, StaleVersionError):
        return Response(
            {"detail": str(exc), "version": exc.opportunity.version}, status.HTTP_409_CONFLICT
        )
    if isinstance(exc, LeadReadOnlyError | LeadAlreadyConvertedError):
        return Response({"detail": str(exc)}, status.HTTP_409_CONFLICT)
    if isinstance(exc, PermissionError):
        return Response({"detail": str(exc)}, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        return Response({"errors": _from_django(exc)}, status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _as_lists(response.data)}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response

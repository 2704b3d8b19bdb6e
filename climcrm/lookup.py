"""Selects whose options grow with the data (accounts, contacts): past a threshold the page
carries only the chosen option and the address of a JSON lookup that the browser asks as
the user types; below it every option is rendered, so small installations work without
JavaScript. Validation never changes: the field's queryset stays the visible rows."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator
from django.urls import reverse

# How many rows a lookup answers with.
LOOKUP_LIMIT = 20


def lookup_threshold() -> int:
    return settings.CRM_LOOKUP_THRESHOLD


def exceeds_threshold(queryset: QuerySet) -> bool:
    """More rows than the threshold, read with a bounded query (never a count of all)."""
    limit = lookup_threshold()
    return len(queryset.order_by().values_list("pk", flat=True)[: limit + 1]) > limit


class LookupSelect(forms.Select):
    """A select that, over the threshold, renders only its selected option(s) plus
    ``data-lookup-url``; ``forward`` names other fields of the form whose values the
    browser sends with the query (``account`` narrows a contact lookup)."""

    def __init__(self, *, url_name: str, forward: tuple[str, ...] = (), attrs=None):
        super().__init__(attrs)
        self.url_name = url_name
        self.forward = forward
        self._remote = False

    def get_context(self, name, value, attrs):
        iterator = self.choices
        self._remote = isinstance(iterator, ModelChoiceIterator) and exceeds_threshold(
            iterator.queryset
        )
        if self._remote:
            attrs = {**(attrs or {}), "data-lookup-url": reverse(self.url_name)}
            if self.forward:
                attrs["data-lookup-forward"] = " ".join(self.forward)
        return super().get_context(name, value, attrs)

    def optgroups(self, name, value, attrs=None):
        if not self._remote:
            return super().optgroups(name, value, attrs)
        every = self.choices
        assert isinstance(every, ModelChoiceIterator)  # _remote is only set for one
        self.choices = self._selected_choices(every, value)
        try:
            return super().optgroups(name, value, attrs)
        finally:
            self.choices = every

    @staticmethod
    def _selected_choices(iterator: ModelChoiceIterator, value) -> list:
        field = iterator.field
        choices = [("", field.empty_label)] if field.empty_label is not None else []
        keys = [item for item in value if item not in ("", None)]
        if not keys:
            return choices
        key = field.to_field_name or "pk"
        try:
            rows = list(iterator.queryset.filter(**{f"{key}__in": keys}))
        except (ValueError, TypeError, ValidationError):
            return choices  # a malformed posted value: the field's error says so
        return choices + [iterator.choice(row) for row in rows]


def use_lookup(field: forms.ModelChoiceField, url_name: str, *, forward=()) -> None:
    """Give ``field`` (its queryset already set) a ``LookupSelect`` answered by
    ``url_name``."""
    widget = LookupSelect(url_name=url_name, forward=tuple(forward), attrs=field.widget.attrs)
    widget.is_required = field.widget.is_required
    widget.choices = field.choices  # type: ignore[assignment]  # as ModelChoiceField does
    field.widget = widget

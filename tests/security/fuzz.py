"""Hypothesis strategies and helpers shared by the fuzz tests."""

from __future__ import annotations

from django import forms
from django.forms.formsets import BaseFormSet
from hypothesis import strategies as st

from tests.security import crawl

NASTY_STRINGS = [
    "",
    " ",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e309",
    "-1e309",
    "1e-400",
    "-1",
    "-0",
    "-100",
    "-99999999999999999999999999",
    "99999999999999999999999999999999",
    "9" * 400,
    "0x1F",
    "1,5",
    "1'000.50",
    "1 000,50",
    "12.345.678,9",
    "2026-02-30",
    "2026-13-01",
    "2026-00-10",
    "31.12.2026",
    "12/31/2026",
    "0000-00-00",
    "9999-12-31",
    "10000-01-01",
    "-2026-01-01",
    "2026-06-15T25:61:00",
    "yesterday",
    "\x00",
    "a\x00b",
    "null",
    "None",
    "true",
    "on",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '"; DROP TABLE leads; --',
    "../../../etc/passwd",
    "%s%s%s%n",
    "{{ 7*7 }}",
    "{% debug %}",
    "=cmd|' /C calc'!A0",
    "\u202egnp.exe",
    "😀" * 60,
    "ß" * 1000,
    "Ⅻ",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() and int() accept them
    "²",  # str.isdigit() says yes, int() says no
    "①",
    "x" * 100_000,
]

nasty = st.sampled_from(NASTY_STRINGS)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
dates = st.one_of(
    st.dates().map(str),
    st.datetimes().map(str),
    st.tuples(st.integers(-1, 10000), st.integers(-1, 14), st.integers(-1, 40)).map(
        lambda t: f"{t[0]}-{t[1]:02}-{t[2]:02}"
    ),
)
garbage = st.one_of(nasty, st.text(max_size=200), numbers, dates)


def field_values(field: forms.Field | None) -> st.SearchStrategy:
    """Garbage, plus now and then a valid choice so validation goes past the first field."""
    options = [garbage, st.lists(garbage, min_size=2, max_size=3)]
    choices = getattr(field, "choices", None) if field is not None else None
    if choices is not None:
        valid = []
        try:
            for value, _label in choices:
                value = getattr(value, "value", value)
                if isinstance(value, list | tuple):
                    continue
                valid.append(str(value))
                if len(valid) > 30:
                    break
        except Exception:  # noqa: BLE001 - some choice iterators need a request
            valid = []
        if valid:
            options.append(st.sampled_from(valid))
    if isinstance(field, forms.BooleanField):
        options.append(st.sampled_from(["on", "true", "false", "0", "1"]))
    return st.one_of(*options)


def context_values(context) -> list:
    """Every value of a test response's context (a Context, or a list of them)."""
    if context is None:
        return []
    layers = context if isinstance(context, list) else [context]
    values = []
    for layer in layers:
        if hasattr(layer, "flatten"):
            values += list(layer.flatten().values())
        elif isinstance(layer, dict):
            values += list(layer.values())
    return values


def form_fields(context) -> dict[str, forms.Field | None]:
    """The POST names of every form and formset in a response's context."""
    names: dict[str, forms.Field | None] = {}
    for value in context_values(context):
        if isinstance(value, forms.BaseForm) and not _is_filter_form(value):
            for name, field in value.fields.items():
                names[value.add_prefix(name)] = field
        elif isinstance(value, BaseFormSet):
            management = value.management_form
            for name, field in management.fields.items():
                names[management.add_prefix(name)] = field
            for form in list(value.forms)[:2]:
                for name, field in form.fields.items():
                    names[form.add_prefix(name)] = field
    return names


def _is_filter_form(form) -> bool:
    # django-filter's forms are for GET; posting their fields means nothing.
    return type(form).__module__.startswith("django_filters")


def _has_errors(value) -> bool:
    if isinstance(value, forms.BaseForm):
        return value.is_bound and bool(value.errors)
    if isinstance(value, BaseFormSet):
        return value.is_bound and value.total_error_count() > 0
    return False


def has_error_message(response) -> bool:
    """A post/redirect/get refusal: an error message this request queued for the next page.

    Only this request's own messages count: the test client follows no redirect, so a message
    an earlier refusal queued is still in the session and would mark an acceptance refused.
    """
    from django.contrib import messages

    request = getattr(response, "wsgi_request", None)
    if request is None:
        return False
    queued = getattr(messages.get_messages(request), "_queued_messages", [])
    return any(m.level >= messages.ERROR for m in queued)


def bound_forms_with_errors(context) -> list:
    return [value for value in context_values(context) if _has_errors(value)]


GENERIC_NAMES = [
    "stage",
    "version",
    "amount",
    "probability",
    "close_date",
    "commit_amount",
    "note",
    "notes",
    "subject",
    "kind",
    "due_date",
    "done",
    "reason",
    "status",
    "text",
    "name",
    "deal",
    "lead",
    "partner",
    "owner",
    "assignee",
    "decision_reason",
    "quarter",
    "year",
    "ids",
    "action",
    "next",
    "page",
]


def payloads(names: dict[str, forms.Field | None]) -> st.SearchStrategy:
    """Any subset of the fields (missing ones included), each with a nasty value."""
    return st.fixed_dictionaries({}, optional={n: field_values(f) for n, f in names.items()})


def snapshot() -> dict:
    """Every row of the project's data, to prove a refused submission wrote nothing."""
    state = {}
    for model in crawl.project_models():
        if model._meta.label_lower in crawl.JOURNAL_MODELS:
            continue
        state[model._meta.label_lower] = list(model._default_manager.order_by("pk").values())
    return state


def diff(before: dict, after: dict) -> list[str]:
    changes = []
    for label in before:
        if before[label] != after.get(label):
            old = {_key(row): row for row in before[label]}
            new = {_key(row): row for row in after.get(label, [])}
            added = sorted(set(new) - set(old))
            removed = sorted(set(old) - set(new))
            changed = [
                (pk, {k: (old[pk][k], new[pk][k]) for k in old[pk] if old[pk][k] != new[pk][k]})
                for pk in set(old) & set(new)
                if old[pk] != new[pk]
            ]
            changes.append(f"{label}: added {added} removed {removed} changed {changed[:3]}")
    return changes


def _key(row: dict):
    return row.get("id", repr(sorted(row.items(), key=lambda item: item[0])))

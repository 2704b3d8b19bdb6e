"""Free text that people type (notes, reasons, review answers): one limit per field.

The limit is the model field's ``max_length``. Every form built from the field (ModelForms,
the admin, forms that ask the field for its form field) validates it and puts it on the
textarea's ``maxlength``; the CSV import reads it from the model too. Django does not
check a TextField's max_length at the model level, and neither do we: services keep
accepting the rows they are given, so text stored before a limit existed never blocks a
save of other fields.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import ngettext_lazy

# A reason or a short note: why a lead was disqualified, why a deal was lost…
REASON_MAX_LENGTH = 2_000
# Notes on one record, a need, an answer in a review.
NOTE_MAX_LENGTH = 5_000
# Text that grows over the life of a record: an account's notes, an activity's description,
# a section of a quarterly review.
LONG_NOTE_MAX_LENGTH = 10_000


def text_length(value: str) -> int:
    """Characters as a browser counts them against ``maxlength``: a line break is one,
    although the browser sends it as CR LF."""
    return len(value.replace("\r\n", "\n"))


def _same_text(value: str, stored) -> bool:
    if not isinstance(stored, str):
        return False
    return value.replace("\r\n", "\n").strip() == stored.replace("\r\n", "\n").strip()


class FreeTextFormField(forms.CharField):
    """A textarea limited to ``max_length`` characters, counted as the browser counts them.

    Text longer than the limit that was stored before the limit existed is accepted when it
    comes back unchanged, so that editing another field of the same form still works. The
    stored text is the bound field's initial value: a ModelForm's instance, or the
    ``initial`` a form is given.
    """

    widget = forms.Textarea
    default_error_messages = {
        "too_long": ngettext_lazy(
            "This text is too long: at most %(limit)d character, it has %(length)d.",
            "This text is too long: at most %(limit)d characters, it has %(length)d.",
            "limit",
        ),
    }

    def __init__(self, *, max_length: int, **kwargs):
        # Not CharField's max_length: its validator counts a line break as two characters.
        self.text_max_length = max_length
        self.stored_text = None
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if not widget.is_hidden:
            attrs["maxlength"] = str(self.text_max_length)
        return attrs

    def _clean_bound_field(self, bf):
        # The one place a field sees both what was sent and what the form started from.
        self.stored_text = bf.initial
        return super()._clean_bound_field(bf)  # type: ignore[misc]  # not in django-stubs

    def validate(self, value):
        super().validate(value)
        length = text_length(value or "")
        if length > self.text_max_length and not _same_text(value, self.stored_text):
            raise ValidationError(
                self.error_messages["too_long"],
                code="too_long",
                params={"limit": self.text_max_length, "length": length},
            )


def keep_stored_text(form, instance) -> None:
    """Give a form that is not a ModelForm the free text stored on ``instance``."""
    for name, field in form.fields.items():
        if isinstance(field, FreeTextFormField) and hasattr(instance, name):
            field.initial = getattr(instance, name)


class FreeTextField(models.TextField):
    """A TextField people type into, limited to ``max_length`` characters (see above)."""

    def __init__(self, *args, max_length: int = NOTE_MAX_LENGTH, **kwargs):
        kwargs["max_length"] = max_length
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        # Migrations see a plain TextField with a max_length: no schema change, and no
        # migration depends on this module.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": FreeTextFormField, **kwargs})

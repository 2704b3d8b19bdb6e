from django import forms
from django.utils.translation import gettext_lazy as _

from imports import columns
from imports.models import ImportKind, ImportMode, SavedMapping
from leads.forms import ImportUploadForm

NOT_IMPORTED = ""


class UploadForm(ImportUploadForm):
    kind = forms.ChoiceField(
        label=_("What the file holds"), choices=ImportKind.choices, widget=forms.RadioSelect
    )
    saved = forms.ModelChoiceField(
        label=_("Saved column mapping"),
        queryset=SavedMapping.objects.none(),
        required=False,
        empty_label=_("None: recognise the columns by their headers"),
    )
    field_order = ["kind", "file", "saved"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["saved"].queryset = SavedMapping.objects.filter(created_by=user)
        self.fields["saved"].label_from_instance = lambda saved: (
            f"{saved.name} ({saved.get_kind_display()})"
        )


class MappingForm(forms.Form):
    """One choice per column of the file: the field it fills, or not imported."""

    mode = forms.ChoiceField(
        label=_("When a row is refused"),
        choices=ImportMode.choices,
        widget=forms.RadioSelect,
        initial=ImportMode.PER_ROW,
    )
    save_as = forms.CharField(
        label=_("Save this mapping as"),
        max_length=100,
        required=False,
        help_text=_("A name to apply the same columns to the next file (optional)."),
    )

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        choices = [(NOT_IMPORTED, _("— not imported —"))] + [
            (column.field, column.label) for column in columns.columns_of(job.kind)
        ]
        for index, title in enumerate(job.header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=title or _("Column %(number)s") % {"number": index + 1},
                choices=choices,
                required=False,
                initial=job.mapping.get(str(index), NOT_IMPORTED),
            )
        self.fields["mode"].initial = job.mode
        self.order_fields([f"column_{i}" for i in range(len(job.header))] + ["mode", "save_as"])

    def column_fields(self):
        return [self[f"column_{index}"] for index in range(len(self.job.header))]

    def mapping(self) -> dict[str, str]:
        return {
            str(index): self.cleaned_data[f"column_{index}"]
            for index in range(len(self.job.header))
            if self.cleaned_data.get(f"column_{index}")
        }

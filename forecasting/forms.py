from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from climcrm.models import User
from climcrm.roles import Role


class TargetForm(forms.Form):
    target_for = forms.ChoiceField(label=_("Target for"))
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label=_("Quarter"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)]
    )
    amount = forms.DecimalField(
        label=_("Target amount"), min_value=0, max_digits=14, decimal_places=2
    )

    def __init__(self, *args, partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["year"].initial = today.year
        self.fields["quarter"].initial = (today.month - 1) // 3 + 1
        reps = (
            User.objects.filter(
                is_active=True,
                partner__isnull=True,
                groups__name__in=[Role.SALES_REP, Role.SALES_MANAGER],
            )
            .distinct()
            .order_by("last_name", "first_name")
        )
        self._reps = {str(u.pk): u for u in reps}
        self._partners = {str(p.pk): p for p in partners}
        self.fields["target_for"].choices = [
            ("", "—"),
            (
                _("Sales reps"),
                [(f"rep:{pk}", u.get_full_name() or u.username) for pk, u in self._reps.items()],
            ),
            (_("Partners"), [(f"partner:{pk}", str(p)) for pk, p in self._partners.items()]),
        ]

    def clean_target_for(self):
        kind, _sep, pk = self.cleaned_data["target_for"].partition(":")
        if kind == "rep" and pk in self._reps:
            return {"user": self._reps[pk], "partner": None}
        if kind == "partner" and pk in self._partners:
            return {"user": None, "partner": self._partners[pk]}
        raise forms.ValidationError(_("Choose a sales rep or a partner from the list."))


class ChangesForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    @staticmethod
    def default_range() -> tuple[date, date]:
        today = timezone.localdate()
        return today.replace(day=1), today

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must be on or before the end date."))
        if start and end and (end - start).days > 366 * 3:
            raise forms.ValidationError(_("Choose a range of at most three years."))
        return data

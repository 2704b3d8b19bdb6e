from django import forms
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, ActivityKind
from climcrm.models import User


class AssigneeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class ActivityForm(forms.Form):
    """Add or change an activity; the service checks who may do what."""

    kind = forms.ChoiceField(
        label=_("Type"), choices=ActivityKind.choices, initial=ActivityKind.TASK
    )
    subject = forms.CharField(label=_("Subject"), max_length=255)
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    assignee = AssigneeChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Me"),
    )
    description = Activity._meta.get_field("description").formfield(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    done = forms.BooleanField(label=_("Already done"), required=False)

    def __init__(self, *args, assignees=None, with_done: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if assignees is not None:
            self.fields["assignee"].queryset = assignees
        if not with_done:
            del self.fields["done"]

    @classmethod
    def for_activity(cls, activity: Activity, **kwargs) -> "ActivityForm":
        initial = {
            "kind": activity.kind,
            "subject": activity.subject,
            "due_date": activity.due_date,
            "assignee": activity.assignee,
            "description": activity.description,
        }
        return cls(initial=initial, with_done=False, **kwargs)

"""The quick select widgets write exactly the HTML of Django's own select templates."""

import pytest
from django import forms

from climcrm import widgets

CHOICES = [
    ("", "Any owner"),
    (1, "Zoé <Dupont> & fils"),
    ('a"b', "Quote's"),
    ("Group", [(2, "In a group"), (3, "Another")]),
    (4, ""),
]


@pytest.mark.parametrize(
    ("quick", "django", "value", "attrs"),
    [
        (widgets.Select, forms.Select, "", {"id": "id_owner"}),
        (widgets.Select, forms.Select, 1, {"id": "id_owner", "class": "a&b"}),
        (widgets.Select, forms.Select, 3, {"id": "x", "required": True, "disabled": False}),
        (widgets.Select, forms.Select, None, None),
        (widgets.SelectMultiple, forms.SelectMultiple, [1, 3], {"id": "id_stage", "size": 3}),
        (widgets.SelectMultiple, forms.SelectMultiple, [], {"id": "id_stage"}),
    ],
)
def test_quick_select_writes_the_html_of_djangos_templates(quick, django, value, attrs):
    html = quick(choices=CHOICES).render("owner", value, attrs=attrs)
    assert html == django(choices=CHOICES).render("owner", value, attrs=attrs)


def test_a_model_choice_field_renders_the_same(db):
    from climcrm.models import User
    from tests.factories import UserFactory

    UserFactory(username="o'hara", first_name="Ève", last_name="<O'Hara>")
    UserFactory(username="b")
    queryset = User.objects.order_by("pk")

    def bound(widget):
        form = forms.Form()
        form.fields["owner"] = forms.ModelChoiceField(queryset=queryset, widget=widget)
        return str(form["owner"])

    assert bound(widgets.Select) == bound(forms.Select)


def test_templates_see_the_same_widget_type():
    form = forms.Form()
    form.fields["one"] = forms.ChoiceField(choices=CHOICES, widget=widgets.Select)
    form.fields["many"] = forms.MultipleChoiceField(choices=CHOICES, widget=widgets.SelectMultiple)
    assert (form["one"].widget_type, form["many"].widget_type) == ("select", "selectmultiple")

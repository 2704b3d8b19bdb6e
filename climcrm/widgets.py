"""Form widgets that write their HTML in Python.

A filter bar's select of owners or partners has dozens of options, and Django's templates
render each option through two includes: on the board and the list that was a quarter of
the page's rendering. These widgets write the very same HTML (``tests/test_widgets.py``
compares it with Django's templates) without the templates.
"""

from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``: `` name="value"``, the bare name for True,
    nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(parts)


class QuickSelectMixin:
    """``django/forms/widgets/select.html`` and ``select_option.html``, written in Python."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        html = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                html.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in group_choices:
                html.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                    f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


# Named as Django's: a bound field's ``widget_type`` (which templates test) is the class name.
class Select(QuickSelectMixin, forms.Select):
    pass


class SelectMultiple(QuickSelectMixin, forms.SelectMultiple):
    pass

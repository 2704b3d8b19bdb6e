"""A faster form renderer for the review screen's many small widgets."""

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.safestring import SafeData, mark_safe

_WIDGETS = "django/forms/widgets/"
# Django's widget templates that are nothing but ``{% include "…/input.html" %}``.
_INPUTS = {
    f"{_WIDGETS}{name}.html"
    for name in ("checkbox", "color", "date", "datetime", "email", "hidden", "number")
    + ("password", "search", "tel", "text", "time", "url")
}
# ``{{ … }}`` outside a template: the same localization and escaping.
_VALUES = Context(autoescape=True)


def _show(value) -> str:
    return render_value_in_context(value, _VALUES)


def _show_string(value) -> str:
    """``{{ value|stringformat:'s' }}``: the filter keeps a safe string safe."""
    text = stringformat(value, "s")
    return _show(mark_safe(text) if isinstance(value, SafeData) else text)


def _attrs(attrs: dict) -> str:
    """Django's ``attrs.html``: ``name="value"``, a bare name for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(
            f" {_show(name)}" if value is True else f' {_show(name)}="{_show_string(value)}"'
        )
    return "".join(parts)


class WidgetRenderer(DjangoTemplates):
    """Django's input, text area and select templates, written out in Python.

    The review screen renders about 150 widgets (each lead's seven flags, each outcome's
    notes, the to-do's list of people); through the template engine each is two or three
    nested includes, a third of the page's time. The markup is the same character for
    character (tests/pipeline_reviews/test_widget_renderer.py compares it with Django's);
    any other template (radio buttons, check box lists, whole forms) is Django's own.
    """

    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        if template_name in _INPUTS:
            return self._input(widget)
        if template_name == f"{_WIDGETS}textarea.html":
            return self._textarea(widget)
        if template_name == f"{_WIDGETS}select.html":
            return self._select(widget)
        return super().render(template_name, context, request)

    def _input(self, widget) -> str:
        value = widget["value"]
        shown = f' value="{_show_string(value)}"' if value is not None else ""
        return (
            f'<input type="{_show(widget["type"])}" name="{_show(widget["name"])}"'
            f"{shown}{_attrs(widget['attrs'])}>"
        )

    def _textarea(self, widget) -> str:
        value = _show(widget["value"]) if widget["value"] else ""
        name, attrs = _show(widget["name"]), _attrs(widget["attrs"])
        return f'<textarea name="{name}"{attrs}>\n{value}</textarea>'

    def _select(self, widget) -> str:
        parts = [f'<select name="{_show(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{_show(group_name)}">')
            parts.extend(f"\n  {self._option(option)}" for option in options)
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return "".join(parts)

    def _option(self, option) -> str:
        # An include keeps the template's last line break: select.html's output has it too.
        if option["template_name"] != f"{_WIDGETS}select_option.html":
            return self.get_template(option["template_name"]).render({"widget": option})
        return (
            f'<option value="{_show_string(option["value"])}"{_attrs(option["attrs"])}>'
            f"{_show(option['label'])}</option>\n"
        )


WIDGETS = WidgetRenderer()

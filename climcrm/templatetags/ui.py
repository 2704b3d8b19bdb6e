"""The design system's template tags: components with slots, icons, status tones, form
helpers. Loaded on every template (settings.TEMPLATES builtins)."""

import functools

from django import forms, template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import token_kwargs
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


class SlotNode(template.Node):
    """A named part of a component's body; rendered by the component, not in place."""

    def __init__(self, name: str, nodelist):
        self.name = name
        self.nodelist = nodelist

    def render(self, context):
        return ""


class ComponentNode(template.Node):
    def __init__(self, name: str, kwargs: dict, nodelist, slots: list[SlotNode]):
        self.template_name = f"components/{name}.html"
        self.kwargs = kwargs
        self.nodelist = nodelist
        self.slots = slots

    def render(self, context):
        values = {key: value.resolve(context) for key, value in self.kwargs.items()}
        # Rendered in the caller's context, before the component's own values shadow it.
        for slot in self.slots:
            values[slot.name] = mark_safe(slot.nodelist.render(context).strip())
        values["content"] = mark_safe(self.nodelist.render(context).strip())
        component = context.template.engine.get_template(self.template_name)
        with context.push(**values):
            return component.render(context)


@register.tag
def component(parser, token):
    """``{% component "page_header" title=... %}body{% slot "actions" %}…{% endslot %}
    {% endcomponent %}`` renders templates/components/page_header.html with the keyword
    values, each slot as a variable of its name and the rest of the body as ``content``.
    Slots sit directly in the body (not inside another tag)."""
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("component needs a name")
    name = bits[1].strip("\"'")
    kwargs = token_kwargs(bits[2:], parser)
    if len(kwargs) != len(bits[2:]):
        raise template.TemplateSyntaxError(f"component {name}: only keyword arguments")
    nodelist = parser.parse(("endcomponent",))
    parser.delete_first_token()
    slots = [node for node in nodelist if isinstance(node, SlotNode)]
    return ComponentNode(name, kwargs, nodelist, slots)


@register.tag
def slot(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("slot needs a name")
    nodelist = parser.parse(("endslot",))
    parser.delete_first_token()
    return SlotNode(bits[1].strip("\"'"), nodelist)


@functools.cache
def _sprite_url() -> str:
    # The sprite's URL (with its hash under manifest storage) is the same for the whole
    # process: looked up once, not for each of the board's hundreds of icons.
    return static("vendor/lucide/icons.svg")


@receiver(setting_changed)
def _forget_sprite_url(*, setting: str, **kwargs) -> None:
    if setting in ("STATIC_URL", "STORAGES"):
        _sprite_url.cache_clear()


@register.simple_tag
def icon(name: str, label: str = ""):
    """A Lucide icon from the sprite; decorative unless a label is given."""
    href = f"{_sprite_url()}#{name}"
    if label:
        return format_html(
            '<svg class="icon" role="img" aria-label="{}"><use href="{}"></use></svg>', label, href
        )
    return format_html(
        '<svg class="icon" aria-hidden="true" focusable="false"><use href="{}"></use></svg>', href
    )


# Tones of the status pills: colour is never the only signal (the pill always has its text).
_TONES = {
    # deal stages
    "qualification": "neutral",
    "needs_analysis": "info",
    "proposal": "info",
    "negotiation": "accent",
    "closed_won": "success",
    "closed_lost": "danger",
    # forecast categories
    "pipeline": "neutral",
    "best_case": "info",
    "commit": "accent",
    "closed": "success",
    "omitted": "neutral",
    # lead statuses
    "new": "info",
    "working": "neutral",
    "mql": "accent",
    "converted": "success",
    "disqualified": "danger",
    # registrations
    "submitted": "info",
    "accepted": "success",
    "rejected": "danger",
    "returned": "warning",
    "expired": "neutral",
    # reviews
    "draft": "info",
    "in_progress": "warning",
    "open": "warning",
    "done": "success",
    # generic
    "won": "success",
    "lost": "danger",
    "customer": "success",
    "prospect": "neutral",
    "stale": "warning",
    "overdue": "danger",
    "conflict": "warning",
}


@register.filter
def tone(value) -> str:
    """The pill tone of a status value (stage, lead status, registration status…)."""
    return _TONES.get(str(value), "neutral")


@register.filter
def fields_named(form, names: str) -> list:
    """The bound fields of ``form`` named in the comma-separated ``names`` that the form
    has (a form may drop fields for some users), in that order."""
    return [form[name.strip()] for name in names.split(",") if name.strip() in form.fields]


@register.simple_tag
def field_widget(field, form_id: str = ""):
    """The field's widget, described by its error messages (Django links the help text);
    ``form_id`` ties a control placed outside its <form> to it (the form attribute)."""
    attrs = {}
    if field.errors:
        described = [f"{field.auto_id}_error"]
        if field.help_text:
            described.append(f"{field.auto_id}_helptext")
        attrs["aria-describedby"] = " ".join(described)
    if form_id:
        attrs["form"] = form_id
    return field.as_widget(attrs=attrs) if attrs else field.as_widget()


@register.filter
def print_value(field) -> str:
    """What a printed page shows instead of the control: the value as text, a choice's
    label. Choices from the database are left out (they would cost a query each)."""
    widget = field.field.widget
    value = field.value()
    if value in (None, ""):
        return ""
    if isinstance(widget, forms.CheckboxInput):
        return "✓" if value else ""
    if isinstance(field.field, forms.ModelChoiceField):
        return ""
    if isinstance(field.field, forms.ChoiceField):
        labels = {
            str(key): label
            for key, label in getattr(field.field, "choices", ())
            if not isinstance(label, (list, tuple))
        }
        if isinstance(value, (list, tuple)):
            return ", ".join(str(labels.get(str(item), item)) for item in value)
        return str(labels.get(str(value), value))
    return str(value)

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.core.exceptions import ValidationError
from django.template import loader
from django.utils import translation

from climcrm import outbox
from climcrm.models import OutgoingEmail


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's reset form, with emails in each user's language and links on CRM_BASE_URL.

    ``save()`` writes the emails into the outbox (``self.outbox``) without sending them:
    it runs in a worker (``climcrm.tasks.send_password_reset``), which then delivers them,
    so the page answers the same, as fast, whether the address is known or not, and a
    mail server that fails delays the email instead of losing it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autofocus": True})
        self.outbox: list[OutgoingEmail] = []

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        user = context["user"]
        language = user.language if user.language in ("fr", "en") else settings.LANGUAGE_CODE
        context = {
            **context,
            # Links are built on the configured address, never on the request's Host header.
            "base_url": settings.CRM_BASE_URL,
            "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        }
        with translation.override(language):
            subject = loader.render_to_string(subject_template_name, context)
            body = loader.render_to_string(email_template_name, context)
        row = outbox.email_queue(
            to=to_email,
            subject=subject,
            text=body,
            kind="password_reset",
            language=language,
            recipient=user,
            sensitive=True,
            send_after_commit=False,
        )
        if row is not None:  # always written: a reset email has no key to repeat
            self.outbox.append(row)


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's refusal on the form: each message on the field it names when the form
    has that field; the others, and a refusal that names no field, above the form."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)

import logging

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils import translation

logger = logging.getLogger(__name__)


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's reset form, with emails in each user's language and links on CRM_BASE_URL.

    ``save()`` only prepares the emails (``self.outbox``); ``deliver()`` sends them, so the
    view can answer first and send afterwards: the answer is the same page, given as fast,
    whether the address is known or not.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autofocus": True})
        self.outbox: list[EmailMultiAlternatives] = []

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
        message = EmailMultiAlternatives(
            "".join(subject.splitlines()), body, from_email, [to_email]
        )
        self.outbox.append(message)

    def deliver(self) -> int:
        """Send what ``save()`` prepared; a mail server that fails is logged, not raised."""
        sent = 0
        for message in self.outbox:
            try:
                sent += message.send()
            except Exception:  # noqa: BLE001 - any mail failure: the user may ask again
                logger.exception("Password reset email not sent")
        self.outbox = []
        return sent

"""Email backends for tests: a mail server that refuses every message."""

from smtplib import SMTPException

from django.core.mail.backends.base import BaseEmailBackend

FAILING = {"default": {"BACKEND": "tests.mailbackends.RefusingEmailBackend"}}
WORKING = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


class RefusingEmailBackend(BaseEmailBackend):
    """The mail server is down: every send raises, as smtplib does."""

    def send_messages(self, email_messages):
        raise SMTPException("Connection unexpectedly closed")

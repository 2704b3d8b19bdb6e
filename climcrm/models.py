from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    class PartnerTitle(models.TextChoices):
        SALES_DIRECTOR = "sales_director", _("Partner sales director")
        SALESPERSON = "salesperson", _("Salesperson")
        CHAMPION = "champion", _("Champion")

    language = models.CharField(
        _("language"),
        max_length=8,
        choices=[("fr", _("French")), ("en", _("English"))],
        default="fr",
        help_text=_("Language of the interface and of the emails this person receives."),
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="team_members",
        help_text=_("The sales manager whose team this person belongs to."),
    )
    # The hook for partner users: the partner company whose deals this person works.
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    partner_title = models.CharField(
        _("title at the partner"), max_length=20, choices=PartnerTitle.choices, blank=True
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


def internal_users() -> models.QuerySet:
    """Active users of the company (no partner user), by name: who may own a record."""
    return (
        User.objects.filter(is_active=True, partner__isnull=True)
        .exclude(groups__name="partner_user")
        .order_by("first_name", "last_name", "username")
        .distinct()
    )


class AuditEntry(models.Model):
    """Who did what that an administrator may have to account for (exports, logins, erasures)."""

    class Action(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logout")
        EXPORT = "export", _("CSV export")
        ANONYMISE = "anonymise", _("Anonymisation")
        PASSWORD_CHANGE = "password_change", _("Password change")
        PASSWORD_RESET = "password_reset", _("Password reset by email")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        User, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, db_index=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.user or ''}"


class RateLimitHit(models.Model):
    """One attempt counted by a rate limit (``climcrm.ratelimit``).

    Kept in the database so every web server sees the same count.
    """

    scope = models.CharField(_("limit"), max_length=40)
    key = models.CharField(_("key (hashed)"), max_length=64)
    at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("rate-limited attempt")
        verbose_name_plural = _("rate-limited attempts")
        indexes = [models.Index(fields=["scope", "key", "at"], name="ratelimit_scope_key_at")]

    def __str__(self) -> str:
        return f"{self.scope} {self.at:%Y-%m-%d %H:%M}"


class EmailStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("email status", "Waiting")
    SENDING = "sending", pgettext_lazy("email status", "Sending")
    SENT = "sent", pgettext_lazy("email status", "Sent")
    FAILED = "failed", pgettext_lazy("email status", "Failed")


class OutboxEmail(models.Model):
    """An email as it will leave, written in the transaction of the change it tells about.

    A change rolled back writes no email; a committed one always has its email, which a
    worker sends (``climcrm.outbox.deliver``): claimed by one worker only, marked sent once,
    retried later with back-off when the mail server fails.
    """

    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=255)
    text_body = models.TextField(_("text"))
    html_body = models.TextField(_("HTML"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # When a worker took it to send; a claim older than the sending time-out was lost.
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        abstract = True

    def headers(self) -> dict[str, str]:
        return {"X-ClimCRM-Outbox": f"{self._meta.label_lower}:{self.pk}"}


class OutgoingEmail(OutboxEmail):
    """Every email but the review recaps (kept with their review): registration decisions
    and reminders, password resets."""

    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    recipient = models.ForeignKey(
        User,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the email is about, for emails written by periodic jobs: the same key is
    # never written twice, so a reminder goes out once whatever runs the job again.
    key = models.CharField(_("key"), max_length=200, null=True, blank=True, unique=True)
    # The body carries a secret (a password-reset link): not shown in the admin, and
    # wiped once sent.
    sensitive = models.BooleanField(_("confidential"), default=False)

    class Meta:
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outgoing_email_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.email}"


class ScheduledRun(models.Model):
    """One occurrence of a periodic job, started once: the unique pair (job, occurrence)
    is what keeps two workers from starting it twice."""

    job = models.CharField(_("job"), max_length=200)
    occurrence = models.DateTimeField(_("occurrence"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    task_id = models.CharField(_("task"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("periodic job run")
        verbose_name_plural = _("periodic job runs")
        ordering = ["-occurrence", "job"]
        constraints = [
            models.UniqueConstraint(fields=["job", "occurrence"], name="scheduled_run_once")
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.occurrence:%Y-%m-%d %H:%M}"


class SavedView(TimeStampedModel):
    """A list's filters and sort kept under a name: the list's query string, checked by the
    list's own filters when saved and applied again by them when opened, so a view never
    shows more than its user may see.

    Personal unless shared: a shared view is offered to the owner's team (internal users
    for an internal owner, the users of the same partner for a partner user)."""

    class List(models.TextChoices):
        OPPORTUNITIES = "opportunities", _("Opportunities")
        BOARD = "board", pgettext_lazy("board", "Pipeline")
        LEADS = "leads", _("Leads")
        ACCOUNTS = "accounts", _("Accounts")

    owner = models.ForeignKey(
        User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="saved_views"
    )
    list_name = models.CharField(_("list"), max_length=20, choices=List.choices)
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    shared = models.BooleanField(
        _("shared with the team"),
        default=False,
        help_text=_("The team sees the view in its menu; only its owner changes it."),
    )

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_name", "name"], name="saved_view_name_once_per_list"
            )
        ]
        indexes = [models.Index(fields=["list_name", "shared"], name="saved_view_list_shared")]

    def __str__(self) -> str:
        return self.name


class DefaultView(models.Model):
    """The view a user's list opens with when no filter is asked for (one per list)."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="default_views"
    )
    list_name = models.CharField(_("list"), max_length=20, choices=SavedView.List.choices)
    view = models.ForeignKey(
        SavedView, verbose_name=_("view"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("default view")
        verbose_name_plural = _("default views")
        constraints = [
            models.UniqueConstraint(fields=["user", "list_name"], name="default_view_once_per_list")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_list_name_display()}"

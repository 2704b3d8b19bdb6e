from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


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

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from climcrm.fields import LONG_NOTE_MAX_LENGTH, FreeTextField
from climcrm.models import TimeStampedModel


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    SALES_VISIT = "sales_visit", _("Sales visit")
    NOTE = "note", _("Note")
    TASK = "task", _("Task")


class Activity(TimeStampedModel):
    """A call, meeting, visit, note or to-do, linked to one lead, opportunity or account."""

    kind = models.CharField(
        _("type"), max_length=20, choices=ActivityKind.choices, default=ActivityKind.TASK
    )
    subject = models.CharField(_("subject"), max_length=255)
    description = FreeTextField(_("description"), max_length=LONG_NOTE_MAX_LENGTH, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_activities",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    # Set when the to-do was agreed in a pipeline review (its recap lists them).
    review = models.ForeignKey(
        "pipeline_reviews.Review",
        verbose_name=_("review"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="todos",
    )

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["done", "due_date", "id"]
        indexes = [
            models.Index(fields=["assignee", "done", "due_date"], name="act_assignee_open"),
            models.Index(fields=["opportunity", "done", "due_date"], name="act_opp_open"),
            models.Index(fields=["lead", "done"], name="act_lead_open"),
            models.Index(fields=["account", "done"], name="act_account_open"),
            models.Index(
                fields=["opportunity", "due_date"],
                name="act_opp_todo_open",
                condition=models.Q(done=False, opportunity__isnull=False),
            ),
            # The portal reads its partner's lead to-dos apart from its deal to-dos (an OR of
            # both hides each side's index): the open ones of leads are this small index.
            models.Index(
                fields=["lead", "due_date"],
                name="act_lead_todo_open",
                condition=models.Q(done=False, lead__isnull=False),
            ),
            # The partner portal lists its partner's open to-dos by due date: walking the open
            # to-dos in that order stops after one page instead of sorting all of them.
            models.Index(
                fields=["due_date", "id"],
                name="act_open_due",
                condition=models.Q(done=False),
            ),
            # A deal is stale when no activity of it was created or done since a cutoff: the
            # activities of deals created, and done, since then, with their deal, read from
            # these indexes alone (the recent ones, however many activities there are).
            models.Index(
                fields=["created_at"],
                name="act_opp_created",
                include=["opportunity"],
                condition=models.Q(opportunity__isnull=False),
            ),
            models.Index(
                fields=["done_at"],
                name="act_opp_done",
                include=["opportunity"],
                condition=models.Q(opportunity__isnull=False, done_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lead__isnull=False)
                | models.Q(opportunity__isnull=False)
                | models.Q(account__isnull=False),
                name="activity_linked_to_something",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

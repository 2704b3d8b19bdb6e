"""The pipeline board: one column per stage, cards loaded per column, moves by drag and drop.

Reads (selectors) first, then the views. Every read starts from ``visible_opportunities``;
the move goes through ``opportunity_move_stage`` like every other change of a deal.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import django_filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import trigger_client_event

from climcrm.fields import REASON_MAX_LENGTH
from climcrm.forms import add_service_errors
from climcrm.permissions import can_edit_opportunity
from climcrm.roles import is_manager, is_partner_user
from climcrm.saved_views import opens_default_view
from climcrm.visibility import get_visible_or_404
from opportunities.amounts import TASK_STATES, deal_totals
from opportunities.filters import OpportunityFilter, attention_conditions, deal_activities
from opportunities.forms import OpportunityForm, VersionField, initial_from
from opportunities.models import (
    CLOSED_STAGES,
    LADDER_STAGES,
    OPEN_STAGES,
    LossReason,
    Opportunity,
    ReasonCode,
    Stage,
    StageSetting,
)
from opportunities.reasons import active_reason_codes
from opportunities.selectors import opportunity_for_edit
from opportunities.services import (
    ReasonRequiredError,
    StaleVersionError,
    opportunity_move_stage,
    opportunity_update,
)
from opportunities.visibility import visible_opportunities

# Cards rendered per column and per "show more": a screenful, not the whole stage.
COLUMN_SIZE = 10
# Closed columns show the deals closed in this many days, not the whole history.
CLOSED_RECENT_DAYS = 90


# --------------------------------------------------------------------------- filters


def _start_of_week(today: datetime.date) -> datetime.date:
    return today - datetime.timedelta(days=today.weekday())


class BoardFilter(OpportunityFilter):
    """The opportunity list's filters without the stage (the columns are the stages), and the
    board's quick filters, shown as toggle chips."""

    team = django_filters.BooleanFilter(
        method="filter_team", label=gettext_lazy("My team"), widget=forms.CheckboxInput
    )
    channel = django_filters.BooleanFilter(
        method="filter_channel", label=gettext_lazy("Via a partner"), widget=forms.CheckboxInput
    )
    closing = django_filters.BooleanFilter(
        method="filter_closing",
        label=gettext_lazy("Closing this month"),
        widget=forms.CheckboxInput,
    )
    stale = django_filters.BooleanFilter(
        method="filter_stale", label=gettext_lazy("Stale"), widget=forms.CheckboxInput
    )
    changed = django_filters.BooleanFilter(
        method="filter_changed",
        label=gettext_lazy("Changed this week"),
        widget=forms.CheckboxInput,
    )

    # The toggle chips, in their order; the other filters fold away under "More filters".
    QUICK = ("mine", "team", "channel", "closing", "stale", "changed")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters.pop("stage", None)
        self.form.fields.pop("stage", None)
        user = self.request.user if self.request is not None else None
        # "My team" is a manager's chip: a rep has no team to filter on.
        if user is None or not is_manager(user):
            self.filters.pop("team", None)
            self.form.fields.pop("team", None)
        if user is not None and is_partner_user(user):
            # Every deal a partner user sees is their partner's.
            self.filters.pop("channel", None)
            self.form.fields.pop("channel", None)

    @property
    def quick_fields(self) -> list:
        return [self.form[name] for name in self.QUICK if name in self.form.fields]

    @property
    def more_fields(self) -> list:
        return [self.form[name] for name in self.form.fields if name not in (*self.QUICK, "q")]

    @property
    def more_active(self) -> bool:
        """Whether a filter under "More filters" is set, to show them open."""
        data = self.data or {}
        return any(data.get(field.name) for field in self.more_fields)

    def filter_channel(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value:
            return queryset.filter(partner__isnull=False)
        return queryset

    def filter_closing(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if not value:
            return queryset
        today = timezone.localdate()
        first = today.replace(day=1)
        following = (first + datetime.timedelta(days=32)).replace(day=1)
        return queryset.filter(close_date__gte=first, close_date__lt=following)

    def filter_stale(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Open deals with no stage change and no activity for ``CRM_STALE_DAYS``: the
        dashboards' stale deals."""
        if not value:
            return queryset
        _overdue, stale = attention_conditions(today=timezone.localdate())
        return queryset.filter(stage__in=OPEN_STAGES).filter(stale)

    def filter_changed(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if not value:
            return queryset
        monday = _start_of_week(timezone.localdate())
        since = timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))
        return queryset.filter(updated_at__gte=since)


# --------------------------------------------------------------------------- selectors


@dataclass
class Column:
    stage: str
    label: str
    is_closed: bool
    count: int = 0
    total: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    todo: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASK_STATES, 0))
    cards: list = field(default_factory=list)
    next_cursor: str = ""

    @property
    def todo_bar(self) -> list[dict[str, Any]]:
        """The share of cards per to-do state, for the header's stacked bar."""
        labels = {
            "overdue": _("Overdue to-do"),
            "today": _("To-do due today"),
            "planned": _("To-do planned"),
            "none": _("No open to-do"),
        }
        return [
            {
                "state": state,
                "label": labels[state],
                "count": self.todo[state],
                "percent": round(self.todo[state] * 100 / self.count, 1) if self.count else 0,
            }
            for state in TASK_STATES
        ]


def closed_since(now=None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=CLOSED_RECENT_DAYS)


def board_queryset(*, user, data=None, request=None) -> tuple[QuerySet, BoardFilter]:
    """The deals the user may see after the filters, and the bound filter set."""
    base = visible_opportunities(user)
    board_filter = BoardFilter(data=data or None, queryset=base, request=request)
    queryset = board_filter.qs if board_filter.is_valid() else base
    return queryset.order_by(), board_filter


def _board_parts(queryset: QuerySet) -> tuple[QuerySet, QuerySet]:
    """The open deals and the recently closed ones, as two queries each served by an index.

    One ``OR`` of the two conditions can only be a bitmap scan of the deals' table rows; two
    parts let PostgreSQL read each from its covering partial index alone.
    """
    open_deals = queryset.filter(stage__in=OPEN_STAGES)
    recently_closed = queryset.filter(stage__in=CLOSED_STAGES, closed_at__gte=closed_since())
    return open_deals, recently_closed


def board_totals(queryset: QuerySet) -> dict[str, dict[str, Any]]:
    """Count, amount, weighted amount and to-do states per stage of the board: one SQL query
    over the open deals and the recently closed ones, each part read from its covering index
    alone (``opportunities.amounts.deal_totals``, the list's totals too)."""
    return deal_totals(_board_parts(queryset), today=timezone.localdate())


def board_columns(queryset: QuerySet) -> list[Column]:
    """Every stage's column with its totals (no cards)."""
    totals = board_totals(queryset)
    columns = []
    for stage, label in Stage.choices:
        row = totals.get(stage, {})
        column = Column(stage=stage, label=str(label), is_closed=stage in CLOSED_STAGES)
        if row:
            column.count = row["count"]
            column.total = row["total"]
            column.weighted = row["weighted"]
            column.todo = {state: row[f"todo_{state}"] for state in TASK_STATES}
        columns.append(column)
    return columns


def _descending(stage: str) -> bool:
    # Open columns: the next deal to close first. Closed columns: the latest closed first.
    return stage in CLOSED_STAGES


# The columns a card reads: a page of cards neither selects nor builds the others (about 70
# with the account's, owner's and partner's).
CARD_FIELDS = (
    "name",
    "stage",
    "amount",
    "probability",
    "close_date",
    "next_step",
    "updated_at",
    "stage_changed_at",
    "version",
    "account__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "partner__account__name",
)


def card_queryset(queryset: QuerySet) -> QuerySet:
    """Deals with what a card shows of them and of their account, owner and partner."""
    return queryset.select_related("account", "owner", "partner__account").only(*CARD_FIELDS)


def _activity_facts(cards: list[Opportunity]) -> None:
    """Each card's open to-dos (how many, the next one) and its last activity.

    Two queries for all the cards of the board, by the deals' activity indexes, instead of
    four subqueries per card: six columns of them cost more to compile than to run.
    """
    deal_ids = [card.pk for card in cards]
    next_todos = {
        row["opportunity_id"]: row
        for row in deal_activities()
        .filter(done=False, opportunity_id__in=deal_ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("opportunity_id"),
                order_by=(F("due_date").asc(nulls_last=True), F("id").asc()),
            ),
            open_count=Window(Count("id"), partition_by=F("opportunity_id")),
        )
        .filter(rank=1)
        .values("opportunity_id", "subject", "due_date", "open_count")
    }
    last_activity = dict(
        deal_activities()
        .filter(opportunity_id__in=deal_ids)
        .order_by()
        .values("opportunity_id")
        .annotate(last=Max("updated_at"))
        .values_list("opportunity_id", "last")
    )
    for card in cards:
        todo = next_todos.get(card.pk, {})
        card.open_todos = todo.get("open_count", 0)
        card.next_todo_subject = todo.get("subject")
        card.next_todo_due = todo.get("due_date")
        card.last_activity_at = last_activity.get(card.pk)


# A primary key no deal has, replaced in a URL reversed once by each card's own.
_PK_SLOT = 2147483647


def _url_for_each(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for many pks at the cost of one ``reverse``."""
    pattern, slot = reverse(name, args=[_PK_SLOT]), str(_PK_SLOT)
    return lambda pk: pattern.replace(slot, str(pk))


def _stage_options() -> dict[str, str]:
    """The "move to stage" menu's options with each stage selected, built once per page."""
    return {
        stage: format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, " selected" if value == stage else "", label)
                for value, label in Stage.choices
            ),
        )
        for stage in Stage.values
    }


def rotting_days() -> dict[str, int]:
    """Days a deal may stay in each stage before it rots (stage defaults, set in the admin)."""
    return dict(
        StageSetting.objects.filter(rotting_days__isnull=False).values_list("stage", "rotting_days")
    )


def _card_texts(card: Opportunity) -> None:
    """The card's sentences, written once here rather than by a translation tag each in the
    template: 60 cards × 5 tags were a fifth of the board's rendering. Numbers are plain, as
    in the card's ``{% localize off %}``; the deal's name is escaped, the sentences are our
    own."""
    days = card.days_in_stage
    title = ngettext("In this stage for %(days)s day.", "In this stage for %(days)s days.", days)
    title %= {"days": days}
    if card.rotting_days is not None:
        limit = card.rotting_days
        rotting = ngettext("Rotting after %(limit)s day.", "Rotting after %(limit)s days.", limit)
        title = f"{title} {rotting % {'limit': limit}}"
    card.days_title = mark_safe(title)  # noqa: S308 - our translations and integers
    card.days_label = mark_safe(ngettext("%(days)s d", "%(days)s d", days) % {"days": days})  # noqa: S308
    card.edit_label = mark_safe(_("Edit “%(deal)s”") % {"deal": escape(card.name)})  # noqa: S308
    count = card.open_todos
    card.todo_label = mark_safe(  # noqa: S308 - our translations and an integer
        ngettext("%(counter)s open to-do:", "%(counter)s open to-dos:", count) % {"counter": count}
    )
    owner = card.owner
    card.owner_name = owner.get_full_name() or owner.username


def describe_cards(cards: list[Opportunity]) -> list[Opportunity]:
    """What each card shows besides its fields: to-dos, stale marker, links, menu."""
    if cards:
        _activity_facts(cards)
    today = timezone.localdate()
    stale_since = timezone.now() - datetime.timedelta(days=settings.CRM_STALE_DAYS)
    detail_url = _url_for_each("opportunities:detail")
    move_url = _url_for_each("opportunities:kanban-move")
    edit_url = _url_for_each("opportunities:kanban-edit")
    stage_options = _stage_options() if cards else {}
    rotting = rotting_days() if cards else {}
    for card in cards:
        card.days_in_stage = max(0, (today - timezone.localdate(card.stage_changed_at)).days)
        limit = rotting.get(card.stage)
        card.rotting_days = limit
        card.is_rotting = card.is_open and limit is not None and card.days_in_stage > limit
        # ``highlight_card`` marks the one deal to open the board on.
        card.is_highlighted = False
        _card_texts(card)
        due = card.next_todo_due
        if not card.open_todos:
            card.todo_state = "none"
        elif due is not None and due < today:
            card.todo_state = "overdue"
        elif due == today:
            card.todo_state = "today"
        else:
            card.todo_state = "planned"
        last_touch = max(filter(None, (card.updated_at, card.last_activity_at)))
        card.is_stale = card.is_open and last_touch < stale_since
        card.detail_url = detail_url(card.pk)
        card.move_url = move_url(card.pk)
        card.edit_url = edit_url(card.pk)
        card.stage_options = stage_options[card.stage]
    return cards


def _parse_cursor(cursor: str) -> tuple[datetime.date, int] | None:
    try:
        day, pk = cursor.split("_", 1)
        return datetime.date.fromisoformat(day), int(pk)
    except (ValueError, AttributeError):
        return None


def column_page(
    queryset: QuerySet, *, stage: str, after: str = "", size: int = COLUMN_SIZE
) -> tuple[list[Opportunity], str]:
    """One page of a column's deals (keyset pagination) and the cursor of the next page.

    The cards still need ``describe_cards``: the board describes all its columns at once.
    """
    descending = _descending(stage)
    in_column = queryset.filter(stage=stage)
    if stage in CLOSED_STAGES:
        in_column = in_column.filter(closed_at__gte=closed_since())
    cards = card_queryset(in_column)
    position = _parse_cursor(after) if after else None
    if position:
        day, pk = position
        if descending:
            cards = cards.filter(Q(close_date__lt=day) | Q(close_date=day, pk__lt=pk))
        else:
            cards = cards.filter(Q(close_date__gt=day) | Q(close_date=day, pk__gt=pk))
    ordering = ("-close_date", "-id") if descending else ("close_date", "id")
    page = list(cards.order_by(*ordering)[: size + 1])
    next_cursor = ""
    if len(page) > size:
        page = page[:size]
        last = page[-1]
        next_cursor = f"{last.close_date.isoformat()}_{last.pk}"
    return page, next_cursor


def fill_columns(queryset: QuerySet, columns: list[Column]) -> list[Column]:
    """The first page of cards of every column."""
    for column in columns:
        column.cards, column.next_cursor = column_page(queryset, stage=column.stage)
    describe_cards([card for column in columns for card in column.cards])
    return columns


def board_card(queryset: QuerySet, pk: int) -> Opportunity | None:
    card = card_queryset(queryset.filter(pk=pk)).first()
    return describe_cards([card])[0] if card else None


def highlight_card(queryset: QuerySet, columns: list[Column], highlight: str) -> None:
    """Mark the deal just converted from a lead, first in its column even beyond the first
    page, so the board opens on it. A deal the user cannot see (or the filters hide) is
    silently left out."""
    try:
        pk = int(highlight)
    except (TypeError, ValueError):
        return
    for column in columns:
        for card in column.cards:
            if card.pk == pk:
                card.is_highlighted = True
                return
    card = board_card(queryset, pk)
    if card is None:
        return
    card.is_highlighted = True
    for column in columns:
        if column.stage == card.stage:
            column.cards.insert(0, card)


def loss_reasons() -> QuerySet:
    return LossReason.objects.filter(is_active=True)


# --------------------------------------------------------------------------- forms


class MoveForm(forms.Form):
    stage = forms.ChoiceField(label=gettext_lazy("Move to stage"), choices=Stage.choices)
    version = VersionField()
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    loss_reason = forms.ModelChoiceField(
        label=gettext_lazy("Loss reason"), queryset=LossReason.objects.none(), required=False
    )
    loss_reason_text = forms.CharField(
        label=gettext_lazy("Loss details"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reason_code = forms.ModelChoiceField(
        label=gettext_lazy("Reason for the change"),
        queryset=ReasonCode.objects.none(),
        required=False,
        help_text=gettext_lazy("Needed to move a deal back a stage."),
    )
    reason_text = forms.CharField(
        label=gettext_lazy("Reason details"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loss_reason"].queryset = loss_reasons()
        self.fields["reason_code"].queryset = active_reason_codes()


# The figures a card edits in place; everything else goes through the deal's page.
CARD_EDIT_FIELDS = ("amount", "probability", "close_date", "forecast_category", "next_step")
CARD_KEPT_FIELDS = ("version", *CARD_EDIT_FIELDS, "reason_code", "reason_text")


class CardEditForm(OpportunityForm):
    """The deal's edit form reduced to what a card edits in place: same fields, same rules,
    same service (``opportunity_update``) and the version the card showed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in CARD_KEPT_FIELDS:
                del self.fields[name]
        # A card has no room for the guides; the deal's page shows them.
        for form_field in self.fields.values():
            form_field.help_text = ""
        # The reason shows once the service asked for it, or when one was sent.
        self.ask_reason = bool(self.is_bound and self.data.get("reason_code"))


# --------------------------------------------------------------------------- views

TEMPLATE = "opportunities/kanban.html"


def _board_query(request: HttpRequest) -> str:
    """The filters of the board's URL, to keep them on every fragment and redirect."""
    query = request.GET.copy()
    for key in ("after", "next", "highlight"):
        query.pop(key, None)
    return query.urlencode()


def _card_texts_of_page() -> dict[str, str]:
    """The words every card repeats, translated once for the page rather than on each card."""
    days = settings.CRM_STALE_DAYS
    stale_title = ngettext(
        "No activity or change for a day.", "No activity or change for %(days)s days.", days
    )
    return {
        "edit_in_place": _("Edit in place"),
        # Our own sentence and an integer, as the template's translation tag gave it.
        "stale_title": mark_safe(stale_title % {"days": days}),  # noqa: S308
        "stale": _("Stale"),
        "next_step": _("Next step:"),
        "close_date_passed": _("Close date passed"),
        "close_date": _("Close date"),
        "move_to_stage": _("Move to stage"),
        "move": _("Move"),
    }


def _card_context(board_query: str) -> dict[str, Any]:
    board_url = reverse("opportunities:kanban")
    return {
        "today": timezone.localdate(),
        "stale_days": settings.CRM_STALE_DAYS,
        "board_url": f"{board_url}?{board_query}" if board_query else board_url,
        "card_texts": _card_texts_of_page(),
    }


@require_GET
@opens_default_view("board")
def board(request: HttpRequest) -> HttpResponse:
    queryset, board_filter = board_queryset(user=request.user, data=request.GET, request=request)
    board_query = _board_query(request)
    columns = fill_columns(queryset, board_columns(queryset))
    highlight_card(queryset, columns, request.GET.get("highlight", ""))
    context = {
        "columns": columns,
        "filter": board_filter,
        "board_query": board_query,
        "loss_reasons": loss_reasons(),
        "reason_codes": active_reason_codes(),
        "ladder": LADDER_STAGES,
        "closed_days": CLOSED_RECENT_DAYS,
        "currency": settings.CRM_CURRENCY,
        "kanban_texts": {
            "offline": _("The server cannot be reached. The card was put back."),
            "error": _("The deal could not be moved."),
        },
        **_card_context(board_query),
    }
    template = TEMPLATE
    if request.htmx and not request.htmx.boosted and request.htmx.target == "kanban-board":
        template += "#board"
    return render(request, template, context)


@require_GET
def column(request: HttpRequest, stage: str) -> HttpResponse:
    """The next cards of one column (the "show more" button and infinite scroll)."""
    if stage not in Stage.values:
        raise Http404
    queryset, _filter = board_queryset(user=request.user, data=request.GET, request=request)
    board_query = _board_query(request)
    cards, next_cursor = column_page(queryset, stage=stage, after=request.GET.get("after", ""))
    context = {
        "column": Column(
            stage=stage,
            label=str(Stage(stage).label),
            is_closed=stage in CLOSED_STAGES,
            cards=describe_cards(cards),
            next_cursor=next_cursor,
        ),
        "board_query": board_query,
        **_card_context(board_query),
    }
    if request.htmx:
        return render(request, TEMPLATE + "#cards", context)
    # Without JavaScript the "show more" link opens the rest of the column as a page.
    return render(request, "opportunities/kanban_column.html", context)


def _board_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only paths on this site: a bare word would be read as a view name by redirect().
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return reverse("opportunities:kanban")


def _refusal(request: HttpRequest, message: str, status: int) -> HttpResponse:
    """A move refused: the card goes back and the message shows in a toast."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["X-Error-Message"] = quote(message)
    return response


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(str(m) for messages_ in error.message_dict.values() for m in messages_)
    return " ".join(str(m) for m in error.messages)


@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to a stage: drag and drop (HTMX) or the "move to stage" form (page)."""
    deal = get_visible_or_404(visible_opportunities(request.user).select_related("partner"), pk=pk)
    if request.method == "GET":
        form = MoveForm(
            initial={"stage": request.GET.get("stage") or deal.stage, "version": deal.version}
        )
        return _move_page(request, deal, form)

    form = MoveForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _refusal(request, _form_message(form), 400)
        return _move_page(request, deal, form, status=400)
    data = form.cleaned_data
    try:
        opportunity_move_stage(
            opportunity=deal,
            to_stage=data["stage"],
            by=request.user,
            expected_version=data["version"],
            amount=data["amount"],
            loss_reason=data["loss_reason"],
            loss_reason_text=data["loss_reason_text"],
            reason_code=data["reason_code"],
            reason_text=data["reason_text"],
            tag="kanban",
        )
    except ValidationError as error:
        if request.htmx:
            return _refusal(request, _validation_message(error), 400)
        add_service_errors(form, error)
        return _move_page(request, deal, form, status=400)
    except StaleVersionError as error:
        if request.htmx:
            return _stale_refusal(request, deal.pk, str(error))
        # The choices stay; the form now carries the version the user has just been told about.
        data = request.POST.copy()
        data["version"] = str(error.opportunity.version)
        form = MoveForm(data)
        form.is_valid()
        form.add_error(None, str(error))
        return _move_page(request, error.opportunity, form, status=409)
    except PermissionError as error:
        if request.htmx:
            return _refusal(request, str(error), 403)
        messages.error(request, str(error))
        return redirect(_board_url(request))

    label = Stage(data["stage"]).label
    text = _("“%(deal)s” moved to %(stage)s.") % {"deal": deal.name, "stage": label}
    if not request.htmx:
        messages.success(request, text)
        return redirect(_board_url(request))
    return _move_result(request, deal.pk, text)


def _card_and_heads(request: HttpRequest, pk: int, status: int = 200) -> HttpResponse:
    """The deal's card as it is now and every column header (out of band)."""
    queryset, _filter = board_queryset(user=request.user, data=request.GET, request=request)
    board_query = _board_query(request)
    card = board_card(visible_opportunities(request.user), pk)
    context = {
        "card": card,
        "columns": board_columns(queryset),
        "board_query": board_query,
        **_card_context(board_query),
    }
    return render(request, "opportunities/kanban_move_result.html", context, status=status)


def _move_result(request: HttpRequest, pk: int, text: str) -> HttpResponse:
    """The moved card and every column header, for the board to swap in."""
    response = _card_and_heads(request, pk)
    return trigger_client_event(response, "toast", {"text": text, "kind": "success"})


def _stale_refusal(request: HttpRequest, pk: int, message: str) -> HttpResponse:
    """A move on a version the board no longer shows: refused with the card as it is now,
    so the board shows the other change and the next move carries the current version."""
    response = _card_and_heads(request, pk, status=409)
    response["X-Error-Message"] = quote(message)
    return response


def _form_message(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _move_page(request, deal, form, status: int = 200) -> HttpResponse:
    context = {
        "deal": deal,
        "form": form,
        "can_edit": can_edit_opportunity(request.user, deal),
        "next": _board_url(request),
    }
    return render(request, "opportunities/kanban_move.html", context, status=status)


@require_http_methods(["GET", "POST"])
def card_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a card's amount, probability, close date, forecast category and next step in
    place (HTMX). GET ``?cancel=1`` gives the card back as it is."""
    deal = opportunity_for_edit(user=request.user, pk=pk)
    if not request.htmx:
        # Without JavaScript the deal's own form does the same.
        return redirect("opportunities:edit", pk=deal.pk)
    if request.method == "GET" and request.GET.get("cancel"):
        return _card_and_heads(request, deal.pk)
    if not can_edit_opportunity(request.user, deal):
        return _refusal(request, _("You may not change this deal."), 403)
    initial = initial_from(deal)
    if request.method == "GET":
        form = CardEditForm(
            initial=initial, user=request.user, opportunity=deal, auto_id=f"card-{deal.pk}-%s"
        )
        return _card_form(request, deal, form)
    form = CardEditForm(
        request.POST,
        initial=initial,
        user=request.user,
        opportunity=deal,
        auto_id=f"card-{deal.pk}-%s",
    )
    if not form.is_valid():
        return _card_form(request, deal, form)
    try:
        result = opportunity_update(
            opportunity=deal,
            by=request.user,
            changes=form.changes(),
            expected_version=form.cleaned_data["version"],
            tag="kanban",
            **form.reason(),
        )
    except StaleVersionError as error:
        # The card as it is now, with the other change and the version to edit from.
        response = _card_and_heads(request, deal.pk, status=409)
        response["X-Error-Message"] = quote(str(error))
        return trigger_client_event(response, "toast", {"text": str(error), "kind": "error"})
    except ValidationError as error:
        add_service_errors(form, error)
        # The service asked why: the reason's inputs appear on the card.
        form.ask_reason = form.ask_reason or isinstance(error, ReasonRequiredError)
        return _card_form(request, deal, form)
    except PermissionError as error:
        return _refusal(request, str(error), 403)
    text = _("“%(deal)s” saved.") if result.changed_fields else _("Nothing changed.")
    response = _card_and_heads(request, deal.pk)
    return trigger_client_event(
        response, "toast", {"text": text % {"deal": deal.name}, "kind": "success"}
    )


def _card_form(request: HttpRequest, deal: Opportunity, form: CardEditForm) -> HttpResponse:
    board_query = _board_query(request)
    context = {
        "deal": deal,
        "form": form,
        "edit_url": reverse("opportunities:kanban-edit", args=[deal.pk]),
        "board_query": board_query,
    }
    return render(request, "opportunities/kanban_card_edit.html", context)

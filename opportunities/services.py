"""The one way to change a deal.

Every path that creates or changes an opportunity — forms, kanban, reviews, import, admin —
calls these functions. They apply the stage machine, lock the row, refuse stale versions,
and append the history row in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from climcrm.choices import BANT_FIELDS
from climcrm.fields import REASON_MAX_LENGTH, text_length
from climcrm.periods import MONTH, QUARTER, period_containing
from climcrm.permissions import (
    can_assign_partner,
    can_change_forecast_category,
    can_edit_opportunity,
    can_reopen_opportunity,
    partner_editable_fields,
)
from climcrm.roles import is_partner_user
from opportunities.changes import DealChange, announce, deal_state
from opportunities.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    TRACKED_FIELDS,
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    OpportunityType,
    Stage,
    StageSetting,
    ladder_rank,
)
from opportunities.reasons import backward_changes, describe, reason_code_from

if TYPE_CHECKING:
    from datetime import datetime

    from accounts.models import Account
    from climcrm.models import User
    from opportunities.models import LossReason, ReasonCode

# Values applied whatever the stage defaults say.
CLOSING_PROBABILITY = {Stage.CLOSED_WON: 100, Stage.CLOSED_LOST: 0}
CLOSING_CATEGORY = {
    Stage.CLOSED_WON: ForecastCategory.CLOSED,
    Stage.CLOSED_LOST: ForecastCategory.OMITTED,
}
FALLBACK_DEFAULTS = {
    Stage.QUALIFICATION: (10, ForecastCategory.PIPELINE),
    Stage.NEEDS_ANALYSIS: (25, ForecastCategory.PIPELINE),
    Stage.PROPOSAL: (50, ForecastCategory.BEST_CASE),
    Stage.NEGOTIATION: (75, ForecastCategory.COMMIT),
    Stage.CLOSED_WON: (100, ForecastCategory.CLOSED),
    Stage.CLOSED_LOST: (0, ForecastCategory.OMITTED),
}

# Fields a change may carry; anything else is ignored by opportunity_update.
EDITABLE_FIELDS = (
    "name",
    "account",
    "primary_contact",
    "owner",
    "partner",
    "type",
    "stage",
    "probability",
    "amount",
    "close_date",
    "expected_delivery",
    "forecast_category",
    "next_step",
    "next_step_date",
    *BANT_FIELDS,
    "pain_ok",
    "pain_note",
    "interest_ok",
    "interest_note",
    "fit_ok",
    "fit_note",
    "asked_demo",
    "asked_pricing",
    "tested_trial",
    "gave_decision_date",
    "amount_confirmed",
    "source",
    "lead",
    "loss_reason",
    "loss_reason_text",
    "objective_reasons",
    "lessons_learned",
    "recovery_possible",
    "corrective_actions",
    "site_address",
)


class ReasonRequiredError(ValidationError):
    """The change goes backward (``opportunities.reasons``) and came without a reason code;
    nothing was written. ``kinds`` lists the ``Backward`` kinds of the change."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        super().__init__(
            {
                "reason_code": [
                    _("This change needs a reason (%(changes)s): choose one.")
                    % {"changes": describe(kinds)}
                ]
            }
        )


class StaleVersionError(Exception):
    """The deal is not at the version the editor read (or the editor did not say which
    version it read); nothing was written.

    ``changes`` lists what others changed since the version read, when that version is known.
    """

    def __init__(self, opportunity: Opportunity, changes: list[ConcurrentChange]) -> None:
        self.opportunity = opportunity
        self.changes = changes
        if changes:
            message = _(
                "Someone else changed this deal while you were editing it (%(fields)s). "
                "Nothing was saved: review their change and apply yours again."
            ) % {"fields": ", ".join(sorted({c.field_label for c in changes}))}
        else:
            message = _(
                "Someone else may have changed this deal since you opened it. "
                "Nothing was saved: review the deal as it is now and apply your change again."
            )
        super().__init__(message)


def version_read(value: object) -> int | None:
    """The version of a deal a client says it read, or None when it said none usable.

    A version is a whole number from 1 up, as an ``int`` or as submitted text. Missing,
    empty, zero, negative or anything else is None, and a change carrying it is refused
    like a stale one: only the version read proves the client saw the latest change.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        # A version column holds at most ten digits; longer text is not a version.
        if not (value.isascii() and value.isdigit() and len(value) <= 10):
            return None
        value = int(value)
    if isinstance(value, int) and value >= 1:
        return value
    return None


def _check_version(locked: Opportunity, expected_version: object) -> None:
    """Refuse the change unless the client read the deal at its current version."""
    read = version_read(expected_version)
    if read == locked.version:
        return
    known = read is not None and read < locked.version
    raise StaleVersionError(
        locked, _concurrent_changes(locked, read) if known and read is not None else []
    )


@dataclass
class ConcurrentChange:
    field: str
    field_label: str
    by: str
    at: Any


@dataclass
class StageDefaults:
    probability: int
    forecast_category: str


@dataclass
class ChangeResult:
    opportunity: Opportunity
    history: OpportunityHistory | None
    changed_fields: list[str] = field(default_factory=list)


def stage_defaults(stage: str) -> StageDefaults:
    setting = StageSetting.objects.filter(stage=stage).first()
    if setting is None:
        probability, category = FALLBACK_DEFAULTS[Stage(stage)]
        return StageDefaults(probability, category)
    return StageDefaults(setting.default_probability, setting.default_forecast_category)


def suggested_type(account: Account | None) -> str:
    """Existing business when the account already has a won deal."""
    if (
        account is not None
        and account.pk
        and account.opportunities.filter(stage=Stage.CLOSED_WON).exists()
    ):
        return OpportunityType.EXISTING_BUSINESS
    return OpportunityType.NEW_BUSINESS


def _field_label(name: str) -> str:
    return str(Opportunity._meta.get_field(name).verbose_name)  # type: ignore[union-attr]


def _validate_values(values: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    probability = values.get("probability")
    if probability is not None and not (0 <= int(probability) <= 100):
        errors.setdefault("probability", []).append(_("Probability must be between 0 and 100 %."))
    amount = values.get("amount")
    if amount is not None:
        try:
            amount = Decimal(amount)
        except (InvalidOperation, TypeError, ValueError):
            errors.setdefault("amount", []).append(_("Enter a valid amount."))
        else:
            if not amount.is_finite():
                errors.setdefault("amount", []).append(_("Enter a valid amount."))
            elif amount < 0:
                errors.setdefault("amount", []).append(_("The amount cannot be negative."))
    if values.get("stage") not in Stage.values:
        errors.setdefault("stage", []).append(_("Choose a valid stage."))
    if values.get("stage") in OPEN_STAGES and not values.get("close_date"):
        errors.setdefault("close_date", []).append(_("An open deal needs a close date."))
    if values.get("stage") == Stage.CLOSED_WON and not (
        values.get("amount") is not None and Decimal(values["amount"]) > 0
    ):
        errors.setdefault("amount", []).append(
            _("A deal can only be closed won with an amount greater than zero.")
        )
    if values.get("stage") == Stage.CLOSED_LOST and not values.get("loss_reason"):
        errors.setdefault("loss_reason", []).append(
            _("A deal can only be closed lost with a loss reason.")
        )
    if errors:
        raise ValidationError(errors)


def _apply_stage_machine(
    *, current: dict[str, Any], requested: dict[str, Any], by: User, now: datetime
) -> dict[str, Any]:
    """Return the new values of the deal after the rules of the stage machine."""
    new = {**current, **requested}
    old_stage, new_stage = current.get("stage"), new["stage"]
    if new_stage not in Stage.values:
        raise ValidationError({"stage": _("Choose a valid stage.")})
    stage_changed = old_stage != new_stage
    probability_set = "probability" in requested and requested["probability"] != current.get(
        "probability"
    )
    category_set = "forecast_category" in requested and requested[
        "forecast_category"
    ] != current.get("forecast_category")

    if new_stage in CLOSED_STAGES:
        new["probability"] = CLOSING_PROBABILITY[Stage(new_stage)]
        new["forecast_category"] = CLOSING_CATEGORY[Stage(new_stage)]
        new["forecast_category_is_manual"] = False
        if stage_changed:
            new["closed_at"] = now
            if "close_date" not in requested or requested["close_date"] == current.get(
                "close_date"
            ):
                new["close_date"] = timezone.localdate(now)
        if new_stage == Stage.CLOSED_WON:
            new["loss_reason"] = None
        return new

    # Open stage.
    new["closed_at"] = None
    if new_stage != Stage.CLOSED_LOST:
        new["loss_reason"] = new.get("loss_reason") if old_stage == new_stage else None
    defaults = stage_defaults(new_stage)
    reopened = old_stage in CLOSED_STAGES
    if (stage_changed or reopened) and not probability_set:
        new["probability"] = defaults.probability
    if category_set:
        new["forecast_category_is_manual"] = True
    elif reopened:
        new["forecast_category"] = defaults.forecast_category
        new["forecast_category_is_manual"] = False
    elif stage_changed and not current.get("forecast_category_is_manual"):
        new["forecast_category"] = defaults.forecast_category
    if new["forecast_category"] in (ForecastCategory.CLOSED, ForecastCategory.OMITTED) and (
        new["forecast_category"] != current.get("forecast_category") or reopened
    ):
        if category_set:
            raise ValidationError(
                {"forecast_category": _("Closed and Omitted are set by closing the deal.")}
            )
        new["forecast_category"] = defaults.forecast_category
    if stage_changed:
        new["stage_changed_at"] = now
    return new


_RELATION_FIELDS = tuple(
    name for name in EDITABLE_FIELDS if Opportunity._meta.get_field(name).is_relation
)


def _save_checked(opportunity: Opportunity) -> None:
    """Save; a database constraint the rules above missed becomes a ValidationError.

    The check constraints are not evaluated in Python first (full_clean would run one query
    per constraint on every change): the stage machine and ``_validate_values`` establish
    them, and the database stays the final guard.
    """
    # Called inside the service's atomic block, which rolls back when this raises.
    try:
        opportunity.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This change breaks a rule of the deal (%(detail)s).") % {"detail": exc}
        ) from exc


def _snapshot(opportunity: Opportunity) -> dict[str, Any]:
    values = {name: getattr(opportunity, name) for name in EDITABLE_FIELDS}
    values["forecast_category_is_manual"] = opportunity.forecast_category_is_manual
    values["closed_at"] = opportunity.closed_at
    values["stage_changed_at"] = opportunity.stage_changed_at
    return values


def _history_row(
    *,
    opportunity: Opportunity,
    before: dict | None,
    changed: list[str],
    by: User,
    now: datetime,
    tag: str,
    reason_code: ReasonCode | None = None,
    reason_text: str = "",
) -> OpportunityHistory:
    row = OpportunityHistory(
        opportunity=opportunity,
        version=opportunity.version,
        changed_at=now,
        changed_by=by if getattr(by, "pk", None) else None,
        is_creation=before is None,
        changed_fields=changed,
        tag=tag[:64],
        reason_code=reason_code,
        reason_text=reason_text,
    )
    for name in TRACKED_FIELDS:
        setattr(row, name, getattr(opportunity, name))
        if before is not None:
            setattr(row, f"prev_{name}", before[name])
    if before is None:
        row.prev_stage = ""
        row.prev_forecast_category = ""
    elif before["stage"] in OPEN_STAGES and before["stage"] != opportunity.stage:
        # The stay in the stage left began when the deal entered it.
        row.prev_stage_entered_at = before["stage_changed_at"]
    return row


def _keep_accuracy_amounts(
    opportunity: Opportunity, *, creating: bool, entering_commit: bool, now: datetime
) -> None:
    """Set the amounts forecast accuracy reads (``Opportunity.created_amount`` and siblings)
    for the change about to be saved: one query on entering Commit or changing a won deal.
    """
    if creating:
        opportunity.created_amount = opportunity.amount
    if entering_commit and (
        creating
        or not OpportunityHistory.objects.filter(
            opportunity=opportunity, forecast_category=ForecastCategory.COMMIT
        ).exists()
    ):
        opportunity.commit_entry_amount = opportunity.amount
    if opportunity.stage != Stage.CLOSED_WON:
        opportunity.close_month_start_amount = opportunity.close_quarter_start_amount = None
        return
    # (changed_at, amount) of every version, the one being written last.
    versions = (
        []
        if creating
        else list(
            OpportunityHistory.objects.filter(opportunity=opportunity)
            .order_by("version")
            .values_list("changed_at", "amount")
        )
    )
    versions.append((now, opportunity.amount))
    starts = []
    for kind in (MONTH, QUARTER):
        moment = period_containing(kind, opportunity.close_date).start_moment()
        valid = [amount for changed_at, amount in versions if changed_at <= moment]
        starts.append(valid[-1] if valid else None)
    opportunity.close_month_start_amount, opportunity.close_quarter_start_amount = starts


def _check_permission(
    *, opportunity: Opportunity | None, by: User, current: dict, requested: dict
) -> None:
    changing = {name for name in requested if requested[name] != current.get(name)}
    # Channel managers assign any deal to a partner, even one they could not otherwise edit.
    assigning_only = changing <= {"partner"} and can_assign_partner(by)
    if opportunity is not None and not assigning_only and not can_edit_opportunity(by, opportunity):
        raise PermissionError(_("You may not change this deal."))
    if is_partner_user(by):
        forbidden = [
            name
            for name in requested
            if name not in partner_editable_fields() and requested[name] != current.get(name)
        ]
        if forbidden:
            raise PermissionError(
                _("Partner users cannot change: %(fields)s.")
                % {"fields": ", ".join(_field_label(n) for n in forbidden)}
            )
    if (
        opportunity is not None
        and current.get("stage") in CLOSED_STAGES
        and requested.get("stage", current["stage"]) != current["stage"]
        and not can_reopen_opportunity(by)
    ):
        raise PermissionError(_("Only a sales manager can reopen a closed deal."))
    if (
        "forecast_category" in requested
        and requested["forecast_category"] != current.get("forecast_category")
        and opportunity is not None
        and not can_change_forecast_category(by, opportunity)
    ):
        raise PermissionError(_("You may not change the forecast category of this deal."))


def opportunity_create(
    *, by: User, tag: str = "", at: datetime | None = None, **values: Any
) -> Opportunity:
    """Create a deal in its first stage (or the stage given) with its first history row.

    ``at`` backdates the creation (imports, demo data); it defaults to now.
    """
    now = at or timezone.now()
    requested = {k: v for k, v in values.items() if k in EDITABLE_FIELDS}
    requested.setdefault("stage", Stage.QUALIFICATION.value)
    requested.setdefault("owner", by)
    if "type" not in requested and requested.get("account") is not None:
        requested["type"] = suggested_type(requested["account"])
    if is_partner_user(by):
        requested["partner"] = by.partner
    _validate_values(requested)
    defaults = stage_defaults(requested["stage"])
    current = {
        "stage": None,
        "probability": None,
        "forecast_category": None,
        "forecast_category_is_manual": False,
    }
    base = {
        "probability": requested.get("probability", defaults.probability),
        "forecast_category": requested.get("forecast_category", defaults.forecast_category),
    }
    new = _apply_stage_machine(current=current, requested={**base, **requested}, by=by, now=now)
    new["forecast_category_is_manual"] = bool(
        requested["stage"] in OPEN_STAGES
        and "forecast_category" in requested
        and requested["forecast_category"] != defaults.forecast_category
    )
    new["stage_changed_at"] = now
    with transaction.atomic():
        opportunity = Opportunity(currency=settings.CRM_CURRENCY, created_at=now, version=1)
        for name, value in new.items():
            setattr(opportunity, name, value)
        opportunity.furthest_rank = ladder_rank(opportunity.stage)
        _keep_accuracy_amounts(
            opportunity,
            creating=True,
            entering_commit=opportunity.forecast_category == ForecastCategory.COMMIT,
            now=now,
        )
        opportunity.full_clean(validate_constraints=False)
        _save_checked(opportunity)
        announce(
            DealChange(
                deal=opportunity,
                before=None,
                after=deal_state(opportunity),
                at=now,
                by=by,
                tag=tag,
                using=opportunity._state.db or DEFAULT_DB_ALIAS,
            )
        )
        _history_row(
            opportunity=opportunity, before=None, changed=[], by=by, now=now, tag=tag
        ).save()
    return opportunity


def opportunity_update(
    *,
    opportunity: Opportunity,
    by: User,
    changes: dict[str, Any],
    expected_version: int | str | None,
    tag: str = "",
    at: datetime | None = None,
    reason_code: ReasonCode | int | str | None = None,
    reason_text: str = "",
) -> ChangeResult:
    """Apply ``changes`` (field name → new value) through the stage machine.

    A change that goes backward (``opportunities.reasons.backward_changes``: close date out
    of its month, amount lowered, stage moved back, forecast category lowered) needs
    ``reason_code`` (an active ``ReasonCode``, its id or its code); ``reason_text`` adds
    details. Without it ``ReasonRequiredError`` is raised. Both are kept on the history row.

    ``expected_version`` is the version the caller read, as submitted; a caller that did
    not get it from a client (demo data, a job) passes the version of the row it holds.
    Raises ``StaleVersionError`` when it is not the row's current version (or not a
    version at all: missing, empty, 0),
    ``PermissionError`` when ``by`` may not make this change, ``ValidationError`` when a
    rule is broken. Nothing is written in any of those cases. ``at`` backdates the change
    (imports, demo data) and must not be earlier than the deal's last change.
    """
    requested = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    now = at or timezone.now()
    reason_text = (reason_text or "").strip()
    reason = reason_code_from(reason_code)
    if reason_code not in (None, "") and reason is None:
        raise ValidationError({"reason_code": [_("Choose a valid reason.")]})
    if text_length(reason_text) > REASON_MAX_LENGTH:
        raise ValidationError(
            {
                "reason_text": [
                    _("Keep the reason under %(limit)s characters.") % {"limit": REASON_MAX_LENGTH}
                ]
            }
        )
    with transaction.atomic():
        # The related rows come in the same query: the snapshot and the history row read
        # them, and only the deal's own row is locked.
        locked = (
            Opportunity.objects.select_for_update(of=("self",))
            .select_related("account", "primary_contact", "owner", "partner", "loss_reason")
            .get(pk=opportunity.pk)
        )
        _check_version(locked, expected_version)
        current = _snapshot(locked)
        state_before = deal_state(locked)
        _check_permission(opportunity=locked, by=by, current=current, requested=requested)
        new = _apply_stage_machine(current=current, requested=requested, by=by, now=now)
        if new.get("amount") != current.get("amount") and "amount_confirmed" not in requested:
            # The prospect confirmed the previous amount, not this one (seed 002).
            new["amount_confirmed"] = False
        _validate_values(new)
        backward = backward_changes(current, new)
        if backward and reason is None:
            raise ReasonRequiredError(backward)
        changed = [name for name in EDITABLE_FIELDS if new.get(name) != current.get(name)]
        state_changed = changed or any(
            new.get(k) != current.get(k) for k in ("forecast_category_is_manual",)
        )
        if not state_changed:
            opportunity.refresh_from_db()
            return ChangeResult(opportunity=opportunity, history=None, changed_fields=[])
        for name, value in new.items():
            setattr(locked, name, value)
        locked.furthest_rank = max(locked.furthest_rank, ladder_rank(locked.stage))
        _keep_accuracy_amounts(
            locked,
            creating=False,
            entering_commit=locked.forecast_category == ForecastCategory.COMMIT
            and current["forecast_category"] != ForecastCategory.COMMIT,
            now=now,
        )
        locked.version = current_version = locked.version + 1
        # Only what changed is validated again (an unchanged foreign key needs no query).
        locked.full_clean(
            exclude=[name for name in _RELATION_FIELDS if name not in changed],
            validate_constraints=False,
        )
        _save_checked(locked)
        announce(
            DealChange(
                deal=locked,
                before=state_before,
                after=deal_state(locked),
                at=now,
                by=by,
                tag=tag,
                using=locked._state.db or DEFAULT_DB_ALIAS,
            )
        )
        OpportunityHistory.objects.filter(
            opportunity=locked, valid_until__isnull=True, version__lt=current_version
        ).update(valid_until=now)
        history = _history_row(
            opportunity=locked,
            before=current,
            changed=changed,
            by=by,
            now=now,
            tag=tag,
            reason_code=reason,
            reason_text=reason_text,
        )
        history.save()
    opportunity.refresh_from_db()
    return ChangeResult(opportunity=opportunity, history=history, changed_fields=changed)


def opportunity_move_stage(
    *,
    opportunity: Opportunity,
    to_stage: str,
    by: User,
    expected_version: int | str | None,
    probability: int | None = None,
    amount: Decimal | None = None,
    loss_reason: LossReason | None = None,
    loss_reason_text: str = "",
    close_date: date | None = None,
    tag: str = "",
    at: datetime | None = None,
    reason_code: ReasonCode | int | str | None = None,
    reason_text: str = "",
) -> ChangeResult:
    """Move a deal to another stage (kanban, reviews). Extra values go in the same change;
    a move back needs a reason (see ``opportunity_update``)."""
    changes: dict[str, Any] = {"stage": to_stage}
    if probability is not None:
        changes["probability"] = probability
    if amount is not None:
        changes["amount"] = amount
    if loss_reason is not None:
        changes["loss_reason"] = loss_reason
    if loss_reason_text:
        changes["loss_reason_text"] = loss_reason_text
    if close_date is not None:
        changes["close_date"] = close_date
    return opportunity_update(
        opportunity=opportunity,
        by=by,
        changes=changes,
        expected_version=expected_version,
        tag=tag,
        at=at,
        reason_code=reason_code,
        reason_text=reason_text,
    )


def _concurrent_changes(opportunity: Opportunity, since_version: int) -> list[ConcurrentChange]:
    rows = (
        OpportunityHistory.objects.filter(opportunity=opportunity, version__gt=since_version)
        .select_related("changed_by")
        .order_by("version")
    )
    result = []
    for row in rows:
        for name in row.changed_fields:
            result.append(
                ConcurrentChange(
                    field=name,
                    field_label=_field_label(name),
                    by=str(row.changed_by or _("someone")),
                    at=row.changed_at,
                )
            )
    return result

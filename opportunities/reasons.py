"""Which changes of a deal go backward, and so need a reason.

A change goes backward when it:

* moves the close date out of its **month** (to a day after the last day of the month it
  was in, per ``climcrm.periods``): the monthly review and "what changed" read months, so a
  deal leaving its month is a slip there even when it stays in the quarter. Closing a deal
  is not a slip: the stage machine writes the day it was won or lost as its close date,
  which is after the planned month when the deal closes late;
* lowers the amount (an amount removed counts as lowered to zero);
* moves the deal back a stage (a lower rank on the ladder, ``ladder_rank``), except to
  Closed Lost, which has its own loss reasons;
* lowers the forecast category (Omitted < Pipeline < Best Case < Commit < Closed), except
  when the deal is lost.

The deal service (``opportunity_update``) refuses such a change without a reason code, on
every path; this module only says what the change is.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from climcrm.periods import MONTH, period_containing
from opportunities.models import CLOSED_STAGES, ForecastCategory, ReasonCode, Stage, ladder_rank


class Backward(TextChoices):
    SLIPPED = "slipped", _("close date moved out of its month")
    AMOUNT_DOWN = "amount_down", _("amount lowered")
    STAGE_BACK = "stage_back", _("stage moved back")
    CATEGORY_DOWN = "category_down", _("forecast category lowered")


CATEGORY_RANK = {
    ForecastCategory.OMITTED: 0,
    ForecastCategory.PIPELINE: 1,
    ForecastCategory.BEST_CASE: 2,
    ForecastCategory.COMMIT: 3,
    ForecastCategory.CLOSED: 4,
}


def _amount(value: Any) -> Decimal:
    return Decimal(value) if value is not None else Decimal(0)


def backward_changes(current: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The ``Backward`` kinds of going from ``current`` to ``new`` (field → value)."""
    kinds = []
    old_close: date | None = current.get("close_date")
    new_close: date | None = new.get("close_date")
    closing = new.get("stage") in CLOSED_STAGES and current.get("stage") not in CLOSED_STAGES
    if (
        not closing
        and old_close
        and new_close
        and new_close >= period_containing(MONTH, old_close).end
    ):
        kinds.append(Backward.SLIPPED)
    if current.get("amount") is not None and _amount(new.get("amount")) < _amount(
        current["amount"]
    ):
        kinds.append(Backward.AMOUNT_DOWN)
    lost = new.get("stage") == Stage.CLOSED_LOST
    if (
        not lost
        and current.get("stage")
        and ladder_rank(new.get("stage")) < ladder_rank(current["stage"])
    ):
        kinds.append(Backward.STAGE_BACK)
    old_category, new_category = current.get("forecast_category"), new.get("forecast_category")
    if (
        not lost
        and old_category in CATEGORY_RANK
        and new_category in CATEGORY_RANK
        and CATEGORY_RANK[new_category] < CATEGORY_RANK[old_category]
    ):
        kinds.append(Backward.CATEGORY_DOWN)
    return kinds


def describe(kinds: list[str]) -> str:
    return ", ".join(str(Backward(kind).label) for kind in kinds)


def active_reason_codes():
    return ReasonCode.objects.filter(is_active=True)


def reason_code_from(value: Any) -> ReasonCode | None:
    """The active reason code ``value`` names (a ReasonCode, its id or its code), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, ReasonCode):
        return value if value.is_active else None
    text = str(value).strip()
    codes = active_reason_codes()
    if text.isascii() and text.isdigit():
        return codes.filter(pk=int(text)).first()
    return codes.filter(code=text).first()

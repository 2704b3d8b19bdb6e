"""The stage path on the opportunity page: every stage in a row, the current one marked.

A stage is a button that posts the move to the board's move view (``kanban.move``), so the
path goes through ``opportunity_move_stage`` with the same rules and the same questions as
a drop on the board: Closed Lost asks for the loss reason, Closed Won for the amount when
the deal has none.
"""

from dataclasses import dataclass

from climcrm.permissions import can_edit_opportunity, can_reopen_opportunity
from opportunities.models import (
    CLOSED_STAGES,
    STAGE_ORDER,
    Opportunity,
    Stage,
    ladder_rank,
    stage_number,
)


@dataclass
class PathStep:
    stage: str
    label: str
    number: int
    state: str  # "done", "current" or "todo"
    # "lost" or "won" when moving there asks a question first (a dialog), "back" when the
    # move page asks the reason for the step back, else "".
    asks: str = ""


def stage_path(deal: Opportunity) -> list[PathStep]:
    current_rank = STAGE_ORDER.index(deal.stage)
    steps = []
    for stage in STAGE_ORDER:
        rank = STAGE_ORDER.index(stage)
        if stage == deal.stage:
            state = "current"
        elif deal.stage not in CLOSED_STAGES and rank < current_rank:
            state = "done"
        elif deal.stage == Stage.CLOSED_WON and stage not in CLOSED_STAGES:
            # A won deal went through every open stage; a lost one may have left anywhere
            # (its history says where), so the path marks none of them.
            state = "done"
        else:
            state = "todo"
        asks = ""
        if stage == Stage.CLOSED_LOST:
            asks = "lost"
        elif stage == Stage.CLOSED_WON and not (deal.amount and deal.amount > 0):
            asks = "won"
        elif ladder_rank(stage) < ladder_rank(deal.stage):
            # A step back needs a reason (opportunities.reasons): the move page asks it.
            asks = "back"
        steps.append(
            PathStep(
                stage=stage,
                label=str(Stage(stage).label),
                number=stage_number(stage),
                state=state,
                asks=asks,
            )
        )
    return steps


def can_move_on_path(user, deal: Opportunity) -> bool:
    """Open deals move by whoever may edit them; a closed deal reopens by a manager."""
    if not can_edit_opportunity(user, deal):
        return False
    return deal.stage not in CLOSED_STAGES or can_reopen_opportunity(user)

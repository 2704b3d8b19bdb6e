from django.db.models import Q

from opportunities.models import (
    CLOSED_STAGE_VALUES,
    CLOSED_STAGES,
    OPEN_STAGE_VALUES,
    OPEN_STAGES,
    Opportunity,
)


def _partial(condition: Q) -> set[str]:
    return {index.name for index in Opportunity._meta.indexes if index.condition == condition}


def test_partial_indexes_cover_exactly_the_open_stages():
    assert OPEN_STAGE_VALUES == OPEN_STAGES
    assert _partial(Q(stage__in=OPEN_STAGE_VALUES)) == {
        "opp_open_stage_close",
        "opp_open_owner_close",
        "opp_open_partner_close",
    }


def test_partial_indexes_of_the_board_cover_exactly_the_closed_deals():
    assert CLOSED_STAGE_VALUES == CLOSED_STAGES
    assert _partial(Q(stage__in=CLOSED_STAGE_VALUES)) == {"opp_closed_stage_close"}
    assert _partial(Q(closed_at__isnull=False)) == {
        "opp_recent_closed_totals",
        "opp_closed_metrics",
    }
    assert _partial(Q(stage="closed_won")) == {"opp_won_estimates"}
    partial = {index.name for index in Opportunity._meta.indexes if index.condition is not None}
    assert partial == (
        _partial(Q(stage__in=OPEN_STAGE_VALUES))
        | _partial(Q(stage__in=CLOSED_STAGE_VALUES))
        | _partial(Q(closed_at__isnull=False))
        | _partial(Q(stage="closed_won"))
    )

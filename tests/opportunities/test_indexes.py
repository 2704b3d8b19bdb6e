from opportunities.models import OPEN_STAGE_VALUES, OPEN_STAGES, Opportunity


def test_partial_indexes_cover_exactly_the_open_stages():
    assert OPEN_STAGE_VALUES == OPEN_STAGES
    partial = [index for index in Opportunity._meta.indexes if index.condition is not None]
    assert {index.name for index in partial} == {
        "opp_open_stage_close",
        "opp_open_owner_close",
        "opp_open_partner_close",
    }

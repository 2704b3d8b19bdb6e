"""How far the deal of a converted lead went, kept on the lead for the funnel.

The funnel counts, among a period's leads, those converted whose deal was in Qualification
once (SRL), reached Needs Analysis or beyond (SQL) and is won. ``Lead.deal_progress`` holds
the three as bits, so the funnel reads the leads alone instead of looking up each deal:
the conversion sets it, the deal services update it when the deal changes stage
(``forecasting.kept`` recomputes it for every lead).

Before those, the funnel counts the leads that reached MQL (``Lead.reached_mql``) and the
prospects of seed 004 (``Lead.reached_prospect``: the organisation, opportunity and
stakeholder levels met once), both kept by the lead services.
"""

from django.db.models import F

from leads.models import Lead
from opportunities.changes import DealChange
from opportunities.models import QUALIFIED_RANK, Stage

SRL, SQL, WON = 1, 2, 4


def progress(*, stage: str, furthest_rank: int, in_qualification_once: bool) -> int:
    bits = SRL if in_qualification_once else 0
    if furthest_rank >= QUALIFIED_RANK:
        bits |= SQL
    if stage == Stage.CLOSED_WON:
        bits |= WON
    return bits


def deal_moved(deal, *, using: str) -> None:
    """The deal changed stage: update the lead it came from, if any (one statement).

    Once in Qualification stays so; the other bits follow the deal now.
    """
    bits = progress(
        stage=deal.stage,
        furthest_rank=deal.furthest_rank,
        in_qualification_once=deal.stage == Stage.QUALIFICATION,
    )
    Lead.objects.using(using).filter(converted_opportunity_id=deal.pk).update(
        deal_progress=F("deal_progress").bitand(SRL).bitor(bits)
    )


def on_deal_change(change: DealChange) -> None:
    """Keep the lead's funnel bits in step when its deal changes stage (subscribed in
    ``LeadsConfig``); a new deal's bits are set by the conversion."""
    if change.stage_changed:
        deal_moved(change.deal, using=change.using)

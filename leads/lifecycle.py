"""A lead's lifecycle on its page: the statuses in a row with the current one marked, the
explicit actions that move it (qualify as MQL, disqualify with a reason, convert), and the
qualification toggles (BANT and the three levels of seed 004).

Every action goes through ``leads.services``: ``lead_change_status`` for the statuses,
``lead_convert`` (its own screen) for the conversion, ``lead_update`` for the toggles.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from climcrm.choices import BANT
from leads.models import Lead, LeadStatus

# The toggles of the qualification card, in the order shown: BANT, then the three levels.
BANT_TOGGLES = BANT
LEVEL_TOGGLES = (
    ("organisation_fit", "organisation_note", _("Organisation fit")),
    ("opportunity_fit", "opportunity_note", _("Opportunity identified")),
    ("stakeholder_fit", "stakeholder_note", _("Stakeholders reached")),
)
TOGGLE_FIELDS = frozenset(name for name, _note, _label in BANT_TOGGLES + LEVEL_TOGGLES)

# The way forward of an open lead; conversion and disqualification end it.
PATH = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.MQL, LeadStatus.CONVERTED)


@dataclass
class Step:
    status: str
    label: str
    state: str  # "done", "current", "todo"


@dataclass
class Toggle:
    name: str
    label: str
    on: bool
    note: str


def lifecycle_path(lead: Lead) -> list[Step]:
    """New → Working → MQL → Converted; a disqualified lead ends on Disqualified instead."""
    statuses = list(PATH)
    if lead.status == LeadStatus.DISQUALIFIED:
        statuses[-1] = LeadStatus.DISQUALIFIED
    current = statuses.index(lead.status)
    steps = []
    for rank, status in enumerate(statuses):
        if rank == current:
            state = "current"
        elif rank < current and (
            status != LeadStatus.MQL or lead.reached_mql or lead.status == LeadStatus.CONVERTED
        ):
            state = "done"
        else:
            state = "todo"
        steps.append(Step(status=status, label=str(LeadStatus(status).label), state=state))
    return steps


def next_actions(lead: Lead) -> list[tuple[str, str]]:
    """The status changes offered as buttons: (status, button label)."""
    if lead.is_read_only:
        return []
    actions = []
    if lead.status == LeadStatus.NEW:
        actions.append((LeadStatus.WORKING.value, str(_("Start working"))))
    if lead.status in (LeadStatus.NEW, LeadStatus.WORKING):
        actions.append((LeadStatus.MQL.value, str(_("Qualify as MQL"))))
    if lead.status == LeadStatus.MQL:
        actions.append((LeadStatus.WORKING.value, str(_("Back to working"))))
    return actions


def toggles(lead: Lead) -> dict[str, list[Toggle]]:
    def build(spec):
        return [
            Toggle(name=name, label=str(label), on=getattr(lead, name), note=getattr(lead, note))
            for name, note, label in spec
        ]

    return {"bant": build(BANT_TOGGLES), "levels": build(LEVEL_TOGGLES)}

"""The versions a client may send with a change of a deal, shared by the tests of every path
that changes one (edit page, board, admin, reviews, partner assignment).

Each test brings the deal to version 2 the way it happens in real life (someone else saves
after the client's page was built at version 1); then only "2" may go through. Everything
else — no version, an empty one, "0", text, or the version the page was built from — is
refused, with nothing written.
"""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from opportunities.models import Opportunity, OpportunityHistory
from opportunities.services import opportunity_update

# A Tuesday morning in Lausanne, inside the partners' contracts of the factories.
NOW = datetime.datetime(2026, 3, 10, 9, 30, tzinfo=ZoneInfo("Europe/Zurich"))

REFUSED = ["missing", "empty", "zero", "not a number", "stale"]
SENT = {
    "empty": "",
    "zero": "0",
    "not a number": "deux",
    "stale": "1",
    "current": "2",
}
# What the French page says, whichever of the two refusals it is.
REFUSAL_WORDS = ("quelqu'un d'autre a", "rien n'a été enregistré")


def changed_by_someone_else(deal: Opportunity, by) -> Opportunity:
    """Someone else saves the deal (amount 77 000) after the client read version 1."""
    assert deal.version == 1
    opportunity_update(
        opportunity=deal,
        by=by,
        changes={"amount": Decimal("77000")},
        expected_version=deal.version,
    )
    deal.refresh_from_db()
    assert deal.version == 2
    return deal


def with_version(data: dict, case: str, key: str = "version") -> dict:
    """``data`` with the version the case sends under ``key`` (none for "missing")."""
    data = {k: v for k, v in data.items() if k != key}
    if case != "missing":
        data[key] = SENT[case]
    return data


def assert_untouched(deal: Opportunity, **expected) -> None:
    """Still version 2 with the other user's amount, no history row beyond theirs."""
    deal.refresh_from_db()
    assert deal.version == 2
    assert deal.amount == Decimal("77000")
    for name, value in expected.items():
        assert getattr(deal, name) == value, name
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 2


def says_someone_else_changed_it(text: str) -> bool:
    text = text.lower().replace("’", "'")
    return all(words in text for words in REFUSAL_WORDS)

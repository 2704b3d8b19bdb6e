"""factory-boy factories, one module per app; import them from here."""

from tests.factories.core import (  # noqa: F401
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
    PartnerFactory,
    UserFactory,
)

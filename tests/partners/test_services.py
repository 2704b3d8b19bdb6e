import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts.models import Account, Contact
from opportunities.models import OpportunityHistory, Stage
from opportunities.visibility import visible_opportunities
from partners import selectors, services
from partners.models import RegistrationEvent, RegistrationStatus
from tests import clock
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, UserFactory
from tests.factories.partners import DealRegistrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def _submit(user, **overrides):
    values = {
        "company_name": "Müller & Fils Sàrl",
        "contact_first_name": "Léa",
        "contact_last_name": "Müller",
        "contact_email": "lea@mullerfils.ch",
        "need": "Climatisation de l'atelier",
        "estimated_amount": Decimal("36000"),
        "expected_close_date": timezone.localdate() + datetime.timedelta(days=45),
        "site_address": "Rue du Lac 4, Vevey",
    }
    values.update(overrides)
    return services.registration_submit(by=user, **values)


class TestRegistrationSubmit:
    def test_partner_user_registers_for_their_own_partner(self, partner_a_user, partner_b):
        registration = services.registration_submit(
            by=partner_a_user, partner=partner_b, company_name="Client SA", need="x"
        )
        assert registration.partner == partner_a_user.partner
        assert registration.status == RegistrationStatus.SUBMITTED
        assert registration.normalized_company == "client"
        assert RegistrationEvent.objects.filter(
            registration=registration, to_status=RegistrationStatus.SUBMITTED
        ).exists()

    def test_internal_staff_must_choose_the_partner(self, rep):
        with pytest.raises(ValidationError):
            services.registration_submit(by=rep, company_name="Client SA")

    def test_internal_staff_registers_on_behalf_of_a_partner(self, rep, partner_b):
        registration = services.registration_submit(
            by=rep, partner=partner_b, company_name="Client SA"
        )
        assert registration.partner == partner_b
        assert registration.registered_by == rep


class TestAcceptance:
    def test_accept_creates_account_contact_and_deal_assigned_to_the_partner(
        self, channel, partner_a_user, rep
    ):
        registration = _submit(partner_a_user)
        result = services.registration_accept(registration=registration, by=channel, owner=rep)
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.ACCEPTED
        assert registration.decided_by == channel
        assert registration.protected_until == timezone.localdate() + datetime.timedelta(days=90)
        deal = result.opportunity
        assert deal.partner == partner_a_user.partner
        assert deal.owner == rep
        assert deal.amount == Decimal("36000")
        assert deal.stage == Stage.QUALIFICATION
        assert deal.account.name == "Müller & Fils Sàrl"
        assert deal.primary_contact.email == "lea@mullerfils.ch"
        assert registration.opportunity == deal
        assert OpportunityHistory.objects.filter(
            opportunity=deal, is_creation=True, tag=services.REGISTRATION_TAG
        ).exists()
        assert visible_opportunities(partner_a_user).filter(pk=deal.pk).exists()

    def test_accept_links_an_existing_account_and_contact(self, channel, partner_a_user):
        account = AccountFactory(name="Muller et Fils SA")
        contact = ContactFactory(account=account, email="lea@mullerfils.ch")
        registration = _submit(partner_a_user)
        assert account in selectors.duplicate_accounts(user=channel, registration=registration)
        assert contact in selectors.duplicate_contacts(user=channel, registration=registration)
        result = services.registration_accept(
            registration=registration, by=channel, account=account, contact=contact
        )
        assert result.created == ["opportunity"]
        assert Account.objects.filter(normalized_name="muller fils").count() == 1
        assert Contact.objects.filter(email="lea@mullerfils.ch").count() == 1
        assert result.opportunity.owner == channel

    @pytest.mark.parametrize(
        "missing",
        [
            {"need": ""},
            {"estimated_amount": None},
            {"expected_close_date": None},
            {"contact_last_name": ""},
            {"contact_email": "", "contact_phone": ""},
            {"company_name": ""},
        ],
    )
    def test_missing_mandatory_field_cannot_be_accepted(self, channel, partner_a, missing):
        registration = DealRegistrationFactory(partner=partner_a, **missing)
        with translation.override("en"), pytest.raises(ValidationError, match="mandatory"):
            services.registration_accept(registration=registration, by=channel)
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.SUBMITTED
        assert registration.opportunity is None
        assert not Account.objects.filter(name=registration.company_name or "—").exists()

    def test_only_channel_managers_decide(self, rep, partner_a_user, partner_a):
        registration = DealRegistrationFactory(partner=partner_a)
        for user in (rep, partner_a_user):
            with pytest.raises(PermissionError):
                services.registration_accept(registration=registration, by=user)
            with pytest.raises(PermissionError):
                services.registration_reject(registration=registration, by=user, reason="no")

    def test_a_decided_registration_cannot_be_decided_again(self, channel, partner_a):
        registration = DealRegistrationFactory(partner=partner_a)
        services.registration_reject(registration=registration, by=channel, reason="Doublon")
        with pytest.raises(ValidationError):
            services.registration_accept(registration=registration, by=channel)

    def test_reject_and_return_need_a_reason(self, channel, partner_a):
        registration = DealRegistrationFactory(partner=partner_a)
        with pytest.raises(ValidationError):
            services.registration_reject(registration=registration, by=channel, reason="  ")
        with pytest.raises(ValidationError):
            services.registration_return(registration=registration, by=channel, reason="")
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.SUBMITTED

    def test_returned_registration_goes_back_to_the_queue_when_edited(
        self, channel, partner_a_user
    ):
        registration = _submit(partner_a_user, need="")
        services.registration_return(
            registration=registration, by=channel, reason="Précisez le besoin"
        )
        registration.refresh_from_db()
        assert registration.decision_reason == "Précisez le besoin"
        services.registration_update(
            registration=registration, by=partner_a_user, changes={"need": "Deux PAC"}
        )
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.SUBMITTED
        assert list(registration.events.values_list("to_status", flat=True)) == [
            "submitted",
            "returned",
            "submitted",
        ]
        services.registration_accept(registration=registration, by=channel)

    def test_other_partner_cannot_edit_a_registration(self, partner_a, partner_b_user):
        registration = DealRegistrationFactory(partner=partner_a)
        with pytest.raises(PermissionError):
            services.registration_update(
                registration=registration, by=partner_b_user, changes={"need": "x"}
            )

    def test_renewal_extends_the_protection(self, channel, partner_a):
        registration = DealRegistrationFactory(
            partner=partner_a,
            status=RegistrationStatus.ACCEPTED,
            protected_until=timezone.localdate() - datetime.timedelta(days=1),
        )
        assert registration.is_expired
        services.registration_renew(registration=registration, by=channel)
        registration.refresh_from_db()
        assert not registration.is_expired
        assert registration.renewed_at is not None


class TestConflictFlag:
    def test_same_company_registered_by_two_partners_is_flagged(
        self, channel, partner_a, partner_b
    ):
        first = DealRegistrationFactory(partner=partner_a, company_name="Hôtel du Lac SA")
        second = DealRegistrationFactory(partner=partner_b, company_name="HOTEL DU LAC S.A.")
        alone = DealRegistrationFactory(partner=partner_b, company_name="Boulangerie Favre")
        flags = {
            r.pk: r.other_partner_claim
            for r in selectors.registration_queue(user=channel, params={"status": ""})
        }
        assert flags == {first.pk: True, second.pk: True, alone.pk: False}
        conflicts = selectors.registration_conflicts(user=channel, registration=second)
        assert conflicts["registrations"] == [first]

    def test_rejected_registrations_and_same_partner_do_not_conflict(self, channel, partner_a):
        DealRegistrationFactory(partner=partner_a, company_name="Hôtel du Lac SA")
        other = DealRegistrationFactory(partner=partner_a, company_name="Hotel du Lac")
        assert not selectors.registration_get(user=channel, pk=other.pk).other_partner_claim

    def test_an_expired_protection_no_longer_conflicts(self, channel, partner_a, partner_b):
        DealRegistrationFactory(
            partner=partner_a,
            company_name="Hôtel du Lac SA",
            status=RegistrationStatus.ACCEPTED,
            protected_until=timezone.localdate() - datetime.timedelta(days=1),
        )
        second = DealRegistrationFactory(partner=partner_b, company_name="Hotel du Lac")
        assert not selectors.registration_get(user=channel, pk=second.pk).other_partner_claim

    def test_open_deal_on_the_same_company_is_flagged(self, channel, partner_a, rep):
        OpportunityFactory(account=AccountFactory(name="Garage Central SA"), owner=rep)
        registration = DealRegistrationFactory(partner=partner_a, company_name="Garage Central")
        flagged = selectors.registration_get(user=channel, pk=registration.pk)
        assert flagged.open_deal_exists
        assert not flagged.other_partner_claim


class TestEmails:
    def test_partner_is_emailed_in_their_language_when_accepted(
        self, channel, partner_a, partner_a_user, django_capture_on_commit_callbacks
    ):
        director = UserFactory(
            username="director_a",
            roles=["partner_user"],
            partner=partner_a,
            partner_title="sales_director",
            language="en",
        )
        registration = _submit(partner_a_user)
        with django_capture_on_commit_callbacks(execute=True):
            services.registration_accept(registration=registration, by=channel)
        assert len(mail.outbox) == 2
        by_recipient = {m.to[0]: m for m in mail.outbox}
        french = by_recipient[partner_a_user.email]
        english = by_recipient[director.email]
        assert french.subject == "Déclaration d'opportunité acceptée : Müller & Fils Sàrl"
        assert "a été acceptée" in french.body
        assert english.subject == "Deal registration accepted: Müller & Fils Sàrl"
        assert "was accepted" in english.body
        html, mimetype = english.alternatives[0]
        assert mimetype == "text/html"
        assert "Müller &amp; Fils Sàrl" in html

    def test_rejection_email_carries_the_reason(
        self, channel, partner_a_user, django_capture_on_commit_callbacks
    ):
        registration = _submit(partner_a_user)
        with django_capture_on_commit_callbacks(execute=True):
            services.registration_reject(
                registration=registration, by=channel, reason="Client déjà suivi en direct"
            )
        (message,) = mail.outbox
        assert message.to == [partner_a_user.email]
        assert "refusé" in message.subject
        assert "Client déjà suivi en direct" in message.body
        assert "Client déjà suivi en direct" in message.alternatives[0][0]

    def test_no_email_before_the_transaction_commits(self, channel, partner_a_user):
        registration = _submit(partner_a_user)
        services.registration_return(registration=registration, by=channel, reason="Budget ?")
        assert mail.outbox == []


class TestAssignment:
    def test_reassignment_revokes_access_at_once(
        self, channel, partner_a, partner_b, partner_a_user, partner_b_user, rep
    ):
        deal = OpportunityFactory(partner=partner_a, owner=rep)
        assert visible_opportunities(partner_a_user).filter(pk=deal.pk).exists()
        changed = services.opportunity_assign_partner(
            opportunity=deal, partner=partner_b, by=channel, expected_version=deal.version
        )
        assert changed
        assert not visible_opportunities(partner_a_user).filter(pk=deal.pk).exists()
        assert visible_opportunities(partner_b_user).filter(pk=deal.pk).exists()
        row = OpportunityHistory.objects.get(opportunity=deal, tag=services.ASSIGNMENT_TAG)
        assert row.changed_fields == ["partner"]
        assert row.partner == partner_b

    def test_bulk_assignment_by_an_admin(self, admin_user, partner_a, rep):
        deals = [OpportunityFactory(owner=rep) for _ in range(3)]
        result = services.opportunities_assign_partner(
            opportunities=deals,
            partner=partner_a,
            by=admin_user,
            expected_versions={d.pk: d.version for d in deals},
        )
        assert len(result.changed) == 3
        assert all(d.partner_id == partner_a.pk for d in deals)

    def test_reps_and_partners_cannot_assign(self, rep, partner_a_user, partner_b):
        deal = OpportunityFactory(owner=rep)
        for user in (rep, partner_a_user):
            with pytest.raises(PermissionError):
                services.opportunity_assign_partner(
                    opportunity=deal, partner=partner_b, by=user, expected_version=deal.version
                )


class TestBusinessPlan:
    def test_channel_manager_saves_the_four_quarters(self, channel, partner_a):
        rows = [
            {"quarter": q, "revenue": Decimal(100000 * q), "new_customers": q, "leads": 10}
            for q in (1, 2, 3, 4)
        ]
        services.partner_targets_save(partner=partner_a, by=channel, year=2026, rows=rows)
        services.partner_targets_save(partner=partner_a, by=channel, year=2026, rows=rows)
        plan = selectors.business_plan(partner=partner_a, year=2026)
        assert [row["revenue"] for row in plan] == [100000, 200000, 300000, 400000]

    def test_rep_cannot_edit_the_business_plan(self, rep, partner_a):
        with pytest.raises(PermissionError):
            services.partner_targets_save(partner=partner_a, by=rep, year=2026, rows=[])

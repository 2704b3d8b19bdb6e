import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account, Contact
from climcrm.choices import OriginChannel, Source
from forecasting import kept
from leads import services
from leads.models import Lead, LeadStatus, LeadStatusChange
from opportunities.models import Opportunity, OpportunityHistory, OpportunityType, Stage
from tests import clock
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory
from tests.factories.leads import OpenLeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(clock.NOW)]


def _lead(rep, **values):
    defaults = {"first_name": "Anne", "last_name": "Dupuis", "company": "Régie Exemple SA"}
    return services.lead_create(by=rep, **{"owner": rep, **defaults, **values})


class TestLifecycle:
    def test_create_starts_new_with_a_status_row(self, rep):
        lead = _lead(rep, email="Anne@Exemple.CH")
        assert lead.status == LeadStatus.NEW
        assert lead.email == "anne@exemple.ch"
        change = LeadStatusChange.objects.get(lead=lead)
        assert (change.from_status, change.to_status, change.changed_by) == ("", "new", rep)

    def test_create_requires_a_last_name(self, rep):
        with pytest.raises(ValidationError) as exc:
            services.lead_create(by=rep, first_name="Anne", last_name=" ")
        assert "last_name" in exc.value.message_dict
        assert not Lead.objects.exists()

    def test_partner_user_lead_belongs_to_the_partner(self, partner_a_user, rep):
        lead = services.lead_create(by=partner_a_user, last_name="Rossi", owner=rep)
        assert lead.partner == partner_a_user.partner
        assert lead.origin == OriginChannel.PARTNER
        assert lead.owner is None

    def test_partner_origin_needs_a_partner(self, rep):
        with pytest.raises(ValidationError) as exc:
            services.lead_create(by=rep, last_name="Rossi", origin=OriginChannel.PARTNER)
        assert "partner" in exc.value.message_dict

    def test_every_status_change_is_recorded_with_who_and_when(self, rep):
        lead = _lead(rep)
        services.lead_change_status(lead=lead, to_status=LeadStatus.WORKING, by=rep)
        services.lead_change_status(lead=lead, to_status=LeadStatus.MQL, by=rep)
        rows = list(lead.status_changes.order_by("changed_at", "pk"))
        assert [(r.from_status, r.to_status) for r in rows] == [
            ("", "new"),
            ("new", "working"),
            ("working", "mql"),
        ]
        assert all(r.changed_by == rep and r.changed_at for r in rows)
        lead.refresh_from_db()
        assert lead.status == LeadStatus.MQL
        assert lead.status_changed_at == rows[-1].changed_at

    def test_a_lead_once_mql_stays_counted_as_mql(self, rep):
        lead = _lead(rep)
        services.lead_change_status(lead=lead, to_status=LeadStatus.WORKING, by=rep)
        lead.refresh_from_db()
        assert lead.reached_mql is False
        services.lead_change_status(lead=lead, to_status=LeadStatus.MQL, by=rep)
        services.lead_change_status(lead=lead, to_status=LeadStatus.WORKING, by=rep)
        lead.refresh_from_db()
        assert (lead.status, lead.reached_mql) == (LeadStatus.WORKING, True)

    def test_disqualifying_needs_a_reason(self, rep):
        lead = _lead(rep)
        with pytest.raises(ValidationError):
            services.lead_change_status(lead=lead, to_status=LeadStatus.DISQUALIFIED, by=rep)
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW
        assert lead.status_changes.count() == 1

    @pytest.mark.parametrize("start", [LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.MQL])
    def test_any_open_status_can_be_disqualified(self, rep, start):
        lead = OpenLeadFactory(owner=rep, status=start)
        services.lead_change_status(
            lead=lead, to_status=LeadStatus.DISQUALIFIED, by=rep, reason="Pas de budget"
        )
        lead.refresh_from_db()
        assert lead.status == LeadStatus.DISQUALIFIED
        assert lead.disqualification_reason == "Pas de budget"

    def test_converted_is_only_reached_by_conversion(self, rep):
        lead = _lead(rep)
        with pytest.raises(ValidationError):
            services.lead_change_status(lead=lead, to_status=LeadStatus.CONVERTED, by=rep)

    def test_disqualified_lead_is_read_only(self, rep):
        lead = _lead(rep)
        services.lead_change_status(
            lead=lead, to_status=LeadStatus.DISQUALIFIED, by=rep, reason="Hors cible"
        )
        with pytest.raises(services.LeadReadOnlyError):
            services.lead_update(lead=lead, by=rep, changes={"company": "Autre SA"})
        with pytest.raises(services.LeadReadOnlyError):
            services.lead_change_status(lead=lead, to_status=LeadStatus.WORKING, by=rep)
        lead.refresh_from_db()
        assert lead.company == "Régie Exemple SA"

    def test_converted_lead_is_read_only(self, rep):
        lead = _lead(rep)
        services.lead_convert(lead=lead, by=rep, create_opportunity=False)
        with pytest.raises(services.LeadReadOnlyError):
            services.lead_update(lead=lead, by=rep, changes={"notes": "x"})
        with pytest.raises(services.LeadReadOnlyError):
            services.lead_change_status(
                lead=lead, to_status=LeadStatus.DISQUALIFIED, by=rep, reason="x"
            )

    def test_rep_cannot_change_another_reps_lead(self, rep, other_rep):
        lead = _lead(other_rep, owner=other_rep)
        with pytest.raises(PermissionError):
            services.lead_update(lead=lead, by=rep, changes={"notes": "x"})

    def test_manager_changes_the_leads_of_the_team(self, rep, manager):
        lead = _lead(rep)
        services.lead_update(lead=lead, by=manager, changes={"notes": "Rappeler"})
        assert lead.notes == "Rappeler"

    def test_partner_user_cannot_change_the_owner(self, partner_a_user, rep):
        lead = services.lead_create(by=partner_a_user, last_name="Rossi")
        services.lead_update(
            lead=lead, by=partner_a_user, changes={"owner": rep, "notes": "Visite faite"}
        )
        assert lead.owner is None and lead.notes == "Visite faite"


class TestBulk:
    def test_bulk_status_skips_read_only_leads_with_a_reason(self, rep):
        open_lead = _lead(rep)
        closed = _lead(rep, last_name="Closed")
        services.lead_change_status(
            lead=closed, to_status=LeadStatus.DISQUALIFIED, by=rep, reason="x"
        )
        result = services.lead_bulk_change_status(
            leads=[open_lead, closed], to_status=LeadStatus.WORKING, by=rep
        )
        assert result.changed == [open_lead]
        assert [lead for lead, _reason in result.skipped] == [closed]

    def test_bulk_assign_refuses_a_partner_user_as_owner(self, rep, partner_a_user):
        with pytest.raises(ValidationError):
            services.lead_bulk_assign(leads=[_lead(rep)], owner=partner_a_user, by=rep)


class TestConversion:
    def test_conversion_creates_account_contact_and_opportunity(self, rep):
        lead = _lead(
            rep,
            email="anne@regie-exemple.ch",
            phone="+41 21 000 00 00",
            job_title="Gérante",
            source=Source.EVENT,
            budget_ok=True,
            budget_note="Budget 2027",
            need_ok=True,
            authority_ok=True,
        )
        result = services.lead_convert(
            lead=lead,
            by=rep,
            amount=Decimal("42000"),
            close_date=datetime.date(2027, 3, 31),
        )
        lead.refresh_from_db()
        assert lead.status == LeadStatus.CONVERTED
        assert lead.converted_account == result.account
        assert lead.converted_contact == result.contact
        assert lead.converted_opportunity == result.opportunity
        assert result.account.name == "Régie Exemple SA"
        assert result.contact.email == "anne@regie-exemple.ch"
        assert result.contact.is_decision_maker
        opportunity = result.opportunity
        assert opportunity.name == "Régie Exemple SA"
        assert opportunity.stage == Stage.QUALIFICATION
        assert opportunity.amount == Decimal("42000")
        assert opportunity.primary_contact == result.contact
        assert opportunity.type == OpportunityType.NEW_BUSINESS
        assert opportunity.source == Source.EVENT
        assert opportunity.lead == lead
        assert (opportunity.budget_ok, opportunity.budget_note) == (True, "Budget 2027")
        assert opportunity.need_ok and not opportunity.timing_ok
        assert OpportunityHistory.objects.filter(opportunity=opportunity).count() == 1
        assert lead.status_changes.last().to_status == LeadStatus.CONVERTED

    def test_project_name_names_the_opportunity(self, rep):
        lead = _lead(rep, project_name="Les Hauts de Malley, bâtiment B")
        result = services.lead_convert(lead=lead, by=rep)
        assert result.opportunity.name == "Les Hauts de Malley, bâtiment B"
        assert result.opportunity.site_address == "Les Hauts de Malley, bâtiment B"

    def test_existing_customer_gets_existing_business(self, rep):
        account = AccountFactory(name="Régie Exemple SA")
        OpportunityFactory(account=account, stage=Stage.CLOSED_WON, probability=100)
        contact = ContactFactory(account=account, email="anne@regie-exemple.ch")
        lead = _lead(rep, email="anne@regie-exemple.ch")
        result = services.lead_convert(lead=lead, by=rep, account=account, contact=contact)
        assert result.opportunity.type == OpportunityType.EXISTING_BUSINESS
        assert not result.created_account and not result.created_contact
        assert Account.objects.count() == 1 and Contact.objects.count() == 1

    def test_contact_of_another_account_is_refused(self, rep):
        account = AccountFactory()
        contact = ContactFactory()
        lead = _lead(rep)
        with pytest.raises(ValidationError):
            services.lead_convert(lead=lead, by=rep, account=account, contact=contact)
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW

    def test_without_opportunity(self, rep):
        lead = _lead(rep)
        result = services.lead_convert(lead=lead, by=rep, create_opportunity=False)
        assert result.opportunity is None
        assert not Opportunity.objects.exists()
        assert lead.converted_account == result.account

    def test_a_failure_mid_way_writes_nothing(self, rep, monkeypatch):
        lead = _lead(rep, email="anne@regie-exemple.ch")

        def broken_create(**kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr("leads.services.opportunity_create", broken_create)
        with pytest.raises(RuntimeError):
            services.lead_convert(lead=lead, by=rep)
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW
        assert lead.converted_account is None
        assert not Account.objects.exists()
        assert not Contact.objects.exists()
        assert not Opportunity.objects.exists()
        assert lead.status_changes.count() == 1

    def test_the_lead_follows_how_far_its_deal_goes(self, rep, manager):
        from leads import funnel
        from opportunities.models import LossReason
        from opportunities.services import opportunity_move_stage

        lead = _lead(rep)
        deal = services.lead_convert(
            lead=lead, by=rep, amount=Decimal("1000"), close_date=datetime.date(2027, 3, 31)
        ).opportunity

        def progress():
            lead.refresh_from_db()
            return lead.deal_progress

        assert progress() == funnel.SRL  # created in Qualification
        opportunity_move_stage(
            opportunity=deal, to_stage=Stage.PROPOSAL, by=rep, expected_version=deal.version
        )
        assert progress() == funnel.SRL | funnel.SQL
        opportunity_move_stage(
            opportunity=deal, to_stage=Stage.CLOSED_WON, by=rep, expected_version=deal.version
        )
        assert progress() == funnel.SRL | funnel.SQL | funnel.WON
        # Reopened and lost: no longer won, but it was qualified and in Qualification once.
        opportunity_move_stage(
            opportunity=deal,
            to_stage=Stage.NEEDS_ANALYSIS,
            by=manager,
            expected_version=deal.version,
            reason_code="other",
        )
        opportunity_move_stage(
            opportunity=deal,
            to_stage=Stage.CLOSED_LOST,
            by=manager,
            loss_reason=LossReason.objects.first(),
            expected_version=deal.version,
        )
        assert progress() == funnel.SRL | funnel.SQL
        # The same bits as rebuilding them from the deal and its history.
        Lead.objects.filter(pk=lead.pk).update(deal_progress=0)
        kept.rebuild(tables=("leads_lead",))
        assert progress() == funnel.SRL | funnel.SQL

    def test_second_conversion_creates_nothing(self, rep):
        lead = _lead(rep)
        services.lead_convert(lead=lead, by=rep)
        stale = Lead.objects.get(pk=lead.pk)
        stale.status = LeadStatus.MQL  # as a second browser tab still believes
        with pytest.raises(services.LeadAlreadyConvertedError):
            services.lead_convert(lead=stale, by=rep)
        assert Account.objects.count() == 1
        assert Contact.objects.count() == 1
        assert Opportunity.objects.count() == 1
        assert lead.status_changes.filter(to_status=LeadStatus.CONVERTED).count() == 1

    def test_partner_user_cannot_convert(self, partner_a_user):
        lead = services.lead_create(by=partner_a_user, last_name="Rossi", company="Rossi SA")
        with pytest.raises(PermissionError):
            services.lead_convert(lead=lead, by=partner_a_user)
        assert not Account.objects.filter(name="Rossi SA").exists()

    def test_partner_lead_opportunity_goes_to_the_partner(self, rep, partner_a):
        lead = _lead(rep, partner=partner_a, origin=OriginChannel.PARTNER)
        result = services.lead_convert(lead=lead, by=rep)
        assert result.opportunity.partner == partner_a


class TestRateLimit:
    def test_rate_parsing(self):
        assert services.parse_rate("5/h") == (5, datetime.timedelta(hours=1))
        assert services.parse_rate("10/m") == (10, datetime.timedelta(minutes=1))

    def test_limit_is_per_address_and_window(self):
        assert all(services.public_form_allowed(ip_address="10.0.0.1", rate="2/h") for _ in "ab")
        assert not services.public_form_allowed(ip_address="10.0.0.1", rate="2/h")
        assert services.public_form_allowed(ip_address="10.0.0.2", rate="2/h")
        later = timezone.now() + datetime.timedelta(hours=2)
        assert services.public_form_allowed(ip_address="10.0.0.1", rate="2/h", at=later)

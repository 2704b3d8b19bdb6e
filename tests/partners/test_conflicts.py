"""Registration conflicts across partners: matching keys, the queue, the decision, the
protected window, what each partner is told, and the appeal."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from climcrm.text import company_email_domain, normalize_postal_address
from opportunities.models import Opportunity, Stage
from partners import selectors, services
from partners.models import (
    ConflictDecision,
    ConflictNotice,
    ConflictOutcome,
    DealRegistration,
    MatchKey,
    RegistrationStatus,
)
from tests import clock
from tests.factories import AccountFactory, PartnerFactory, UserFactory
from tests.factories.partners import DealRegistrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

# The winner's own data: the refused partner must never read any of it.
WINNER_SECRETS = ("Zéphyrin", "Projet Toundra", "Besoin confidentiel XQW", "zephyrin@")


def _register(user, *, at=None, **overrides):
    values = {
        "company_name": "Hôtel du Lac SA",
        "contact_first_name": "Léa",
        "contact_last_name": "Müller",
        "contact_email": "lea@hoteldulac.ch",
        "need": "Climatisation des chambres",
        "estimated_amount": Decimal("120000"),
        "expected_close_date": clock.period_end(),
        "site_address": "Rue du Lac 12, 1800 Vevey",
    }
    values.update(overrides)
    return services.registration_submit(by=user, at=at, **values)


def _early(minutes: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=minutes)


def _queue(user, **params):
    rows = list(selectors.conflict_groups(user=user, params=params))
    return selectors.conflict_groups_with_members(rows)


def _decide(by, group, **kwargs):
    values = {
        "by": by,
        "kind": group.kind,
        "key": group.key,
        "seen": {m.pk for m in group.members},
        "reason": "Le premier à avoir déclaré, avec un projet détaillé",
    }
    values.update(kwargs)
    return services.conflict_decide(**values)


@pytest.fixture
def contest(partner_a_user, partner_b_user):
    """Partner A registered the hotel first; partner B registered it since, differently."""
    first = _register(
        partner_a_user,
        at=_early(60),
        contact_first_name="Zéphyrin",
        contact_email="zephyrin@hoteldulac.ch",
        project_name="Projet Toundra",
        need="Besoin confidentiel XQW",
    )
    second = _register(partner_b_user, at=_early(30), company_name="HOTEL DU LAC S.A.")
    return first, second


class TestMatchingKeys:
    @pytest.mark.parametrize(
        ("left", "right"),
        [
            ("Rue du Lac 12, 1800 Vevey", "12, rue du lac, CH-1800 Vevey"),
            ("Av. de la Gare 5, 1003 Lausanne", "Avenue de la Gare 5 1003 Lausanne"),
            ("Bahnhofstr. 3, 8001 Zürich", "Bahnhofstrasse 3, 8001 Zurich"),
            ("Hôtel du Lac, Rue du Lac 12, 1800 Vevey", "R. du Lac 12, 1800 Vevey"),
        ],
    )
    def test_same_address_gives_the_same_key(self, left, right):
        assert normalize_postal_address(left) == normalize_postal_address(right) != ""

    @pytest.mark.parametrize("address", ["", "Vevey", "1800 Vevey", "Rue du Lac 12, Vevey"])
    def test_an_address_without_street_or_postal_code_has_no_key(self, address):
        assert normalize_postal_address(address) == ""

    def test_other_street_number_or_postal_code_differs(self):
        base = normalize_postal_address("Rue du Lac 12, 1800 Vevey")
        assert normalize_postal_address("Rue du Lac 14, 1800 Vevey") != base
        assert normalize_postal_address("Rue du Lac 12, 1815 Clarens") != base

    @pytest.mark.parametrize("email", ["anne@gmail.com", "a@BLUEWIN.CH", "x@hotmail.fr", ""])
    def test_public_mail_domains_are_no_key(self, email):
        assert company_email_domain(email) == ""

    def test_keys_are_stored_on_submission_and_kept_up_to_date(self, partner_a_user):
        registration = _register(partner_a_user, contact_email="Lea@HotelDuLac.ch")
        assert registration.normalized_company == "hotel du lac"
        assert registration.email_domain == "hoteldulac.ch"
        assert registration.address_key == "1800 rue du lac 12"
        services.registration_update(
            registration=registration,
            by=partner_a_user,
            changes={"contact_email": "lea@gmail.com", "site_address": "Vevey"},
        )
        registration.refresh_from_db()
        assert (registration.email_domain, registration.address_key) == ("", "")


class TestConflictGroups:
    def test_two_partners_on_the_same_company_make_one_group(self, channel, contest):
        first, second = contest
        (group,) = _queue(channel)
        assert (group.kind, group.key) == (MatchKey.COMPANY, "hotel du lac")
        assert [m.pk for m in group.members] == [first.pk, second.pk]

    def test_a_shared_email_domain_or_address_is_a_group_of_its_own(
        self, channel, partner_a_user, partner_b_user
    ):
        _register(partner_a_user, company_name="Groupe Hôtelier Riviera", site_address="")
        _register(partner_b_user, company_name="Hôtel Riviera Palace", site_address="")
        _register(
            partner_a_user,
            company_name="Clinique Beau-Site",
            contact_email="a@beausite.ch",
            site_address="Ch. des Roses 4, 1009 Pully",
        )
        _register(
            partner_b_user,
            company_name="Beau-Site Santé",
            contact_email="b@sante-pully.ch",
            site_address="Chemin des Roses 4, CH-1009 Pully",
        )
        groups = {(g.kind, g.key): len(g.members) for g in _queue(channel)}
        assert groups == {
            (MatchKey.DOMAIN, "hoteldulac.ch"): 2,
            (MatchKey.ADDRESS, "1009 chemin des roses 4"): 2,
        }

    def test_registrations_sharing_several_keys_are_shown_once(self, channel, contest):
        first, second = contest
        assert first.email_domain == second.email_domain
        assert first.address_key == second.address_key
        assert len(_queue(channel)) == 1

    def test_no_group_for_one_partner_public_domains_or_closed_claims(
        self, channel, partner_a, partner_a_user, partner_b
    ):
        _register(partner_a_user)
        _register(partner_a_user, company_name="Hotel du Lac")
        _register(
            partner_a_user, company_name="Boulangerie", contact_email="a@gmail.com", site_address=""
        )
        DealRegistrationFactory(
            partner=partner_b, company_name="Boulangerie Favre", contact_email="b@gmail.com"
        )
        DealRegistrationFactory(
            partner=partner_b, company_name="Hôtel du Lac", status=RegistrationStatus.REJECTED
        )
        DealRegistrationFactory(
            partner=partner_b,
            company_name="Hôtel du Lac",
            status=RegistrationStatus.ACCEPTED,
            protected_until=timezone.localdate() - datetime.timedelta(days=1),
        )
        assert _queue(channel) == []

    def test_an_accepted_claim_still_protected_competes(self, channel, partner_a, partner_b_user):
        protected = DealRegistrationFactory(
            partner=partner_a,
            company_name="Hôtel du Lac",
            status=RegistrationStatus.ACCEPTED,
            protected_until=timezone.localdate() + datetime.timedelta(days=10),
        )
        newcomer = _register(partner_b_user)
        (group,) = _queue(channel)
        assert group.protected_until == protected.protected_until
        assert {m.pk for m in group.members} == {protected.pk, newcomer.pk}

    def test_a_channel_manager_sees_the_groups_of_their_partners_unless_asking_for_all(
        self, channel, contest
    ):
        other_manager = UserFactory(username="channel2", roles=["channel_manager"])
        other_partner = PartnerFactory(channel_manager=other_manager)
        DealRegistrationFactory(partner=other_partner, company_name="Garage Central SA")
        DealRegistrationFactory(
            partner=PartnerFactory(channel_manager=other_manager), company_name="Garage Central"
        )
        assert [g.key for g in _queue(channel)] == ["hotel du lac"]
        assert [g.key for g in _queue(other_manager)] == ["garage central"]
        assert {g.key for g in _queue(channel, scope="all")} == {"hotel du lac", "garage central"}

    def test_the_evidence_side_by_side(self, channel, rep, contest, partner_a, partner_a_user):
        first, second = contest
        # Partner A: one of its two accepted registrations became a won deal.
        for won in (True, False):
            earlier = DealRegistrationFactory(partner=partner_a)
            services.registration_accept(registration=earlier, by=channel, owner=rep)
            earlier.refresh_from_db()
            if won:
                Opportunity.objects.filter(pk=earlier.opportunity_id).update(
                    stage=Stage.CLOSED_WON, probability=100, closed_at=timezone.now()
                )
        # Partner A followed the customer up since; partner B changed its registration once.
        account = AccountFactory(name="Hotel du Lac")
        Activity.objects.create(subject="Visite", account=account, created_by=partner_a_user)
        services.registration_update(
            registration=second, by=second.registered_by, changes={"need": "Deux PAC"}
        )
        second.refresh_from_db()
        (group,) = _queue(channel)
        by_pk = {m.pk: m for m in group.members}
        a, b = by_pk[first.pk], by_pk[second.pk]
        assert a.first_submitted < b.first_submitted
        assert (a.activity_count, a.update_count) == (1, 0)
        assert (b.activity_count, b.update_count) == (0, 1)
        assert (a.conversion_accepted, a.conversion_won, a.conversion_rate) == (2, 1, 50)
        assert (b.conversion_accepted, b.conversion_rate) == (0, None)
        assert a.missing == [] and b.missing == []

    def test_a_resubmission_keeps_the_first_submission_date(self, channel, contest):
        first, second = contest
        services.registration_return(registration=second, by=channel, reason="Précisez")
        services.registration_update(
            registration=second, by=second.registered_by, changes={"need": "PAC"}
        )
        second.refresh_from_db()
        assert second.submitted_at > first.submitted_at
        members = _queue(channel)[0].members
        assert [m.pk for m in members] == [first.pk, second.pk]
        assert members[1].first_submitted < second.submitted_at
        # The partner's resubmission counts as its update; the channel manager's return not.
        assert members[1].update_count == 1


class TestProtectedWindow:
    @pytest.fixture
    def protected(self, channel, rep, partner_a_user):
        registration = _register(partner_a_user, at=_early(60))
        services.registration_accept(registration=registration, by=channel, owner=rep)
        registration.refresh_from_db()
        return registration

    def test_a_newcomer_is_flagged_at_submission_and_cannot_be_accepted(
        self, channel, protected, partner_b_user
    ):
        newcomer = _register(partner_b_user, company_name="Hotel du Lac Vevey SA")
        flagged = selectors.registration_get(user=channel, pk=newcomer.pk)
        assert flagged.protected_claim_until == protected.protected_until
        with pytest.raises(ValidationError, match="protégé"):
            services.registration_accept(registration=newcomer, by=channel)
        newcomer.refresh_from_db()
        assert newcomer.status == RegistrationStatus.SUBMITTED
        assert Opportunity.objects.count() == 1

    def test_after_the_protection_ends_it_can_be_accepted(
        self, channel, protected, partner_b_user, time_machine
    ):
        newcomer = _register(partner_b_user)
        time_machine.move_to(clock.NOW + datetime.timedelta(days=91))
        assert not selectors.registration_get(user=channel, pk=newcomer.pk).protected_claim_until
        services.registration_accept(registration=newcomer, by=channel)
        newcomer.refresh_from_db()
        assert newcomer.status == RegistrationStatus.ACCEPTED

    def test_a_partner_is_not_blocked_by_its_own_protection(
        self, channel, protected, partner_a_user
    ):
        again = _register(partner_a_user, project_name="Deuxième bâtiment")
        services.registration_accept(registration=again, by=channel)
        again.refresh_from_db()
        assert again.status == RegistrationStatus.ACCEPTED

    def test_the_screen_says_why_and_offers_no_acceptance(
        self, client_for, channel, protected, partner_b_user
    ):
        newcomer = _register(partner_b_user)
        page = client_for(channel).get(reverse("partners:registration-detail", args=[newcomer.pk]))
        assert 'id="protected-claim"' in page.text
        assert 'aria-disabled="true"' in page.text

    def test_the_decision_offers_only_to_keep_the_protected_claim(
        self, client_for, channel, protected, partner_b_user
    ):
        newcomer = _register(partner_b_user)
        url = reverse("partners:conflict-detail", args=[newcomer.pk, "company"])
        form = client_for(channel).get(url).context["form"]
        choices = [value for value, _ in form.fields["winner"].choices]
        assert choices == [str(protected.pk), "none"]

    def test_the_queue_shows_the_protection(self, client_for, channel, protected, partner_b_user):
        _register(partner_b_user)
        page = client_for(channel).get(reverse("partners:conflict-queue"))
        date = protected.protected_until.strftime("%d.%m.%Y")
        assert f"protégé jusqu'au {date}" in page.text


class TestConflictDecision:
    def test_the_winner_is_accepted_and_the_others_rejected_in_one_decision(
        self, channel, rep, contest, django_capture_on_commit_callbacks
    ):
        first, second = contest
        (group,) = _queue(channel)
        with django_capture_on_commit_callbacks(execute=True):
            result = _decide(channel, group, winner_id=first.pk, owner=rep)
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == RegistrationStatus.ACCEPTED
        assert first.opportunity.partner_id == first.partner_id
        assert first.opportunity.owner == rep
        assert second.status == RegistrationStatus.REJECTED
        decision = ConflictDecision.objects.get()
        assert decision == result.decision
        assert decision.decided_by == channel and decision.winner == first
        assert decision.reason.startswith("Le premier")
        outcomes = {e.registration_id: (e.outcome, e.notice) for e in decision.entries.all()}
        assert outcomes == {
            first.pk: (ConflictOutcome.ACCEPTED, ""),
            second.pk: (ConflictOutcome.REJECTED, ConflictNotice.FIRST),
        }
        assert second.conflict_refusal.protected_until == first.protected_until
        assert _queue(channel) == []
        assert len(mail.outbox) == 2

    def test_a_later_registration_may_win_and_the_earlier_is_told_so(self, channel, contest):
        first, second = contest
        (group,) = _queue(channel)
        _decide(channel, group, winner_id=second.pk)
        first.refresh_from_db()
        assert first.conflict_refusal.notice == ConflictNotice.PREFERRED

    def test_nothing_is_written_when_the_winner_cannot_be_accepted(self, channel, contest):
        first, second = contest
        DealRegistration.objects.filter(pk=first.pk).update(need="")
        (group,) = _queue(channel)
        with pytest.raises(ValidationError, match="obligatoires"):
            _decide(channel, group, winner_id=first.pk)
        assert not ConflictDecision.objects.exists()
        assert not Opportunity.objects.exists()
        second.refresh_from_db()
        assert second.status == RegistrationStatus.SUBMITTED

    def test_a_group_that_changed_since_it_was_opened_is_not_decided(
        self, channel, contest, partner_b
    ):
        first, _ = contest
        (group,) = _queue(channel)
        DealRegistrationFactory(partner=PartnerFactory(), company_name="Hôtel du Lac")
        with pytest.raises(ValidationError, match="changé"):
            _decide(channel, group, winner_id=first.pk)
        assert not ConflictDecision.objects.exists()

    def test_the_message_may_not_name_a_partner(self, channel, contest, partner_a):
        first, second = contest
        (group,) = _queue(channel)
        with pytest.raises(ValidationError) as refused:
            _decide(
                channel,
                group,
                winner_id=first.pk,
                message=f"Déjà déclaré par {partner_a.account.name}.",
            )
        assert "message" in refused.value.message_dict
        second.refresh_from_db()
        assert second.status == RegistrationStatus.SUBMITTED

    def test_refusing_them_all_needs_a_message(self, channel, contest):
        first, second = contest
        (group,) = _queue(channel)
        with pytest.raises(ValidationError):
            _decide(channel, group, winner_id=None)
        _decide(channel, group, winner_id=None, message="Client suivi en direct.")
        for registration in contest:
            registration.refresh_from_db()
            assert registration.status == RegistrationStatus.REJECTED
            assert registration.conflict_refusal.notice == ConflictNotice.NONE
        assert ConflictDecision.objects.get().winner is None

    def test_the_others_may_be_returned_for_more_information(self, channel, contest):
        first, second = contest
        (group,) = _queue(channel)
        with pytest.raises(ValidationError):
            _decide(channel, group, winner_id=first.pk, refusal=services.REFUSE_RETURN)
        _decide(
            channel,
            group,
            winner_id=first.pk,
            refusal=services.REFUSE_RETURN,
            message="Envoyez la preuve de votre premier contact.",
        )
        second.refresh_from_db()
        assert second.status == RegistrationStatus.RETURNED
        assert second.decision_reason == "Envoyez la preuve de votre premier contact."

    def test_keeping_a_protected_claim_tells_the_newcomer_until_when(
        self, channel, partner_a, partner_b_user
    ):
        protected = DealRegistrationFactory(
            partner=partner_a,
            company_name="Hôtel du Lac",
            status=RegistrationStatus.ACCEPTED,
            protected_until=timezone.localdate() + datetime.timedelta(days=20),
        )
        newcomer = _register(partner_b_user)
        (group,) = _queue(channel)
        with pytest.raises(ValidationError, match="protégé"):
            _decide(channel, group, winner_id=newcomer.pk)
        _decide(channel, group, winner_id=protected.pk)
        newcomer.refresh_from_db()
        entry = newcomer.conflict_refusal
        assert (entry.notice, entry.protected_until) == (
            ConflictNotice.PROTECTED,
            protected.protected_until,
        )
        assert ConflictDecision.objects.get().entries.get(registration=protected).outcome == (
            ConflictOutcome.KEPT
        )

    def test_only_channel_managers_decide(self, rep, manager, contest):
        first, _ = contest
        (group,) = _queue(manager)
        for user in (rep, manager):
            with pytest.raises(PermissionError):
                _decide(user, group, winner_id=first.pk)


class TestAppeal:
    @pytest.fixture
    def refused(self, channel, contest):
        first, second = contest
        (group,) = _queue(channel)
        _decide(channel, group, winner_id=first.pk)
        second.refresh_from_db()
        return second

    def test_the_refused_partner_appeals_once_and_it_comes_back_marked(
        self, channel, refused, partner_b_user
    ):
        assert services.can_appeal(partner_b_user, refused)
        services.registration_appeal(
            registration=refused, by=partner_b_user, text="Le client nous a mandatés par écrit."
        )
        refused.refresh_from_db()
        assert refused.status == RegistrationStatus.SUBMITTED and refused.is_appeal
        assert refused.appeal == "Le client nous a mandatés par écrit."
        (group,) = _queue(channel)
        assert group.appeal_count == 1
        assert refused.pk in {m.pk for m in group.members}

    def test_a_second_appeal_is_refused(self, channel, refused, partner_b_user):
        services.registration_appeal(registration=refused, by=partner_b_user, text="Mandat")
        (group,) = _queue(channel)
        winner = next(m for m in group.members if m.status == RegistrationStatus.ACCEPTED)
        _decide(channel, group, winner_id=winner.pk, reason="Le mandat date d'après")
        refused.refresh_from_db()
        assert refused.status == RegistrationStatus.REJECTED
        assert not services.can_appeal(partner_b_user, refused)
        with pytest.raises(ValidationError, match="déjà fait l'objet d'un recours"):
            services.registration_appeal(registration=refused, by=partner_b_user, text="Encore")

    def test_an_appeal_needs_new_information(self, refused, partner_b_user):
        with pytest.raises(ValidationError):
            services.registration_appeal(registration=refused, by=partner_b_user, text="  ")

    def test_only_a_refusal_in_a_conflict_can_be_appealed(self, channel, partner_a_user):
        plain = _register(partner_a_user)
        services.registration_reject(registration=plain, by=channel, reason="Hors territoire")
        plain.refresh_from_db()
        assert not services.can_appeal(partner_a_user, plain)
        with pytest.raises(ValidationError, match="conflit"):
            services.registration_appeal(registration=plain, by=partner_a_user, text="Mandat")

    def test_another_partner_cannot_appeal(self, refused, partner_a_user):
        with pytest.raises(PermissionError):
            services.registration_appeal(registration=refused, by=partner_a_user, text="Mandat")


class TestConflictQueuePage:
    def test_channel_manager_sees_the_groups_side_by_side(self, client_for, channel, contest):
        response = client_for(channel).get(reverse("partners:conflict-queue"))
        assert response.status_code == 200
        assert "Alpha Solutions SA" in response.text and "Beta Systèmes Sàrl" in response.text
        assert "Comparer et décider" in response.text

    def test_htmx_gets_only_the_results(self, client_for, channel, contest):
        response = client_for(channel).get(
            reverse("partners:conflict-queue"), {"kind": "domain"}, headers={"HX-Request": "true"}
        )
        assert "<html" not in response.text and 'id="results"' in response.text
        assert "Alpha Solutions SA" not in response.text

    def test_reps_read_it_without_deciding_and_partners_get_404(
        self, client_for, rep, partner_a_user, contest
    ):
        page = client_for(rep).get(reverse("partners:conflict-queue"))
        assert page.status_code == 200 and "Comparer et décider" not in page.text
        assert "Comparer" in page.text
        assert client_for(partner_a_user).get(reverse("partners:conflict-queue")).status_code == 404

    @pytest.mark.parametrize("pairs", [3, 120])
    def test_query_count_does_not_grow_with_registrations(
        self, client_for, channel, partner_a, partner_b, pairs, django_assert_max_num_queries
    ):
        rows = []
        for i in range(pairs):
            for partner, spelling in ((partner_a, f"Client {i} SA"), (partner_b, f"CLIENT {i}")):
                rows.append(
                    DealRegistration(
                        partner=partner,
                        company_name=spelling,
                        normalized_company=f"client {i}",
                        email_domain=f"client{i}.ch",
                        contact_last_name="Martin",
                        contact_email=f"m@client{i}.ch",
                        need="Climatisation",
                        estimated_amount=Decimal("5000"),
                        expected_close_date=clock.period_end(),
                    )
                )
        DealRegistration.objects.bulk_create(rows)
        client = client_for(channel)
        with django_assert_max_num_queries(10):
            response = client.get(reverse("partners:conflict-queue"))
        assert response.status_code == 200
        assert len(response.context["groups"]) == min(pairs, 50)


class TestDecisionScreen:
    def test_the_registrations_side_by_side_with_the_decision_form(
        self, client_for, channel, contest
    ):
        first, second = contest
        url = reverse("partners:conflict-detail", args=[second.pk, "company"])
        response = client_for(channel).get(url)
        assert response.status_code == 200
        assert 'id="conflict-form"' in response.text
        assert [m.pk for m in response.context["group"].members] == [first.pk, second.pk]
        assert "Projet Toundra" in response.text

    def test_unknown_key_is_404(self, client_for, channel, contest):
        url = reverse("partners:conflict-detail", args=[contest[0].pk, "phone"])
        assert client_for(channel).get(url).status_code == 404

    def test_deciding_through_the_screen(
        self, client_for, channel, rep, contest, django_capture_on_commit_callbacks
    ):
        first, second = contest
        client = client_for(channel)
        url = reverse("partners:conflict-detail", args=[first.pk, "company"])
        form = client.get(url).context["form"]
        data = {
            "winner": str(first.pk),
            "refusal": "reject",
            "reason": "Déclaré en premier",
            "message": "",
            "owner": rep.pk,
            "account": "none",
            "seen": form["seen"].value(),
        }
        decide = reverse("partners:conflict-decide", args=[first.pk, "company"])
        response = client.post(decide, {**data, "reason": ""})
        assert response.status_code == 200 and response.context["form"].errors
        second.refresh_from_db()
        assert second.status == RegistrationStatus.SUBMITTED
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(decide, data)
        assert response.status_code == 302
        assert response["Location"] == reverse("partners:conflict-queue")
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == ("accepted", "rejected")
        assert first.opportunity.owner == rep

    def test_a_refusal_from_the_service_is_shown_on_the_form(
        self, client_for, channel, contest, partner_b
    ):
        first, second = contest
        client = client_for(channel)
        url = reverse("partners:conflict-detail", args=[first.pk, "company"])
        seen = client.get(url).context["form"]["seen"].value()
        response = client.post(
            reverse("partners:conflict-decide", args=[first.pk, "company"]),
            {
                "winner": str(first.pk),
                "refusal": "reject",
                "reason": "R",
                "message": f"{partner_b.account.name} arrive après.",
                "account": "none",
                "seen": seen,
            },
        )
        assert response.status_code == 200
        assert response.context["form"].errors["message"]
        assert not ConflictDecision.objects.exists()

    def test_the_partner_appeals_from_its_page(self, client_for, channel, contest, partner_b_user):
        first, second = contest
        (group,) = _queue(channel)
        _decide(channel, group, winner_id=first.pk)
        client = client_for(partner_b_user)
        page = client.get(reverse("partners:registration-detail", args=[second.pk]))
        assert 'id="appeal-form"' in page.text
        url = reverse("partners:registration-appeal", args=[second.pk])
        response = client.post(url, {"appeal": ""})
        assert response.status_code == 200
        assert response.context["appeal_form"].errors
        response = client.post(url, {"appeal": "Mandat signé du client joint."})
        assert response.status_code == 302
        second.refresh_from_db()
        assert second.is_appeal
        page = client.get(reverse("partners:registration-detail", args=[second.pk]))
        assert 'id="appeal-form"' not in page.text and "Mandat signé du client joint." in page.text

    def test_a_partner_gets_404_for_another_partners_appeal(
        self, client_for, channel, contest, partner_a_user
    ):
        first, second = contest
        (group,) = _queue(channel)
        _decide(channel, group, winner_id=first.pk)
        response = client_for(partner_a_user).post(
            reverse("partners:registration-appeal", args=[second.pk]), {"appeal": "Mandat"}
        )
        assert response.status_code == 404
        second.refresh_from_db()
        assert second.status == RegistrationStatus.REJECTED


class TestWhatEachPartnerIsTold:
    @pytest.fixture
    def decided(self, channel, rep, contest, django_capture_on_commit_callbacks):
        first, second = contest
        (group,) = _queue(channel)
        with django_capture_on_commit_callbacks(execute=True):
            _decide(channel, group, winner_id=first.pk, owner=rep)
        first.refresh_from_db()
        second.refresh_from_db()
        return first, second

    def _assert_nothing_of_the_winner(self, text, winner, where):
        for secret in (*WINNER_SECRETS, winner.partner.account.name):
            assert secret not in text, f"{where} shows «{secret}»"

    def test_the_refused_partner_reads_why_without_the_other_partner(
        self, client_for, decided, partner_b_user
    ):
        winner, refused = decided
        client = client_for(partner_b_user)
        pages = {
            "detail": client.get(reverse("partners:registration-detail", args=[refused.pk])),
            "list": client.get(reverse("partners:registration-queue"), {"status": ""}),
            "list fragment": client.get(
                reverse("partners:registration-queue"),
                {"status": ""},
                headers={"HX-Request": "true"},
            ),
            "portal": client.get(reverse("partners:portal")),
            "deals export": client.get(reverse("opportunities:export")),
            "leads export": client.get(reverse("leads:export")),
            "search": client.get(reverse("search"), {"q": "Lac"}),
        }
        for where, response in pages.items():
            assert response.status_code == 200, where
            body = b"".join(response.streaming_content) if response.streaming else response.content
            self._assert_nothing_of_the_winner(body.decode(), winner, where)
        detail = pages["detail"].text
        assert "Un autre partenaire a déclaré ce client en premier." in detail
        date = winner.protected_until.strftime("%d.%m.%Y")
        assert f"Le client est protégé jusqu'au {date}." in detail
        assert 'id="appeal-form"' in detail
        for url in (
            reverse("partners:registration-detail", args=[winner.pk]),
            reverse("partners:conflict-detail", args=[refused.pk, "company"]),
            reverse("opportunities:detail", args=[winner.opportunity_id]),
        ):
            assert client.get(url).status_code == 404, url

    def test_the_refusal_email_says_why_without_the_other_partner(self, decided, partner_b_user):
        winner, _ = decided
        (refusal,) = [m for m in mail.outbox if m.to == [partner_b_user.email]]
        for text in (refusal.subject, refusal.body, refusal.alternatives[0][0]):
            self._assert_nothing_of_the_winner(text, winner, "email")
        assert "Un autre partenaire a déclaré ce client en premier." in refusal.body
        assert "Un autre partenaire a déclaré ce client en premier." in refusal.alternatives[0][0]

    def test_in_english_too(self, client_for, decided, partner_b_user):
        winner, refused = decided
        partner_b_user.language = "en"
        partner_b_user.save()
        page = client_for(partner_b_user).get(
            reverse("partners:registration-detail", args=[refused.pk])
        )
        assert "Another partner registered this customer first." in page.text
        assert "Appeal this decision" in page.text
        self._assert_nothing_of_the_winner(page.text, winner, "English page")

    def test_the_winner_reads_nothing_of_the_refused_partner(
        self, client_for, decided, partner_a_user, partner_b
    ):
        winner, refused = decided
        page = client_for(partner_a_user).get(
            reverse("partners:registration-detail", args=[winner.pk])
        )
        assert partner_b.account.name not in page.text
        assert refused.contact_email not in page.text


class TestDecisionScreenBudget:
    @pytest.mark.parametrize("partners", [2, 12])
    def test_query_count_does_not_grow_with_the_group(
        self, client_for, channel, partners, django_assert_max_num_queries
    ):
        members = [
            DealRegistrationFactory(
                partner=PartnerFactory(), company_name="Hôtel du Lac", contact_email=f"{i}@lac.ch"
            )
            for i in range(partners)
        ]
        AccountFactory(name="Hotel du Lac SA")
        client = client_for(channel)
        url = reverse("partners:conflict-detail", args=[members[0].pk, "company"])
        with django_assert_max_num_queries(10):
            response = client.get(url)
        assert len(response.context["group"].members) == partners
        assert "Hotel du Lac SA" in response.text

    def test_the_registration_links_to_its_conflicts(self, client_for, channel, contest):
        first, _ = contest
        page = client_for(channel).get(reverse("partners:registration-detail", args=[first.pk]))
        assert reverse("partners:conflict-detail", args=[first.pk, "company"]) in page.text
        assert reverse("partners:conflict-detail", args=[first.pk, "domain"]) in page.text

    def test_a_rep_reads_the_comparison_without_the_form(self, client_for, rep, contest):
        page = client_for(rep).get(
            reverse("partners:conflict-detail", args=[contest[0].pk, "company"])
        )
        assert page.status_code == 200
        assert 'id="comparison"' in page.text and 'id="conflict-form"' not in page.text


def test_the_migration_fills_the_keys_of_existing_registrations(partner_a):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("partners.migrations.0003_registration_conflicts")
    DealRegistration.objects.bulk_create(
        [
            DealRegistration(
                partner=partner_a,
                company_name="Hôtel du Lac",
                contact_email="Lea@HotelDuLac.ch",
                site_address="12, rue du Lac, CH-1800 Vevey",
            ),
            DealRegistration(partner=partner_a, contact_email="a@gmail.com", site_address="Vevey"),
        ]
    )
    migration.fill_match_keys(apps, None)
    keys = list(DealRegistration.objects.order_by("pk").values_list("email_domain", "address_key"))
    assert keys == [("hoteldulac.ch", "1800 rue du lac 12"), ("", "")]

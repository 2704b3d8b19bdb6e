"""Opportunity pages: list, filters, export, detail, create and edit."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from climcrm.models import AuditEntry
from opportunities.models import (
    LossReason,
    Opportunity,
    OpportunityHistory,
    OpportunityType,
    Stage,
)
from opportunities.services import opportunity_create, opportunity_update
from tests import clock
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

TODAY = clock.today()
IN_A_MONTH = TODAY + datetime.timedelta(days=30)


@pytest.fixture
def deals(rep, other_rep, partner_a, partner_b):
    return {
        "rep_direct": OpportunityFactory(
            name="Pompe à chaleur école",
            owner=rep,
            amount=Decimal("10000.50"),
            close_date=TODAY + datetime.timedelta(days=10),
        ),
        "rep_proposal": OpportunityFactory(
            name="Audit énergétique",
            owner=rep,
            stage=Stage.PROPOSAL,
            probability=50,
            amount=Decimal("40000"),
            close_date=TODAY + datetime.timedelta(days=40),
            type=OpportunityType.EXISTING_BUSINESS,
        ),
        "other_a": OpportunityFactory(
            name="Photovoltaïque entrepôt",
            owner=other_rep,
            partner=partner_a,
            amount=Decimal("90000"),
            close_date=TODAY + datetime.timedelta(days=70),
        ),
        "other_b": OpportunityFactory(
            name="Ventilation siège",
            owner=other_rep,
            partner=partner_b,
            amount=Decimal("5000"),
            close_date=TODAY + datetime.timedelta(days=100),
        ),
    }


def names(response) -> set[str]:
    return {deal.name for deal in response.context["opportunities"]}


def form_data(**values) -> dict:
    data = {
        "name": "Nouvelle affaire",
        "stage": Stage.QUALIFICATION,
        "type": OpportunityType.NEW_BUSINESS,
        "amount": "12000.00",
        "close_date": IN_A_MONTH.isoformat(),
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


class TestList:
    url = reverse("opportunities:list")

    def test_it_lists_every_visible_deal_with_totals(self, client_for, rep, deals):
        response = client_for(rep).get(self.url)
        assert response.status_code == 200
        assert names(response) == {d.name for d in deals.values()}
        totals = response.context["totals"]
        assert totals["count"] == 4
        assert totals["total"] == Decimal("145000.50")
        # weighted: 10000.50×10% + 40000×50% + 90000×10% + 5000×10%
        assert totals["weighted"] == Decimal("30500.05")

    # (query string, deals expected)
    FILTERS = [
        ("stage=proposal", {"rep_proposal"}),
        (
            "stage=qualification&stage=proposal",
            {"rep_direct", "rep_proposal", "other_a", "other_b"},
        ),
        ("mine=on", {"rep_direct", "rep_proposal"}),
        ("type=existing_business", {"rep_proposal"}),
        ("amount_min=10000&amount_max=50000", {"rep_direct", "rep_proposal"}),
        ("q=ventilation", {"other_b"}),
        ("direct=on", {"rep_direct", "rep_proposal"}),
    ]

    @pytest.mark.parametrize(("query", "expected"), FILTERS)
    def test_filters(self, client_for, rep, deals, query, expected):
        response = client_for(rep).get(f"{self.url}?{query}")
        assert names(response) == {deals[key].name for key in expected}

    def test_filter_by_owner_partner_and_close_dates(
        self, client_for, rep, other_rep, deals, partner_a
    ):
        client = client_for(rep)
        assert names(client.get(self.url, {"owner": other_rep.pk})) == {
            deals["other_a"].name,
            deals["other_b"].name,
        }
        assert names(client.get(self.url, {"partner": partner_a.pk})) == {deals["other_a"].name}
        window = {
            "close_from": (TODAY + datetime.timedelta(days=30)).isoformat(),
            "close_to": (TODAY + datetime.timedelta(days=80)).isoformat(),
        }
        assert names(client.get(self.url, window)) == {
            deals["rep_proposal"].name,
            deals["other_a"].name,
        }

    def test_open_deals_by_default_closed_ones_on_request(self, client_for, rep, deals):
        reason = LossReason.objects.get(code="price")
        won = OpportunityFactory(
            name="Won", stage=Stage.CLOSED_WON, probability=100, forecast_category="closed"
        )
        lost = OpportunityFactory(
            name="Lost",
            stage=Stage.CLOSED_LOST,
            probability=0,
            loss_reason=reason,
            forecast_category="omitted",
        )
        client = client_for(rep)
        open_names = {d.name for d in deals.values()}
        assert names(client.get(self.url)) == open_names
        assert names(client.get(self.url, {"status": "won"})) == {won.name}
        assert names(client.get(self.url, {"status": "lost"})) == {lost.name}
        assert names(client.get(self.url, {"status": "all"})) == open_names | {won.name, lost.name}
        # Asking for a stage looks at every status.
        assert names(client.get(self.url, {"stage": "closed_won"})) == {won.name}

    def test_totals_follow_the_filters(self, client_for, rep, deals):
        response = client_for(rep).get(self.url, {"mine": "on"})
        assert response.context["totals"]["total"] == Decimal("50000.50")

    def test_sorting_by_amount_both_ways(self, client_for, rep, deals):
        client = client_for(rep)
        ascending = [
            d.name for d in client.get(self.url, {"ordering": "amount"}).context["opportunities"]
        ]
        descending = [
            d.name for d in client.get(self.url, {"ordering": "-amount"}).context["opportunities"]
        ]
        assert ascending[0] == deals["other_b"].name
        assert descending == list(reversed(ascending))

    def test_an_unknown_sort_falls_back_to_close_date(self, client_for, rep, deals):
        response = client_for(rep).get(self.url, {"ordering": "password"})
        assert response.context["ordering"] == "close_date"

    def test_bad_filter_input_is_not_an_error(self, client_for, rep, deals):
        response = client_for(rep).get(self.url, {"amount_min": "lots", "close_from": "yesterday"})
        assert response.status_code == 200

    def test_it_paginates_by_50(self, client_for, rep):
        account = AccountFactory()
        for n in range(55):
            OpportunityFactory(account=account, owner=rep, name=f"Deal {n:02d}")
        client = client_for(rep)
        assert len(client.get(self.url).context["opportunities"]) == 50
        assert len(client.get(self.url, {"page": 2}).context["opportunities"]) == 5
        assert client.get(self.url).context["totals"]["count"] == 55
        last = client.get(self.url, {"page": 99}).context["page_obj"]
        assert (last.number, last.paginator.num_pages, len(last.object_list)) == (2, 2, 5)

    def test_the_deals_are_counted_once_for_totals_and_pages(self, client_for, rep, deals):
        with CaptureQueriesContext(connection) as queries:
            response = client_for(rep).get(self.url)
        counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        assert len(counts) == 1
        assert response.context["page_obj"].paginator.count == response.context["totals"]["count"]

    def test_htmx_request_gets_only_the_results(self, client_for, rep, deals):
        response = client_for(rep).get(self.url, {"q": "audit"}, headers={"HX-Request": "true"})
        content = response.content.decode()
        assert content.lstrip().startswith('<div id="results">')
        assert "Audit énergétique" in content and "<html" not in content

    def test_partner_user_sees_only_their_partners_deals(self, client_for, partner_a_user, deals):
        response = client_for(partner_a_user).get(self.url)
        assert names(response) == {deals["other_a"].name}
        assert "owner" not in response.context["filter"].form.fields
        assert "partner" not in response.context["filter"].form.fields

    def test_partner_user_cannot_filter_their_way_to_another_partner(
        self, client_for, partner_a_user, partner_b, deals
    ):
        response = client_for(partner_a_user).get(self.url, {"partner": partner_b.pk})
        assert names(response) == {deals["other_a"].name}

    def test_empty_state(self, client_for, rep):
        response = client_for(rep).get(self.url, {"q": "nothing like this"})
        assert "empty-state" in response.content.decode()


class TestExport:
    url = reverse("opportunities:export")

    def read(self, response) -> list[list[str]]:
        body = b"".join(response.streaming_content).decode("utf-8")
        assert body.startswith("\ufeff")
        return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))

    def test_it_streams_the_filtered_list_for_excel_in_switzerland(self, client_for, rep, deals):
        response = client_for(rep).get(self.url, {"mine": "on", "ordering": "amount"})
        assert response.streaming
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = self.read(response)
        assert rows[0][1] == "Nom"
        assert [row[1] for row in rows[1:]] == ["Pompe à chaleur école", "Audit énergétique"]
        # French (Switzerland) writes a decimal point, and so do exports in both languages.
        assert rows[1][5] == "10000.50"

    def test_english_users_get_the_same_numbers(self, client_for, rep, deals):
        rep.language = "en"
        rep.save()
        rows = self.read(client_for(rep).get(self.url, {"q": "école"}))
        assert rows[0][1] == "Name"
        assert rows[1][5] == "10000.50"

    def test_it_is_audited_with_its_filters(self, client_for, rep, deals):
        b"".join(client_for(rep).get(self.url, {"stage": "proposal"}).streaming_content)
        entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
        assert entry.user == rep
        assert "opportunities" in entry.detail and "stage=proposal" in entry.detail

    def test_partner_export_has_only_their_rows(self, client_for, partner_a_user, partner_b, deals):
        rows = self.read(client_for(partner_a_user).get(self.url, {"partner": partner_b.pk}))
        assert [row[1] for row in rows[1:]] == [deals["other_a"].name]


class TestDetail:
    def test_it_shows_fields_bant_and_the_history_timeline(self, client_for, rep, manager):
        deal = opportunity_create(
            by=rep,
            name="Rénovation chaufferie",
            account=AccountFactory(name="Hôtel du Lac SA"),
            amount=Decimal("30000"),
            close_date=IN_A_MONTH,
            budget_ok=True,
            budget_note="Voté",
        )
        opportunity_update(
            opportunity=deal,
            by=manager,
            changes={"stage": Stage.PROPOSAL},
            tag="review-3",
            expected_version=deal.version,
        )
        response = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk]))
        content = response.content.decode()
        assert response.status_code == 200
        assert "Hôtel du Lac SA" in content and "Voté" in content
        history = response.context["history"]
        assert len(history) == 2
        change = history[0]
        assert change.row.changed_by == manager and change.row.tag == "review-3"
        stage_change = next(
            c for c in change.changes if c.new == "Proposition" or c.new == "Proposal"
        )
        assert stage_change.old in ("Qualification",)
        assert "review-3" in content

    def test_partner_gets_404_for_another_partners_deal(self, client_for, partner_a_user, deals):
        client = client_for(partner_a_user)
        for name in ("detail", "edit"):
            response = client.get(reverse(f"opportunities:{name}", args=[deals["other_b"].pk]))
            assert response.status_code == 404
        assert (
            client.get(reverse("opportunities:detail", args=[deals["other_a"].pk])).status_code
            == 200
        )

    def test_partner_gets_404_for_a_direct_deal(self, client_for, partner_a_user, deals):
        url = reverse("opportunities:detail", args=[deals["rep_direct"].pk])
        assert client_for(partner_a_user).get(url).status_code == 404


class TestCreate:
    url = reverse("opportunities:create")

    def test_it_creates_the_deal_through_the_service(self, client_for, rep):
        account = AccountFactory()
        contact = ContactFactory(account=account)
        response = client_for(rep).post(
            self.url,
            form_data(account=account.pk, primary_contact=contact.pk, stage=Stage.PROPOSAL),
        )
        deal = Opportunity.objects.get(name="Nouvelle affaire")
        assert response.status_code == 302
        assert response["Location"] == reverse("opportunities:detail", args=[deal.pk])
        assert (deal.owner, deal.stage, deal.probability) == (rep, Stage.PROPOSAL, 50)
        assert deal.amount == Decimal("12000.00")
        row = OpportunityHistory.objects.get(opportunity=deal)
        assert row.is_creation and row.changed_by == rep

    def test_it_preselects_the_account_and_suggests_the_type(self, client_for, rep):
        account = AccountFactory()
        OpportunityFactory(account=account, stage=Stage.CLOSED_WON, probability=100)
        response = client_for(rep).get(self.url, {"account": account.pk})
        assert response.context["form"].initial["type"] == OpportunityType.EXISTING_BUSINESS

    # (posted values, field with the error)
    INVALID = [
        ({"name": ""}, "name"),
        ({"close_date": ""}, "close_date"),
        ({"amount": "-3"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"probability": "120"}, "probability"),
        ({"stage": Stage.CLOSED_LOST}, "loss_reason"),
        ({"stage": Stage.CLOSED_WON, "amount": "0"}, "amount"),
    ]

    @pytest.mark.parametrize(("values", "field"), INVALID)
    def test_invalid_input_re_renders_with_errors(self, client_for, rep, values, field):
        account = AccountFactory()
        response = client_for(rep).post(self.url, form_data(account=account.pk, **values))
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert not Opportunity.objects.exists()

    def test_it_cannot_use_an_account_out_of_sight(self, client_for, partner_a_user):
        assert client_for(partner_a_user).get(self.url).status_code == 404

    def test_error_messages_are_in_french(self, client_for, rep):
        response = client_for(rep).post(
            self.url, form_data(account=AccountFactory().pk, close_date="")
        )
        assert "date de clôture" in response.content.decode().lower()


class TestEdit:
    def url(self, deal):
        return reverse("opportunities:edit", args=[deal.pk])

    def test_edit_saves_through_the_service_and_writes_history(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, name="Avant")
        client = client_for(rep)
        form = client.get(self.url(deal)).context["form"]
        data = {**{k: v for k, v in form.initial.items() if v is not None}}
        data.update(name="Après", stage=Stage.NEGOTIATION, amount="15000.00")
        data["close_date"] = deal.close_date.isoformat()
        response = client.post(self.url(deal), data)
        assert response.status_code == 302
        deal.refresh_from_db()
        assert (deal.name, deal.stage, deal.probability, deal.version) == (
            "Après",
            Stage.NEGOTIATION,
            75,
            2,
        )
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert (row.prev_stage, row.stage, row.changed_by) == (
            Stage.QUALIFICATION,
            Stage.NEGOTIATION,
            rep,
        )
        assert set(row.changed_fields) >= {"name", "stage", "amount", "probability"}

    def test_stale_version_re_renders_with_what_changed_and_keeps_the_input(
        self, client_for, rep, manager
    ):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        data = {
            k: v
            for k, v in client.get(self.url(deal)).context["form"].initial.items()
            if v is not None
        }
        data["close_date"] = deal.close_date.isoformat()
        # Meanwhile the manager changes the amount.
        opportunity_update(
            opportunity=deal,
            by=manager,
            changes={"amount": Decimal("77000")},
            expected_version=deal.version,
        )
        data.update(next_step="Rappeler jeudi", stage=Stage.PROPOSAL)
        response = client.post(self.url(deal), data)

        assert response.status_code == 200
        form = response.context["form"]
        assert "montant" in " ".join(form.non_field_errors()).lower()
        assert form["next_step"].value() == "Rappeler jeudi"
        assert str(form["version"].value()) == "2"
        assert response.context["stale"].changes[0].field == "amount"
        deal.refresh_from_db()
        assert (deal.amount, deal.stage, deal.next_step, deal.version) == (
            Decimal("77000"),
            Stage.QUALIFICATION,
            "",
            2,
        )
        # Saving again applies the user's change on top of the manager's.
        response = client.post(self.url(deal), {**data, "version": "2", "amount": "77000.00"})
        assert response.status_code == 302
        deal.refresh_from_db()
        assert (deal.amount, deal.stage, deal.next_step) == (
            Decimal("77000"),
            Stage.PROPOSAL,
            "Rappeler jeudi",
        )

    def test_service_refusal_becomes_a_form_error(self, client_for, rep):
        reason = LossReason.objects.get(code="price")
        deal = OpportunityFactory(
            owner=rep,
            stage=Stage.CLOSED_LOST,
            probability=0,
            loss_reason=reason,
            forecast_category="omitted",
        )
        client = client_for(rep)
        data = {
            k: v
            for k, v in client.get(self.url(deal)).context["form"].initial.items()
            if v is not None
        }
        data.update(stage=Stage.PROPOSAL, close_date=IN_A_MONTH.isoformat(), loss_reason="")
        response = client.post(self.url(deal), data)
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        deal.refresh_from_db()
        assert deal.stage == Stage.CLOSED_LOST

    def test_rep_cannot_edit_another_reps_deal(self, client_for, other_rep, deals):
        response = client_for(other_rep).get(self.url(deals["rep_direct"]))
        assert response.status_code == 302

    def test_partner_user_edits_only_partner_fields(
        self, client_for, partner_a_user, deals, other_rep, rep
    ):
        deal = deals["other_a"]
        client = client_for(partner_a_user)
        form = client.get(self.url(deal)).context["form"]
        assert (
            "owner" not in form.fields
            and "name" not in form.fields
            and "partner" not in form.fields
        )
        assert {"stage", "amount", "close_date", "next_step"} <= set(form.fields)
        data = {
            k: v
            for k, v in form.initial.items()
            if v is not None and k in form.fields or k == "version"
        }
        data.update(
            stage=Stage.PROPOSAL,
            close_date=deal.close_date.isoformat(),
            owner=rep.pk,
            name="Hijack",
        )
        response = client.post(self.url(deal), data)
        assert response.status_code == 302
        deal.refresh_from_db()
        assert (deal.stage, deal.owner, deal.name) == (
            Stage.PROPOSAL,
            other_rep,
            "Photovoltaïque entrepôt",
        )

    def test_loss_reason_is_required_to_close_lost_in_the_form(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        data = {
            k: v
            for k, v in client.get(self.url(deal)).context["form"].initial.items()
            if v is not None
        }
        data.update(stage=Stage.CLOSED_LOST, close_date=deal.close_date.isoformat())
        response = client.post(self.url(deal), data)
        assert "loss_reason" in response.context["form"].errors
        data["loss_reason"] = LossReason.objects.get(code="competitor").pk
        assert client.post(self.url(deal), data).status_code == 302
        deal.refresh_from_db()
        assert (deal.stage, deal.probability, deal.closed_at is not None) == (
            Stage.CLOSED_LOST,
            0,
            True,
        )


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(context)


def _bulk_deals(n: int, owner, partner=None) -> None:
    accounts = AccountFactory.create_batch(5)
    now = timezone.now()
    Opportunity.objects.bulk_create(
        Opportunity(
            name=f"Bulk {i}",
            account=accounts[i % 5],
            owner=owner,
            partner=partner,
            amount=Decimal(1000 + i),
            close_date=IN_A_MONTH,
            created_at=now,
        )
        for i in range(n)
    )


def _bulk_history(deal, n: int, by) -> None:
    start = timezone.now() - datetime.timedelta(days=n + 1)
    OpportunityHistory.objects.filter(opportunity=deal).delete()
    OpportunityHistory.objects.bulk_create(
        OpportunityHistory(
            opportunity=deal,
            version=v + 1,
            changed_at=start + datetime.timedelta(days=v),
            valid_until=None if v == n - 1 else start + datetime.timedelta(days=v + 1),
            changed_by=by,
            changed_fields=["amount"],
            stage=deal.stage,
            amount=Decimal(1000 + v),
            prev_amount=Decimal(999 + v),
            probability=10,
            close_date=deal.close_date,
            forecast_category="pipeline",
            owner=by,
            prev_owner=by,
        )
        for v in range(n)
    )


class TestQueryBudgets:
    @pytest.mark.parametrize("user", ["rep", "partner_a_user"])
    def test_list_and_export_queries_do_not_grow_with_rows(
        self, request, client_for, rep, partner_a, django_assert_max_num_queries, user
    ):
        viewer = request.getfixturevalue(user)
        client = client_for(viewer)
        list_url = reverse("opportunities:list") + "?ordering=owner"
        export_url = reverse("opportunities:export")
        _bulk_deals(10, rep, partner_a)
        small = (_count_queries(client, list_url), _count_queries(client, export_url))
        _bulk_deals(990, rep, partner_a)
        with django_assert_max_num_queries(12):
            response = client.get(list_url)
        assert response.context["totals"]["count"] == 1000
        large = (_count_queries(client, list_url), _count_queries(client, export_url))
        assert small == large

    def test_detail_queries_do_not_grow_with_history(
        self, client_for, rep, django_assert_max_num_queries
    ):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        url = reverse("opportunities:detail", args=[deal.pk])
        _bulk_history(deal, 10, rep)
        small = _count_queries(client, url)
        _bulk_history(deal, 1000, rep)
        with django_assert_max_num_queries(10):
            response = client.get(url)
        assert len(response.context["history"]) == 1000
        assert _count_queries(client, url) == small


class TestVisibilityPerRole:
    # (role fixture, sees the direct deal, sees partner A's deal, sees partner B's deal)
    ROLES = [
        ("rep", True, True, True),
        ("manager", True, True, True),
        ("channel", True, True, True),
        ("admin_user", True, True, True),
        ("partner_a_user", False, True, False),
        ("partner_b_user", False, False, True),
    ]

    @pytest.mark.parametrize(("role", "direct", "deal_a", "deal_b"), ROLES)
    def test_detail_answers_200_or_404_by_role(
        self, request, client_for, deals, role, direct, deal_a, deal_b
    ):
        client = client_for(request.getfixturevalue(role))
        expected = {"rep_direct": direct, "other_a": deal_a, "other_b": deal_b}
        for key, visible in expected.items():
            response = client.get(reverse("opportunities:detail", args=[deals[key].pk]))
            assert response.status_code == (200 if visible else 404), (role, key)
        listed = names(client.get(reverse("opportunities:list")))
        assert listed == {deals[k].name for k, v in expected.items() if v} | (
            {deals["rep_proposal"].name} if direct else set()
        )

    def test_a_user_without_a_role_sees_nothing(self, client_for, deals):
        from tests.factories import UserFactory

        client = client_for(UserFactory(username="nobody"))
        assert names(client.get(reverse("opportunities:list"))) == set()
        url = reverse("opportunities:detail", args=[deals["rep_direct"].pk])
        assert client.get(url).status_code == 404

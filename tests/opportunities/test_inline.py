"""Inline edit of amount, probability, close date, next step and forecast category on the
opportunity list and page: the form opens with the version read, the save goes through the
service, and stale, missing, invalid or forbidden saves are refused with the field as it is.
"""

import datetime
import re
from decimal import Decimal
from html import unescape
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opportunities.models import (
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    ReasonCode,
    Stage,
)
from tests import versions
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fixed_clock(time_machine):
    time_machine.move_to(versions.NOW)


def url(deal, name, **query):
    base = reverse("opportunities:inline", args=[deal.pk, name])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def toast(response) -> str:
    import json

    return json.loads(response["HX-Trigger"])["toast"]["text"]


class TestOpeningTheForm:
    def test_the_form_carries_the_current_value_and_version(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal("12500.50"))
        response = client_for(rep).get(url(deal, "amount", edit=1), **HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'name="version" value="1"' in html
        assert 'value="12500.50"' in html
        assert f'hx-post="/opportunities/{deal.pk}/inline/amount/"' in html

    def test_without_htmx_the_value_leads_to_the_edit_page(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).get(url(deal, "amount", edit=1))
        assert response.status_code == 302
        assert response["Location"] == reverse("opportunities:edit", args=[deal.pk])

    def test_an_unknown_field_is_404(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).get(url(deal, "owner", edit=1), **HTMX)
        assert response.status_code == 404

    def test_a_user_who_may_not_edit_gets_the_value_without_a_form(self, client_for, other_rep):
        deal = OpportunityFactory(amount=Decimal("500"))
        html = client_for(other_rep).get(url(deal, "amount", edit=1), **HTMX).content.decode()
        assert "<form" not in html and "inline-value" not in html

    def test_closed_deals_are_not_edited_in_place(self, client_for, manager):
        deal = OpportunityFactory(owner=manager, stage=Stage.CLOSED_WON, probability=100)
        html = client_for(manager).get(url(deal, "amount", edit=1), **HTMX).content.decode()
        assert "<form" not in html


class TestSaving:
    @pytest.mark.parametrize(
        ("name", "sent", "expected"),
        [
            ("amount", "43210.55", Decimal("43210.55")),
            ("probability", "60", 60),
            ("close_date", "2026-05-29", datetime.date(2026, 5, 29)),
            ("next_step", "Envoyer l'offre révisée", "Envoyer l'offre révisée"),
            ("forecast_category", "best_case", ForecastCategory.BEST_CASE),
        ],
    )
    def test_the_current_version_saves_through_the_service(
        self, client_for, rep, name, sent, expected
    ):
        deal = OpportunityFactory(owner=rep)
        # A reason goes with any change (required only of one going backward).
        reason = ReasonCode.objects.get(code="other").pk
        response = client_for(rep).post(
            url(deal, name), {"value": sent, "version": "1", "reason_code": reason}, **HTMX
        )
        assert response.status_code == 200
        deal.refresh_from_db()
        assert getattr(deal, name) == expected
        assert deal.version == 2
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert row.tag == "inline" and row.changed_by == rep and name in row.changed_fields
        html = response.content.decode()
        assert "<form" not in html and "inline-value" in html
        assert "deal-saved" in response["HX-Trigger"]
        assert toast(response) == "L'opportunité a été enregistrée."

    def test_the_saved_amount_is_shown_in_the_page_format(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(
            url(deal, "amount"), {"value": "1663979.50", "version": "1"}, **HTMX
        )
        assert "CHF\xa01’663’979.50" in response.content.decode()
        compact = client_for(rep).get(url(deal, "amount", compact=1), **HTMX)
        assert "CHF\xa01’663’980" in compact.content.decode()

    def test_a_manual_forecast_category_sticks(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        client_for(rep).post(
            url(deal, "forecast_category"), {"value": "commit", "version": "1"}, **HTMX
        )
        deal.refresh_from_db()
        assert deal.forecast_category_is_manual

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_save_without_the_current_version_is_refused_with_the_current_value(
        self, client_for, rep, manager, case
    ):
        deal = versions.changed_by_someone_else(OpportunityFactory(owner=rep), manager)
        data = versions.with_version({"value": "5"}, case)

        response = client_for(rep).post(url(deal, "probability"), data, **HTMX)

        assert response.status_code == 409
        html = unescape(response.content.decode())
        assert versions.says_someone_else_changed_it(toast(response))
        assert 'role="alert"' in html and versions.says_someone_else_changed_it(html)
        assert re.search(r">\s*10\s%", html)  # the value as it is now, not the one typed
        versions.assert_untouched(deal, probability=10)

    def test_after_a_stale_refusal_the_next_form_carries_the_new_version(
        self, client_for, rep, manager
    ):
        deal = versions.changed_by_someone_else(OpportunityFactory(owner=rep), manager)
        client = client_for(rep)
        client.post(url(deal, "probability"), {"value": "5", "version": "1"}, **HTMX)
        form = client.get(url(deal, "probability", edit=1), **HTMX).content.decode()
        assert 'name="version" value="2"' in form
        assert client.post(url(deal, "probability"), {"value": "5", "version": "2"}, **HTMX)
        deal.refresh_from_db()
        assert (deal.probability, deal.version) == (5, 3)

    @pytest.mark.parametrize(
        ("name", "sent", "french"),
        [
            ("probability", "140", "inférieure ou égale à 100"),
            ("amount", "-5", "supérieure ou égale à 0"),
            ("amount", "douze", "Saisissez un nombre"),
            ("close_date", "", "Ce champ est obligatoire"),
            ("forecast_category", "closed", "Sélectionnez un choix valide"),
        ],
    )
    def test_invalid_input_is_a_field_error_in_french(self, client_for, rep, name, sent, french):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(url(deal, name), {"value": sent, "version": "1"}, **HTMX)
        assert response.status_code == 400
        html = response.content.decode()
        assert french in html
        assert 'aria-invalid="true"' in html and "<form" in html
        deal.refresh_from_db()
        assert deal.version == 1

    def test_invalid_input_is_a_field_error_in_english(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        client.cookies["django_language"] = "en"
        response = client.post(
            url(deal, "probability"),
            {"value": "140", "version": "1"},
            HTTP_ACCEPT_LANGUAGE="en",
            **HTMX,
        )
        assert response.status_code == 400
        assert "less than or equal to 100" in response.content.decode()

    def test_a_rule_of_the_service_becomes_the_field_error(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(
            url(deal, "close_date"), {"value": "2026-13-01", "version": "1"}, **HTMX
        )
        assert response.status_code == 400


class TestPermissions:
    def test_a_rep_cannot_save_another_reps_deal(self, client_for, rep, other_rep):
        deal = OpportunityFactory(owner=other_rep)
        response = client_for(rep).post(url(deal, "amount"), {"value": "1", "version": "1"}, **HTMX)
        assert response.status_code == 403
        assert unquote(toast(response))
        deal.refresh_from_db()
        assert deal.version == 1

    def test_the_manager_saves_a_deal_of_the_team(self, client_for, rep, manager):
        deal = OpportunityFactory(owner=rep)
        reason = ReasonCode.objects.get(code="scope_reduced").pk
        response = client_for(manager).post(
            url(deal, "amount"), {"value": "99", "version": "1", "reason_code": reason}, **HTMX
        )
        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.amount == Decimal("99")

    def test_a_partner_user_edits_their_partners_deal(self, client_for, partner_a_user, partner_a):
        deal = OpportunityFactory(partner=partner_a)
        client = client_for(partner_a_user)
        response = client.post(url(deal, "next_step"), {"value": "Visite", "version": "1"}, **HTMX)
        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.next_step == "Visite"

    def test_a_partner_user_cannot_change_the_forecast_category(
        self, client_for, partner_a_user, partner_a
    ):
        deal = OpportunityFactory(partner=partner_a)
        client = client_for(partner_a_user)
        assert (
            "<form"
            not in client.get(url(deal, "forecast_category", edit=1), **HTMX).content.decode()
        )
        response = client.post(
            url(deal, "forecast_category"), {"value": "commit", "version": "1"}, **HTMX
        )
        assert response.status_code == 403
        deal.refresh_from_db()
        assert deal.forecast_category == ForecastCategory.PIPELINE

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_partner_gets_404_for_another_partners_deal(
        self, client_for, partner_a_user, partner_b, method
    ):
        deal = OpportunityFactory(partner=partner_b)
        call = getattr(client_for(partner_a_user), method)
        response = call(url(deal, "amount"), {"value": "1", "version": "1"}, **HTMX)
        assert response.status_code == 404

    def test_partner_gets_404_for_a_direct_deal(self, client_for, partner_a_user, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(partner_a_user).get(url(deal, "amount", edit=1), **HTMX)
        assert response.status_code == 404


class TestPages:
    def test_the_list_offers_inline_edit_of_the_five_fields(self, client_for, rep, other_rep):
        mine = OpportunityFactory(owner=rep, name="Mine")
        theirs = OpportunityFactory(owner=other_rep, name="Theirs")
        html = client_for(rep).get(reverse("opportunities:list")).content.decode()
        for name in ("amount", "probability", "close_date", "next_step", "forecast_category"):
            assert f'hx-get="/opportunities/{mine.pk}/inline/{name}/?edit=1&amp;compact=1"' in html
            assert f"/opportunities/{theirs.pk}/inline/{name}/" not in html

    def test_the_detail_page_offers_inline_edit(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        html = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk])).content
        for name in ("amount", "probability", "close_date", "next_step", "forecast_category"):
            assert f'hx-get="/opportunities/{deal.pk}/inline/{name}/?edit=1"'.encode() in html

    @pytest.mark.parametrize("user", ["rep", "manager", "channel", "partner_a_user"])
    def test_list_queries_stay_the_same_at_10_and_1000_rows(
        self, request, client_for, rep, partner_a, user
    ):
        client = client_for(request.getfixturevalue(user))
        list_url = reverse("opportunities:list")

        def count() -> int:
            with CaptureQueriesContext(connection) as context:
                assert client.get(list_url).status_code == 200
            return len(context)

        _bulk_deals(10, rep, partner_a)
        small = count()
        _bulk_deals(990, rep, partner_a)
        assert count() == small


def _bulk_deals(n: int, owner, partner) -> None:
    accounts = AccountFactory.create_batch(3)
    Opportunity.objects.bulk_create(
        Opportunity(
            name=f"Bulk {i}",
            account=accounts[i % 3],
            owner=owner,
            partner=partner if i % 2 else None,
            amount=Decimal(1000 + i),
            close_date=versions.NOW.date() + datetime.timedelta(days=30),
            stage=Stage.QUALIFICATION,
            created_at=timezone.now(),
        )
        for i in range(n)
    )

"""The REST API's behaviour: inbound leads (idempotency, MQL, duplicates), writes through
the services (version, permissions), errors in one JSON shape and in the caller's language,
tokens (revoked, expired, rate limit), constant query counts, the schema."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact
from activities.models import Activity
from api.models import ApiToken
from api.services import api_token_create
from climcrm.choices import Source
from leads.models import Lead, LeadStatus, LeadStatusChange
from opportunities.models import Opportunity, OpportunityHistory, Stage
from partners.models import DealRegistration
from tests import clock
from tests.factories import AccountFactory, ContactFactory, LeadFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

LEADS = "/api/v1/leads/"


def deal_url(deal):
    return reverse("api:opportunity-detail", args=[deal.pk])


# --- inbound leads --------------------------------------------------------------------


def test_the_same_idempotency_key_twice_creates_one_lead(api_for, rep):
    api = api_for(rep)
    payload = {"last_name": "Rochat", "company": "Solaire SA", "source": "email_campaign"}
    first = api.post(LEADS, payload, headers={"Idempotency-Key": "hubspot-42"})
    second = api.post(
        LEADS, {**payload, "last_name": "Autre"}, headers={"Idempotency-Key": "hubspot-42"}
    )
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["last_name"] == "Rochat"
    assert Lead.objects.count() == 1
    # Another key is another lead.
    assert api.post(LEADS, payload, headers={"Idempotency-Key": "hubspot-43"}).status_code == 201
    assert Lead.objects.count() == 2


def test_another_user_s_key_does_not_return_their_lead(api_for, rep, other_rep):
    api_for(rep).post(LEADS, {"last_name": "Rochat"}, headers={"Idempotency-Key": "k"})
    response = api_for(other_rep).post(
        LEADS, {"last_name": "Rochat"}, headers={"Idempotency-Key": "k"}
    )
    assert response.status_code == 201
    assert Lead.objects.count() == 2


def test_an_inbound_lead_keeps_source_and_campaign_and_may_arrive_as_mql(api_for, rep):
    response = api_for(rep).post(
        LEADS,
        {
            "last_name": "Favre",
            "email": "a.favre@solaire.ch",
            "source": "email_campaign",
            "campaign": "Salon Energie 2027",
            "status": "mql",
        },
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.source, lead.campaign, lead.status) == (
        Source.EMAIL_CAMPAIGN,
        "Salon Energie 2027",
        LeadStatus.MQL,
    )
    assert lead.reached_mql
    assert list(LeadStatusChange.objects.filter(lead=lead).values_list("to_status", flat=True)) == [
        LeadStatus.NEW,
        LeadStatus.MQL,
    ]


def test_an_inbound_lead_may_not_arrive_converted(api_for, rep):
    response = api_for(rep).post(LEADS, {"last_name": "Favre", "status": "converted"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]
    assert not Lead.objects.exists()


def test_an_inbound_lead_names_its_likely_duplicates_as_the_lead_page_does(api_for, rep):
    account = AccountFactory(name="Solaire SA", website="https://solaire.ch")
    contact = ContactFactory(account=account, email="a.favre@solaire.ch")
    response = api_for(rep).post(
        LEADS, {"last_name": "Favre", "email": "A.Favre@solaire.ch", "company": "Solaire SA"}
    )
    assert response.json()["duplicates"] == {"accounts": [account.pk], "contacts": [contact.pk]}


def test_a_partner_s_inbound_lead_is_the_partner_s(api_for, partner_a_user, partner_a):
    response = api_for(partner_a_user).post(LEADS, {"last_name": "Favre"})
    assert response.status_code == 201
    assert Lead.objects.get().partner == partner_a


# --- writes through the services ------------------------------------------------------


def test_a_deal_change_needs_the_version_read(api_for, rep):
    deal = OpportunityFactory(owner=rep, name="Toiture Sion")
    api = api_for(rep, language="en")
    missing = api.patch(deal_url(deal), {"name": "Nouveau"})
    assert missing.status_code == 409
    assert "Nothing was saved" in missing.json()["detail"]
    assert missing.json()["version"] == deal.version
    deal.refresh_from_db()
    assert deal.name == "Toiture Sion"

    ok = api.patch(deal_url(deal), {"name": "Nouveau", "version": deal.version})
    assert ok.status_code == 200, ok.content
    assert ok.json()["version"] == deal.version + 1
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 2

    stale = api.patch(deal_url(deal), {"amount": "5000", "version": deal.version})
    assert stale.status_code == 409
    assert "name" in stale.json()["detail"].lower()
    deal.refresh_from_db()
    assert (deal.name, deal.version) == ("Nouveau", 2)


def test_a_deal_change_goes_through_the_stage_machine(api_for, rep):
    deal = OpportunityFactory(owner=rep)
    response = api_for(rep).patch(
        deal_url(deal), {"stage": Stage.NEGOTIATION, "version": deal.version}
    )
    assert response.status_code == 200
    assert (response.json()["probability"], response.json()["forecast_category"]) == (
        75,
        "commit",
    )


def test_a_deal_change_that_goes_backward_needs_a_reason_as_in_the_pages(api_for, rep):
    deal = OpportunityFactory(owner=rep, amount=Decimal("10000"))
    api = api_for(rep, language="en")
    refused = api.patch(deal_url(deal), {"amount": "8000", "version": deal.version})
    assert refused.status_code == 400
    assert "reason_code" in refused.json()["errors"]
    deal.refresh_from_db()
    assert (deal.amount, deal.version) == (Decimal("10000"), 1)

    unknown = api.patch(
        deal_url(deal), {"amount": "8000", "version": deal.version, "reason_code": "nope"}
    )
    assert unknown.status_code == 400

    ok = api.patch(
        deal_url(deal),
        {
            "amount": "8000",
            "version": deal.version,
            "reason_code": "scope_reduced",
            "reason_text": "Un seul bâtiment",
        },
    )
    assert ok.status_code == 200, ok.content
    row = OpportunityHistory.objects.filter(opportunity=deal).latest("version")
    assert (row.reason_code.code, row.reason_text) == ("scope_reduced", "Un seul bâtiment")


def test_a_partner_user_cannot_change_what_partners_may_not(api_for, partner_a_user, partner_a):
    deal = OpportunityFactory(partner=partner_a)
    response = api_for(partner_a_user).patch(
        deal_url(deal), {"forecast_category": "omitted", "version": deal.version}
    )
    assert response.status_code == 403
    assert response.json()["detail"]
    deal.refresh_from_db()
    assert deal.version == 1


def test_a_partner_cannot_change_another_partner_s_deal(api_for, partner_a_user, partner_b):
    deal = OpportunityFactory(partner=partner_b, name="Bravo")
    response = api_for(partner_a_user).patch(deal_url(deal), {"name": "x", "version": 1})
    assert response.status_code == 404
    deal.refresh_from_db()
    assert deal.name == "Bravo"


def test_a_lead_change_and_status_change_are_written_together_or_not_at_all(api_for, rep):
    lead = LeadFactory(owner=rep, company="Avant")
    url = reverse("api:lead-detail", args=[lead.pk])
    refused = api_for(rep, "en").patch(url, {"company": "Après", "status": "disqualified"})
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": {"disqualification_reason": ["Say why the lead is disqualified."]}
    }
    lead.refresh_from_db()
    assert (lead.company, lead.status) == ("Avant", LeadStatus.NEW)
    done = api_for(rep).patch(url, {"company": "Après", "status": "working"})
    assert done.status_code == 200
    assert (done.json()["company"], done.json()["status"]) == ("Après", "working")


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "message"),
    [("fr", "Saisissez le nom."), ("en", "Enter the last name.")],
)
def test_errors_carry_the_page_s_message_in_the_caller_s_language(api_for, rep, language, message):
    response = api_for(rep, language).post(LEADS, {"last_name": " "})
    assert response.status_code == 400
    assert response.json() == {"errors": {"last_name": [message]}}


def test_unknown_fields_are_refused_and_nothing_is_written(api_for, rep):
    response = api_for(rep, "en").post(LEADS, {"last_name": "Favre", "score": 99, "status_x": 1})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"score", "status_x"}
    assert not Lead.objects.exists()


def test_wrong_types_are_refused_with_the_field(api_for, rep):
    deal = OpportunityFactory(owner=rep, amount=Decimal("1000"))
    response = api_for(rep).patch(
        deal_url(deal), {"amount": "beaucoup", "close_date": 12, "version": deal.version}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"amount", "close_date"}
    deal.refresh_from_db()
    assert deal.amount == Decimal("1000")


def test_a_body_that_is_not_json_or_not_an_object_is_refused(api_for, rep):
    api = api_for(rep)
    assert api.post(LEADS, "{not json").status_code == 400
    listed = api.post(LEADS, [1, 2])
    assert listed.status_code == 400
    assert "non_field_errors" in listed.json()["errors"]


def test_a_huge_body_is_refused_before_it_is_read(api_for, rep, settings):
    settings.CRM_API_MAX_BODY_BYTES = 1000
    response = api_for(rep).post(LEADS, {"last_name": "Favre", "notes": "x" * 5000})
    assert response.status_code == 413
    assert response.json()["detail"]
    assert not Lead.objects.exists()


def test_a_record_out_of_scope_is_a_json_404(api_for, partner_a_user, partner_b):
    lead = LeadFactory(partner=partner_b)
    response = api_for(partner_a_user, "en").get(reverse("api:lead-detail", args=[lead.pk]))
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


# --- tokens ---------------------------------------------------------------------------


def test_a_token_is_stored_hashed_and_its_use_recorded(api_for, rep):
    new = api_token_create(user=rep, name="ERP")
    token = ApiToken.objects.get(pk=new.token.pk)
    assert new.secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.prefix in new.secret
    assert token.last_used_at is None
    from django.test import Client

    response = Client().get(LEADS, headers={"Authorization": f"Bearer {new.secret}"})
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at <= timezone.now()


@pytest.mark.parametrize("state", ["revoked", "expired", "wrong", "inactive user"])
def test_a_revoked_expired_or_unknown_token_is_refused(client, rep, state):
    new = api_token_create(user=rep, name="ERP")
    secret = new.secret
    if state == "revoked":
        ApiToken.objects.update(revoked_at=timezone.now())
    elif state == "expired":
        ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    elif state == "wrong":
        secret = secret[:-2] + "xx"
    else:
        rep.is_active = False
        rep.save()
    response = client.get(LEADS, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail"}


def test_without_credentials_the_api_answers_401_not_a_login_page(client):
    response = client.get(LEADS)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_each_token_has_its_rate_limit(api_for, client, rep, settings):
    settings.CRM_API_RATE = "3/m"
    api = api_for(rep)
    assert [api.get(LEADS).status_code for _ in range(4)] == [200, 200, 200, 429]
    # Another token of the same user has its own count.
    assert api_for(rep).get(LEADS).status_code == 200


def test_the_profile_page_creates_shows_once_and_revokes_tokens(client_for, rep):
    client = client_for(rep)
    page = client.get(reverse("password_change"))
    assert 'id="api-tokens"' in page.text
    created = client.post(reverse("api:token-create"), {"name": "Marketing"})
    assert created.status_code == 200
    token = ApiToken.objects.get(user=rep)
    secret = created.context["secret"]
    assert secret in created.text
    assert "no-store" in created["Cache-Control"]
    assert secret not in client.get(reverse("password_change")).text
    assert token.prefix in client.get(reverse("password_change")).text
    revoked = client.post(reverse("api:token-revoke", args=[token.pk]))
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_user_cannot_revoke_someone_else_s_token(client_for, rep, other_rep):
    token = api_token_create(user=other_rep, name="ERP").token
    response = client_for(rep).post(reverse("api:token-revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_admin_revokes_tokens_from_the_list(client_for, admin_user, rep):
    token = api_token_create(user=rep, name="ERP").token
    client = client_for(admin_user)
    listing = client.get(reverse("admin:api_apitoken_changelist"))
    assert token.prefix in listing.text
    client.post(
        reverse("admin:api_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- lists: filters, ordering, cursor, constant query count ---------------------------


def test_lists_filter_order_and_page_with_a_cursor(api_for, rep):
    account = AccountFactory()
    Opportunity.objects.bulk_create(
        Opportunity(
            name=f"Deal {i:02}",
            account=account,
            owner=rep,
            amount=Decimal(100 + i),
            probability=10,
            stage=Stage.PROPOSAL if i % 2 else Stage.QUALIFICATION,
            close_date=timezone.localdate(),
        )
        for i in range(30)
    )
    api = api_for(rep)
    url = reverse("api:opportunity-list")
    first = api.get(url, {"stage": "proposal", "ordering": "name", "page_size": 10}).json()
    assert [row["name"] for row in first["results"]][:2] == ["Deal 01", "Deal 03"]
    assert len(first["results"]) == 10
    second = api.client.get(first["next"], headers=api.headers()).json()
    assert len(second["results"]) == 5
    assert second["next"] is None
    seen = {row["id"] for row in first["results"]} | {row["id"] for row in second["results"]}
    assert len(seen) == 15


def test_an_invalid_filter_is_a_400_with_the_field(api_for, rep):
    response = api_for(rep).get(reverse("api:opportunity-list"), {"stage": "nowhere"})
    assert response.status_code == 400
    assert "stage" in response.json()["errors"]


def _fill(count: int, rep, partner=None):
    account = AccountFactory(name=f"Compte {count}")
    deals = Opportunity.objects.bulk_create(
        Opportunity(
            name=f"Deal {i}",
            account=account,
            owner=rep,
            partner=partner,
            amount=Decimal(100),
            probability=10,
            close_date=timezone.localdate(),
        )
        for i in range(count)
    )
    Contact.objects.bulk_create(Contact(last_name=f"C{i}", account=account) for i in range(count))
    Account.objects.bulk_create(Account(name=f"A{count}-{i}") for i in range(count))
    leads = Lead.objects.bulk_create(Lead(last_name=f"L{i}", partner=partner) for i in range(count))
    LeadStatusChange.objects.bulk_create(
        LeadStatusChange(lead=leads[0], to_status="new", changed_at=timezone.now())
        for _ in range(count)
    )
    Activity.objects.bulk_create(
        Activity(subject=f"T{i}", opportunity=deal, created_by=rep) for i, deal in enumerate(deals)
    )
    OpportunityHistory.objects.bulk_create(
        OpportunityHistory(
            opportunity=deals[0],
            version=i + 2,
            stage=Stage.QUALIFICATION,
            probability=10,
            close_date=timezone.localdate(),
            forecast_category="pipeline",
        )
        for i in range(count)
    )
    return deals[0], leads[0]


LIST_ROUTES = [
    "api:lead-list",
    "api:account-list",
    "api:contact-list",
    "api:opportunity-list",
    "api:activity-list",
    "api:registration-list",
    "api:forecast",
]


@pytest.mark.parametrize("role", ["rep", "partner_a_user"])
def test_list_endpoints_use_the_same_queries_at_10_and_1000_rows(
    api_for, request, rep, partner_a, role
):
    user = request.getfixturevalue(role)
    partner = partner_a if role == "partner_a_user" else None
    api = api_for(user)
    # The token's last use is written at most once a minute: not by the measured requests.
    api.get(reverse("api:lead-list"))

    def counts(deal, lead):
        result = {}
        urls = [reverse(name) for name in LIST_ROUTES]
        urls.append(reverse("api:opportunity-history", args=[deal.pk]))
        urls.append(reverse("api:lead-history", args=[lead.pk]))
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = api.get(url)
            assert response.status_code == 200, (url, response.content[:200])
            result[url] = len(queries)
        return result

    small = counts(*_fill(10, rep, partner))
    big = counts(*_fill(1000, rep, partner))
    assert {url.split("/")[3] for url in small} >= {"leads", "opportunities", "forecast"}
    assert list(small.values()) == list(big.values())


# --- schema and docs ------------------------------------------------------------------


def test_the_schema_is_valid_openapi_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from openapi_spec_validator import validate

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned while generating the schema"
    validate(json.loads(json.dumps(schema, default=str)))
    assert "/api/v1/leads/" in schema["paths"]
    assert "Idempotency-Key" in json.dumps(schema["paths"]["/api/v1/leads/"]["post"])


def test_the_docs_are_served_from_local_assets(client_for, rep):
    response = client_for(rep).get(reverse("api:docs"))
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/" in response.text
    assert "cdn" not in response.text.lower()


def test_registrations_are_read_in_scope(api_for, partner_a_user, partner_a, partner_b):
    from tests.factories.partners import DealRegistrationFactory

    own = DealRegistrationFactory(partner=partner_a)
    DealRegistrationFactory(partner=partner_b)
    rows = api_for(partner_a_user).get(reverse("api:registration-list")).json()["results"]
    assert [row["id"] for row in rows] == [own.pk]
    assert DealRegistration.objects.count() == 2


def test_the_lead_page_shows_the_campaign_an_inbound_lead_came_with(api_for, client_for, rep):
    created = api_for(rep).post(LEADS, {"last_name": "Favre", "campaign": "Salon Energie 2027"})
    page = client_for(rep).get(reverse("leads:detail", args=[created.json()["id"]]))
    assert "Salon Energie 2027" in page.text


def test_an_internal_user_creates_a_deal_through_the_stage_machine(api_for, rep):
    account = AccountFactory()
    url = reverse("api:opportunity-list")
    response = api_for(rep).post(
        url,
        {
            "name": "Chaufferie Sion",
            "account": account.pk,
            "stage": "proposal",
            "amount": "48000.00",
            "close_date": "2027-03-31",
        },
    )
    assert response.status_code == 201, response.content
    deal = Opportunity.objects.get()
    assert (deal.owner, deal.version, deal.probability) == (rep, 1, 50)
    assert OpportunityHistory.objects.filter(opportunity=deal, is_creation=True).exists()
    refused = api_for(rep, "en").post(url, {"name": "Sans date", "account": account.pk})
    assert refused.status_code == 400
    assert refused.json() == {"errors": {"close_date": ["An open deal needs a close date."]}}
    assert Opportunity.objects.count() == 1


def test_a_partner_user_registers_deals_rather_than_creating_them(
    api_for, partner_a_user, partner_a
):
    deal = OpportunityFactory(partner=partner_a)
    response = api_for(partner_a_user).post(
        reverse("api:opportunity-list"),
        {"name": "x", "account": deal.account_id, "close_date": "2027-03-31"},
    )
    assert response.status_code == 403
    assert Opportunity.objects.count() == 1


def test_a_partner_cannot_move_its_deal_to_an_account_it_does_not_see(
    api_for, partner_a_user, partner_a
):
    deal = OpportunityFactory(partner=partner_a)
    hidden = AccountFactory(name="Interne SA")
    response = api_for(partner_a_user).patch(
        deal_url(deal), {"account": hidden.pk, "version": deal.version}
    )
    assert response.status_code == 400
    assert "account" in response.json()["errors"]
    deal.refresh_from_db()
    assert deal.account_id != hidden.pk


def test_accounts_are_created_and_changed_through_their_services(api_for, rep, other_rep):
    url = reverse("api:account-list")
    created = api_for(rep).post(url, {"name": "Solaire Sion SA", "city": "Sion"})
    assert created.status_code == 201, created.content
    account = Account.objects.get(name="Solaire Sion SA")
    assert account.owner == rep
    detail = reverse("api:account-detail", args=[account.pk])
    assert api_for(rep).patch(detail, {"city": "Martigny"}).json()["city"] == "Martigny"
    # Another rep may not change it: the page's message, nothing written.
    refused = api_for(other_rep, "en").patch(detail, {"city": "Monthey"})
    assert refused.status_code == 403
    assert "only they, their sales manager or an administrator" in refused.json()["detail"]
    account.refresh_from_db()
    assert account.city == "Martigny"


def test_a_partner_user_creates_no_account(api_for, partner_a_user):
    response = api_for(partner_a_user).post(reverse("api:account-list"), {"name": "X SA"})
    assert response.status_code == 403
    assert not Account.objects.filter(name="X SA").exists()


def test_contacts_are_created_and_changed_by_internal_users_only(
    api_for, rep, partner_a_user, partner_a
):
    deal = OpportunityFactory(partner=partner_a)
    created = api_for(rep).post(
        reverse("api:contact-list"),
        {"last_name": "Favre", "email": " A.Favre@Solaire.ch ", "account": deal.account_id},
    )
    assert created.status_code == 201, created.content
    contact = Contact.objects.get(last_name="Favre")
    assert contact.email == "a.favre@solaire.ch"
    detail = reverse("api:contact-detail", args=[contact.pk])
    assert api_for(rep).patch(detail, {"job_title": "CTO"}).status_code == 200
    # The partner sees the contact of its deal's account, and may not change it.
    partner = api_for(partner_a_user)
    assert partner.get(detail).status_code == 200
    assert partner.patch(detail, {"job_title": "CEO"}).status_code == 403
    contact.refresh_from_db()
    assert contact.job_title == "CTO"


def test_to_dos_are_planned_and_done_through_the_activity_services(
    api_for, rep, partner_a_user, partner_a, partner_b
):
    own = OpportunityFactory(partner=partner_a)
    other = OpportunityFactory(partner=partner_b)
    api = api_for(partner_a_user, "en")
    url = reverse("api:activity-list")
    created = api.post(
        url, {"subject": "Rappeler", "opportunity": own.pk, "due_date": "2027-01-15"}
    )
    assert created.status_code == 201, created.content
    todo = Activity.objects.get()
    assert (todo.assignee, todo.done) == (partner_a_user, False)
    # Another partner's deal is not one to choose.
    assert api.post(url, {"subject": "x", "opportunity": other.pk}).status_code == 400
    # Nothing to be about: the service's message.
    about = api.post(url, {"subject": "x"})
    assert about.json() == {
        "errors": {"non_field_errors": ["An activity is about a deal, a lead or an account."]}
    }
    detail = reverse("api:activity-detail", args=[todo.pk])
    done = api.patch(detail, {"done": True, "subject": "Rappelé"})
    assert (done.json()["done"], done.json()["subject"]) == (True, "Rappelé")
    assert Activity.objects.count() == 1


def test_a_partner_registers_a_deal_for_its_partner_only(
    api_for, partner_a_user, partner_a, partner_b
):
    api = api_for(partner_a_user, "en")
    url = reverse("api:registration-list")
    created = api.post(
        url,
        {
            "company_name": "Solaire Sion SA",
            "contact_last_name": "Favre",
            "contact_email": "a.favre@solaire-sion.ch",
            "estimated_amount": "42000.00",
            "partner": partner_a.pk,
        },
    )
    assert created.status_code == 201, created.content
    registration = DealRegistration.objects.get()
    assert (registration.partner, registration.status) == (partner_a, "submitted")
    # Another partner is not one to choose; a blank company is the page's message.
    assert (
        "partner" in api.post(url, {"company_name": "X", "partner": partner_b.pk}).json()["errors"]
    )
    blank = api.post(url, {"company_name": " "})
    assert blank.json() == {"errors": {"company_name": ["Enter the company name."]}}
    assert DealRegistration.objects.count() == 1


def test_lists_order_only_by_columns_a_cursor_can_hold(api_for, rep):
    """A deal without amount would end the pages early: the amount is no ordering."""
    account = AccountFactory()
    Opportunity.objects.bulk_create(
        Opportunity(
            name=f"D{i}",
            account=account,
            owner=rep,
            amount=None if i < 8 else Decimal(i),
            probability=10,
            close_date=timezone.localdate(),
        )
        for i in range(12)
    )
    api = api_for(rep)
    url = reverse("api:opportunity-list")
    for ordering in ("-amount", "-close_date", "name"):
        page = api.get(url, {"ordering": ordering, "page_size": 3})
        seen = []
        while True:
            data = page.json()
            seen += [row["id"] for row in data["results"]]
            if not data["next"]:
                break
            page = api.client.get(data["next"], headers=api.headers())
        assert len(set(seen)) == len(seen) == 12, ordering

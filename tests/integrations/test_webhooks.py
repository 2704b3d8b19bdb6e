import datetime
import hashlib
import hmac
import json
import socket
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from climcrm import events
from integrations import webhooks
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from leads import services as lead_services
from leads.models import LeadStatus
from opportunities.models import Stage
from opportunities.services import opportunity_move_stage
from partners.services import registration_reject, registration_submit
from pipeline_reviews.services import review_close
from tests import clock
from tests.factories import OpportunityFactory
from tests.factories.partners import DealRegistrationFactory
from tests.factories.reviews import ReviewFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (docs/webhooks.md)."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def event_id(request) -> str:
    return {k.lower(): v for k, v in request.headers.items()}["x-climcrm-event-id"]


def create_lead(django_capture_on_commit_callbacks, by, **values):
    with django_capture_on_commit_callbacks(execute=True):
        values.setdefault("company", "Solaire SA")
        values.setdefault("last_name", "Rochat")
        return lead_services.lead_create(by=by, **values)


def test_a_new_lead_is_posted_signed_with_its_event_id(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(manager, events=[events.LEAD_CREATED])

    lead = create_lead(django_capture_on_commit_callbacks, rep, last_name="Favre")

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert verify(endpoint.secret, headers["x-climcrm-signature"], request.body)
    assert not verify("another secret", headers["x-climcrm-signature"], request.body)
    payload = json.loads(request.body)
    delivery = WebhookDelivery.objects.get()
    assert headers["x-climcrm-event-id"] == str(delivery.event_id) == payload["id"]
    assert payload["event"] == "lead.created"
    assert payload["record"] == {"type": "lead", "id": lead.pk}
    assert payload["before"] is None
    assert payload["after"]["last_name"] == "Favre"
    assert payload["by"] == rep.pk
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.status_code == 200
    assert delivery.attempts == 1
    assert delivery.response_ms is not None


def test_a_changed_body_fails_the_signature(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(manager)
    create_lead(django_capture_on_commit_callbacks, rep)
    request = receiver.requests[0]
    header = {k.lower(): v for k, v in request.headers.items()}["x-climcrm-signature"]
    assert not verify(endpoint.secret, header, request.body.replace(b"Solaire", b"Lunaire"))


def test_only_the_events_subscribed_to_are_sent(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks
):
    endpoint_for(manager, events=[events.LEAD_QUALIFIED])
    lead = create_lead(django_capture_on_commit_callbacks, rep)
    assert receiver.requests == []

    with django_capture_on_commit_callbacks(execute=True):
        lead_services.lead_change_status(lead=lead, to_status=LeadStatus.MQL, by=rep)

    (request,) = receiver.requests
    payload = json.loads(request.body)
    assert payload["event"] == "lead.qualified"
    assert payload["before"] == {"status": "new"}
    assert payload["after"]["status"] == "mql"


def test_a_failing_receiver_is_retried_later_until_it_accepts(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks, time_machine
):
    endpoint_for(manager, events=[events.LEAD_CREATED])
    receiver.statuses = [500, 503]

    create_lead(django_capture_on_commit_callbacks, rep)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.status_code == 500
    assert delivery.last_error == "HTTP 500"
    # Not due yet: the sweep leaves it for its next attempt, a minute later.
    assert webhooks.sweep() == {"delivered": 0, "failed": 0, "released": 0}
    assert len(receiver.requests) == 1

    time_machine.shift(datetime.timedelta(minutes=1, seconds=5))
    assert webhooks.sweep()["failed"] == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status_code, delivery.last_error) == (2, 503, "HTTP 503")
    # The second wait is twice as long.
    time_machine.shift(datetime.timedelta(minutes=1, seconds=5))
    assert webhooks.sweep()["delivered"] == 0
    time_machine.shift(datetime.timedelta(minutes=1))
    assert webhooks.sweep()["delivered"] == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.attempts, delivery.status_code, delivery.last_error) == (3, 200, "")
    ids = {event_id(r) for r in receiver.requests}
    assert len(receiver.requests) == 3 and ids == {str(delivery.event_id)}


def test_a_delivery_gives_up_after_the_last_attempt(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks, settings
):
    settings.CRM_WEBHOOK_MAX_ATTEMPTS = 1
    endpoint_for(manager, events=[events.LEAD_CREATED])
    receiver.statuses = [500]
    create_lead(django_capture_on_commit_callbacks, rep)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED


def test_an_event_is_delivered_once_per_endpoint(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks, time_machine
):
    endpoint = endpoint_for(manager, events=[events.LEAD_CREATED])
    create_lead(django_capture_on_commit_callbacks, rep)
    delivery = WebhookDelivery.objects.get()

    # Another task for the same row, a sweep later on: nothing leaves a second time.
    assert webhooks.deliver(delivery.pk) == "skipped"
    time_machine.shift(datetime.timedelta(hours=2))
    assert webhooks.sweep()["delivered"] == 0
    assert len(receiver.requests) == 1
    # The same event cannot be written twice for the endpoint.
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=delivery.event_id, event=delivery.event, payload={}
        )


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(receiver, endpoint_for, manager, rep):
    endpoint_for(manager, events=[events.LEAD_CREATED])
    with transaction.atomic():
        lead_services.lead_create(by=rep, company="Éole SA", last_name="Rochat")
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING)
    assert webhooks.deliver(delivery.pk) == "skipped"
    assert receiver.requests == []


def test_no_delivery_for_a_record_the_owner_cannot_see(
    receiver,
    endpoint_for,
    partner_a_user,
    partner_b_user,
    rep,
    django_capture_on_commit_callbacks,
):
    endpoint_for(partner_a_user, events=[events.LEAD_CREATED])

    create_lead(django_capture_on_commit_callbacks, partner_b_user, company="Bravo SA")
    create_lead(django_capture_on_commit_callbacks, rep, company="Interne SA")
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []

    own = create_lead(django_capture_on_commit_callbacks, partner_a_user, company="Alpha SA")
    (request,) = receiver.requests
    assert json.loads(request.body)["record"]["id"] == own.pk


def test_an_inactive_endpoint_or_owner_receives_nothing(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks
):
    endpoint_for(manager, active=False)
    create_lead(django_capture_on_commit_callbacks, rep)
    manager.is_active = False
    manager.save()
    endpoint_for(manager)
    create_lead(django_capture_on_commit_callbacks, rep)
    assert WebhookDelivery.objects.count() == 0


def test_a_won_deal_sends_its_stage_change_and_its_win(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks
):
    endpoint_for(manager, events=[events.DEAL_STAGE_CHANGED, events.DEAL_WON, events.DEAL_LOST])
    deal = OpportunityFactory(owner=rep, stage=Stage.NEGOTIATION, amount=Decimal("1000"))

    with django_capture_on_commit_callbacks(execute=True):
        opportunity_move_stage(
            opportunity=deal, to_stage=Stage.CLOSED_WON, by=rep, expected_version=deal.version
        )

    payloads = [json.loads(r.body) for r in receiver.requests]
    assert [p["event"] for p in payloads] == ["deal.stage_changed", "deal.won"]
    assert payloads[0]["before"]["stage"] == "negotiation"
    assert payloads[0]["after"]["stage"] == "closed_won"
    assert payloads[0]["id"] != payloads[1]["id"]


def test_registrations_and_reviews_send_their_events(
    receiver, endpoint_for, partner_a_user, channel, partner_a, django_capture_on_commit_callbacks
):
    endpoint_for(channel, events=[events.REGISTRATION_SUBMITTED, events.REVIEW_CLOSED])
    with django_capture_on_commit_callbacks(execute=True):
        registration = registration_submit(by=partner_a_user, company_name="Hélio SA")
    review = ReviewFactory(partner=partner_a)
    with django_capture_on_commit_callbacks(execute=True):
        review_close(review=review, by=channel, notify=False)

    payloads = [json.loads(r.body) for r in receiver.requests]
    assert [(p["event"], p["record"]) for p in payloads] == [
        ("registration.submitted", {"type": "registration", "id": registration.pk}),
        ("review.closed", {"type": "review", "id": review.pk}),
    ]


def test_a_rolled_back_change_sends_nothing(receiver, endpoint_for, rep, manager):
    endpoint_for(manager)
    with pytest.raises(RuntimeError), transaction.atomic():
        lead_services.lead_create(by=rep, company="Annulée SA", last_name="Rochat")
        raise RuntimeError
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


# --- addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.10:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_private_address_is_refused_at_save(url, manager):
    endpoint = WebhookEndpoint(name="Interne", url=url, owner=manager, events=[])
    with pytest.raises(ValidationError) as error:
        endpoint.full_clean()
    assert "url" in error.value.message_dict
    with pytest.raises(ValidationError):
        endpoint.save()
    assert not WebhookEndpoint.objects.exists()


def test_a_name_resolving_to_a_private_address_is_refused(manager, monkeypatch):
    def resolve(host, port, **kwargs):
        address = "10.0.0.5" if host == "intranet.example.com" else "93.184.215.14"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    refused = WebhookEndpoint(name="I", url="https://intranet.example.com/h", owner=manager)
    with pytest.raises(ValidationError):
        refused.save()
    WebhookEndpoint(name="P", url="https://hooks.example.com/h", owner=manager).save()
    assert WebhookEndpoint.objects.get().name == "P"


def test_an_address_turned_private_is_refused_at_delivery(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(manager)
    # Changed without a save (its check): the delivery checks again.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(allow_private=False)
    create_lead(django_capture_on_commit_callbacks, rep)

    delivery = WebhookDelivery.objects.get()
    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error.startswith("Refused:")


# --- admin -----------------------------------------------------------------------------


def test_the_admin_sends_a_delivery_again_with_the_same_event_id(
    receiver, endpoint_for, rep, manager, admin_user, client, django_capture_on_commit_callbacks
):
    endpoint_for(manager, events=[events.LEAD_CREATED])
    create_lead(django_capture_on_commit_callbacks, rep)
    delivery = WebhookDelivery.objects.get()
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:integrations_webhookdelivery_changelist"),
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )

    assert response.status_code == 302
    assert len(receiver.requests) == 2
    assert {event_id(r) for r in receiver.requests} == {str(delivery.event_id)}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_the_admin_lists_endpoints_and_deliveries(
    receiver, endpoint_for, rep, manager, admin_user, client, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(manager)
    create_lead(django_capture_on_commit_callbacks, rep)
    client.force_login(admin_user)
    assert client.get(reverse("admin:integrations_webhookendpoint_changelist")).status_code == 200
    change = client.get(reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200
    log = client.get(
        reverse("admin:integrations_webhookdelivery_changelist"),
        {"endpoint__id__exact": endpoint.pk},
    )
    assert b"lead.created" in log.content


def test_a_rejected_registration_and_a_converted_lead_send_their_decision(
    receiver, endpoint_for, channel, partner_a, rep, django_capture_on_commit_callbacks
):
    endpoint_for(channel, events=[events.REGISTRATION_DECIDED, events.LEAD_CONVERTED])
    registration = DealRegistrationFactory(partner=partner_a)
    with django_capture_on_commit_callbacks(execute=True):
        registration_reject(registration=registration, by=channel, reason="Client déjà suivi")
    lead = create_lead(django_capture_on_commit_callbacks, rep, owner=rep)
    with django_capture_on_commit_callbacks(execute=True):
        lead_services.lead_convert(lead=lead, by=rep, create_opportunity=False)

    payloads = [json.loads(r.body) for r in receiver.requests]
    assert [(p["event"], p["before"], p["after"]["status"]) for p in payloads] == [
        ("registration.decided", {"status": "submitted"}, "rejected"),
        ("lead.converted", {"status": "new"}, "converted"),
    ]


def test_the_sweep_runs_every_minute():
    from climcrm.scheduling import discover

    jobs = discover()
    assert any(name.endswith("sweep_webhooks") for name in jobs)


def test_finished_deliveries_are_forgotten_after_thirty_days(
    receiver, endpoint_for, rep, manager, django_capture_on_commit_callbacks, time_machine
):
    from integrations.tasks import prune_webhook_deliveries

    endpoint_for(manager, events=[events.LEAD_CREATED])
    create_lead(django_capture_on_commit_callbacks, rep)
    receiver.statuses = [500]
    create_lead(django_capture_on_commit_callbacks, rep)  # still waiting for its retry

    time_machine.shift(datetime.timedelta(days=29))
    assert prune_webhook_deliveries.call() == 0
    time_machine.shift(datetime.timedelta(days=2))
    assert prune_webhook_deliveries.call() == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING


def test_the_admin_adds_an_endpoint_and_only_allows_a_private_address_when_told(
    admin_user, manager, client
):
    client.force_login(admin_user)
    url = reverse("admin:integrations_webhookendpoint_add")
    values = {
        "name": "ERP",
        "url": "http://127.0.0.1:9000/hooks",
        "events": ["deal.won", "deal.lost"],
        "owner": manager.pk,
        "active": "on",
        "secret": "s3cret-value",
    }

    refused = client.post(url, values)
    assert refused.status_code == 200
    assert "réseau privé" in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()

    assert client.post(url, {**values, "allow_private": "on"}).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["deal.won", "deal.lost"]
    assert endpoint.allow_private

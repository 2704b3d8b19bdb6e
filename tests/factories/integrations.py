import uuid

import factory

from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.factories.core import UserFactory


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Marketing tool {n}")
    # A receiver on this machine: allowed only because the endpoint says so.
    url = "http://127.0.0.1:9/hook"
    allow_private = True
    events = factory.LazyFunction(lambda: ["deal.won"])
    owner = factory.SubFactory(UserFactory)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_id = factory.LazyFunction(uuid.uuid4)
    event = "deal.won"
    payload = factory.LazyFunction(lambda: {"event": "deal.won", "data": {}})

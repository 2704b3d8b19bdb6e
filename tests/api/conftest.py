import json

import pytest

from api.services import api_token_create


class ApiClient:
    """The test client, speaking JSON with a bearer token."""

    def __init__(self, client, secret: str | None, language: str = "fr"):
        self.client = client
        self.secret = secret
        self.language = language

    def headers(self, extra=None):
        headers = {"Accept-Language": self.language}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        return {**headers, **(extra or {})}

    def get(self, url, params=None, headers=None):
        return self.client.get(url, params or {}, headers=self.headers(headers))

    def _send(self, method, url, data, headers=None):
        body = data if isinstance(data, str | bytes) else json.dumps(data)
        return getattr(self.client, method)(
            url, body, content_type="application/json", headers=self.headers(headers)
        )

    def post(self, url, data, headers=None):
        return self._send("post", url, data, headers)

    def patch(self, url, data, headers=None):
        return self._send("patch", url, data, headers)


@pytest.fixture
def api_for(client):
    """api_for(user, language="fr") -> a JSON client with a new token of that user."""

    def make(user, language="fr"):
        client.logout()
        secret = api_token_create(user=user, name="test").secret if user else None
        return ApiClient(client, secret, language)

    return make

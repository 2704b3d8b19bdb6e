"""A webhook receiver on 127.0.0.1, run in a thread for the test: it records every request
and answers with the statuses it is given, in turn (200 once they are used up)."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from climcrm.events import EVENT_NAMES
from integrations.models import WebhookEndpoint


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/climcrm"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint_for(receiver):
    """endpoint_for(owner, events=every event) -> an active endpoint on the receiver."""

    def make(owner, events=EVENT_NAMES, **values):
        return WebhookEndpoint.objects.create(
            name=f"Receiver of {owner}",
            url=receiver.url,
            events=list(events),
            owner=owner,
            allow_private=True,
            **values,
        )

    return make

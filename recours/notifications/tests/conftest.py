"""Fixtures with real servers: an SMTP server, an HTTP SMS gateway and a
webhook receiver."""

import threading

import pytest

from recours.testing.servers import (
    GatewayHandler,
    SmsGateway,
    free_port,
    mailer_settings,
)
from recours.testing.webhooks import receiving


@pytest.fixture
def smtp_down(settings):
    """Mail settings pointing at a port where nothing listens."""
    settings.MAILERS = mailer_settings(free_port())


@pytest.fixture
def sms_gateway(settings):
    server = SmsGateway(("127.0.0.1", 0), GatewayHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_address[1]}/sms"
    settings.SMS_HTTP_TOKEN = "gateway-token"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(settings):
    """A real HTTP server on 127.0.0.1 that webhooks may reach (tests only)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with receiving() as server:
        yield server

"""Real servers for tests: SMTP (aiosmtpd) and an HTTP SMS gateway, on 127.0.0.1."""

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from django.db import transaction

from recours.notifications.outbox import enqueue

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class CollectingHandler:
    """Keeps every message it accepts; `delay_seconds` makes it a slow server."""

    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos), parsed))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(item.message["Message-ID"]) for item in self.received]


@dataclass
class SmtpServer:
    port: int
    handler: CollectingHandler


def start_smtp(delay_seconds: float = 0.0) -> tuple[Controller, SmtpServer]:
    handler = CollectingHandler(delay_seconds=delay_seconds)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    return controller, SmtpServer(port, handler)


def mailer_settings(port: int) -> dict:
    return {
        "default": {
            "BACKEND": SMTP_BACKEND,
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@dataclass
class HttpRequest:
    path: str
    headers: dict[str, str]
    body: dict


class SmsGateway(ThreadingHTTPServer):
    status_code = 202
    # Seconds to wait before answering: longer than the client's timeout, a hung gateway.
    delay_seconds = 0.0
    requests: list[HttpRequest]


class GatewayHandler(BaseHTTPRequestHandler):
    server: SmsGateway

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self.server.requests.append(HttpRequest(self.path, dict(self.headers), body))
        if self.server.delay_seconds:
            time.sleep(self.server.delay_seconds)
        self.send_response(self.server.status_code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass  # Keep test output quiet.


def queue(
    dedupe_key: str,
    channel: str = "email",
    recipient: str = "client@example.org",
    **context,
):
    """Queue one real message rendered from the case_status templates."""
    context = {
        "case": {"reference": "RC-7KQ4-M9XP"},
        "status_label": "Résolu",
        "status_url": "https://help.example.org/status/",
        **context,
    }
    with transaction.atomic():
        return enqueue(
            dedupe_key=dedupe_key,
            channel=channel,
            recipient=recipient,
            template=f"case_status.{channel}",
            context=context,
            language="fr",
            about_reference=context["case"]["reference"],
        )

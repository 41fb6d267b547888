"""A real HTTP server that receives webhooks in tests, on 127.0.0.1."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver(ThreadingHTTPServer):
    """Answers each POST with the next of `statuses` (200 once they run out)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.deliveries: list[Delivery] = []
        self.statuses: list[int] = []
        # Seconds to wait before answering: longer than the client's timeout, a hung endpoint.
        self.delay_seconds = 0.0
        self.lock = threading.Lock()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def answer(self, delivery: Delivery) -> int:
        with self.lock:
            self.deliveries.append(delivery)
            return self.statuses.pop(0) if self.statuses else 200


class ReceiverHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        delivery = Delivery(self.path, dict(self.headers), self.rfile.read(length))
        status = self.server.answer(delivery)
        if self.server.delay_seconds:
            time.sleep(self.server.delay_seconds)
        body = b"moved" if 300 <= status < 400 else b"ok"
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass  # Keep test output quiet.


@contextmanager
def receiving() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()

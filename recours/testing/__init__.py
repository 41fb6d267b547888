"""Helpers for the test suite, importable from any test (conftest files only
hold fixtures). Nothing here runs in production."""

import contextlib
import functools
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from recours.accounts.actions import create_api_key
from recours.accounts.models import Membership, Organization
from recours.cases.evidence import check_one
from recours.cases.intake import Report, create_case
from recours.cases.models import Case, CaseEvent
from recours.cases.protection import open_claim
from recours.commerce.models import Order
from recours.commerce.protection import enrolment
from recours.core import clock
from recours.core.audit import Actor
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage

PASSWORD = "correct horse battery staple"
# The one frozen instant of the suite (the `frozen` fixture travels to it).
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Tests hash passwords with this fast hasher (set in the root conftest).
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL sent to the default database inside the block, in order.

    CaptureQueriesContext loses a request's statements: the test client's
    request_started signal empties the query log it slices."""
    sent: list[str] = []

    def remember(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(remember):
        yield sent


def make_staff(username: str, organization: Organization, role: str):
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.org", password=PASSWORD
    )
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def membership(user) -> Membership:
    return Membership.objects.select_related("organization", "user").get(user=user)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def snapshot(case: Case) -> dict:
    """Everything an action could change, to assert a refused action changed nothing."""
    case.refresh_from_db()
    return {
        "row": {
            f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields
        },
        "events": CaseEvent.objects.filter(case=case).count(),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


# Cases


def file_case(**fields) -> Case:
    """Create a case through the real action, with sensible defaults."""
    defaults = {
        "problem": "payment_failed",
        "contact_channel": "email",
        "contact_email": "client@example.org",
        "customer_number": "C-10001",
        "payment_started": "yes",
        "description": "La borne a refusé ma carte.",
    }
    return create_case(Actor(label="customer"), Report(**{**defaults, **fields}), [])


def image_bytes(format: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real image made with Pillow, e.g. a photo of a kiosk's screen."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color=(200, 30, 30)).save(buffer, format=format)
    return buffer.getvalue()


def png_bytes() -> bytes:
    return image_bytes("PNG")


@functools.cache
def bomb_png_bytes(width: int = 30000, height: int = 30000) -> bytes:
    """A real, valid grey PNG of width x height zero pixels: under 1 MB of file
    that would take width x height bytes to decode (a decompression bomb).

    Built row block by row block, never holding the decoded image in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    block_rows = 1000
    zero_rows = bytes((width + 1) * block_rows)  # a filter byte, then the pixels
    parts = []
    for start in range(0, height, block_rows):
        rows = min(block_rows, height - start)
        parts.append(compressor.compress(zero_rows[: (width + 1) * rows]))
    parts.append(compressor.flush())
    return b"".join([b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header),
                     chunk(b"IDAT", b"".join(parts)), chunk(b"IEND", b"")])  # fmt: skip


def file_case_with_photo(**fields) -> Case:
    upload = SimpleUploadedFile("ecran.png", png_bytes(), content_type="image/png")
    defaults = {
        "problem": "payment_failed",
        "contact_channel": "email",
        "contact_email": "client@example.org",
        "customer_number": "C-10001",
        "payment_started": "yes",
        "description": "Photo de l'écran jointe.",
    }
    return create_case(
        Actor(label="customer"), Report(**{**defaults, **fields}), [check_one(upload)]
    )


# The API


def new_secret(organization: Organization, name: str = "ERP") -> str:
    _key, secret = create_api_key(Actor.system("test"), organization, name)
    return secret


def client_with(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def report(**fields) -> dict:
    """A valid API report body, naming merchant A's customer by default."""
    return {
        "problem": "payment_failed",
        "contact_channel": "email",
        "contact_email": "client@example.org",
        "customer_number": "C-10001",
        "payment_started": "yes",
        "description": "La borne a refusé ma carte.",
        **fields,
    }


def put_in_state(case: Case, state: str, at: datetime | None = None) -> None:
    """Test set-up only: place a case in a state, with that state's deadline
    counted from `at` (default now)."""
    from recours.cases import engine

    case.status = state
    engine.schedule(case, at or clock.now())
    Case.objects.filter(pk=case.pk).update(
        status=state, due_at=case.due_at, due_action=case.due_action,
        deadline_at=case.deadline_at,
    )  # fmt: skip


# Buyer protection


def protected_order(customer, reference: str = "CMD-2026-0042",
                    total_minor: int = 12990, days_ago: int = 3) -> Order:  # fmt: skip
    """A paid order the customer protected at checkout, placed `days_ago`."""
    now = clock.now()
    placed_at = now - timedelta(days=days_ago)
    return Order.objects.create(
        organization=customer.organization, customer=customer, reference=reference,
        status=Order.Status.PAID, total_minor=total_minor, currency="EUR",
        placed_at=placed_at, **enrolment(placed_at, now),
    )  # fmt: skip


def file_claim(order: Order, problem: str = "not_received", **fields) -> Case:
    """Open a protection claim through the real action."""
    description = fields.pop("description", "Le colis n'est jamais arrivé.")
    return open_claim(order, problem, description, [], language="fr", **fields)

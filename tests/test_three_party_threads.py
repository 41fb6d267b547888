"""Three-party threads: every page and every message, read by each party.

A claim carries a line for each audience, each with a marker of its own.
Then every console page (merchant A, merchant B), the customer's status page
(its owner, another customer), the API (both merchants' keys) and every
queued message are searched for the markers their reader must never get.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse
from django.utils import translation

from recours.accounts.models import Customer
from recours.cases import conversation, protection
from recours.cases.access import staff_actor
from recours.cases.models import Audience, Case
from recours.notifications.models import OutboxMessage
from recours.portal.views import VERIFIED_KEY
from recours.testing import (
    client_for,
    client_with,
    file_claim,
    membership,
    new_secret,
    protected_order,
)

pytestmark = pytest.mark.django_db

MARKERS = {
    Audience.EVERYONE: "MARK-EVERYONE-7Q",
    Audience.STAFF: "MARK-STAFF-4K",
    Audience.CUSTOMER_PLATFORM: "MARK-CUSTPLAT-9X",
    Audience.PLATFORM: "MARK-PLATFORM-2W",
}
NEVER_FOR_MERCHANT = (MARKERS[Audience.CUSTOMER_PLATFORM], MARKERS[Audience.PLATFORM])
NEVER_FOR_CUSTOMER = (MARKERS[Audience.STAFF], MARKERS[Audience.PLATFORM])
OTHER_CASE_MARKER = "MARK-OTHER-SHOP-5Z"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def threads(frozen, platform, merchant_a, merchant_b, customer_a,
            merchant_a_agent, merchant_b_agent, mediator):  # fmt: skip
    """A claim at merchant A with a line for every audience, and a claim at B."""
    merchant_a.notification_emails = "litiges@alpha.example"
    merchant_a.save()
    claim = file_claim(protected_order(customer_a), description="Colis perdu.")
    talk(mediator, claim)
    talk(merchant_a_agent, claim)
    shopper = Customer.objects.create(
        organization=merchant_b, customer_number="B-1", email="autre@example.org"
    )
    other = file_claim(protected_order(shopper, reference="CMD-B-1"),
                       description=OTHER_CASE_MARKER)  # fmt: skip
    return claim, other


def talk(user, case: Case) -> None:
    """Every message this member may write, one per audience, plus a note."""
    member = membership(user)
    actor = staff_actor(member)
    for audience in member_audiences(member):
        conversation.post_message(member, actor, case,
                                  f"{MARKERS[audience]} by {user}", audience)  # fmt: skip
    note = MARKERS[Audience.PLATFORM if member.is_platform else Audience.STAFF]
    conversation.add_note(member, actor, case, f"{note} note")


def member_audiences(member) -> list[str]:
    from recours.cases import queries

    return queries.writable_audiences(member)


def console_pages(case: Case) -> list[str]:
    """Every console page a GET can read, filled in with this case's ids."""
    values = {
        "reference": case.reference,
        "pk": case.attachments.first().pk if case.attachments.exists() else 1,
    }
    resolver = get_resolver("recours.console.urls")
    paths = []
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        names = list(pattern.pattern.converters)
        if pattern.name in ("logout",):
            continue
        paths.append(reverse(f"console:{pattern.name}",
                             kwargs={name: values[name] for name in names}))  # fmt: skip
    return paths


def texts(client: Client, paths: list[str]) -> dict[str, tuple[int, str]]:
    found = {}
    for path in paths:
        response = client.get(path)
        found[path] = (response.status_code, response.content.decode())
    return found


def test_merchant_staff_never_read_platform_or_customer_only_lines(
    threads, merchant_a_agent
):
    # given
    claim, _other = threads

    # when
    pages = texts(client_for(merchant_a_agent), console_pages(claim))

    # then: the claim's page is readable, with the lines meant for the merchant
    status, case_page = pages[reverse("console:case", args=[claim.reference])]
    assert status == 200
    assert MARKERS[Audience.EVERYONE] in case_page
    assert MARKERS[Audience.STAFF] in case_page
    for path, (_status, body) in pages.items():
        for marker in (*NEVER_FOR_MERCHANT, OTHER_CASE_MARKER):
            assert marker not in body, (path, marker)


def test_another_merchant_reads_nothing_of_the_claim(threads, merchant_b_agent):
    # given
    claim, _other = threads

    # when
    pages = texts(client_for(merchant_b_agent), console_pages(claim))

    # then
    for path, (status, body) in pages.items():
        if claim.reference in path:
            assert status in (404, 405), path
        for marker in MARKERS.values():
            assert marker not in body, (path, marker)


def test_platform_staff_read_every_line(threads, mediator):
    claim, _other = threads
    page = client_for(mediator).get(reverse("console:case", args=[claim.reference]))
    for marker in MARKERS.values():
        assert marker in page.content.decode()


def verified_client(case: Case) -> Client:
    client = Client()
    session = client.session
    session[VERIFIED_KEY] = [case.pk]
    session.save()
    return client


def test_the_customer_reads_only_the_lines_meant_for_them(threads):
    # given
    claim, other = threads

    # when
    own = verified_client(claim).get(reverse("portal:case", args=[claim.reference]))
    stranger = verified_client(other).get(
        reverse("portal:case", args=[claim.reference])
    )

    # then
    body = own.content.decode()
    assert own.status_code == 200
    assert MARKERS[Audience.EVERYONE] in body
    assert MARKERS[Audience.CUSTOMER_PLATFORM] in body
    for marker in NEVER_FOR_CUSTOMER:
        assert marker not in body
    assert stranger.status_code == 302
    assert MARKERS[Audience.EVERYONE] not in stranger.content.decode()


def test_the_api_gives_a_merchant_only_the_lines_for_everyone(
    threads, merchant_a, merchant_b
):
    # given
    claim, _other = threads
    path = reverse("api:case_detail", args=[claim.reference])

    # when
    own = client_with(new_secret(merchant_a)).get(path)
    other = client_with(new_secret(merchant_b)).get(path)

    # then
    assert own.status_code == 200
    body = own.content.decode()
    assert MARKERS[Audience.EVERYONE] in body
    for marker in (*NEVER_FOR_MERCHANT, MARKERS[Audience.STAFF]):
        assert marker not in body
    assert other.status_code == 404


def test_no_message_carries_a_line_its_reader_may_not_read(threads, customer_a):
    # given
    claim, _other = threads
    protection.add_evidence(claim, [], "Voici mon relevé.")

    # then: the customer got the lines meant for them, the shop never theirs
    for message in OutboxMessage.objects.all():
        forbidden = (
            NEVER_FOR_CUSTOMER if message.recipient == customer_a.email
            else NEVER_FOR_MERCHANT
        )  # fmt: skip
        for marker in forbidden:
            assert marker not in message.body + message.html_body, message.dedupe_key
    to_customer = OutboxMessage.objects.filter(recipient=customer_a.email)
    assert any(MARKERS[Audience.CUSTOMER_PLATFORM] in m.body for m in to_customer)

"""Over a code-request cap the status page reads as for any reference."""

import re

import pytest
from django.urls import reverse

from recours.notifications.models import OutboxMessage
from recours.testing import file_case

pytestmark = pytest.mark.django_db


def ask_code(client, reference: str) -> str:
    response = client.post(reverse("portal:status"), {"reference": reference})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode().replace(reference, "REFERENCE")
    main = html[html.index("<main") : html.index("</main>")]
    # Tokens differ on every page, whatever the reference.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", main)


def test_a_capped_request_reads_like_an_unknown_reference(
    frozen, client, kiosk, settings
):
    # given: the case's one code of the hour was sent
    settings.ACCESS_CODE_CASE_RATE_LIMIT = "1/h"
    case = file_case(terminal_code=kiosk.code)
    ask_code(client, case.reference)

    # when
    capped = ask_code(client, case.reference)
    unknown = ask_code(client, "RC-ZZZZ-ZZZZ")

    # then
    assert capped == unknown
    assert OutboxMessage.objects.filter(dedupe_key__contains=":code:").count() == 1

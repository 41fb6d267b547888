"""The kiosk named by a QR sticker (/?terminal=CODE): shown first, or said unknown."""

import pytest
from django.urls import reverse

from recours.cases.models import Case
from recours.commerce.models import Terminal

pytestmark = pytest.mark.django_db

MAINTENANCE = (
    "This kiosk is under maintenance: you can still report a problem about it."
)


@pytest.fixture
def twelve_kiosks(merchant_a) -> list[Terminal]:
    return [
        Terminal.objects.create(
            organization=merchant_a,
            code=f"ALPHA-{number:02}",
            name=f"Borne {number:02}",
            location="Paris",
        )
        for number in range(1, 13)
    ]


def page_for(client, **query) -> str:
    response = client.get(reverse("portal:report"), query)
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_sticker_kiosk_above_the_list_and_first_in_it(
    client, twelve_kiosks
):
    # given: the eighth of twelve kiosks, once buried in the scrolling list
    eighth = twelve_kiosks[7]

    # when
    page = page_for(client, terminal=eighth.code.lower())

    # then
    chosen = page.index('id="chosen-kiosk"')
    first_radio = page.index('<input type="radio" name="terminal"')
    assert chosen < first_radio
    assert "Borne 08 (<span" in page[chosen:first_radio]
    assert page[first_radio:].startswith(
        f'<input type="radio" name="terminal" value="{eighth.code}" checked>'
    )
    assert MAINTENANCE not in page


def test_it_says_so_when_the_sticker_code_is_unknown(client, kiosk):
    # when
    page = page_for(client, terminal="NOPE-99")

    # then
    assert "We do not know the kiosk NOPE-99: choose it in the list." in page
    assert 'id="chosen-kiosk"' not in page
    assert 'value="" checked' in page  # nothing chosen for the customer


def test_it_says_so_when_the_sticker_kiosk_is_under_maintenance(client, kiosk):
    # given
    kiosk.is_active = False
    kiosk.save()

    # when
    page = page_for(client, terminal=kiosk.code)

    # then
    assert MAINTENANCE in page
    assert f'value="{kiosk.code}" checked' in page


def test_it_finds_a_kiosk_under_maintenance_in_the_search(client, kiosk, kiosk_b):
    # given
    kiosk_b.is_active = False
    kiosk_b.save()

    # when
    response = client.get(
        reverse("portal:terminals"), {"q": "lyon"}, headers={"HX-Request": "true"}
    )

    # then
    page = response.content.decode()
    assert kiosk_b.code in page
    assert "under maintenance</span>" in page


def test_it_accepts_a_report_about_a_kiosk_under_maintenance(
    client, report_data, kiosk
):
    # given
    kiosk.is_active = False
    kiosk.save()

    # when
    response = client.post(reverse("portal:report"), report_data)

    # then
    assert response.status_code == 302
    assert Case.objects.get().terminal == kiosk


def test_it_escapes_the_unknown_code_it_repeats(client, kiosk):
    # when
    page = page_for(client, terminal="<b>X</b>")

    # then
    assert "We do not know the kiosk &lt;b&gt;X&lt;/b&gt;" in page
    assert "<b>X</b>" not in page

"""Evidence files: streamed to staff who may see the case, 404 to everyone else."""

import pytest
from django.urls import reverse

from recours.cases.models import Attachment
from recours.testing import file_case_with_photo, png_bytes


@pytest.fixture
def photo(frozen, platform, kiosk, customer_a) -> Attachment:
    case = file_case_with_photo(terminal_code=kiosk.code)
    return case.attachments.get()


def download(client, attachment_pk: int):
    return client.get(reverse("console:attachment", args=[attachment_pk]))


def test_it_streams_the_file_to_its_organizations_staff(alpha_client, photo):
    # when
    response = download(alpha_client, photo.pk)

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="ecran.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == png_bytes()


def test_it_streams_the_file_to_platform_staff(agent_client, photo):
    assert download(agent_client, photo.pk).status_code == 200


def test_it_hides_the_file_from_another_organization(beta_client, photo):
    # when
    response = download(beta_client, photo.pk)

    # then
    assert response.status_code == 404
    assert not hasattr(response, "streaming_content")


def test_it_answers_404_for_an_unknown_file(agent_client, photo):
    assert download(agent_client, photo.pk + 1000).status_code == 404


def test_it_answers_404_when_the_file_left_the_storage(agent_client, photo):
    # given
    photo.file.storage.delete(photo.file.name)

    # when / then
    assert download(agent_client, photo.pk).status_code == 404


def test_the_case_page_links_the_file_in_its_timeline(alpha_client, photo):
    # when
    response = alpha_client.get(reverse("console:case", args=[photo.case.reference]))

    # then
    html = response.content.decode()
    link = reverse("console:attachment", args=[photo.pk])
    created = html[html.index(f'id="event-{photo.event_id}"') :]
    assert f'<a href="{link}">ecran.png</a>' in created[: created.index("</li>")]

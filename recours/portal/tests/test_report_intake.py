"""The report form's intake: bodies too large, rate limits, files kept across a
correction, files named by their content. Through Django's test client."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from recours.cases.models import Attachment, Case
from recours.core.models import AuditEvent, RateCounter
from recours.core.worker import JOBS
from recours.notifications.models import OutboxMessage
from recours.portal import staging
from recours.testing import bomb_png_bytes, client_for, image_bytes, png_bytes

pytestmark = pytest.mark.django_db

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


class UnreadableBody:
    """A wsgi.input that fails the test if anything reads the body."""

    def read(self, *args):
        raise AssertionError("the request body was read")

    readline = read


def upload(name: str, content: bytes, content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def nothing_filed() -> bool:
    return not (
        Case.objects.exists()
        or Attachment.objects.exists()
        or OutboxMessage.objects.exists()
        or AuditEvent.objects.exists()
    )


def staged_paths() -> list[str]:
    try:
        return default_storage.listdir(staging.DIRECTORY)[1]
    except FileNotFoundError:
        return []


# Uploads


def test_it_refuses_a_decompression_bomb_with_the_form_error(client, report_data):
    # given: a real 30000x30000 PNG (900 million pixels in under 1 MB)
    report_data["attachments"] = [upload("screen.png", bomb_png_bytes())]

    # when
    response = client.post(reverse("portal:report"), report_data)

    # then: the customer's report is still on the page, with the file's error
    page = response.content.decode()
    assert response.status_code == 422
    assert "screen.png has too many pixels: at most 60 million." in page
    assert report_data["description"] in page
    assert nothing_filed()


def test_it_refuses_a_body_over_the_limit_before_reading_it(client, report_data):
    # given: a 1.5 GB upload announced in the headers
    headers = {"CONTENT_LENGTH": str(1_500_000_000), "wsgi.input": UnreadableBody()}

    # when
    response = client.post(reverse("portal:report"), report_data, **headers)

    # then
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "Too much to send at once" in response.content.decode()
    assert nothing_filed()


def test_it_takes_a_body_just_under_the_limit(client, report_data, settings):
    # given
    settings.REQUEST_BODY_MAX_BYTES = 200_000
    report_data["attachments"] = [upload("p.png", image_bytes(size=(200, 200)))]

    # when
    response = client.post(reverse("portal:report"), report_data)

    # then
    assert response.status_code == 302
    assert Attachment.objects.count() == 1


def test_it_names_a_file_by_its_content_in_storage_and_in_the_console(
    client, report_data, agent
):
    # given: a PDF named like a web page
    report_data["attachments"] = [upload("invoice.html", PDF, "text/html")]

    # when
    client.post(reverse("portal:report"), report_data)
    attachment = Attachment.objects.get()
    download = client_for(agent).get(
        reverse("console:attachment", args=[attachment.pk])
    )

    # then
    assert attachment.original_name == "invoice.pdf"
    assert attachment.content_type == "application/pdf"
    stored = Path(attachment.file.name)
    assert stored.parent == Path("evidence", attachment.case.reference)
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", stored.name)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert 'filename="invoice.pdf"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == PDF


# The rate limit counts accepted reports only


def test_corrections_do_not_count_towards_the_rate_limit(
    frozen, client, report_data, settings
):
    # given
    settings.REPORT_RATE_LIMIT = "1/h"
    for _ in range(3):
        mistake = client.post(reverse("portal:report"), {**report_data, "problem": ""})
        assert mistake.status_code == 422

    # when
    response = client.post(reverse("portal:report"), report_data)

    # then
    assert response.status_code == 302
    assert Case.objects.count() == 1


def test_at_the_limit_it_refuses_before_reading_the_body_and_says_how_long(
    frozen, client, report_data, settings
):
    # given: frozen at 09:00 UTC, one accepted report uses up "1/h"
    settings.REPORT_RATE_LIMIT = "1/h"
    assert client.post(reverse("portal:report"), report_data).status_code == 302
    frozen.shift(timedelta(minutes=20))
    counters = list(RateCounter.objects.values_list("key", "count"))

    # when
    response = client.post(
        reverse("portal:report"), report_data, **{"wsgi.input": UnreadableBody()}
    )

    # then: 40 minutes to the next window, and the refusal counted nothing
    assert response.status_code == 429
    assert response["Retry-After"] == str(40 * 60)
    assert "Please try again in 40 minutes." in response.content.decode()
    assert Case.objects.count() == 1
    assert list(RateCounter.objects.values_list("key", "count")) == counters


def test_the_limit_is_per_address_and_ends_with_its_window(
    frozen, client, report_data, settings
):
    # given
    settings.REPORT_RATE_LIMIT = "1/h"
    client.post(reverse("portal:report"), report_data)

    # when
    other = client.post(reverse("portal:report"), report_data, REMOTE_ADDR="10.0.0.9")
    frozen.shift(timedelta(hours=1))
    later = client.post(reverse("portal:report"), report_data)

    # then
    assert other.status_code == 302
    assert later.status_code == 302
    assert Case.objects.count() == 3


# Files already checked survive a correction


def test_checked_files_are_kept_while_the_form_is_corrected(client, report_data):
    # given: five photos, and a forgotten field
    photos = [upload(f"photo-{n}.png", png_bytes()) for n in range(5)]
    first = client.post(
        reverse("portal:report"),
        {**report_data, "problem": "", "attachments": photos},
    )
    page = first.content.decode()
    assert first.status_code == 422
    assert all(f"photo-{n}.png" in page for n in range(5))
    assert len(staged_paths()) == 5
    assert nothing_filed()

    # when: the customer corrects the field and does not pick the files again
    second = client.post(reverse("portal:report"), report_data)

    # then
    assert second.status_code == 302
    case = Case.objects.get()
    names = sorted(case.attachments.values_list("original_name", flat=True))
    assert names == [f"photo-{n}.png" for n in range(5)]
    assert all(a.file.read() == png_bytes() for a in case.attachments.all())
    assert staged_paths() == []
    assert staging.SESSION_KEY not in client.session


def test_kept_files_count_towards_the_five(client, report_data):
    # given: three kept photos
    photos = [upload(f"kept-{n}.png", png_bytes()) for n in range(3)]
    client.post(
        reverse("portal:report"), {**report_data, "problem": "", "attachments": photos}
    )

    # when: three more
    more = [upload(f"more-{n}.png", png_bytes()) for n in range(3)]
    response = client.post(
        reverse("portal:report"), {**report_data, "attachments": more}
    )

    # then
    assert response.status_code == 422
    assert (
        "You can attach at most 5 files, and 3 are already kept."
        in response.content.decode()
    )
    assert not Case.objects.exists()
    assert len(staged_paths()) == 3


def test_a_kept_file_can_be_removed(client, report_data):
    # given
    photos = [upload("keep.png", png_bytes()), upload("drop.png", png_bytes())]
    client.post(
        reverse("portal:report"), {**report_data, "problem": "", "attachments": photos}
    )
    drop = next(
        e for e in client.session[staging.SESSION_KEY] if e["name"] == "drop.png"
    )

    # when
    response = client.post(
        reverse("portal:report"), {**report_data, "remove_staged": [drop["token"]]}
    )

    # then
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == "keep.png"
    assert staged_paths() == []


def test_only_good_files_are_kept_and_the_bad_one_is_named(client, report_data):
    # when
    response = client.post(
        reverse("portal:report"),
        {
            **report_data,
            "attachments": [upload("good.png", png_bytes()), upload("bad.png", b"x")],
        },
    )

    # then
    page = response.content.decode()
    assert response.status_code == 422
    assert "bad.png is not a PDF, PNG, JPEG or WebP file." in page
    assert [e["name"] for e in client.session[staging.SESSION_KEY]] == ["good.png"]
    assert nothing_filed()


def test_another_browser_cannot_use_kept_files(client, report_data):
    # given
    client.post(
        reverse("portal:report"),
        {**report_data, "problem": "", "attachments": [upload("p.png", png_bytes())]},
    )
    # when
    Client().post(reverse("portal:report"), report_data)

    # then
    assert Case.objects.get().attachments.count() == 0
    assert len(staged_paths()) == 1


def test_kept_files_older_than_a_day_are_purged_and_the_customer_told(
    client, report_data
):
    # given
    client.post(
        reverse("portal:report"),
        {**report_data, "problem": "", "attachments": [upload("p.png", png_bytes())]},
    )
    # when
    kept_young = staging.purge_old(timezone.now() + timedelta(hours=23))
    purged = staging.purge_old(timezone.now() + timedelta(days=1, minutes=1))
    response = client.post(reverse("portal:report"), report_data)

    # then
    assert (kept_young, purged) == (0, 1)
    assert staged_paths() == []
    assert response.status_code == 422
    assert "p.png was kept too long: please choose it again." in (
        response.content.decode()
    )
    assert not Case.objects.exists()


def test_the_purge_is_a_registered_worker_job():
    assert JOBS["portal-staging-purge"].run is staging.purge_due


def test_one_address_can_keep_only_so_many_files(
    frozen, client, report_data, monkeypatch
):
    # given
    monkeypatch.setattr(staging, "STAGE_RATE", "2/h")
    photos = [upload(f"p{n}.png", png_bytes()) for n in range(3)]

    # when
    response = client.post(
        reverse("portal:report"), {**report_data, "problem": "", "attachments": photos}
    )

    # then
    assert response.status_code == 422
    assert "p2.png could not be kept: please choose it again." in (
        response.content.decode()
    )
    assert len(staged_paths()) == 2

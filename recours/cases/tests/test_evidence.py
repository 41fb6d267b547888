import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recours.cases.evidence import EXTENSIONS, MAX_FILE_BYTES, check_files
from recours.testing import bomb_png_bytes, image_bytes

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts; the French ones have their own test.
    settings.LANGUAGE_CODE = "en"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("receipt.pdf", PDF, "application/pdf"),
        ("screen.png", image_bytes("PNG"), "image/png"),
        ("photo.jpg", image_bytes("JPEG"), "image/jpeg"),
        ("photo.webp", image_bytes("WEBP"), "image/webp"),
    ],
    ids=["pdf", "png", "jpeg", "webp"],
)
def test_it_accepts_pdf_and_images_by_their_content(name, content, content_type):
    # when
    checked, errors = check_files([upload(name, content)])

    # then
    assert errors == []
    assert [(c.original_name, c.content_type) for c in checked] == [
        (name, content_type)
    ]
    assert checked[0].content == content
    stored_suffix = checked[0].as_django_file().name.rsplit(".", 1)[1]
    assert (
        stored_suffix
        == {"pdf": "pdf", "png": "png", "jpg": "jpg", "webp": "webp"}[
            name.rsplit(".", 1)[1]
        ]
    )


def test_it_judges_by_content_not_by_name():
    # when: a JPEG named .png is still a sound JPEG
    checked, errors = check_files([upload("photo.png", image_bytes("JPEG"))])

    # then
    assert errors == []
    assert checked[0].content_type == "image/jpeg"


def test_it_refuses_text_renamed_png():
    # when
    checked, errors = check_files(
        [upload("notes.png", b"just some text, not an image")]
    )

    # then
    assert checked == []
    assert len(errors) == 1
    assert "notes.png" in errors[0]


def test_it_refuses_a_truncated_png():
    # given
    content = image_bytes("PNG", size=(300, 200))

    # when
    checked, errors = check_files([upload("cut.png", content[: len(content) // 2])])

    # then
    assert checked == []
    assert len(errors) == 1
    assert "cut.png" in errors[0]


def test_it_refuses_a_png_header_on_other_bytes():
    # when
    checked, errors = check_files(
        [upload("fake.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)]
    )

    # then
    assert checked == []
    assert len(errors) == 1


def test_it_refuses_a_pdf_without_its_end_marker():
    # when
    checked, errors = check_files([upload("cut.pdf", PDF[:40])])

    # then
    assert checked == []
    assert len(errors) == 1


def test_it_refuses_files_over_10_mb():
    # given: a real PDF header padded past the limit
    content = PDF[:-7] + b" " * (MAX_FILE_BYTES - len(PDF) + 8) + PDF[-7:]
    assert len(content) > MAX_FILE_BYTES

    # when
    checked, errors = check_files([upload("big.pdf", content)])

    # then
    assert checked == []
    assert len(errors) == 1
    assert "10 MB" in errors[0]


def test_it_accepts_a_file_of_exactly_10_mb():
    # given
    content = PDF[:-7] + b" " * (MAX_FILE_BYTES - len(PDF)) + PDF[-7:]
    assert len(content) == MAX_FILE_BYTES

    # when
    checked, errors = check_files([upload("limit.pdf", content)])

    # then
    assert errors == []
    assert len(checked) == 1


def test_it_refuses_more_than_5_files():
    # when
    checked, errors = check_files([upload(f"{n}.pdf", PDF) for n in range(6)])

    # then
    assert checked == []
    assert len(errors) == 1


def test_it_keeps_the_good_files_and_names_the_bad_ones():
    # when
    checked, errors = check_files([upload("good.pdf", PDF), upload("bad.png", b"text")])

    # then
    assert [c.original_name for c in checked] == ["good.pdf"]
    assert len(errors) == 1
    assert "bad.png" in errors[0]


@pytest.mark.parametrize(
    ("width", "height"),
    [(30000, 30000), (9000, 9000)],
    ids=["pillow-bomb-error", "over-our-own-cap"],
)
def test_it_refuses_a_decompression_bomb_by_its_pixel_count(width, height):
    # given: a real PNG of a few hundred KB claiming width x height pixels
    content = bomb_png_bytes(width, height)
    assert len(content) < MAX_FILE_BYTES

    # when
    checked, errors = check_files([upload("bomb.png", content)])

    # then
    assert checked == []
    assert errors == ["bomb.png has too many pixels: at most 60 million."]


@pytest.mark.parametrize(
    ("name", "content", "stored_as"),
    [
        ("invoice.html", PDF, "invoice.pdf"),
        ("photo.png", image_bytes("JPEG"), "photo.jpg"),
        ("photo.JPEG", image_bytes("JPEG"), "photo.JPEG"),
        ("scan", PDF, "scan.pdf"),
        ("..\\..\\evil.exe", PDF, "evil.pdf"),
    ],
)
def test_it_names_a_file_by_its_checked_type(name, content, stored_as):
    # when
    checked, errors = check_files([upload(name, content)])

    # then
    assert errors == []
    assert checked[0].original_name == stored_as
    stored = checked[0].as_django_file().name
    assert stored.endswith("." + EXTENSIONS[checked[0].content_type])
    assert name.rsplit(".", 1)[0] not in stored  # a random name, not the client's

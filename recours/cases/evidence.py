"""Checks on uploaded evidence: type by content, not by name; size; count."""

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from recours.cases.models import Attachment

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
# Under 1 MB of PNG can claim 30000x30000 pixels and take gigabytes to decode. A
# 48-megapixel phone photo fits; anything larger is refused before decoding.
MAX_IMAGE_PIXELS = 60_000_000
NAME_MAX_LENGTH = 200
# Other names under which a type is already rightly named.
SYNONYMS = {"jpeg": "jpg", "jpe": "jpg"}
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
}
PILLOW_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CheckedFile:
    original_name: str
    content_type: str
    content: bytes
    sha256: str

    def as_django_file(self) -> ContentFile:
        name = f"{uuid.uuid4().hex}.{EXTENSIONS[self.content_type]}"
        return ContentFile(self.content, name=name)


def sniff(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def named_as(name: str, content_type: str) -> str:
    """The name with the extension of its checked type: invoice.html -> invoice.pdf.

    The name is what staff download the file as, so it must not promise a type
    the content is not."""
    extension = EXTENSIONS[content_type]
    path = PurePath(name.replace("\\", "/")).name or "file"
    stem, dot, suffix = path.rpartition(".")
    if not dot or not stem:
        stem = path
    elif SYNONYMS.get(suffix.lower(), suffix.lower()) == extension:
        return path[-NAME_MAX_LENGTH:]
    return f"{stem[: NAME_MAX_LENGTH - len(extension) - 1]}.{extension}"


class ImageTooLarge(ValueError):
    pass


def image_is_sound(content: bytes, content_type: str) -> bool:
    """Let Pillow parse the whole image: a renamed or truncated file fails here.

    Raise ImageTooLarge for an image with more pixels than we accept."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageTooLarge
                image.verify()
                return PILLOW_FORMATS.get(image.format or "") == content_type
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge from None
    except ImageTooLarge:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def check_one(upload: UploadedFile) -> CheckedFile:
    name = (upload.name or "file")[-200:]
    if upload.size is None or upload.size > MAX_FILE_BYTES:
        raise ValueError(_("%(name)s is larger than 10 MB.") % {"name": name})
    content = upload.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise ValueError(_("%(name)s is larger than 10 MB.") % {"name": name})
    content_type = sniff(content[:16])
    if content_type is None:
        raise ValueError(
            _("%(name)s is not a PDF, PNG, JPEG or WebP file.") % {"name": name}
        )
    if content_type == "application/pdf":
        sound = b"%%EOF" in content[-1024:]
    else:
        sound = image_sound_or_refused(name, content, content_type)
    if not sound:
        raise ValueError(
            _("%(name)s is damaged or not what it claims to be.") % {"name": name}
        )
    return CheckedFile(
        named_as(name, content_type),
        content_type,
        content,
        hashlib.sha256(content).hexdigest(),
    )


def image_sound_or_refused(name: str, content: bytes, content_type: str) -> bool:
    try:
        return image_is_sound(content, content_type)
    except ImageTooLarge:
        raise ValueError(
            _("%(name)s has too many pixels: at most 60 million.") % {"name": name}
        ) from None


def check_files(
    uploads: list[UploadedFile], already: int = 0
) -> tuple[list[CheckedFile], list[str]]:
    """Return the checked files and one message per refused file.

    `already` files were checked and kept before; they count towards the 5."""
    if already + len(uploads) > MAX_FILES:
        if already:
            return [], [
                _("You can attach at most 5 files, and %(count)d are already kept.")
                % {"count": already}
            ]
        return [], [_("You can attach at most 5 files.")]
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append(check_one(upload))
        except ValueError as error:
            errors.append(str(error))
    return checked, errors


def download(attachment: "Attachment") -> FileResponse:
    """Send a stored file as a download, under the type checked by content at
    upload (never the client's), to be kept by nobody between."""
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("the file is missing from storage") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response

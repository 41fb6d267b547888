"""Checks on uploaded evidence: type by content, not by name; size; count."""

import hashlib
import io
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
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


def image_is_sound(content: bytes, content_type: str) -> bool:
    """Let Pillow parse the whole image: a renamed or truncated file fails here."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            return PILLOW_FORMATS.get(image.format or "") == content_type
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
        sound = image_is_sound(content, content_type)
    if not sound:
        raise ValueError(
            _("%(name)s is damaged or not what it claims to be.") % {"name": name}
        )
    return CheckedFile(name, content_type, content, hashlib.sha256(content).hexdigest())


def check_files(uploads: list[UploadedFile]) -> tuple[list[CheckedFile], list[str]]:
    """Return the checked files and one message per refused file."""
    if len(uploads) > MAX_FILES:
        return [], [_("You can attach at most 5 files.")]
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append(check_one(upload))
        except ValueError as error:
            errors.append(str(error))
    return checked, errors

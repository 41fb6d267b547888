"""Files a customer attached to a report that had to be corrected.

A browser cannot refill a file input, so a customer with five photos who forgot
a field would have to pick them all again. Files that passed the checks are
kept in storage under a random token instead; the tokens live in the customer's
session (nobody else can name them), the form lists them with a "remove" box,
and the next valid submit attaches them. A worker job deletes what was left
behind after a day.
"""

import hashlib
import logging
import secrets
import time
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest
from django.utils.translation import gettext as _

from recours.cases.evidence import CheckedFile
from recours.core import clock, ratelimit

log = logging.getLogger("recours.portal")
SESSION_KEY = "portal.staged_files"
DIRECTORY = "staging"
MAX_AGE = timedelta(days=1)
# Kept files take disk space until the purge, and a form sent back for
# correction is not rate-limited: cap what one client address can leave here.
STAGE_RATE = "50/h"
# The purge lists a directory (an API call on S3): not on every worker pass.
PURGE_EVERY_SECONDS = 600
last_purge_monotonic: list[float] = []


def path_of(token: str) -> str:
    return f"{DIRECTORY}/{token}"


def staged(request: HttpRequest, key: str = SESSION_KEY) -> list[dict]:
    """What this session keeps: token, name, content_type, size_bytes, sha256.

    `key` names the form the files belong to (the report form by default), so
    that one form's files never turn up on another."""
    return list(request.session.get(key, []))


def stage(
    request: HttpRequest, files: list[CheckedFile], key: str = SESSION_KEY
) -> list[str]:
    """Keep the files for this session; a message for each one that was not."""
    entries = staged(request, key)
    refused = []
    for checked in files:
        if ratelimit.over_limit(request, "report-staged", STAGE_RATE):
            refused.append(checked.original_name)
            continue
        token = secrets.token_hex(16)
        saved = default_storage.save(path_of(token), ContentFile(checked.content))
        assert saved == path_of(token)
        entries.append(
            {
                "token": token,
                "name": checked.original_name,
                "content_type": checked.content_type,
                "size_bytes": len(checked.content),
                "sha256": checked.sha256,
            }
        )
    request.session[key] = entries
    return [
        _("%(name)s could not be kept: please choose it again.") % {"name": name}
        for name in refused
    ]


def remove(request: HttpRequest, tokens: set[str], key: str = SESSION_KEY) -> None:
    """Forget the files the customer ticked "remove" for."""
    entries = staged(request, key)
    for entry in entries:
        if entry["token"] in tokens:
            default_storage.delete(path_of(entry["token"]))
    request.session[key] = [e for e in entries if e["token"] not in tokens]


def load(
    request: HttpRequest, key: str = SESSION_KEY
) -> tuple[list[CheckedFile], list[str]]:
    """The kept files, and a message for each one that is no longer there."""
    files, lost = [], []
    for entry in staged(request, key):
        content = read(entry["token"])
        if content is None or hashlib.sha256(content).hexdigest() != entry["sha256"]:
            lost.append(entry)
            continue
        files.append(CheckedFile(entry["name"], entry["content_type"], content,
                                 entry["sha256"]))  # fmt: skip
    if lost:
        gone = {entry["token"] for entry in lost}
        request.session[key] = [
            e for e in staged(request, key) if e["token"] not in gone
        ]
    messages = [
        _("%(name)s was kept too long: please choose it again.")
        % {"name": entry["name"]}
        for entry in lost
    ]
    return files, messages


def read(token: str) -> bytes | None:
    try:
        with default_storage.open(path_of(token), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def clear(request: HttpRequest, key: str = SESSION_KEY) -> None:
    """The report was filed with the kept files: they now belong to its case."""
    for entry in staged(request, key):
        default_storage.delete(path_of(entry["token"]))
    request.session.pop(key, None)


def purge_old(now: datetime | None = None) -> int:
    """Delete kept files older than a day; return how many."""
    cutoff = (now or clock.now()) - MAX_AGE
    try:
        _directories, names = default_storage.listdir(DIRECTORY)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in names:
        if default_storage.get_modified_time(path_of(name)) < cutoff:
            default_storage.delete(path_of(name))
            deleted += 1
    if deleted:
        log.info("purged %d staged report files", deleted)
    return deleted


def purge_due() -> int:
    """Worker job: purge_old, at most every PURGE_EVERY_SECONDS."""
    now = time.monotonic()
    if last_purge_monotonic and now - last_purge_monotonic[-1] < PURGE_EVERY_SECONDS:
        return 0
    last_purge_monotonic[:] = [now]
    return purge_old()

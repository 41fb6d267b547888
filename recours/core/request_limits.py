"""Refuse a request before its body is read: too large, or from an address
that has used up a view's rate limit.

Django reads a POST body as soon as anything touches request.POST, and the
CSRF check does that before the view runs: a 1.5 GB upload would be streamed
to the temporary directory first, and a view's own rate-limit check would come
after the upload it is meant to prevent. This middleware sits before
CsrfViewMiddleware and decides from the headers alone.
"""

import json
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from recours.core import ratelimit

API_PREFIX = "/api/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
# The attribute `limit_before_body` puts on a view.
VIEW_ATTRIBUTE = "rate_limit_before_body"


def limit_before_body(name: str, rate_setting: str) -> Callable:
    """Mark a view whose POSTs are refused, before their body is read, once the
    client address has reached the rate named by `rate_setting`.

    The view counts with ratelimit.count(address_key(request, name), rate)
    what is worth counting (an accepted report, not a form to correct)."""

    def mark(view: Callable) -> Callable:
        setattr(view, VIEW_ATTRIBUTE, (name, rate_setting))
        return view

    return mark


def declared_length(request: HttpRequest) -> int:
    # What the WSGI server will let Django read: a bad header reads as nothing.
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def body_limit(request: HttpRequest) -> int:
    """The API takes JSON only, so Django's limit for non-file data is its limit."""
    if request.path.startswith(API_PREFIX) and settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return min(
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.REQUEST_BODY_MAX_BYTES
        )
    return settings.REQUEST_BODY_MAX_BYTES


def too_large(request: HttpRequest, limit_bytes: int) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return problem_too_large(limit_bytes)
    context = {"limit_megabytes": limit_bytes // (1024 * 1024)}
    # No "Connection: close" here: WSGI applications may not set hop-by-hop
    # headers (wsgiref refuses them); the server discards the unread body.
    return render(request, "413.html", context, status=413)


def problem(status: HTTPStatus, detail: str, code: str) -> HttpResponse:
    """The API's answer, in the shape of recours.api.problems.problem()."""
    body = {
        "type": "about:blank",
        "title": status.phrase,
        "status": int(status),
        "detail": detail,
        "code": code,
    }
    return HttpResponse(
        json.dumps(body), status=int(status), content_type=PROBLEM_MEDIA_TYPE
    )


def problem_too_large(limit_bytes: int) -> HttpResponse:
    return problem(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"The request body is larger than {limit_bytes} bytes.",
        "content_too_large",
    )


def repeated_parameter(request: HttpRequest) -> HttpResponse | None:
    """The API takes each query parameter once: given twice, which one counts
    would be a guess (Django keeps the last), so the request is refused."""
    if not request.path.startswith(API_PREFIX):
        return None
    for name, values in request.GET.lists():
        if len(values) > 1:
            return problem(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                f"Give the query parameter {name!r} once.",
                "repeated_parameter",
            )
    return None


class RequestLimitsMiddleware:
    """The checks run in process_view: after the other middleware's requests
    (so the answer has the session, the language and the security headers) and
    before CsrfViewMiddleware.process_view, the first to read the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict
    ) -> HttpResponse | None:
        limit_bytes = body_limit(request)
        if declared_length(request) > limit_bytes:
            return too_large(request, limit_bytes)
        refused = repeated_parameter(request)
        if refused is not None:
            return refused
        marked = getattr(view, VIEW_ATTRIBUTE, None)
        if marked is None or request.method != "POST":
            return None
        name, rate_setting = marked
        rate = getattr(settings, rate_setting)
        if ratelimit.reached(ratelimit.address_key(request, name), rate):
            return ratelimit.too_many_requests(request, rate)
        return None

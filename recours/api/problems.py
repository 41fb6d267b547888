"""Every error the API returns, as RFC 9457 problem details.

One handler turns domain errors, ninja's validation and authentication errors
and Http404 into `application/problem+json`. `type` stays "about:blank" (the
status says what kind of problem it is); the `code` member is the stable
machine-readable reason, and invalid input lists its fields under `errors`.
"""

import json
import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.responses import NinjaJSONEncoder

from recours.core.errors import DomainError, InvalidInput

log = logging.getLogger("recours.api")
PROBLEM_MEDIA_TYPE = "application/problem+json"
HANDLED = (DomainError, ValidationError, HttpError, Http404, RequestDataTooBig)
# Where ninja says a value was read from; not part of the field's name.
SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


def problem_response(
    request: HttpRequest, exc: Exception | type[Exception]
) -> HttpResponse:
    assert isinstance(exc, Exception)
    problem = describe(exc)
    response = HttpResponse(
        json.dumps(problem, cls=NinjaJSONEncoder),
        status=problem["status"],
        content_type=PROBLEM_MEDIA_TYPE,
    )
    if problem["status"] == HTTPStatus.UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="recours"'
    if isinstance(exc, Throttled) and exc.wait:
        response["Retry-After"] = str(exc.wait)
    return response


def describe(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, InvalidInput):
        errors = [{"field": name, "messages": [str(m) for m in messages]}
                  for name, messages in exc.fields.items()]  # fmt: skip
        return problem(exc.status, str(exc.message), exc.code, errors=errors)
    if isinstance(exc, DomainError):
        return problem(exc.status, str(exc.message), exc.code)
    if isinstance(exc, ValidationError):
        errors = field_errors(exc.errors)
        return problem(422, "The request is not valid.", "invalid_input", errors=errors)
    if isinstance(exc, AuthenticationError):
        detail = (
            "A valid API key is required (Authorization: Bearer <key>, or X-API-Key)."
        )
        return problem(401, detail, "unauthorized")
    if isinstance(exc, Throttled):
        return problem(429, "Too many requests for this API key.", "rate_limited")
    if isinstance(exc, HttpError):
        return problem(exc.status_code, exc.message, code_for(exc.status_code))
    if isinstance(exc, RequestDataTooBig):
        detail = "The request body is larger than this API accepts."
        return problem(413, detail, "content_too_large")
    assert isinstance(exc, Http404)
    return problem(404, "Not found.", "not_found")


def server_error(
    request: HttpRequest, exc: Exception | type[Exception]
) -> HttpResponse:
    """Anything unexpected: logged with its traceback, answered without its text,
    which may hold data or internals the client must not see."""
    assert isinstance(exc, Exception)
    log.exception(
        "unexpected error on %s %s", request.method, request.path, exc_info=exc
    )
    body = problem(500, "Something went wrong on our side.", "internal_error")
    return HttpResponse(json.dumps(body), status=500, content_type=PROBLEM_MEDIA_TYPE)


def problem(status: int, detail: str, code: str, *, errors: list | None = None) -> dict:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def code_for(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group pydantic's errors by field, keeping their order."""
    by_field: dict[str, list[str]] = {}
    for error in errors:
        by_field.setdefault(field_name(error.get("loc", ())), []).append(
            str(error.get("msg", "Invalid value."))
        )
    return [
        {"field": name, "messages": messages} for name, messages in by_field.items()
    ]


def field_name(location: tuple | list) -> str:
    """("body", "report", "problem") -> "problem"; ("query", "limit") -> "limit"."""
    parts = [str(part) for part in location]
    if parts and parts[0] in SOURCES:
        source = parts.pop(0)
        # A body parameter nests the fields under its own name.
        if source == "body" and parts:
            parts.pop(0)
    return ".".join(parts)

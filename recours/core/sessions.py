"""Staff sessions and private pages.

- Staff sessions end after a working day (settings.STAFF_SESSION_HOURS), from
  the console's login and from the admin's.
- The admin login counts attempts per client address like the console's,
  against the same budget (settings.LOGIN_RATE_LIMIT).
- Console and customer pages are never stored by a browser or a shared cache:
  a case page left in a kiosk's browser history must not come back.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from recours.core import ratelimit

# URL namespaces whose pages are private (the admin marks its own pages).
PRIVATE_NAMESPACES = {"portal", "console"}


def start_staff_session(request: HttpRequest) -> None:
    request.session.set_expiry(settings.STAFF_SESSION_HOURS * 3600)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin site's login, with the console's attempt limit and session length."""
    posted = request.method == "POST"
    if posted and ratelimit.over_limit(request, "login", settings.LOGIN_RATE_LIMIT):
        return ratelimit.too_many_requests(request)
    response = admin.site.login(request)
    if posted and request.user.is_authenticated and response.status_code == 302:
        start_staff_session(request)
    return response


class PrivatePagesMiddleware:
    """`Cache-Control: private, no-store` on every portal and console answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and PRIVATE_NAMESPACES & set(match.namespaces):
            patch_cache_control(response, private=True, no_store=True)
        return response

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from recours.ops import views
from recours.ops.metrics import count_request

Handler = Callable[[HttpRequest], HttpResponse]


class RequestMetricsMiddleware:
    """Counts every answered request by method and status (first in MIDDLEWARE).

    An exception that escapes every other middleware becomes Django's 500
    before it reaches this one, so 500s are counted too.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        count_request(request.method or "", response.status_code)
        return response


class ProbeMiddleware:
    """Answers /healthz and /readyz before host checks and the HTTPS redirect.

    Load balancers and orchestrators probe a process by its own address over
    plain HTTP: with ALLOWED_HOSTS or HTTPS=true set for the public name, the
    probe would get a 400 or a redirect instead of the answer it needs. The two
    answers reveal nothing beyond "up" and "ready".
    """

    PROBES: dict[str, Handler] = {"/healthz": views.healthz, "/readyz": views.readyz}

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = self.PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)

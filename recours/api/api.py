"""The versioned machine API, mounted at /api/v1/.

Each app's routes live in their own Router; this module mounts them, requires
an API key on every route, and turns every error into problem details.
"""

from typing import Any

from ninja import NinjaAPI

from recours.api import cases, commerce, flows
from recours.api.auth import BearerKey, HeaderKey
from recours.api.problems import (
    HANDLED,
    PROBLEM_MEDIA_TYPE,
    problem_response,
    server_error,
)

SERVER_ERROR_RESPONSE = {
    "description": "Internal Server Error",
    "content": {
        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    },
}


class RecoursAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Ninja documents every response as JSON; errors are problem+json.

        Any route can fail unexpectedly: each says so, with a 500 problem."""
        schema = super().get_openapi_schema(**kwargs)
        for path in schema["paths"].values():
            for operation in path.values():
                operation.setdefault("responses", {})["500"] = SERVER_ERROR_RESPONSE
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(code) >= 400 and "application/json" in content:
                        response["content"] = {
                            PROBLEM_MEDIA_TYPE: content["application/json"]
                        }
        return schema


api = RecoursAPI(
    title="Recours API",
    version="1",
    description=(
        "Report incidents and follow cases; push your shop's orders, payments, "
        "shipments and refunds; read orders, items and balances; reserve, check "
        "out, top up, withdraw and sell back. Authenticate "
        "with an API key."
    ),
    urls_namespace="api",
    auth=[BearerKey(), HeaderKey()],
)
for error_class in HANDLED:
    api.add_exception_handler(error_class, problem_response)
# Ninja picks the handler of the nearest class: this one catches the rest.
api.add_exception_handler(Exception, server_error)
api.add_router("/", cases.router)
api.add_router("/", commerce.router)
api.add_router("/", flows.router)

"""The versioned machine API, mounted at /api/v1/.

Each app's routes live in their own Router; this module mounts them, requires
an API key on every route, and turns every error into problem details.
"""

from typing import Any

from ninja import NinjaAPI

from recours.api import cases
from recours.api.auth import BearerKey, HeaderKey
from recours.api.problems import HANDLED, PROBLEM_MEDIA_TYPE, problem_response


class RecoursAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Ninja documents every response as JSON; errors are problem+json."""
        schema = super().get_openapi_schema(**kwargs)
        for path in schema["paths"].values():
            for operation in path.values():
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
    description="Report incidents and follow cases. Authenticate with an API key.",
    urls_namespace="api",
    auth=[BearerKey(), HeaderKey()],
)
for error_class in HANDLED:
    api.add_exception_handler(error_class, problem_response)
api.add_router("/", cases.router)

from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse

from recours.testing import file_case, report

PROBLEM_JSON = "application/problem+json"


def template(url_name: str) -> str:
    """The OpenAPI path of a route, e.g. /api/v1/cases/{reference}."""
    if url_name == "case_detail":
        return unquote(reverse("api:case_detail", args=["{reference}"]))
    return reverse(f"api:{url_name}")


@pytest.fixture
def openapi(db, client):
    response = client.get(reverse("api:openapi-json"))
    assert response.status_code == 200
    return response.json()


def exercise(settings, api_a: Client, kiosk_b) -> list[tuple[str, str, object]]:
    """Provoke every answer the API gives; return (method, route, response)."""
    seen = []

    def call(method: str, url_name: str, client: Client = api_a, args=(), **kwargs):
        response = getattr(client, method)(
            reverse(f"api:{url_name}", args=args), **kwargs
        )
        seen.append((method, template(url_name), response))
        return response

    def create(body, client: Client = api_a, **headers):
        return call("post", "case_create", client, data=body,
                    content_type="application/json", headers=headers)  # fmt: skip

    reference = create(report(), **{"Idempotency-Key": "k"}).json()["reference"]
    create(report(description="other"), **{"Idempotency-Key": "k"})
    create(report(problem="unknown"))
    create(report(terminal_code=kiosk_b.code))
    create(b"{not json")
    create(report(), Client())
    call("get", "case_detail", args=[reference])
    call("get", "case_detail", args=[file_case(terminal_code=kiosk_b.code).reference])
    call("get", "case_detail", args=["x" * 41])
    call("get", "case_detail", Client(), args=[reference])
    call("get", "case_list")
    call("get", "case_list", data={"limit": 1000})
    call("get", "case_list", Client())
    settings.API_RATE_LIMIT = "1/d"
    for url_name, args in (("case_list", ()), ("case_detail", [reference])):
        call("get", url_name, args=args)
    create(report())
    return seen


def test_it_declares_every_response_code_it_returns(settings, openapi, api_a, kiosk_b,
                                                    platform, customer_a):  # fmt: skip
    # when
    seen = exercise(settings, api_a, kiosk_b)

    # then
    returned = {(method, path, response.status_code) for method, path, response in seen}
    assert {status for _m, _p, status in returned} == {
        200,
        201,
        400,
        401,
        404,
        409,
        422,
        429,
    }
    for method, path, status in returned:
        declared = openapi["paths"][path][method]["responses"]
        assert str(status) in declared, f"{method.upper()} {path} returns {status}"


def test_it_answers_in_the_declared_media_type(settings, openapi, api_a, kiosk_b,
                                              platform, customer_a):  # fmt: skip
    # when
    seen = exercise(settings, api_a, kiosk_b)

    # then
    for method, path, response in seen:
        declared = openapi["paths"][path][method]["responses"][
            str(response.status_code)
        ]
        media_type = response["Content-Type"].split(";")[0]
        assert media_type in declared["content"], f"{method.upper()} {path}"
        if response.status_code >= 400:
            assert media_type == PROBLEM_JSON
            problem = response.json()
            assert {"type", "title", "status", "detail", "code"} <= set(problem)
            assert problem["status"] == response.status_code


def test_it_documents_both_ways_to_send_a_key(openapi):
    # then
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["BearerKey"] == {"type": "http", "scheme": "bearer"}
    assert schemes["HeaderKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    for path in openapi["paths"].values():
        for operation in path.values():
            assert operation["security"] == [{"BearerKey": []}, {"HeaderKey": []}]

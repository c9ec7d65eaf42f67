"""One JSON error shape for everything under /v1/, and the per-project rate limit."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support import api_views
from tests.test_api_auth import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.api_views")]


def call(method: str, path: str, token: str | None, **kwargs):
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return getattr(Client(), method)(path, **kwargs, **headers)


@pytest.mark.parametrize("path", ["/v1/", "/v1/nothing-here", "/v1/projects", "/v1/projects/x/y"])
def test_unknown_urls_under_v1_are_json_404s(world, path):
    assert_error(call("get", path, world.acme_token), 404, "not_found")


def test_unknown_url_under_a_real_project_is_a_json_404(world):
    response = call("post", f"/v1/projects/{world.acme.id}/nothing", world.acme_token)
    assert_error(response, 404, "not_found")


def test_a_method_the_endpoint_lacks_is_a_json_405(world):
    response = call("delete", f"/v1/projects/{world.acme.id}", world.acme_token)
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_malformed_json_is_a_json_400(world):
    response = call(
        "post",
        f"/v1/projects/{world.acme.id}/things",
        world.acme_token,
        data="{not json",
        content_type="application/json",
    )
    assert_error(response, 400, "malformed_body")


def test_an_unsupported_media_type_is_a_json_415(world):
    response = call(
        "post",
        f"/v1/projects/{world.acme.id}/things",
        world.acme_token,
        data="name=a",
        content_type="text/plain",
    )
    assert_error(response, 415, "unsupported_media_type")


def test_invalid_fields_are_listed_in_details(world):
    response = call(
        "post",
        f"/v1/projects/{world.acme.id}/things",
        world.acme_token,
        data={"size": 0},
        content_type="application/json",
    )
    error = assert_error(response, 400, "validation_failed")
    assert set(error["details"]) == {"name", "size"}
    assert all(isinstance(message, str) for message in error["details"]["size"])
    assert api_views.things_created() == 0


def test_an_unhandled_exception_is_a_json_500_without_the_traceback(world):
    api_views.CRASHES["left"] = 1
    response = call(
        "post",
        f"/v1/projects/{world.acme.id}/things",
        world.acme_token,
        data={"name": "a"},
        content_type="application/json",
    )
    error = assert_error(response, 500, "internal_error")
    assert error["details"] is None
    assert "RuntimeError" not in response.content.decode()


def test_a_project_over_its_rate_limit_gets_429_with_retry_after(world):
    world.acme.api_rate_per_minute = 2
    world.acme.save()
    path = f"/v1/projects/{world.acme.id}"
    assert call("get", path, world.acme_token).status_code == 200
    assert call("get", path, world.acme_token).status_code == 200
    response = call("get", path, world.acme_token)
    error = assert_error(response, 429, "rate_limited")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["details"] == {"retryAfter": retry_after}
    # Another project's budget is its own.
    bolt = call("get", f"/v1/projects/{world.bolt.id}", world.bolt_token)
    assert bolt.status_code == 200


def test_a_throttled_post_has_no_effect(world):
    world.acme.api_rate_per_minute = 1
    world.acme.save()
    path = f"/v1/projects/{world.acme.id}/things"
    for _ in range(3):
        response = call(
            "post", path, world.acme_token, data={"name": "a"}, content_type="application/json"
        )
    assert response.status_code == 429
    assert api_views.things_created() == 1


def test_errors_follow_accept_language_but_codes_do_not(world):
    response = Client().get(f"/v1/projects/{world.acme.id}", HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_errors_outside_the_api_views_are_json_under_v1(world):
    response = Client().get(f"/v1/projects/{world.acme.id}", HTTP_HOST="evil.example")
    assert_error(response, 400, "invalid_request")


def test_console_pages_keep_their_html_errors(world):
    response = Client().get("/no-such-console-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")

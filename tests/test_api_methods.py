"""OPTIONS on every endpoint and any method on an unknown /v1/ URL: JSON
answers, never a 500 or Django's HTML CSRF page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.test_api_auth import assert_error

pytestmark = pytest.mark.django_db

# Values for the path parameters of /v1/schema; the row need not exist (an
# OPTIONS request does not look it up).
PATH_VALUES = {
    "campaignId": "1",
    "segmentId": "1",
    "messageId": "1",
    "senderId": "1",
    "userId": "u1",
    "fileId": "00000000-0000-0000-0000-000000000001",
    "journeyId": "1",
    "number": "1",
}


def _endpoints(project_id: str) -> list[str]:
    paths = Client().get("/v1/schema").json()["paths"]
    values = {**PATH_VALUES, "projectId": project_id}
    return [re.sub(r"\{(\w+)\}", lambda m: values[m[1]], path) for path in paths]


def test_options_answers_every_endpoint_with_its_methods(world):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {world.acme_token}")
    endpoints = _endpoints(str(world.acme.id))
    # Among them the twelve that answered 500 (their views declare no serializer_class).
    assert f"/v1/projects/{world.acme.id}/campaigns/1/schedule" in endpoints
    assert f"/v1/projects/{world.acme.id}/track" in endpoints
    for path in endpoints:
        response = client.options(path)
        assert response.status_code == 200, (path, response.content)
        assert response["Content-Type"] == "application/json", path
        assert response.json()["name"], path
        assert "OPTIONS" in response["Allow"], path


def test_options_still_needs_the_token(world):
    response = Client().options(f"/v1/projects/{world.acme.id}/campaigns")
    assert_error(response, 401, "unauthenticated")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/v1/nothing-here", "/v1/projects/x/y"])
def test_any_method_on_an_unknown_url_is_a_json_404_not_a_csrf_page(world, method, path):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    response = getattr(client, method)(path, data="{}", content_type="application/json")
    assert_error(response, 404, "not_found")

"""Bearer tokens: missing, malformed, unknown, revoked and foreign tokens."""

from __future__ import annotations

import pytest
from django.test import Client

from projects.actions import do_revoke_api_token
from projects.models import ApiToken

pytestmark = pytest.mark.django_db


def get(path: str, token: str | None = None, **headers: str):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return Client().get(path, HTTP_ACCEPT_LANGUAGE="en", **headers)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_project_token_reads_its_project(world):
    response = get(f"/v1/projects/{world.acme.id}", world.acme_token)
    assert response.status_code == 200
    assert response.json() == {
        "projectId": str(world.acme.id),
        "name": "Acme",
        "companyName": "에이크미 주식회사",
        "timeZone": "Asia/Seoul",
        "optOutNumber": None,
        "apiRatePerMinute": 600,
    }


def test_project_info_shows_the_assigned_080_number_and_own_rate(world):
    from channels.models import OptOutNumber

    OptOutNumber.objects.create(number="+82801234567", project=world.acme)
    world.acme.api_rate_per_minute = 120
    world.acme.save()
    body = get(f"/v1/projects/{world.acme.id}", world.acme_token).json()
    assert body["optOutNumber"] == "+82801234567"
    assert body["apiRatePerMinute"] == 120


def test_missing_token_is_401_with_www_authenticate_bearer(world):
    response = get(f"/v1/projects/{world.acme.id}")
    error = assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer a b", "Basic dXNlcjpwdw=="])
def test_malformed_authorization_header_is_401(world, header):
    response = get(f"/v1/projects/{world.acme.id}", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "malformed_authorization")
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_401(world):
    response = get(f"/v1/projects/{world.acme.id}", "mj_not-a-real-token")
    assert_error(response, 401, "invalid_token")


def test_revoked_token_is_401_and_says_revoked(world):
    token = ApiToken.objects.get(project=world.acme)
    assert do_revoke_api_token(token, world.alice)
    response = get(f"/v1/projects/{world.acme.id}", world.acme_token)
    error = assert_error(response, 401, "token_revoked")
    assert "revoked" in error["message"]


def test_foreign_token_gets_404_not_403(world):
    response = get(f"/v1/projects/{world.acme.id}", world.bolt_token)
    assert_error(response, 404, "not_found")


def test_unknown_project_id_gets_404(world):
    response = get("/v1/projects/00000000-0000-0000-0000-000000000000", world.acme_token)
    assert_error(response, 404, "not_found")


def test_token_use_is_recorded(world):
    get(f"/v1/projects/{world.acme.id}", world.acme_token)
    assert ApiToken.objects.get(project=world.acme).last_used_at is not None


def test_token_use_is_written_at_most_once_per_interval(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = f"/v1/projects/{world.acme.id}"
    get(path, world.acme_token)
    first = ApiToken.objects.get(project=world.acme).last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert get(path, world.acme_token).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert [sql for sql in writes if "last_used_at" in sql] == []
    assert ApiToken.objects.get(project=world.acme).last_used_at == first


def test_token_use_is_written_again_once_the_interval_has_passed(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(seconds=settings.API_TOKEN_USE_RECORD_SECONDS + 5)
    ApiToken.objects.filter(project=world.acme).update(last_used_at=long_ago)
    get(f"/v1/projects/{world.acme.id}", world.acme_token)
    assert ApiToken.objects.get(project=world.acme).last_used_at > long_ago

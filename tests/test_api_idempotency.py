"""Idempotency-Key on POST: replay, reuse, in progress, 5xx not stored, expiry."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from projects.models import IdempotencyRecord
from tests.support import api_views
from tests.support.api_views import things_created
from tests.support.processes import WAIT_TIMEOUT

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.api_views")]


@pytest.fixture(autouse=True)
def _reset_test_views():
    api_views.CRASHES["left"] = 0
    api_views.INNER_RESPONSES.clear()


def post(world, body: object, key: str | None = None, *, project=None, token=None, path="things"):
    project = project or world.acme
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token or world.acme_token}",
        "HTTP_ACCEPT_LANGUAGE": "en",
    }
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    data = body if isinstance(body, str) else json.dumps(body)
    return Client().post(
        f"/v1/projects/{project.id}/{path}", data=data, content_type="application/json", **headers
    )


def test_same_key_and_body_replays_the_first_response_without_a_second_effect(world):
    first = post(world, {"name": "a"}, "key-1")
    second = post(world, {"name": "a"}, "key-1")
    assert first.status_code == 201
    assert first.json() == {"name": "a", "count": 1}
    assert "Idempotent-Replayed" not in first
    assert second.status_code == 201
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert second["Idempotent-Replayed"] == "true"
    assert things_created() == 1


def test_without_a_key_every_post_has_its_effect(world):
    post(world, {"name": "a"})
    post(world, {"name": "a"})
    assert things_created() == 2
    assert not IdempotencyRecord.objects.exists()


def test_different_keys_are_different_requests(world):
    post(world, {"name": "a"}, "key-1")
    post(world, {"name": "a"}, "key-2")
    assert things_created() == 2


def test_same_key_with_a_different_body_is_422_and_has_no_effect(world):
    post(world, {"name": "a"}, "key-1")
    response = post(world, {"name": "b"}, "key-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert response.json()["error"]["details"] == {"header": "Idempotency-Key"}
    assert things_created() == 1


def test_same_key_on_another_path_is_422(world):
    post(world, {"name": "a"}, "key-1")
    response = post(world, {"name": "a"}, "key-1", path="slow-things")
    assert response.status_code == 422
    assert things_created() == 1


def test_keys_belong_to_one_project(world):
    post(world, {"name": "a"}, "shared-key")
    response = post(world, {"name": "a"}, "shared-key", project=world.bolt, token=world.bolt_token)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert things_created() == 2


def test_same_key_while_the_first_request_runs_is_409(world):
    first = post(world, {"name": "a"}, "key-slow", path="slow-things")
    assert first.status_code == 201
    (inner,) = api_views.INNER_RESPONSES
    assert inner.status_code == 409
    assert inner.json()["error"]["code"] == "idempotency_key_in_progress"
    assert things_created() == 1
    # Once the first finished, the key replays it.
    again = post(world, {"name": "a"}, "key-slow", path="slow-things")
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert things_created() == 1


def test_a_server_error_is_not_stored_and_may_be_retried(world):
    api_views.CRASHES["left"] = 1
    failed = post(world, {"name": "a"}, "key-1")
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"
    assert "gateway fell over" not in failed.content.decode()
    assert not IdempotencyRecord.objects.exists()
    retried = post(world, {"name": "a"}, "key-1")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert things_created() == 1


def test_a_client_error_is_stored_and_replayed(world):
    first = post(world, {"name": ""}, "key-1")
    assert first.status_code == 400
    second = post(world, {"name": ""}, "key-1")
    assert second.status_code == 400
    assert second["Idempotent-Replayed"] == "true"
    assert second.content == first.content


def test_a_key_older_than_24_hours_is_forgotten(world):
    post(world, {"name": "a"}, "key-1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    again = post(world, {"name": "a"}, "key-1")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert things_created() == 2
    assert IdempotencyRecord.objects.count() == 1


def test_expired_records_of_any_key_are_deleted_on_the_way(world):
    post(world, {"name": "a"}, "old-key")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    post(world, {"name": "b"}, "new-key")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new-key"]


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over(world):
    IdempotencyRecord.objects.create(
        project=world.acme, key="key-1", request_fingerprint="x" * 64, status_code=None
    )
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    response = post(world, {"name": "a"}, "key-1")
    assert response.status_code == 201
    assert things_created() == 1


def test_a_recent_unfinished_claim_is_409(world):
    first = post(world, {"name": "a"}, "key-1")
    assert first.status_code == 201
    IdempotencyRecord.objects.update(status_code=None)
    response = post(world, {"name": "a"}, "key-1")
    assert response.status_code == 409
    assert things_created() == 1


def test_a_key_longer_than_255_characters_is_400(world):
    response = post(world, {"name": "a"}, "k" * 256)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_invalid"
    assert error["details"]["maxLength"] == 255
    assert things_created() == 0
    assert post(world, {"name": "a"}, "k" * 255).status_code == 201


def test_an_empty_key_is_400(world):
    response = post(world, {"name": "a"}, "  ")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"


def test_a_foreign_token_claims_no_key(world):
    response = post(world, {"name": "a"}, "key-1", token=world.bolt_token)
    assert response.status_code == 404
    assert not IdempotencyRecord.objects.exists()
    assert things_created() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_run_once(world):
    """Two threads, two database connections: the claim is a committed INSERT."""
    view = api_views.WaitingThingView
    view.started.clear()
    view.go.clear()
    results = {}

    def first_request():
        try:
            results["first"] = post(world, {"name": "a"}, "key-race", path="waiting-things")
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert view.started.wait(timeout=WAIT_TIMEOUT)
        second = post(world, {"name": "a"}, "key-race", path="waiting-things")
    finally:
        view.go.set()
        thread.join(timeout=WAIT_TIMEOUT)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_in_progress"
    assert results["first"].status_code == 201
    assert things_created() == 1
    third = post(world, {"name": "a"}, "key-race", path="waiting-things")
    assert third["Idempotent-Replayed"] == "true"
    assert things_created() == 1

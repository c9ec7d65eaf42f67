"""GET and DELETE /v1/projects/{projectId}/users/{userId}."""

from __future__ import annotations

from datetime import UTC, datetime

from django.urls import reverse

from audiences.models import Customer, CustomerTag, Event
from projects.models import AuditLog
from tests.test_track_api import event, track


def user_url(project, user_id):
    return reverse("api_user", args=[project.id, user_id])


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_get_a_user_with_attributes_tags_and_consents(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        {
            "userAttributes": [
                {
                    "userId": "u1",
                    "phoneNumber": "+821012345678",
                    "name": "Kim",
                    "dob": "1990-04-25",
                    "timeZone": "Asia/Seoul",
                    "promotionalConsent": True,
                    "promotionalConsentAt": "2025-03-01T00:00:00Z",
                }
            ],
            "tags": [{"subjectType": "user", "subjectId": "u1", "tags": {"tier": "gold"}}],
            "events": [event("u1", createdAt="2025-03-02T00:00:00Z")],
        },
    )
    response = client.get(user_url(world.acme, "u1"), **auth(world.acme_token))
    assert response.status_code == 200
    body = response.json()
    assert body["userId"] == "u1"
    assert body["phoneNumber"] == "+821012345678"
    assert body["dob"] == "1990-04-25"
    assert body["tags"] == {"tier": "gold"}
    assert body["promotionalConsent"] is True
    assert datetime.fromisoformat(body["promotionalConsentAt"]) == datetime(2025, 3, 1, tzinfo=UTC)
    assert body["nightConsent"] is False and body["nightConsentAt"] is None
    assert datetime.fromisoformat(body["lastSeenAt"]) == datetime(2025, 3, 2, tzinfo=UTC)
    assert body["createdAt"]


def test_an_unknown_user_is_404(client, world):
    response = client.get(user_url(world.acme, "nobody"), **auth(world.acme_token))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_projects_user_is_404_under_ones_own_project(client, world):
    Customer.objects.create(project=world.bolt, user_id="bolt-user")
    for method in (client.get, client.delete):
        response = method(user_url(world.acme, "bolt-user"), **auth(world.acme_token))
        assert response.status_code == 404
    assert Customer.objects.filter(user_id="bolt-user").exists()


def test_a_foreign_token_is_404(client, world):
    Customer.objects.create(project=world.acme, user_id="u1")
    response = client.get(user_url(world.acme, "u1"), **auth(world.bolt_token))
    assert response.status_code == 404
    response = client.delete(user_url(world.acme, "u1"), **auth(world.bolt_token))
    assert response.status_code == 404
    assert Customer.objects.filter(user_id="u1").exists()


def test_delete_removes_the_user_tags_and_events_and_is_audited(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        {
            "tags": [{"subjectType": "user", "subjectId": "u1", "tags": {"a": "b"}}],
            "events": [event("u1"), event("u1"), event("u2")],
        },
    )
    response = client.delete(user_url(world.acme, "u1"), **auth(world.acme_token))
    assert response.status_code == 204
    assert not Customer.objects.filter(user_id="u1").exists()
    assert not CustomerTag.objects.exists()
    assert list(Event.objects.values_list("customer__user_id", flat=True)) == ["u2"]
    entry = AuditLog.objects.get(action="customer.deleted")
    assert (entry.project, entry.target, entry.detail) == (world.acme, "u1", {"events": 2})
    assert entry.actor_label.startswith("API token mj_")
    again = client.delete(user_url(world.acme, "u1"), **auth(world.acme_token))
    assert again.status_code == 404


def test_a_user_id_with_a_slash_is_reachable(client, world):
    Customer.objects.create(project=world.acme, user_id="shop/42")
    response = client.get(user_url(world.acme, "shop/42"), **auth(world.acme_token))
    assert response.status_code == 200
    assert response.json()["userId"] == "shop/42"

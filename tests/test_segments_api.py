"""/v1/projects/{projectId}/segments: create, list, get, count."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audiences.models import Customer, Segment
from projects.models import AuditLog

KR = {
    "match": "all",
    "conditions": [{"kind": "attribute", "field": "country", "op": "eq", "value": "KR"}],
}


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def customers(world):
    for user_id, country in [("ann", "KR"), ("ben", "US"), ("cho", "KR")]:
        Customer.objects.create(project=world.acme, user_id=user_id, country=country)
    Customer.objects.create(project=world.bolt, user_id="zed", country="KR")
    return world


def _create(client, world, body, token=None):
    return client.post(
        reverse("api_segments", args=[world.acme.id]),
        body,
        content_type="application/json",
        **_auth(token or world.acme_token),
    )


def test_creating_a_segment_answers_201_with_it_and_audits(client, customers):
    response = _create(client, customers, {"name": "Korea", "definition": KR})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Korea"
    assert body["definition"] == KR
    assert set(body) == {"id", "name", "definition", "createdAt", "updatedAt"}
    segment = Segment.objects.get(pk=body["id"])
    assert segment.project == customers.acme
    assert AuditLog.objects.filter(project=customers.acme, action="segment.created").exists()


def test_a_bad_definition_is_400_with_every_path_and_nothing_is_stored(client, customers):
    definition = {
        "match": "all",
        "conditions": [
            {"kind": "phone", "present": True},
            {"match": "any", "conditions": [{"kind": "tag", "key": "plan", "op": "like"}]},
        ],
    }
    response = _create(client, customers, {"name": "Broken", "definition": definition})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    problems = error["details"]["definition"]
    assert any(p.startswith("conditions[1].conditions[0].op: 'like'") for p in problems)
    assert not Segment.objects.exists()


def test_a_missing_name_or_a_taken_name_is_400_on_name(client, customers):
    assert _create(client, customers, {"name": "Korea", "definition": KR}).status_code == 201
    again = _create(client, customers, {"name": "Korea", "definition": KR})
    assert again.status_code == 400
    assert "exists already" in again.json()["error"]["details"]["name"][0]
    blank = _create(client, customers, {"name": "  ", "definition": KR})
    assert blank.json()["error"]["details"]["name"] == ["Give the segment a name."]
    missing = _create(client, customers, {"name": "No definition"})
    assert "definition" in missing.json()["error"]["details"]
    # The same name in another project is fine.
    other = client.post(
        reverse("api_segments", args=[customers.bolt.id]),
        {"name": "Korea", "definition": KR},
        content_type="application/json",
        **_auth(customers.bolt_token),
    )
    assert other.status_code == 201


def test_list_and_get_show_only_this_projects_segments(client, customers):
    mine = _create(client, customers, {"name": "Korea", "definition": KR}).json()
    theirs = Segment.objects.create(project=customers.bolt, name="Bolt only", definition=KR)
    listed = client.get(
        reverse("api_segments", args=[customers.acme.id]), **_auth(customers.acme_token)
    )
    assert [s["name"] for s in listed.json()["results"]] == ["Korea"]
    got = client.get(
        reverse("api_segment", args=[customers.acme.id, mine["id"]]), **_auth(customers.acme_token)
    )
    assert got.json() == mine
    foreign = client.get(
        reverse("api_segment", args=[customers.acme.id, theirs.id]), **_auth(customers.acme_token)
    )
    assert foreign.status_code == 404
    foreign_count = client.get(
        reverse("api_segment_count", args=[customers.acme.id, theirs.id]),
        **_auth(customers.acme_token),
    )
    assert foreign_count.status_code == 404


def test_count_of_a_saved_segment_is_live_and_keeps_to_the_project(client, customers):
    segment = _create(client, customers, {"name": "Korea", "definition": KR}).json()
    url = reverse("api_segment_count", args=[customers.acme.id, segment["id"]])
    assert client.get(url, **_auth(customers.acme_token)).json() == {
        "count": 2,
        "segmentId": segment["id"],
    }
    Customer.objects.create(project=customers.acme, user_id="dan", country="KR")
    assert client.get(url, **_auth(customers.acme_token)).json()["count"] == 3


def test_count_of_an_unsaved_definition(client, customers):
    url = reverse("api_segment_definition_count", args=[customers.acme.id])
    response = client.post(
        url, {"definition": KR}, content_type="application/json", **_auth(customers.acme_token)
    )
    assert response.status_code == 200
    assert response.json() == {"count": 2, "segmentId": None}
    bad = client.post(
        url,
        {"definition": {"match": "all", "conditions": [{"kind": "nope"}]}},
        content_type="application/json",
        **_auth(customers.acme_token),
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["definition"][0].startswith("conditions[0].kind:")
    assert not Segment.objects.exists()


def test_another_projects_token_gets_404_and_writes_nothing(client, customers):
    response = _create(
        client, customers, {"name": "Korea", "definition": KR}, token=customers.bolt_token
    )
    assert response.status_code == 404
    assert not Segment.objects.exists()

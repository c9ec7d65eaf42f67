"""Console screens for segments: list, builder, save, rename, delete, the live
count, and who may do what."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audiences.models import Customer, Segment
from projects.models import AuditLog
from tests.support.world import PASSWORD

KR = {
    "match": "all",
    "conditions": [{"kind": "attribute", "field": "country", "op": "eq", "value": "KR"}],
}


@pytest.fixture
def acme(world):
    Customer.objects.create(project=world.acme, user_id="ann", country="KR", name="Ann")
    Customer.objects.create(project=world.acme, user_id="ben", country="US")
    Customer.objects.create(project=world.bolt, user_id="zed", country="KR")
    return world


def _login(client, email):
    assert client.login(username=email, password=PASSWORD)


def test_a_marketer_creates_renames_and_deletes_a_segment(client, acme):
    _login(client, "carol@acme.test")
    response = client.post(
        reverse("segment_new", args=[acme.acme.id]),
        {"name": "Korea", "definition": json.dumps(KR)},
    )
    segment = Segment.objects.get(project=acme.acme)
    assert response.status_code == 302
    assert response["Location"] == reverse("segment_detail", args=[acme.acme.id, segment.id])
    assert segment.definition == KR

    client.post(
        reverse("segment_detail", args=[acme.acme.id, segment.id]),
        {"name": "South Korea", "definition": json.dumps(KR)},
    )
    segment.refresh_from_db()
    assert segment.name == "South Korea"
    changed = AuditLog.objects.get(action="segment.changed")
    assert changed.detail["renamed_from"] == "Korea"

    page = client.get(reverse("segments", args=[acme.acme.id]))
    assert b"South Korea" in page.content

    client.post(reverse("segment_delete", args=[acme.acme.id, segment.id]))
    assert not Segment.objects.exists()
    assert AuditLog.objects.filter(action="segment.deleted", target="South Korea").exists()


def test_a_bad_definition_is_shown_with_its_path_and_nothing_is_saved(client, acme):
    _login(client, "carol@acme.test")
    bad = {"match": "all", "conditions": [{"kind": "tag", "key": "plan", "op": "like"}]}
    response = client.post(
        reverse("segment_new", args=[acme.acme.id]), {"name": "Bad", "definition": json.dumps(bad)}
    )
    assert response.status_code == 400
    assert "conditions[0].op: &#x27;like&#x27; is not allowed here" in response.text
    broken = client.post(
        reverse("segment_new", args=[acme.acme.id]), {"name": "Bad", "definition": "{"}
    )
    assert "not valid JSON (line 1, column 2)" in broken.text
    assert not Segment.objects.exists()


def test_the_live_count_shows_the_number_and_a_preview_of_this_project_only(client, acme):
    _login(client, "dave@acme.test")  # a viewer may count
    response = client.post(
        reverse("segment_count", args=[acme.acme.id]), {"definition": json.dumps(KR)}
    )
    assert response.status_code == 200
    assert 'data-count="1"' in response.text
    assert 'data-user-id="ann"' in response.text
    assert "zed" not in response.text
    everyone = client.post(reverse("segment_count", args=[acme.acme.id]), {"definition": ""})
    assert 'data-count="2"' in everyone.text
    bad = client.post(
        reverse("segment_count", args=[acme.acme.id]),
        {"definition": json.dumps({"match": "all", "conditions": [{"kind": "x"}]})},
    )
    assert "conditions[0].kind: unknown kind" in bad.text


def test_a_saved_segments_count_loads_into_the_list(client, acme):
    segment = Segment.objects.create(project=acme.acme, name="Korea", definition=KR)
    _login(client, "dave@acme.test")
    response = client.get(reverse("segment_saved_count", args=[acme.acme.id, segment.id]))
    assert response.text == "1"


def test_a_viewer_reads_but_cannot_change(client, acme):
    segment = Segment.objects.create(project=acme.acme, name="Korea", definition=KR)
    _login(client, "dave@acme.test")
    page = client.get(reverse("segment_detail", args=[acme.acme.id, segment.id]))
    assert page.status_code == 200
    assert b'data-readonly="true"' in page.content
    assert b"segment-save" not in page.content
    change = client.post(
        reverse("segment_detail", args=[acme.acme.id, segment.id]),
        {"name": "Hacked", "definition": json.dumps(KR)},
    )
    assert change.status_code == 403
    assert b"needs Marketer" in change.content
    assert client.get(reverse("segment_new", args=[acme.acme.id])).status_code == 403
    assert (
        client.post(reverse("segment_delete", args=[acme.acme.id, segment.id])).status_code == 403
    )
    segment.refresh_from_db()
    assert segment.name == "Korea"


def test_another_projects_segments_are_404(client, acme):
    theirs = Segment.objects.create(project=acme.bolt, name="Bolt", definition=KR)
    _login(client, "alice@acme.test")
    for name in ("segment_detail", "segment_saved_count"):
        assert client.get(reverse(name, args=[acme.acme.id, theirs.id])).status_code == 404
    assert client.post(reverse("segment_delete", args=[acme.acme.id, theirs.id])).status_code == 404
    assert client.get(reverse("segments", args=[acme.bolt.id])).status_code == 404
    assert Segment.objects.filter(pk=theirs.pk).exists()

"""/v1/projects/{projectId}/sender-numbers: list, detail, registration."""

from __future__ import annotations

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from channels.models import SenderNumber
from projects.actions import do_revoke_api_token
from projects.models import ApiToken, AuditLog
from tests.support.sender_numbers import (
    EXE_BYTES,
    pdf,
    png,
    register,
    sender_in,
)

pytestmark = pytest.mark.usefixtures("document_store")


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _list_url(project):
    return reverse("api_sender_numbers", args=[project.id])


def _detail_url(project, sender_id):
    return reverse("api_sender_number", args=[project.id, sender_id])


def _payload(**overrides):
    data = {
        "number": "+8225551234",
        "ownerType": "company",
        "ownerName": "Acme Corp",
        "isCompanyNumber": "true",
        "label": "Head office",
        "telecomCertificate": pdf("telecom.pdf"),
        "businessRegistration": png("business.png"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_register_answers_201_with_the_pending_profile(client, world):
    response = client.post(_list_url(world.acme), _payload(), **_auth(world.acme_token))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == "+8225551234"
    assert body["displayNumber"] == "02-555-1234"
    assert body["status"] == "pending"
    assert body["ownerType"] == "company"
    assert body["isCompanyNumber"] is True
    assert sorted(d["kind"] for d in body["documents"]) == ["business", "telecom"]
    assert {d["contentType"] for d in body["documents"]} == {"application/pdf", "image/png"}
    entry = AuditLog.objects.get(action="sender_number.registered")
    assert entry.actor_label.startswith("API token mj_")


def test_register_errors_come_back_by_api_field(client, world):
    response = client.post(
        _list_url(world.acme),
        _payload(
            number="02-1234-5678",
            businessRegistration=None,
            telecomCertificate=pdf("telecom.pdf", EXE_BYTES),
            isCompanyNumber="false",
        ),
        **_auth(world.acme_token),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["message"]
    details = error["details"]
    assert "+82212345678" in details["number"][0]
    assert "PDF, PNG, JPEG" in details["telecomCertificate"][0]
    assert "businessRegistration" in details
    assert "employmentCertificate" in details
    assert not SenderNumber.objects.exists()


def test_a_duplicate_registration_is_400_on_number(client, world):
    register(world.acme, world.alice)
    response = client.post(_list_url(world.acme), _payload(), **_auth(world.acme_token))
    assert response.status_code == 400
    assert "already registered" in response.json()["error"]["details"]["number"][0]


def test_list_and_detail_show_status_and_reason(client, world):
    sender = sender_in(world.acme, world.alice, world.staff, SenderNumber.Status.REJECTED)
    sender_in(world.bolt, world.bob, world.staff, SenderNumber.Status.APPROVED)
    listing = client.get(_list_url(world.acme), **_auth(world.acme_token))
    assert listing.status_code == 200
    results = listing.json()["results"]
    assert [r["id"] for r in results] == [sender.pk]
    detail = client.get(_detail_url(world.acme, sender.pk), **_auth(world.acme_token)).json()
    assert detail["status"] == "rejected"
    assert detail["statusReason"] == "The certificate is unreadable"


def test_a_foreign_token_gets_404_for_every_endpoint(client, world):
    sender = register(world.acme, world.alice)
    auth = _auth(world.bolt_token)
    assert client.get(_list_url(world.acme), **auth).status_code == 404
    assert client.get(_detail_url(world.acme, sender.pk), **auth).status_code == 404
    assert client.post(_list_url(world.acme), _payload(), **auth).status_code == 404
    # Nor through the token's own project.
    assert client.get(_detail_url(world.bolt, sender.pk), **auth).status_code == 404
    assert SenderNumber.objects.count() == 1


def test_a_revoked_or_missing_token_gets_401(client, world):
    token = ApiToken.objects.get(project=world.acme)
    do_revoke_api_token(token, world.alice)
    response = client.get(_list_url(world.acme), **_auth(world.acme_token))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert client.post(_list_url(world.acme), _payload()).status_code == 401
    assert not SenderNumber.objects.exists()


def test_the_schema_describes_the_sender_number_endpoints(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    listing = paths["/v1/projects/{project_id}/sender-numbers"]
    assert listing["get"]["operationId"] == "listSenderNumbers"
    assert "multipart/form-data" in listing["post"]["requestBody"]["content"]
    assert "201" in listing["post"]["responses"]
    detail = paths["/v1/projects/{project_id}/sender-numbers/{sender_id}"]
    assert detail["get"]["operationId"] == "getSenderNumber"

"""Registering sender numbers: the console form, the action's rules, documents."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from channels.models import SenderNumber, SenderNumberDocument
from projects.models import AuditLog
from tests.support.sender_numbers import (
    EXE_BYTES,
    PDF_BYTES,
    company_documents,
    pdf,
    png,
    register,
    sender_in,
    stored_files,
)
from tests.support.world import PASSWORD

pytestmark = pytest.mark.usefixtures("document_store")
Kind = SenderNumberDocument.Kind


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)


def _form(**overrides):
    data = {
        "number": "+8225551234",
        "owner_type": "company",
        "owner_name": "Acme Corp",
        "is_company_number": "on",
        "label": "Head office",
        "telecom_certificate": pdf("telecom.pdf"),
        "business_registration": png("business.png"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _register_url(project):
    return reverse("register_sender_number", args=[project.id])


def test_admin_registers_a_sender_number_and_sees_it_pending(client, world):
    _login(client, world.alice)
    response = client.post(_register_url(world.acme), _form())
    assert response.status_code == 302
    sender = SenderNumber.objects.get(project=world.acme)
    assert sender.status == SenderNumber.Status.PENDING
    assert sender.registered_by == world.alice
    kinds = sorted(d.kind for d in sender.documents.all())
    assert kinds == [Kind.BUSINESS_REGISTRATION, Kind.TELECOM_CERTIFICATE]
    assert len(stored_files()) == 2
    # Stored under the sniffed type's extension, outside the web root.
    assert {p.suffix for p in stored_files()} == {".pdf", ".png"}
    entry = AuditLog.objects.get(project=world.acme, action="sender_number.registered")
    assert entry.actor == world.alice

    page = client.get(reverse("channels", args=[world.acme.id])).content.decode()
    assert "02-555-1234" in page
    assert 'data-status="pending"' in page


def test_a_national_number_is_refused_with_its_e164_form(client, world):
    _login(client, world.alice)
    response = client.post(_register_url(world.acme), _form(number="02-1234-5678"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "+82212345678" in errors["number"][0]
    assert not SenderNumber.objects.exists()


def test_a_number_that_is_not_a_phone_number_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        register(world.acme, world.alice, "+12")
    assert "number" in exc.value.message_dict


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("certificate.pdf", b"just some text, not a PDF at all"),
        ("certificate.pdf", EXE_BYTES),
        ("setup.exe", EXE_BYTES),
    ],
)
def test_a_document_that_is_not_pdf_png_or_jpeg_is_refused_by_content(client, world, name, content):
    _login(client, world.alice)
    response = client.post(_register_url(world.acme), _form(telecom_certificate=pdf(name, content)))
    assert response.status_code == 400
    message = response.context["form"].errors["telecom_certificate"][0]
    assert name in message
    assert "PDF, PNG, JPEG" in message
    assert not SenderNumber.objects.exists()
    assert stored_files() == []


def test_an_oversized_document_is_refused_with_the_limit(client, world, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    _login(client, world.alice)
    big = pdf("big.pdf", PDF_BYTES + b"0" * 2048)
    response = client.post(_register_url(world.acme), _form(telecom_certificate=big))
    assert response.status_code == 400
    message = response.context["form"].errors["telecom_certificate"][0].replace("\xa0", " ")
    assert "big.pdf" in message
    assert "the limit is 1.0 KB" in message
    assert not SenderNumber.objects.exists()
    assert stored_files() == []


def test_the_telecom_certificate_is_always_required(world):
    with pytest.raises(ValidationError) as exc:
        register(world.acme, world.alice, documents=[(Kind.BUSINESS_REGISTRATION, pdf())])
    assert "telecom subscription certificate" in exc.value.message_dict["telecom_certificate"][0]


def test_a_company_owner_needs_the_business_registration(world):
    with pytest.raises(ValidationError) as exc:
        register(world.acme, world.alice, documents=[(Kind.TELECOM_CERTIFICATE, pdf())])
    assert "business_registration" in exc.value.message_dict


def test_a_person_owner_needs_no_business_registration(world):
    sender = register(
        world.acme,
        world.alice,
        owner_type="person",
        owner_name="Kim Minsu",
        documents=[(Kind.TELECOM_CERTIFICATE, pdf())],
    )
    assert sender.status == SenderNumber.Status.PENDING


def test_a_number_not_the_companys_own_needs_employment_or_attorney(world):
    with pytest.raises(ValidationError) as exc:
        register(world.acme, world.alice, is_company_number=False)
    assert "employment certificate" in exc.value.message_dict["employment_certificate"][0]

    sender = register(
        world.acme,
        world.alice,
        is_company_number=False,
        documents=[*company_documents(), (Kind.POWER_OF_ATTORNEY, pdf("poa.pdf"))],
    )
    assert sender.documents.count() == 3


def test_a_missing_owner_and_owner_name_are_reported_by_field(client, world):
    _login(client, world.alice)
    response = client.post(_register_url(world.acme), _form(owner_type="", owner_name=""))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "owner_type" in errors
    assert "owner_name" in errors


def test_a_duplicate_registration_is_refused_on_the_number_field(client, world):
    register(world.acme, world.alice)
    _login(client, world.alice)
    response = client.post(_register_url(world.acme), _form())
    assert response.status_code == 400
    assert "already registered" in response.context["form"].errors["number"][0]
    assert SenderNumber.objects.filter(project=world.acme).count() == 1


def test_the_same_number_may_be_registered_in_another_project(world):
    register(world.acme, world.alice)
    assert register(world.bolt, world.bob).project == world.bolt


def test_a_rejected_number_may_be_filed_again(world):
    sender_in(world.acme, world.alice, world.staff, SenderNumber.Status.REJECTED)
    again = register(world.acme, world.alice)
    assert again.status == SenderNumber.Status.PENDING


def test_a_failure_while_writing_leaves_no_row_and_no_file(world, monkeypatch):
    def audit_fails(*args, **kwargs):
        raise RuntimeError("disk full")

    # Fault injected after the row and both files were written.
    monkeypatch.setattr("channels.actions.record_audit", audit_fails)
    with pytest.raises(RuntimeError):
        register(world.acme, world.alice)
    assert not SenderNumber.objects.exists()
    assert not SenderNumberDocument.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize("who", ["carol", "dave"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_marketers_and_viewers_may_not_register(client, world, who, method):
    _login(client, getattr(world, who))
    response = getattr(client, method)(
        _register_url(world.acme), _form() if method == "post" else {}
    )
    assert response.status_code == 403
    assert "needs Admin" in response.content.decode()
    assert not SenderNumber.objects.exists()


def test_another_projects_admin_gets_404(client, world):
    _login(client, world.bob)
    assert client.get(_register_url(world.acme)).status_code == 404
    assert client.get(reverse("channels", args=[world.acme.id])).status_code == 404


def test_the_register_form_says_which_types_and_size_are_allowed(client, world):
    _login(client, world.alice)
    page = client.get(_register_url(world.acme)).content.decode()
    assert "PDF, PNG, JPEG" in page
    assert "10 MB" in page

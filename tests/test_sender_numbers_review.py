"""Staff review of sender numbers, the protected documents, and who may send."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from channels.actions import (
    do_approve_sender_number,
    do_reject_sender_number,
    do_set_default_sender,
    do_suspend_sender_number,
)
from channels.models import SenderNumber
from channels.queries import SenderNotAllowed, approved_senders, default_sender, sendable_sender
from projects.models import AuditLog
from tests.support.sender_numbers import (
    PDF_BYTES,
    register,
    sender_in,
)
from tests.support.world import PASSWORD

pytestmark = pytest.mark.usefixtures("document_store")
Status = SenderNumber.Status


def test_staff_approves_a_pending_number_and_the_audit_log_says_so(world):
    sender = register(world.acme, world.alice)
    do_approve_sender_number(sender, world.staff)
    sender.refresh_from_db()
    assert sender.status == Status.APPROVED
    assert sender.reviewed_by == world.staff
    assert sender.reviewed_at is not None
    entry = AuditLog.objects.get(project=world.acme, action="sender_number.approved")
    assert entry.actor_label == "platform staff staff@munja.test"


def test_a_rejection_needs_a_reason_and_nothing_changes_without_one(world):
    sender = register(world.acme, world.alice)
    with pytest.raises(ValidationError) as exc:
        do_reject_sender_number(sender, world.staff, "  ")
    assert "reason" in exc.value.message_dict
    sender.refresh_from_db()
    assert sender.status == Status.PENDING
    assert not AuditLog.objects.filter(action="sender_number.rejected").exists()


def test_the_rejection_reason_is_shown_on_the_channels_page(client, world):
    sender = register(world.acme, world.alice)
    do_reject_sender_number(sender, world.staff, "The certificate is unreadable")
    assert AuditLog.objects.filter(action="sender_number.rejected", project=world.acme).exists()
    client.login(username=world.dave.username, password=PASSWORD)
    page = client.get(reverse("channels", args=[world.acme.id])).content.decode()
    assert 'data-status="rejected"' in page
    assert "The certificate is unreadable" in page


def test_suspension_needs_an_approved_number_and_a_reason(world):
    sender = register(world.acme, world.alice)
    with pytest.raises(ValidationError) as exc:
        do_suspend_sender_number(sender, world.staff, "spam")
    assert "only an approved number can be suspended" in exc.value.messages[0]
    do_approve_sender_number(sender, world.staff)
    with pytest.raises(ValidationError):
        do_suspend_sender_number(sender, world.staff, "")
    do_suspend_sender_number(sender, world.staff, "Reported for spam")
    sender.refresh_from_db()
    assert (sender.status, sender.status_reason) == (Status.SUSPENDED, "Reported for spam")
    assert AuditLog.objects.filter(action="sender_number.suspended").count() == 1
    # A suspended number may be approved again.
    do_approve_sender_number(sender, world.staff)
    sender.refresh_from_db()
    assert (sender.status, sender.status_reason) == (Status.APPROVED, "")


@pytest.mark.parametrize(
    ("status", "review"),
    [
        (Status.APPROVED, lambda s, staff: do_approve_sender_number(s, staff)),
        (Status.REJECTED, lambda s, staff: do_approve_sender_number(s, staff)),
        (Status.REJECTED, lambda s, staff: do_reject_sender_number(s, staff, "again")),
        (Status.APPROVED, lambda s, staff: do_reject_sender_number(s, staff, "late")),
    ],
)
def test_an_invalid_transition_is_a_clear_error(world, status, review):
    sender = sender_in(world.acme, world.alice, world.staff, status)
    with pytest.raises(ValidationError) as exc:
        review(sender, world.staff)
    assert "02-555-1234" in exc.value.messages[0]
    sender.refresh_from_db()
    assert sender.status == status


def test_only_platform_staff_may_review(world):
    sender = register(world.acme, world.alice)
    with pytest.raises(PermissionDenied):
        do_approve_sender_number(sender, world.alice)
    sender.refresh_from_db()
    assert sender.status == Status.PENDING


# --- who may send -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Status.PENDING, "waiting for review"),
        (Status.REJECTED, "was rejected (The certificate is unreadable)"),
        (Status.SUSPENDED, "is suspended (Reported for spam)"),
    ],
)
def test_only_an_approved_number_can_send(world, status, words):
    sender = sender_in(world.acme, world.alice, world.staff, status)
    for ref in (sender, sender.pk, sender.number, str(sender.pk)):
        with pytest.raises(SenderNotAllowed) as exc:
            sendable_sender(world.acme, ref)
        assert words in str(exc.value)
    assert list(approved_senders(world.acme)) == []


def test_an_unregistered_or_foreign_number_cannot_send(world):
    bolt_sender = sender_in(world.bolt, world.bob, world.staff, Status.APPROVED)
    with pytest.raises(SenderNotAllowed, match="not a registered sender number"):
        sendable_sender(world.acme, "+8225550000")
    with pytest.raises(SenderNotAllowed, match="not a registered sender number"):
        sendable_sender(world.acme, bolt_sender.pk)
    assert sendable_sender(world.bolt, "+8225551234") == bolt_sender


def test_the_default_sender_is_an_approved_number(client, world):
    first = sender_in(world.acme, world.alice, world.staff, Status.APPROVED, "+8225551234")
    second = sender_in(world.acme, world.alice, world.staff, Status.APPROVED, "+8225551235")
    pending = register(world.acme, world.alice, "+8225551236")
    with pytest.raises(ValidationError):
        do_set_default_sender(pending, world.alice)
    client.login(username=world.alice.username, password=PASSWORD)
    url = reverse("set_default_sender", args=[world.acme.id, second.pk])
    assert client.post(url).status_code == 302
    assert default_sender(world.acme) == second
    do_set_default_sender(first, world.alice)
    second.refresh_from_db()
    assert not second.is_default
    assert default_sender(world.acme) == first
    assert AuditLog.objects.filter(action="sender_number.default_set").count() == 2


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_marketers_and_viewers_may_not_set_the_default(client, world, who):
    sender = sender_in(world.acme, world.alice, world.staff, Status.APPROVED)
    client.login(username=getattr(world, who).username, password=PASSWORD)
    url = reverse("set_default_sender", args=[world.acme.id, sender.pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    sender.refresh_from_db()
    assert not sender.is_default


# --- the protected documents ----------------------------------------------------


def _document_url(sender):
    document = sender.documents.get(kind="telecom")
    return reverse("sender_document", args=[sender.project_id, sender.pk, document.pk])


@pytest.mark.parametrize("who", ["alice", "staff"])
def test_admins_and_staff_download_a_document_as_an_attachment(client, world, who):
    sender = register(world.acme, world.alice)
    client.login(username=getattr(world, who).username, password=PASSWORD)
    response = client.get(_document_url(sender))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="telecom.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF_BYTES


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_marketers_and_viewers_may_not_download_documents(client, world, who):
    sender = register(world.acme, world.alice)
    client.login(username=getattr(world, who).username, password=PASSWORD)
    assert client.get(_document_url(sender)).status_code == 403


def test_another_projects_admin_gets_404_for_a_document(client, world):
    sender = register(world.acme, world.alice)
    client.login(username=world.bob.username, password=PASSWORD)
    assert client.get(_document_url(sender)).status_code == 404
    # Nor through their own project's id.
    document = sender.documents.first()
    url = reverse("sender_document", args=[world.bolt.id, sender.pk, document.pk])
    assert client.get(url).status_code == 404


def test_documents_are_not_served_to_anonymous_visitors(client, world):
    sender = register(world.acme, world.alice)
    response = client.get(_document_url(sender))
    assert response.status_code == 302
    assert "/login/" in response["Location"]

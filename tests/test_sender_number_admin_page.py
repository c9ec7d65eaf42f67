"""Approve, reject (with a reason) and suspend on a sender number's own
admin page, through the same channels.actions as the list actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from channels.models import SenderNumber
from projects.models import AuditLog
from tests.support.sender_numbers import register, sender_in
from tests.support.world import PASSWORD

pytestmark = pytest.mark.usefixtures("document_store")


@pytest.fixture
def staff_client(client, world):
    client.login(username=world.staff.username, password=PASSWORD)
    return client


def page_of(client, sender) -> str:
    return client.get(reverse("admin:channels_sendernumber_change", args=[sender.pk])).text


def review(client, sender, verb: str, reason: str | None = None):
    data = {"review": verb} | ({"reason": reason} if reason is not None else {})
    return client.post(reverse("admin:channels_sendernumber_review", args=[sender.pk]), data)


def test_a_pending_number_offers_approve_and_reject_beside_its_documents(staff_client, world):
    sender = register(world.acme, world.alice)
    page = page_of(staff_client, sender)
    assert 'id="review-approve"' in page and 'id="review-reject"' in page
    assert 'id="review-suspend"' not in page
    document = sender.documents.get(kind="telecom")
    assert reverse("sender_document", args=[world.acme.id, sender.pk, document.pk]) in page


def test_approving_from_the_page_goes_through_the_action(staff_client, world):
    sender = register(world.acme, world.alice)
    response = review(staff_client, sender, "approve")
    assert response.status_code == 302
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.APPROVED
    assert AuditLog.objects.filter(action="sender_number.approved").exists()
    page = page_of(staff_client, sender)
    assert 'id="review-suspend"' in page and 'id="review-approve"' not in page


def test_a_rejection_without_a_reason_changes_nothing_and_says_why(staff_client, world):
    sender = register(world.acme, world.alice)
    response = review(staff_client, sender, "reject", "")
    assert response.status_code == 302
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.PENDING
    assert "Give the reason the project will read" in page_of(staff_client, sender)
    review(staff_client, sender, "reject", "The certificate is unreadable")
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.REJECTED
    assert sender.status_reason == "The certificate is unreadable"


def test_suspending_an_approved_number_needs_a_reason_and_a_wrong_step_is_refused(
    staff_client, world
):
    sender = sender_in(world.acme, world.alice, world.staff, SenderNumber.Status.APPROVED)
    review(staff_client, sender, "suspend", "Reported for spam")
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.SUSPENDED
    review(staff_client, sender, "reject", "Too late")  # only a pending number can be rejected
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.SUSPENDED


def test_only_staff_may_review_from_the_page(client, world):
    sender = register(world.acme, world.alice)
    client.login(username=world.alice.username, password=PASSWORD)
    response = review(client, sender, "approve")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.PENDING

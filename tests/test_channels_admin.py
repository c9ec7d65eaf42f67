"""Sender-number review in the Django admin, through the same actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from channels.actions import do_add_optout_pool_numbers, sandbox_gateway
from channels.models import SenderNumber, SmsChannel
from projects.models import AuditLog
from tests.support.sender_numbers import (
    register,
    sender_in,
)
from tests.support.world import PASSWORD

pytestmark = pytest.mark.usefixtures("document_store")
CHANGELIST = "admin:channels_sendernumber_changelist"


@pytest.fixture
def staff_client(client, world):
    client.login(username=world.staff.username, password=PASSWORD)
    return client


def test_staff_approve_from_the_list(staff_client, world):
    sender = register(world.acme, world.alice)
    response = staff_client.post(
        reverse(CHANGELIST), {"action": "approve", ACTION_CHECKBOX_NAME: [sender.pk]}
    )
    assert response.status_code == 302
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.APPROVED
    assert AuditLog.objects.filter(action="sender_number.approved").exists()


def test_reject_asks_for_a_reason_first(staff_client, world):
    sender = register(world.acme, world.alice)
    data = {"action": "reject_with_reason", ACTION_CHECKBOX_NAME: [sender.pk]}
    response = staff_client.post(reverse(CHANGELIST), data)
    assert response.status_code == 200
    assert "Reason (shown to the project)" in response.content.decode()
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.PENDING

    response = staff_client.post(reverse(CHANGELIST), {**data, "reason": ""})
    assert response.status_code == 200
    sender.refresh_from_db()
    assert sender.status == SenderNumber.Status.PENDING

    response = staff_client.post(reverse(CHANGELIST), {**data, "reason": "Blurred scan"})
    assert response.status_code == 302
    sender.refresh_from_db()
    assert (sender.status, sender.status_reason) == (SenderNumber.Status.REJECTED, "Blurred scan")


def test_suspend_with_a_reason_and_an_invalid_transition_is_reported(staff_client, world):
    approved = sender_in(world.acme, world.alice, world.staff, SenderNumber.Status.APPROVED)
    pending = register(world.acme, world.alice, "+8225559999")
    data = {
        "action": "suspend_with_reason",
        ACTION_CHECKBOX_NAME: [approved.pk, pending.pk],
        "reason": "Spam reports",
    }
    response = staff_client.post(reverse(CHANGELIST), data, follow=True)
    page = response.content.decode()
    assert "only an approved number can be suspended" in page
    approved.refresh_from_db()
    pending.refresh_from_db()
    assert approved.status == SenderNumber.Status.SUSPENDED
    assert pending.status == SenderNumber.Status.PENDING


def test_the_change_page_links_documents_to_the_protected_view(staff_client, world):
    sender = register(world.acme, world.alice)
    page = staff_client.get(
        reverse("admin:channels_sendernumber_change", args=[sender.pk])
    ).content.decode()
    document = sender.documents.get(kind="telecom")
    url = reverse("sender_document", args=[world.acme.id, sender.pk, document.pk])
    assert url in page
    assert staff_client.get(url).status_code == 200


def test_the_list_shows_numbers_formatted_and_filters_by_status(staff_client, world):
    register(world.acme, world.alice)
    page = staff_client.get(reverse(CHANGELIST), {"status__exact": "pending"}).content.decode()
    assert "02-555-1234" in page
    page = staff_client.get(reverse(CHANGELIST), {"status__exact": "approved"}).content.decode()
    assert "02-555-1234" not in page


def test_staff_choose_a_projects_gateway(staff_client, world):
    do_add_optout_pool_numbers(["+82801234567"], world.staff)
    gateway = sandbox_gateway()
    url = reverse("admin:channels_smschannel_add")
    response = staff_client.post(url, {"project": str(world.acme.id), "gateway": gateway.pk})
    assert response.status_code == 302
    assert SmsChannel.objects.get(project=world.acme).gateway == gateway
    assert AuditLog.objects.filter(action="sms_channel.gateway_set").exists()

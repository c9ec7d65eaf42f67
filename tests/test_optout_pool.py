"""The platform's 080 number pool and its assignment to projects."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from channels.actions import do_add_optout_pool_numbers, do_assign_optout_number
from channels.models import OptOutNumber, SmsChannel
from projects.models import AuditLog
from tests.support.world import PASSWORD


def test_staff_add_080_numbers_to_the_pool(world):
    created = do_add_optout_pool_numbers(["+82801234567", "+82801234568"], world.staff)
    assert [o.number for o in created] == ["+82801234567", "+82801234568"]
    # Adding a number already in the pool changes nothing.
    assert do_add_optout_pool_numbers(["+82801234567"], world.staff) == []
    assert OptOutNumber.objects.count() == 2


@pytest.mark.parametrize(
    ("number", "words"),
    [("080-123-4567", "+82801234567"), ("+821012345678", "not a Korean 080 number")],
)
def test_a_pool_number_must_be_an_e164_080_number(world, number, words):
    with pytest.raises(ValidationError) as exc:
        do_add_optout_pool_numbers([number], world.staff)
    assert words in exc.value.message_dict["numbers"][0]
    assert not OptOutNumber.objects.exists()


def test_a_project_gets_a_free_number_and_keeps_it(world):
    do_add_optout_pool_numbers(["+82801234567", "+82801234568"], world.staff)
    first = do_assign_optout_number(world.acme, world.staff)
    assert first.project == world.acme
    assert first.assigned_at is not None
    assert SmsChannel.objects.filter(project=world.acme).exists()
    # Idempotent: asking again returns the same number.
    assert do_assign_optout_number(world.acme, world.staff) == first
    assert do_assign_optout_number(world.bolt, world.staff).number == "+82801234568"
    assert AuditLog.objects.filter(action="optout_number.assigned").count() == 2


def test_an_empty_pool_is_a_clear_error(world):
    with pytest.raises(ValidationError) as exc:
        do_assign_optout_number(world.acme, world.staff)
    assert "no free number" in exc.value.messages[0]


def test_a_number_assigned_to_one_project_cannot_go_to_another(world):
    do_add_optout_pool_numbers(["+82801234567"], world.staff)
    do_assign_optout_number(world.acme, world.staff, number="+82801234567")
    with pytest.raises(ValidationError) as exc:
        do_assign_optout_number(world.bolt, world.staff, number="+82801234567")
    assert "already assigned" in exc.value.message_dict["number"][0]


def test_the_channels_page_shows_the_080_number_or_says_none(client, world):
    client.login(username=world.dave.username, password=PASSWORD)
    url = reverse("channels", args=[world.acme.id])
    assert "None assigned yet — ask platform staff." in client.get(url).content.decode()
    do_add_optout_pool_numbers(["+82801234567"], world.staff)
    do_assign_optout_number(world.acme, world.staff)
    assert "080-123-4567" in client.get(url).content.decode()


def test_staff_add_and_assign_a_number_in_the_admin(client, world):
    client.login(username=world.staff.username, password=PASSWORD)
    add = reverse("admin:channels_optoutnumber_add")
    response = client.post(add, {"number": "+82801112222", "project": str(world.acme.id)})
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = OptOutNumber.objects.get(number="+82801112222")
    assert entry.project == world.acme
    assert AuditLog.objects.filter(project=world.acme, action="optout_number.assigned").exists()

    response = client.post(add, {"number": "080-111-3333", "project": ""})
    assert response.status_code == 200
    assert "+82801113333" in response.content.decode()

    listing = client.get(reverse("admin:channels_optoutnumber_changelist")).content.decode()
    assert "080-111-2222" in listing
    assert "Acme" in listing


def test_the_admin_refuses_a_second_number_for_a_project(client, world):
    do_add_optout_pool_numbers(["+82801234567", "+82801234568"], world.staff)
    do_assign_optout_number(world.acme, world.staff)
    free = OptOutNumber.objects.get(project=None)
    client.login(username=world.staff.username, password=PASSWORD)
    url = reverse("admin:channels_optoutnumber_change", args=[free.pk])
    response = client.post(url, {"project": str(world.acme.id)})
    assert response.status_code == 200
    assert "already has the 080 number" in response.content.decode()
    free.refresh_from_db()
    assert free.project is None

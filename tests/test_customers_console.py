"""The Users screens: list, search, paging, one user's page, deletion, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from audiences.models import Customer, CustomerTag, Event
from audiences.queries import customer_page
from projects.models import AuditLog
from tests.support.world import PASSWORD


def log_in(client, user):
    assert client.login(username=user.email, password=PASSWORD)


def customer(project, user_id, **fields):
    return Customer.objects.create(project=project, user_id=user_id, **fields)


def listed(response):
    return [c.user_id for c in response.context["page"].customers]


@pytest.fixture
def acme_customers(world):
    customer(world.acme, "kim-1", name="김민수", phone_number="+821012345678")
    customer(world.acme, "lee-2", name="Lee Jiwon", phone_number="+821098765432")
    customer(world.acme, "park-3", name="Park", phone_number="")
    customer(world.bolt, "kim-bolt", name="김민수", phone_number="+821012345678")


def test_the_list_shows_the_projects_users_newest_first(client, world, acme_customers):
    log_in(client, world.carol)
    response = client.get(reverse("customers", args=[world.acme.id]))
    assert response.status_code == 200
    assert listed(response) == ["park-3", "lee-2", "kim-1"]
    assert "3 users" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kim-1", ["kim-1"]),
        ("lee", ["lee-2"]),
        ("민수", ["kim-1"]),
        ("jiwon", ["lee-2"]),
        ("+8210123", ["kim-1"]),
        ("010-9876-5432", ["lee-2"]),
        ("5432", ["lee-2"]),
        ("nobody", []),
    ],
)
def test_search_by_user_id_phone_or_name(client, world, acme_customers, query, expected):
    log_in(client, world.dave)
    response = client.get(reverse("customers", args=[world.acme.id]), {"q": query})
    assert response.status_code == 200
    assert listed(response) == expected


def test_pages_go_older_and_back_newer_without_gaps(world):
    for i in range(7):
        customer(world.acme, f"u{i}")
    first = customer_page(world.acme, size=3)
    assert [c.user_id for c in first.customers] == ["u6", "u5", "u4"]
    assert first.newer_than is None
    second = customer_page(world.acme, before=first.older_than, size=3)
    assert [c.user_id for c in second.customers] == ["u3", "u2", "u1"]
    third = customer_page(world.acme, before=second.older_than, size=3)
    assert [c.user_id for c in third.customers] == ["u0"]
    assert third.older_than is None
    back = customer_page(world.acme, after=third.newer_than, size=3)
    assert [c.user_id for c in back.customers] == ["u3", "u2", "u1"]
    assert first.count == 7 and not first.count_capped


def test_the_count_is_capped(world, monkeypatch):
    monkeypatch.setattr("audiences.queries.COUNT_CAP", 4)
    for i in range(6):
        customer(world.acme, f"u{i}")
    page = customer_page(world.acme)
    assert (page.count, page.count_capped) == (4, True)


def test_the_user_page_shows_attributes_tags_consents_and_events(client, world):
    kim = customer(
        world.acme,
        "kim-1",
        name="Kim",
        phone_number="+821012345678",
        time_zone="Asia/Seoul",
        promotional_consent=True,
        promotional_consent_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    CustomerTag.objects.create(customer=kim, key="tier", value="gold")
    now = datetime.now(UTC)
    for i, kind in enumerate(["signup", "view_item", "purchase"]):
        Event.objects.create(
            project=world.acme,
            customer=kim,
            type=kind,
            data={"n": i},
            created_at=now - timedelta(hours=3 - i),
        )
    log_in(client, world.dave)
    response = client.get(reverse("customer", args=[world.acme.id, "kim-1"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "+821012345678" in html and "Asia/Seoul" in html
    assert "tier" in html and "gold" in html
    assert [event.type for event, _data in response.context["timeline"]] == [
        "purchase",
        "view_item",
        "signup",
    ]
    assert 'id="messages-received"' in html and 'id="optout-state"' in html
    assert 'data-consent="promotional">Given on' in html
    assert 'data-consent="night">Not given' in html
    # A viewer sees no delete button.
    assert 'id="delete-user"' not in html


def test_the_events_timeline_pages(client, world, monkeypatch):
    monkeypatch.setattr("audiences.queries.EVENTS_PAGE_SIZE", 2)
    kim = customer(world.acme, "kim")
    now = datetime.now(UTC)
    for i in range(5):
        Event.objects.create(
            project=world.acme, customer=kim, type=f"e{i}", created_at=now - timedelta(minutes=i)
        )
    log_in(client, world.carol)
    url = reverse("customer", args=[world.acme.id, "kim"])
    pages = [client.get(url, {"page": n}).context for n in (1, 2, 3)]
    assert [[e.type for e, _ in ctx["timeline"]] for ctx in pages] == [
        ["e0", "e1"],
        ["e2", "e3"],
        ["e4"],
    ]
    assert [ctx["has_older"] for ctx in pages] == [True, True, False]


def test_a_user_id_with_a_slash_has_a_page(client, world):
    customer(world.acme, "shop/42")
    log_in(client, world.carol)
    url = reverse("customer", args=[world.acme.id, "shop/42"])
    assert client.get(url).status_code == 200


def test_another_projects_user_is_404(client, world, acme_customers):
    log_in(client, world.carol)
    assert client.get(reverse("customer", args=[world.acme.id, "kim-bolt"])).status_code == 404
    assert client.get(reverse("customer", args=[world.bolt.id, "kim-bolt"])).status_code == 404
    assert client.get(reverse("customers", args=[world.bolt.id])).status_code == 404


def test_a_marketer_deletes_a_user_after_confirming(client, world, acme_customers):
    log_in(client, world.carol)
    url = reverse("customer", args=[world.acme.id, "kim-1"])
    confirm = client.get(url, {"delete": ""})
    assert confirm.status_code == 200
    assert "kim-1" in confirm.content.decode()
    assert Customer.objects.filter(user_id="kim-1").exists()
    response = client.post(url)
    assert response.status_code == 302
    assert not Customer.objects.filter(user_id="kim-1").exists()
    assert AuditLog.objects.filter(project=world.acme, action="customer.deleted").exists()


def test_a_viewer_may_not_delete_a_user(client, world, acme_customers):
    log_in(client, world.dave)
    url = reverse("customer", args=[world.acme.id, "kim-1"])
    assert client.post(url).status_code == 403
    assert client.get(url, {"delete": ""}).status_code == 403
    assert Customer.objects.filter(user_id="kim-1").exists()


def test_the_list_needs_a_login(client, world):
    response = client.get(reverse("customers", args=[world.acme.id]))
    assert response.status_code == 302


def test_the_user_page_shows_whether_the_number_is_on_the_opt_out_list(client, world):
    from optout.actions import do_opt_in, do_opt_out
    from optout.models import Source

    Customer.objects.create(project=world.acme, user_id="u-opt", phone_number="+821055550000")
    client.force_login(world.carol)
    url = f"/p/{world.acme.id}/users/u-opt/"
    assert 'data-optout="subscribed"' in client.get(url).content.decode()

    do_opt_out(world.acme, ["+821055550000"], Source.API, None)
    page = client.get(url).content.decode()
    assert 'data-optout="opted-out"' in page
    assert "(API)" in page

    do_opt_in(world.acme, ["+821055550000"], Source.CONSOLE, world.carol)
    assert 'data-optout="subscribed"' in client.get(url).content.decode()


def test_the_user_page_lists_the_messages_the_user_received_newest_first(client, world):
    """Four campaigns had reached the user and the page said "not available yet"."""
    from campaigns.models import Campaign
    from dispatch.models import Message

    kim = customer(world.acme, "kim/1", name="Kim", phone_number="+821012345678")
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    for i in range(25):
        campaign = Campaign.objects.create(project=world.acme, name=f"Sale {i}")
        Message.objects.create(
            outbox_id=campaign.outbox_id,
            dedupe_key=kim.phone_number.lstrip("+"),
            project=world.acme,
            customer_id=kim.pk,
            phone_number=kim.phone_number,
            body=f"봄 세일 {i}",
            status=Message.Status.DELIVERED,
            sent_at=start + timedelta(days=i),
        )
    # Not the user's: another number of the project, the same number in another project.
    other = Campaign.objects.create(project=world.bolt, name="Bolt sale")
    Message.objects.create(
        outbox_id=other.outbox_id,
        dedupe_key="1",
        project=world.bolt,
        phone_number=kim.phone_number,
        body="bolt",
    )
    Message.objects.create(
        outbox_id=campaign.outbox_id,
        dedupe_key="2",
        project=world.acme,
        phone_number="+821099990000",
        body="lee",
    )
    log_in(client, world.dave)  # a viewer may read them
    page = client.get(reverse("customer", args=[world.acme.id, kim.user_id])).content.decode()
    url = reverse("customer_messages", args=[world.acme.id, kim.user_id])
    assert f'hx-get="{url}"' in page
    assert "Not available yet" not in page

    first = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    bodies = [f"봄 세일 {i}<" for i in range(24, 4, -1)]
    positions = [first.index(body) for body in bodies]
    assert positions == sorted(positions)  # newest first
    assert "봄 세일 4<" not in first and "bolt" not in first and "lee" not in first
    assert "Page 1 of 2" in first
    second = client.get(url + "?page=2").content.decode()  # without htmx: a page of its own
    assert all(f"봄 세일 {i}<" in second for i in range(5))
    assert "<html" in second


def test_a_test_sms_to_the_users_number_is_listed_as_a_test(client, world):
    from tests.support.processes import make_test_message

    kim = customer(world.acme, "kim/1", name="Kim", phone_number="+821012345678")
    make_test_message(world.acme, to=kim.phone_number, body="테스트 문자", status="delivered")
    log_in(client, world.dave)
    url = reverse("customer_messages", args=[world.acme.id, kim.user_id])
    row = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "테스트 문자" in row
    assert "<td>Test SMS</td>" in row
    assert "<td>API</td>" not in row


def test_another_projects_user_messages_are_404(client, world, acme_customers):
    log_in(client, world.carol)
    url = reverse("customer_messages", args=[world.acme.id, "kim-bolt"])
    assert client.get(url).status_code == 404

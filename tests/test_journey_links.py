"""A journey send node's tracked links and its conversion goal, as a
campaign's: a short link per run's message (clicked through the real
redirect), a goal in the version's settings attributed through the Track
API to the journey message sent last before the event, and the send node's
clicks, conversions and revenue in the statistics API and on the graph."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from audiences.models import Customer
from channels.models import SenderNumber
from console.lib import links
from console.lib.sms import cp949_length
from conversions.models import Click, FirstClick, JourneyConversion, TrackedLink
from dispatch.models import Message, OutboxStats
from journeys import runtime
from journeys.counters import values as counter_values
from journeys.forms import SettingsForm
from journeys.graph import validate
from journeys.models import Journey, Run, SendNodeOutbox
from journeys.svg import render_svg
from projects.actions import do_create_api_token
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project
from tests.support.world import PASSWORD

SALE = "https://shop.example/cart?utm=journey"
BODY = '{{ name }}님 장바구니 {{ "' + SALE + '" | track }}'
LINK = re.compile(re.escape(settings.PUBLIC_URL) + r"/l/([0-9A-Za-z]+)")
GOAL = {"event": "purchase", "window_seconds": 7200, "revenue_field": "amount"}


@pytest.fixture
def acme(db):
    project = sending_project("Acme")
    add_customers(project, 3)
    return project


@pytest.fixture
def sender(acme) -> SenderNumber:
    return SenderNumber.objects.get(project=acme)


def user(project, i: int = 0) -> Customer:
    return Customer.objects.get(project=project, user_id=f"u{i}")


def send(sender, key: str = "send", body: str = BODY) -> dict:
    return node("send", key, sender_number_id=sender.pk, body=body)


def enter(journey: Journey, customer: Customer, key: str, now) -> Run:
    event = track(customer, "cart_abandoned", {}, created_at=now)
    run = runtime.do_enter_journey(journey, customer, entry_key=key, entry_event=event, now=now)
    assert run is not None
    return run


def outbox_of(journey: Journey, key: str = "send") -> int:
    return SendNodeOutbox.objects.get(version=journey.live_version, node=key).outbox_id


def message_of(run: Run, key: str = "send") -> Message:
    return Message.objects.get(
        outbox_id=outbox_of(run.journey, key), dedupe_key__startswith=f"r{run.pk}-"
    )


def sent(message: Message, at) -> None:
    """As the carrier accepting it would leave it."""
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT, sent_at=at)


def sent_half_an_hour_ago(journey: Journey, customer: Customer) -> tuple:
    """(now, the run) of a user who entered an hour ago and whose message
    from the journey's one send node was sent half an hour ago."""
    now = timezone.now()
    run = enter(journey, customer, "e1", now - timedelta(hours=1))
    runtime.run_due(now - timedelta(hours=1))
    sent(message_of(run), now - timedelta(minutes=30))
    return now, run


def code_in(message: Message) -> str:
    return LINK.search(message.body)[1]


# --- tracked links -------------------------------------------------------------------------


def test_each_run_gets_its_own_short_link_counted_in_the_bytes(acme, sender):
    journey = live_journey(acme, chain(send(sender)), settings={"reentry": {"mode": "after_end"}})
    now = timezone.now()
    runs = [enter(journey, user(acme, 0), "e1", now), enter(journey, user(acme, 1), "e2", now)]
    runtime.run_due(now)
    again = enter(journey, user(acme, 0), "e3", now)  # the same user's second run
    runtime.run_due(now)
    messages = [message_of(run) for run in [*runs, again]]
    codes = [code_in(m) for m in messages]
    assert len(set(codes)) == 3
    assert all(len(code) == links.CODE_LENGTH for code in codes)
    for message in messages:
        assert SALE not in message.body
        assert message.bytes == cp949_length(message.body)
        assert message.status == Message.Status.QUEUED
    assert TrackedLink.objects.filter(outbox_id=outbox_of(journey)).count() == 1
    secret = links.secret_from(settings.SECRET_KEY)
    assert [links.decode(secret, code)[1] for code in codes] == [r.pk for r in [*runs, again]]


def test_a_click_redirects_and_counts_on_its_own_runs_message(acme, sender, client):
    journey = live_journey(acme, chain(send(sender)))
    now = timezone.now()
    first = enter(journey, user(acme, 0), "e1", now)
    runtime.run_due(now)
    second = enter(journey, user(acme, 0), "e2", now)
    runtime.run_due(now)
    one, two = message_of(first), message_of(second)

    response = client.get(f"/l/{code_in(two)}")
    assert response.status_code == 302
    assert response["Location"] == SALE
    client.get(f"/l/{code_in(two)}")
    client.get(f"/l/{code_in(one)}")
    assert Click.objects.filter(message_id=two.pk).count() == 2
    assert Click.objects.filter(message_id=one.pk).count() == 1
    assert set(FirstClick.objects.values_list("message_id", "customer_id")) == {
        (one.pk, user(acme).pk),
        (two.pk, user(acme).pk),
    }
    stats = OutboxStats.objects.get(pk=outbox_of(journey))
    assert (stats.clicks, stats.clicked_recipients) == (3, 2)


def test_a_head_request_and_a_forged_journey_code_count_nothing(acme, sender, client):
    journey = live_journey(acme, chain(send(sender)))
    now = timezone.now()
    run = enter(journey, user(acme), "e1", now)
    runtime.run_due(now)
    code = code_in(message_of(run))
    assert client.head(f"/l/{code}").status_code == 302
    secret = links.secret_from(settings.SECRET_KEY)
    link_id, key = links.decode(secret, code)
    assert client.get(f"/l/{links.encode(secret, link_id, key + 1)}").status_code == 302
    assert client.get(f"/l/{code[:-1]}{'A' if code[-1] != 'A' else 'B'}").status_code == 404
    stats = OutboxStats.objects.get(pk=outbox_of(journey))
    assert (stats.clicks, stats.clicked_recipients) == (0, 0)  # no run key + 1, no message
    assert not Click.objects.exists()


def test_two_send_nodes_have_their_own_links_and_clicks(acme, sender, client):
    journey = live_journey(acme, chain(send(sender, "a"), send(sender, "b")))
    now = timezone.now()
    run = enter(journey, user(acme), "e1", now)
    runtime.run_due(now)
    a, b = message_of(run, "a"), message_of(run, "b")
    assert code_in(a) != code_in(b)
    client.get(f"/l/{code_in(b)}")
    assert OutboxStats.objects.get(pk=outbox_of(journey, "a")).clicks == 0
    assert OutboxStats.objects.get(pk=outbox_of(journey, "b")).clicks == 1


# --- the conversion goal ----------------------------------------------------------------------


def track_api(client, project, token: str, capture, *events: tuple[str, str, object, dict]):
    """One Track API call of (user id, event, time, data), run to its commit
    (attribution runs on commit, as in production)."""
    body = {
        "events": [
            {
                "subjectType": "user",
                "subjectId": u,
                "type": t,
                "createdAt": at.isoformat(),
                "data": d,
            }
            for u, t, at, d in events
        ]
    }
    with capture(execute=True):
        response = client.post(
            f"/v1/projects/{project.id}/track",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert response.status_code in (200, 202), response.content
    return response


@pytest.fixture
def token(acme):
    from tests.support.world import make_user

    _raw, value = do_create_api_token(acme, "shop", make_user("shop@acme.test"))
    return value


def converted(journey: Journey) -> list[tuple[str, str, Decimal]]:
    return [
        (Customer.objects.get(pk=c.customer_id).user_id, c.node, c.revenue)
        for c in JourneyConversion.objects.filter(journey=journey).order_by("customer_id")
    ]


def test_a_track_api_event_converts_on_the_journey_message_sent_last_before_it(
    acme, sender, client, token, django_capture_on_commit_callbacks
):
    journey = live_journey(
        acme, chain(send(sender, "a"), send(sender, "b")), settings={"conversion_goal": GOAL}
    )
    now = timezone.now()
    runs = [enter(journey, user(acme, i), f"e{i}", now - timedelta(hours=4)) for i in range(3)]
    runtime.run_due(now - timedelta(hours=4))
    # u0: a 3 h ago, b 1 h ago; u1: a and b 3 h ago (outside the 2 h window);
    # u2: a 1 h ago, b still queued (an unsent message never converts).
    sent(message_of(runs[0], "a"), now - timedelta(hours=3))
    sent(message_of(runs[0], "b"), now - timedelta(hours=1))
    sent(message_of(runs[1], "a"), now - timedelta(hours=3))
    sent(message_of(runs[1], "b"), now - timedelta(hours=3))
    sent(message_of(runs[2], "a"), now - timedelta(hours=1))
    track_api(
        client,
        acme,
        token,
        django_capture_on_commit_callbacks,
        ("u0", "purchase", now, {"amount": "12.50"}),
        ("u1", "purchase", now, {"amount": 99}),
        ("u2", "purchase", now, {"amount": 7}),
    )
    assert converted(journey) == [
        ("u0", "b", Decimal("12.50")),
        ("u2", "a", Decimal("7.00")),
    ]
    conversion = JourneyConversion.objects.get(run_id=runs[0].pk)
    assert conversion.message_id == message_of(runs[0], "b").pk
    assert conversion.version_id == journey.live_version_id
    counts = counter_values(journey.live_version_id)
    assert (counts[("b", "conversions")], counts[("b", "revenue_cents")]) == (1, 1250)
    assert (counts[("a", "conversions")], counts[("a", "revenue_cents")]) == (1, 700)


def test_a_run_converts_once_and_never_before_its_message_or_on_another_event(
    acme, sender, client, token, django_capture_on_commit_callbacks
):
    journey = live_journey(acme, chain(send(sender)), settings={"conversion_goal": GOAL})
    now, _run = sent_half_an_hour_ago(journey, user(acme))
    capture = django_capture_on_commit_callbacks
    track_api(client, acme, token, capture, ("u0", "purchase", now - timedelta(minutes=40), {}))
    track_api(client, acme, token, capture, ("u0", "signup", now, {}))
    assert converted(journey) == []
    track_api(client, acme, token, capture, ("u0", "purchase", now, {"amount": 5}))
    track_api(client, acme, token, capture, ("u0", "purchase", now, {"amount": 9}))
    assert converted(journey) == [("u0", "send", Decimal("5.00"))]
    assert counter_values(journey.live_version_id)[("send", "conversions")] == 1


def test_a_journey_without_a_goal_converts_nothing(
    acme, sender, client, token, django_capture_on_commit_callbacks
):
    journey = live_journey(acme, chain(send(sender)))
    now, _run = sent_half_an_hour_ago(journey, user(acme))
    track_api(client, acme, token, django_capture_on_commit_callbacks, ("u0", "purchase", now, {}))
    assert not JourneyConversion.objects.exists()


def test_a_message_converts_by_its_own_versions_goal_after_a_new_version(
    acme, sender, client, token, django_capture_on_commit_callbacks
):
    from journeys.models import JourneyVersion

    journey = live_journey(acme, chain(send(sender)), settings={"conversion_goal": GOAL})
    old = journey.live_version
    now, _run = sent_half_an_hour_ago(journey, user(acme))
    JourneyVersion.objects.filter(pk=old.pk).update(state=JourneyVersion.State.RETIRED)
    new = JourneyVersion.objects.create(
        journey=journey,
        number=2,
        state=JourneyVersion.State.PUBLISHED,
        graph=old.graph,
        settings={"conversion_goal": {"event": "signup", "window_seconds": 3600}},
    )
    Journey.objects.filter(pk=journey.pk).update(live_version=new)
    capture = django_capture_on_commit_callbacks
    track_api(client, acme, token, capture, ("u0", "signup", now, {}))
    assert converted(journey) == []  # v2's goal, but the message is v1's
    track_api(client, acme, token, capture, ("u0", "purchase", now, {"amount": 3}))
    assert converted(journey) == [("u0", "send", Decimal("3.00"))]
    assert counter_values(old.pk)[("send", "conversions")] == 1
    assert ("send", "conversions") not in counter_values(new.pk)


@pytest.mark.parametrize(
    ("goal", "field"),
    [
        ({"event": "", "window_seconds": 3600}, "settings.conversion_goal.event"),
        ({"event": "purchase", "window_seconds": 60}, "settings.conversion_goal.window_seconds"),
        (
            {"event": "purchase", "window_seconds": 31 * 86400},
            "settings.conversion_goal.window_seconds",
        ),
        (
            {"event": "purchase", "window_seconds": 3600, "quantity_field": "qty"},
            "settings.conversion_goal.quantity_field",
        ),
        ({"event": "purchase", "window_seconds": 3600, "rate": 1}, "settings.conversion_goal.rate"),
        ("purchase", "settings.conversion_goal"),
    ],
)
def test_a_bad_goal_is_a_settings_problem_with_its_field(acme, sender, goal, field):
    problems = validate(chain(send(sender)), {"conversion_goal": goal}, project=acme)
    assert field in {p.field for p in problems}


def test_a_goal_like_a_campaigns_validates_and_a_legacy_null_goal_id_is_harmless(acme, sender):
    good = {**GOAL, "quantity_field": "qty"}
    assert validate(chain(send(sender)), {"conversion_goal": good}, project=acme) == []
    assert validate(chain(send(sender)), {"conversion_goal_id": None}, project=acme) == []


def test_the_settings_panel_saves_and_shows_the_goal(db, client):
    from journeys.actions import do_create_journey
    from projects.actions import do_create_project
    from tests.support.world import make_user

    alice = make_user("alice@acme.test")
    project = do_create_project("Acme", "에이크미", owner=alice)
    journey = do_create_journey(project, "Cart", alice)
    client.login(username=alice.email, password=PASSWORD)
    response = client.post(
        reverse("journey_settings", args=[project.id, journey.pk]),
        {
            "reentry_mode": "after_end",
            "goal_event": "purchase",
            "goal_window": "3",
            "goal_unit": "days",
            "goal_amount": "amount",
            "goal_quantity": "qty",
        },
    )
    assert response.status_code == 302
    saved = journey.versions.get().settings["conversion_goal"]
    assert saved == {
        "event": "purchase",
        "window_seconds": 3 * 86400,
        "revenue_field": "amount",
        "quantity_field": "qty",
    }
    page = client.get(
        reverse("journey_builder", args=[project.id, journey.pk]) + "?panel=settings"
    ).content.decode()
    assert 'name="goal_event"' in page
    assert 'value="purchase"' in page
    initial = SettingsForm.from_settings(journey.versions.get().settings).initial
    assert (initial["goal_event"], initial["goal_window"], initial["goal_unit"]) == (
        "purchase",
        3,
        "days",
    )
    form = SettingsForm({"reentry_mode": "once", "goal_event": "purchase"})
    assert not form.is_valid()
    assert "goal_window" in form.errors
    cleared = SettingsForm({"reentry_mode": "once"})
    assert cleared.is_valid()
    assert cleared.settings({})["conversion_goal"] is None


# --- statistics ---------------------------------------------------------------------------------


def test_the_statistics_api_and_the_graph_show_a_send_nodes_clicks_and_conversions(
    acme, sender, client, token, django_capture_on_commit_callbacks
):
    journey = live_journey(acme, chain(send(sender)), settings={"conversion_goal": GOAL})
    now, run = sent_half_an_hour_ago(journey, user(acme))
    message = message_of(run)
    client.get(f"/l/{code_in(message)}")
    track_api(
        client,
        acme,
        token,
        django_capture_on_commit_callbacks,
        ("u0", "purchase", now, {"amount": 52000}),
    )
    response = client.get(
        f"/v1/projects/{acme.id}/journeys/{journey.pk}/statistics",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    (version,) = response.json()["versions"]
    nodes = {n["node"]: n for n in version["nodes"]}
    metrics = nodes["send"]["metrics"]
    assert metrics["clicks"] == 1
    assert metrics["clicked"] == 1
    assert metrics["conversions"] == 1
    assert metrics["revenue_cents"] == 5200000
    assert metrics["port:sent"] == 1
    assert nodes["send"]["revenue"] == "52000.00"
    assert "revenue" not in nodes["start"]

    from journeys.views import _counters

    svg = render_svg(journey.live_version.graph, counters=_counters(journey.live_version))
    assert "clicks 1 · conv. 1" in svg
    quiet = render_svg(journey.live_version.graph, counters={"send": {"entered": 1}})
    assert "conv." not in quiet


# --- the test send ------------------------------------------------------------------------------


def test_the_send_nodes_test_send_carries_a_preview_link_as_a_campaigns_does(db, client):
    from journeys.actions import do_create_journey, do_save_draft
    from projects.actions import do_create_project
    from tests.support.world import make_user

    alice = make_user("alice@acme.test")
    project = do_create_project("Acme", "에이크미", owner=alice)
    number = SenderNumber.objects.create(
        project=project,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Acme",
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    Customer.objects.create(
        project=project, user_id="kim", name="김철수", phone_number="+821011112222"
    )
    journey = do_create_journey(project, "Cart", alice)
    do_save_draft(journey, chain(send(number)), {}, alice)
    client.login(username=alice.email, password=PASSWORD)
    response = client.post(
        reverse("journey_test_send", args=[project.id, journey.pk, "send"]),
        {"to": "+821099998888", "recipient": "kim"},
    )
    assert 'class="ok"' in response.content.decode()
    test = Message.objects.get(project=project, outbox__producer_kind="test")
    assert test.body == f"김철수님 장바구니 {settings.PUBLIC_URL}/l/{links.PREVIEW_CODE}"
    assert not TrackedLink.objects.exists()  # a test send registers no link
    assert client.get(f"/l/{links.PREVIEW_CODE}").status_code == 404


# --- the upgrade ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_campaign_links_and_clicks_keep_working_across_the_upgrade(client):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from tests.support.campaigns import segment_campaign

    before = [("conversions", "0002_conversions_attribution_clicks")]
    project = sending_project("Upgrade")
    add_customers(project, 1)
    campaign = segment_campaign(project, body=BODY)
    customer = user(project)
    message = Message.objects.create(
        outbox_id=campaign.outbox_id,
        dedupe_key=customer.phone_number[1:],
        project=project,
        customer_id=customer.pk,
        phone_number=customer.phone_number,
        body="hello",
    )
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        link = old.get_model("conversions", "TrackedLink").objects.create(
            campaign_id=campaign.pk, url=SALE
        )
        old.get_model("conversions", "Click").objects.create(
            link_id=link.pk,
            campaign_id=campaign.pk,
            message_id=message.pk,
            clicked_at=timezone.now(),
        )
        old.get_model("conversions", "FirstClick").objects.create(
            message_id=message.pk,
            campaign_id=campaign.pk,
            customer_id=customer.pk,
            clicked_at=timezone.now(),
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert TrackedLink.objects.get(pk=link.pk).outbox_id == campaign.outbox_id
    assert Click.objects.get().outbox_id == campaign.outbox_id
    assert FirstClick.objects.get().outbox_id == campaign.outbox_id
    # A code sent before the upgrade still resolves and counts.
    code = links.encode(links.secret_from(settings.SECRET_KEY), link.pk, customer.pk)
    response = client.get(f"/l/{code}")
    assert (response.status_code, response["Location"]) == (302, SALE)
    assert Click.objects.filter(message_id=message.pk).count() == 2

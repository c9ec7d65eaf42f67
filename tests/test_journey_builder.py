"""The journey console pages: list, builder (graph, side panel, insert on an
edge, settings, problems), publish with choices, status buttons, dry run,
and who may do what."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from audiences.models import Customer
from channels.models import OptOutNumber, SenderNumber
from journeys.actions import do_activate, do_create_journey, do_publish, do_save_draft
from journeys.dryrun import dry_run
from journeys.graph import node_map
from journeys.models import Journey, JourneyVersion, NodeCounter, Run
from journeys.svg import layers, render_svg
from optout.models import OptOut
from tests.support.world import PASSWORD


@pytest.fixture
def sender(world) -> SenderNumber:
    return SenderNumber.objects.create(
        project=world.acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Acme",
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )


@pytest.fixture
def kim(world) -> Customer:
    return Customer.objects.create(
        project=world.acme,
        user_id="kim",
        name="김철수",
        phone_number="+821011112222",
        promotional_consent=True,
    )


def cart_graph(sender_id: int) -> dict:
    return {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "config": {"type": "event", "event": "cart_abandoned"},
                "next": {"next": "wait"},
            },
            {
                "key": "wait",
                "kind": "wait_event",
                "config": {"event": "purchase", "match_field": "cartId", "timeout_seconds": 3600},
                "next": {"event": "end", "timeout": "split"},
            },
            {
                "key": "split",
                "kind": "split",
                "config": {
                    "branches": [
                        {
                            "label": "big",
                            "entry_data": [{"field": "total", "op": "gt", "value": 100}],
                        }
                    ]
                },
                "next": {"b0": "remind", "else": "end"},
            },
            {
                "key": "remind",
                "kind": "send",
                "label": "Reminder",
                "config": {
                    "sender_number_id": sender_id,
                    "body": "{{ name }}님, 장바구니 {{ entry_event.data.cartId }}",
                },
                "next": {"sent": "end"},
            },
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }


@pytest.fixture
def journey(world, sender) -> Journey:
    journey = do_create_journey(world.acme, "Cart", world.carol)
    do_save_draft(journey, cart_graph(sender.pk), {}, world.carol)
    return journey


def client_for(client, user):
    client.login(username=user.email, password=PASSWORD)
    return client


def builder(journey: Journey, **query) -> str:
    url = reverse("journey_builder", args=[journey.project_id, journey.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_the_pages_render_for_each_role(client, world, journey, who):
    client_for(client, getattr(world, who))
    project = world.acme.id
    listing = client.get(reverse("journeys", args=[project]))
    assert listing.status_code == 200
    assert b"Cart" in listing.content
    page = client.get(builder(journey, node="remind"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="journey-svg"' in html and 'data-node="remind"' in html
    assert ('id="node-save"' in html) == (who != "dave")
    assert ('class="insert"' in html) == (who != "dave")
    dry = client.get(reverse("journey_dryrun", args=[project, journey.pk]))
    assert dry.status_code == 200
    publish = client.get(reverse("journey_publish", args=[project, journey.pk]))
    assert publish.status_code == (403 if who == "dave" else 200)


def test_another_projects_journey_is_not_found(client, world, journey):
    client_for(client, world.bob)
    assert client.get(builder(journey)).status_code == 404


def test_a_viewer_cannot_save_a_node(client, world, journey):
    client_for(client, world.dave)
    url = reverse("journey_node", args=[world.acme.id, journey.pk, "remind"])
    assert client.post(url, {"label": "x"}).status_code == 403


def test_the_side_panel_saves_a_node_over_htmx_and_redraws(client, world, journey, sender):
    client_for(client, world.carol)
    url = reverse("journey_node", args=[world.acme.id, journey.pk, "remind"])
    response = client.post(
        url,
        {
            "label": "Nudge",
            "sender_number_id": sender.pk,
            "body": "안녕 {{ name }}",
            "title": "",
            "track_links": "on",
            "next_sent": "end",
            "next_not_sent": "",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="node-saved"' in html
    assert 'id="journey-graph" hx-swap-oob="true"' in html and "Nudge" in html
    node = node_map(Journey.objects.get(pk=journey.pk).versions.get().graph)["remind"]
    assert node["label"] == "Nudge" and node["config"]["body"] == "안녕 {{ name }}"
    assert node["next"] == {"sent": "end", "not_sent": None}


def test_validation_problems_are_listed_with_their_node_and_highlighted(client, world, journey):
    draft = journey.versions.get()
    graph = copy.deepcopy(draft.graph)
    node_map(graph)["remind"]["config"]["body"] = "{{ name "
    node_map(graph)["split"]["next"]["else"] = "ghost"
    do_save_draft(journey, graph)
    client_for(client, world.carol)
    html = client.get(builder(journey)).content.decode()
    assert 'data-node="remind" data-field="config.body"' in html
    assert 'data-node="split" data-field="next.else"' in html
    assert 'class="node kind-send has-problem" data-node="remind"' in html


def test_insert_on_an_edge_puts_the_new_node_between(client, world, journey):
    client_for(client, world.carol)
    html = client.get(builder(journey, insert="split:b0")).content.decode()
    assert 'id="insert-form"' in html
    response = client.post(
        reverse("journey_insert", args=[world.acme.id, journey.pk]),
        {"from": "split", "port": "b0", "kind": "delay"},
    )
    assert response.status_code == 302
    graph = journey.versions.get().graph
    new_key = node_map(graph)["split"]["next"]["b0"]
    assert new_key.startswith("delay-")
    assert node_map(graph)[new_key]["next"] == {"next": "remind"}
    assert f"node={new_key}" in response["Location"]


def test_removing_a_node_reconnects_its_way_in(client, world, journey):
    client_for(client, world.carol)
    client.post(reverse("journey_node_delete", args=[world.acme.id, journey.pk, "split"]))
    graph = journey.versions.get().graph
    assert "split" not in node_map(graph)
    assert node_map(graph)["wait"]["next"]["timeout"] == "remind"


def test_the_settings_panel_saves_settings(client, world, journey):
    client_for(client, world.carol)
    response = client.post(
        reverse("journey_settings", args=[world.acme.id, journey.pk]),
        {
            "exit_events": "purchase:cartId",
            "reentry_mode": "cooldown",
            "cooldown_hours": "24",
            "quiet_start": "21:00",
            "quiet_end": "09:00",
            "quiet_mode": "hold",
            "late_tolerance_minutes": "30",
        },
    )
    assert response.status_code == 302
    settings = journey.versions.get().settings
    assert settings["exit_events"] == [{"event": "purchase", "match_field": "cartId"}]
    assert settings["reentry"] == {"mode": "cooldown", "cooldown_seconds": 86400}
    assert settings["quiet_hours"] == {"start": "21:00", "end": "09:00", "mode": "hold"}
    assert settings["late_tolerance_seconds"] == 1800


def test_publish_activate_pause_resume_stop_from_the_pages(client, world, journey):
    client_for(client, world.carol)
    project = world.acme.id
    response = client.post(reverse("journey_publish", args=[project, journey.pk]))
    assert response.status_code == 302
    journey.refresh_from_db()
    assert journey.live_version.number == 1
    for action, status in (
        ("activate", Journey.Status.ACTIVE),
        ("pause", Journey.Status.PAUSED),
        ("resume", Journey.Status.ACTIVE),
        ("stop", Journey.Status.STOPPED),
    ):
        client.post(reverse("journey_status", args=[project, journey.pk, action]))
        journey.refresh_from_db()
        assert journey.status == status, action


def test_publish_page_shows_the_diff_and_applies_the_choices(client, world, journey, kim):
    do_publish(journey, world.carol)
    do_activate(journey, world.carol)
    journey.refresh_from_db()
    run = Run.objects.create(
        project=world.acme,
        journey=journey,
        version=journey.live_version,
        customer=kim,
        entry_key="e1",
        node="split",
        step=3,
        started_at=datetime.now(UTC),
        due_at=datetime.now(UTC),
    )
    client_for(client, world.carol)
    project = world.acme.id
    client.post(reverse("journey_edit", args=[project, journey.pk]))
    client.post(reverse("journey_node_delete", args=[project, journey.pk, "split"]))
    page = client.get(reverse("journey_publish", args=[project, journey.pk])).content.decode()
    assert 'id="diff-removed"' in page and 'data-node="split"' in page
    assert "1 user waiting here" in page
    response = client.post(
        reverse("journey_publish", args=[project, journey.pk]), {"choice_split": "move:remind"}
    )
    assert response.status_code == 302
    from journeys.versions import resume_migrations

    resume_migrations()
    run.refresh_from_db()
    assert run.version.number == 2 and run.node == "remind"


def test_counters_are_drawn_on_the_graph(world, journey):
    do_publish(journey, world.carol)
    version = JourneyVersion.objects.get(journey=journey)
    NodeCounter.objects.create(
        journey=journey, version=version, node="remind", metric="entered", value=7
    )
    svg = render_svg(version.graph, counters={"remind": {"entered": 7, "waiting": 2}})
    assert "in 7" in svg and "now 2" in svg


def test_the_layout_layers_follow_the_longest_path(journey):
    rows = layers(journey.versions.get().graph)
    assert rows[0] == ["start"] and rows[1] == ["wait"]
    # "end" is reached from wait directly and after remind: it sits last.
    assert rows[-1] == ["end"]


def test_dry_run_shows_the_path_messages_and_compliance(world, journey, kim):
    version = journey.versions.get()
    result = dry_run(version, kim, event="cart_abandoned", data={"cartId": "c-9", "total": 500})
    assert result.enters
    event_path, timeout_path = result.paths
    assert [s.node for s in event_path.steps] == ["start", "wait", "end"]
    assert [s.node for s in timeout_path.steps] == ["start", "wait", "split", "remind", "end"]
    assert (event_path.steps[1].port, timeout_path.steps[1].port) == ("event", "timeout")
    remind = timeout_path.steps[3]
    assert remind.message == "김철수님, 장바구니 c-9"
    assert remind.compliance == "would be sent"
    assert "waits up to" in timeout_path.steps[1].waits
    assert timeout_path.steps[2].note.startswith("Matches branch big")
    small = dry_run(version, kim, event="cart_abandoned", data={"total": 5})
    assert [s.node for s in small.paths[1].steps][-2:] == ["split", "end"]
    assert not dry_run(version, kim, event="signup").enters


def test_dry_run_tells_opted_out_and_night_hold(world, journey, kim):
    OptOutNumber.objects.create(number="+82801234567", project=world.acme)
    draft = journey.versions.get()
    graph = copy.deepcopy(draft.graph)
    node_map(graph)["remind"]["config"]["is_promotional"] = True
    do_save_draft(journey, graph)
    version = journey.versions.get()
    night = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 23:00 in Seoul
    result = dry_run(version, kim, data={"total": 500}, now=night)
    remind = result.paths[1].steps[3]
    # The timeout hour later is still night in Seoul: held until 08:00.
    assert remind.outcome == "held" and "08:00" in remind.compliance
    assert remind.message.startswith("(광고)")
    OptOut.objects.create(project=world.acme, phone_number=kim.phone_number)
    result = dry_run(version, kim, data={"total": 500}, now=night)
    assert result.paths[1].steps[3].compliance == "skipped: opted out"


def test_the_dry_run_page_shows_the_result(client, world, journey, kim):
    client_for(client, world.dave)
    response = client.post(
        reverse("journey_dryrun", args=[world.acme.id, journey.pk]),
        {"user_id": "kim", "event": "cart_abandoned", "data": '{"cartId": "c-1", "total": 200}'},
    )
    html = response.content.decode()
    assert 'id="dryrun-result"' in html
    assert "김철수님, 장바구니 c-1" in html
    response = client.post(
        reverse("journey_dryrun", args=[world.acme.id, journey.pk]),
        {"user_id": "nobody", "data": "{}"},
    )
    assert "No user with this ID" in response.content.decode()
    response = client.post(
        reverse("journey_dryrun", args=[world.acme.id, journey.pk]),
        {"user_id": "kim", "data": "{"},
    )
    assert "Not valid JSON" in response.content.decode()


def test_the_send_preview_renders_entry_event_data(client, world, journey, kim, sender):
    client_for(client, world.carol)
    response = client.post(
        reverse("journey_preview", args=[world.acme.id, journey.pk]),
        {"body": "{{ name }} {{ entry_event.data.cartId }}", "entry_data": '{"cartId": "c-7"}'},
    )
    html = response.content.decode()
    assert "김철수 c-7" in html and 'id="preview-bytes"' in html


def test_a_node_panel_over_htmx_redraws_the_graph_with_the_node_selected(client, world, journey):
    client_for(client, world.carol)
    url = reverse("journey_node", args=[world.acme.id, journey.pk, "wait"])
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="node-panel" data-node="wait"' in html
    assert 'id="journey-graph" hx-swap-oob="true"' in html
    assert 'class="node kind-wait_event selected" data-node="wait"' in html
    assert 'id="journey-graph"' not in client.get(url).content.decode()


def test_a_live_journeys_graph_polls_for_fresh_counters(client, world, journey):
    do_publish(journey, world.carol)
    client_for(client, world.dave)
    assert "every 10s" not in client.get(builder(journey)).content.decode()
    do_activate(journey, world.carol)
    assert "every 10s" in client.get(builder(journey)).content.decode()
    NodeCounter.objects.create(
        journey=journey, version=journey.live_version, node="remind", metric="entered", value=3
    )
    html = client.get(reverse("journey_graph", args=[world.acme.id, journey.pk])).content.decode()
    assert html.startswith('<div class="journey-canvas card" id="journey-graph"')
    assert "in 3" in html


def test_the_send_nodes_test_send_queues_the_rendered_message(client, world, journey, kim):
    from dispatch.models import Message

    client_for(client, world.carol)
    url = reverse("journey_test_send", args=[world.acme.id, journey.pk, "remind"])
    response = client.post(
        url, {"to": "+821099998888", "recipient": "kim", "entry_data": '{"cartId": "c-5"}'}
    )
    assert 'class="ok"' in response.content.decode()
    sent = Message.objects.get(project=world.acme, outbox__producer_kind="test")
    assert sent.body == "김철수님, 장바구니 c-5"
    bad = client.post(url, {"to": "12", "recipient": "kim"}).content.decode()
    assert 'class="problem"' in bad
    client_for(client, world.dave)
    assert client.post(url, {"to": "+821099998888"}).status_code == 403


def test_dry_run_tells_no_consent_and_the_frequency_cap(world, journey, kim, sender):
    from django.utils import timezone

    from dispatch.actions import NewMessage, do_create_outbox, do_enqueue_messages
    from dispatch.models import Message, SendingPolicy

    OptOutNumber.objects.create(number="+82801234567", project=world.acme)
    draft = journey.versions.get()
    graph = copy.deepcopy(draft.graph)
    node_map(graph)["remind"]["config"]["is_promotional"] = True
    do_save_draft(journey, graph)
    version = journey.versions.get()
    noon = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 12:00 in Seoul
    kim.promotional_consent = False
    kim.save()
    step = dry_run(version, kim, data={"total": 500}, now=noon).paths[1].steps[3]
    assert step.compliance == "skipped: no promotional consent" and step.port == "not_sent"

    kim.promotional_consent = True
    kim.save()
    SendingPolicy.objects.create(project=world.acme, frequency_cap=1, frequency_window_hours=24)
    outbox = do_create_outbox(world.acme, producer_kind="campaign", sender_number_id=sender.pk)
    do_enqueue_messages(outbox, [NewMessage("m1", kim.phone_number, "earlier")])
    Message.objects.filter(outbox=outbox).update(status=Message.Status.SENT, sent_at=timezone.now())
    step = dry_run(version, kim, data={"total": 500}).paths[1].steps[3]
    assert step.compliance.startswith("skipped: frequency cap (1 of 1")
    # A journey that overrides the cap upward lets it through.
    do_save_draft(journey, settings={"frequency_cap": 5})
    version = journey.versions.get()
    step = dry_run(version, kim, data={"total": 500}, now=noon).paths[1].steps[3]
    assert step.outcome == "sent"


def test_an_open_port_has_its_own_plus_to_add_a_node_after_it(client, world, journey):
    client_for(client, world.carol)
    html = client.get(builder(journey)).content.decode()
    assert 'class="insert" data-from="remind" data-port="not_sent"' in html
    client.post(
        reverse("journey_insert", args=[world.acme.id, journey.pk]),
        {"from": "remind", "port": "not_sent", "kind": "webhook"},
    )
    graph = journey.versions.get().graph
    new_key = node_map(graph)["remind"]["next"]["not_sent"]
    assert node_map(graph)[new_key]["kind"] == "webhook"
    assert node_map(graph)[new_key]["next"] == {}

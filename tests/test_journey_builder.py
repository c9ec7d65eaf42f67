"""The journey console pages: list, builder (graph, side panel, insert on an
edge, settings, problems), publish with choices, status buttons, dry run,
and who may do what."""

from __future__ import annotations

import copy
import json
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


def test_a_live_journeys_counters_poll_alone_every_two_seconds(client, world, journey):
    do_publish(journey, world.carol)
    client_for(client, world.dave)
    counts_url = reverse("journey_counts", args=[world.acme.id, journey.pk])
    assert counts_url not in client.get(builder(journey)).content.decode()
    do_activate(journey, world.carol)
    html = client.get(builder(journey)).content.decode()
    assert f'hx-get="{counts_url}" hx-trigger="every 2s, journey-visible from:body"' in html
    NodeCounter.objects.create(
        journey=journey, version=journey.live_version, node="remind", metric="entered", value=3
    )
    NodeCounter.objects.create(
        journey=journey, version=journey.live_version, node="remind", metric="port:sent", value=2
    )
    counts = client.get(counts_url).content.decode()
    # Only the counters (and the migration's slot), not the graph.
    assert counts.startswith('<div class="journey-counts" id="journey-counts"')
    assert 'id="journey-svg"' not in counts and "node-box" not in counts
    assert 'data-node="remind" data-entered="3" data-port-sent="2">in 3 · sent 2<' in counts
    assert 'id="migration-slot" hx-swap-oob="true"' in counts
    # A stopped journey's counters stand still.
    journey.status = Journey.Status.STOPPED
    journey.save(update_fields=["status"])
    assert "hx-get" not in client.get(counts_url).content.decode()


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


def _node_url(journey: Journey, key: str) -> str:
    return reverse("journey_node", args=[journey.project_id, journey.pk, key])


def _graph_of(journey: Journey) -> dict:
    return Journey.objects.get(pk=journey.pk).versions.get().graph


def test_a_split_panel_shows_each_branch_as_fields(client, world, journey):
    client_for(client, world.carol)
    html = client.get(builder(journey, node="split")).content.decode()
    assert 'name="b0-label" value="big"' in html
    assert 'name="b0-c0-field" value="total"' in html
    assert '<option value="gt" selected>is greater than</option>' in html
    assert 'name="b0-c0-value" value="100"' in html
    assert 'name="branch_count" value="1"' in html
    # The segment editor's builder is mounted on the branch's definition.
    assert 'data-textarea="id_b0-segment"' in html and 'id="segment-builder-config"' in html
    assert 'name="op" value="add"' in html and 'name="next_else"' in html


def test_a_split_saves_ordered_branches_of_segments_and_entry_data(client, world, journey):
    from audiences.models import Segment

    vip = Segment.objects.create(
        project=world.acme, name="VIP", definition={"match": "all", "conditions": []}
    )
    seoul = {
        "match": "all",
        "conditions": [{"kind": "attribute", "field": "country", "op": "eq", "value": "KR"}],
    }
    client_for(client, world.carol)
    response = client.post(
        _node_url(journey, "split"),
        {
            "label": "Who",
            "branch_count": "2",
            "b0-label": "vip",
            "b0-segment_id": str(vip.pk),
            "b0-segment": "",
            "b0-conditions": "1",
            "b0-c0-field": "",
            "b0-c0-op": "eq",
            "b0-c0-value": "",
            "b0-next": "remind",
            "b1-label": "korea big cart",
            "b1-segment_id": "",
            "b1-segment": json.dumps(seoul),
            "b1-conditions": "2",
            "b1-c0-field": "total",
            "b1-c0-op": "gt",
            "b1-c0-value": "50000",
            "b1-c1-field": "cartId",
            "b1-c1-op": "eq",
            "b1-c1-value": '"42"',
            "b1-next": "end",
            "next_else": "end",
        },
        HTTP_HX_REQUEST="true",
    )
    assert 'id="node-saved"' in response.content.decode()
    node = node_map(_graph_of(journey))["split"]
    assert node["config"]["branches"] == [
        {"label": "vip", "segment": vip.pk},
        {
            "label": "korea big cart",
            "segment": seoul,
            "entry_data": [
                {"field": "total", "op": "gt", "value": 50000},
                {"field": "cartId", "op": "eq", "value": "42"},
            ],
        },
    ]
    assert node["next"] == {"b0": "remind", "b1": "end", "else": "end"}
    # Drawn again from the saved config, the quoted text stays quoted.
    html = client.get(builder(journey, node="split")).content.decode()
    assert 'name="b1-c1-value" value="&quot;42&quot;"' in html


def _split_post(**extra: str) -> dict[str, str]:
    data = {
        "label": "",
        "branch_count": "2",
        "b0-label": "first",
        "b0-segment_id": "",
        "b0-segment": "",
        "b0-conditions": "1",
        "b0-c0-field": "total",
        "b0-c0-op": "gt",
        "b0-c0-value": "10",
        "b0-next": "remind",
        "b1-label": "second",
        "b1-segment_id": "",
        "b1-segment": "",
        "b1-conditions": "1",
        "b1-c0-field": "total",
        "b1-c0-op": "lt",
        "b1-c0-value": "5",
        "b1-next": "end",
        "next_else": "end",
    }
    data.update(extra)
    return data


def test_branch_buttons_add_move_and_remove_rows_without_saving(client, world, journey):
    client_for(client, world.carol)
    before = node_map(_graph_of(journey))["split"]
    url = _node_url(journey, "split")
    moved = client.post(url, _split_post(op="up:1"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="node-unsaved"' in moved and 'id="node-saved"' not in moved
    # The second branch is first now, with its conditions and its next node.
    assert 'name="b0-label" value="second"' in moved and 'name="b1-label" value="first"' in moved
    assert '<option value="lt" selected>' in moved.split('name="b1-label"')[0]
    assert 'name="b0-c0-value" value="5"' in moved
    first_next = moved.split('name="b0-next"')[1].split("</select>")[0]
    assert '<option value="end" selected>' in first_next
    added = client.post(url, _split_post(op="add"), HTTP_HX_REQUEST="true").content.decode()
    assert 'name="branch_count" value="3"' in added and 'name="b2-c0-field"' in added
    condition = client.post(
        url, _split_post(op="add_condition:0"), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'name="b0-conditions" value="2"' in condition and 'name="b0-c1-field"' in condition
    removed = client.post(url, _split_post(op="remove:0"), HTTP_HX_REQUEST="true").content.decode()
    assert 'name="branch_count" value="1"' in removed
    assert 'name="b0-label" value="second"' in removed
    assert node_map(_graph_of(journey))["split"] == before


def test_a_branch_problem_is_shown_beside_its_branch_with_the_field_path(client, world, journey):
    client_for(client, world.carol)
    url = _node_url(journey, "split")
    html = client.post(
        url, _split_post(**{"b1-c0-value": "many"}), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="node-saved"' in html
    condition = html.split('data-path="config.branches[1].entry_data[0]"')[1].split("</div>")[0]
    assert "<code>config.branches[1].entry_data[0].value</code>" in condition
    assert 'data-node="split" data-field="config.branches[1].entry_data[0].value"' in html
    # A saved segment and built conditions at once: the form says so, unsaved.
    from audiences.models import Segment

    vip = Segment.objects.create(
        project=world.acme, name="VIP", definition={"match": "all", "conditions": []}
    )
    both = {
        "b0-segment_id": str(vip.pk),
        "b0-segment": json.dumps(
            {"match": "all", "conditions": [{"kind": "phone", "present": True}]}
        ),
    }
    html = client.post(url, _split_post(**both), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="node-saved"' not in html
    assert "Choose a saved segment or build conditions, not both." in html
    bad = client.post(
        url, _split_post(**{"b0-segment": "{nope"}), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<code>config.branches[0].segment</code>" in bad and "Not valid JSON" in bad


def _with_ab(journey: Journey) -> None:
    graph = copy.deepcopy(_graph_of(journey))
    node_map(graph)["split"]["next"]["b0"] = "ab"
    graph["nodes"].append(
        {
            "key": "ab",
            "kind": "ab",
            "config": {"variants": [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]},
            "next": {"a": "remind", "b": "end"},
        }
    )
    do_save_draft(journey, graph)


def test_an_ab_split_edits_variants_whose_percentages_add_up(client, world, journey):
    _with_ab(journey)
    client_for(client, world.carol)
    html = client.get(builder(journey, node="ab")).content.decode()
    assert 'name="v0-key" value="a"' in html and 'name="v1-percent" value="50"' in html
    assert 'id="ab-total" data-total="100"' in html
    url = _node_url(journey, "ab")
    post = {
        "label": "",
        "variant_count": "2",
        "v0-key": "a",
        "v0-percent": "60",
        "v0-next": "end",
        "v1-key": "b",
        "v1-percent": "30",
        "v1-next": "remind",
    }
    added = client.post(url, {**post, "op": "add"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="v2-key" value="c"' in added and 'id="ab-total" data-total="90"' in added
    html = client.post(url, post, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="node-saved"' in html
    node = node_map(_graph_of(journey))["ab"]
    assert node["config"]["variants"] == [{"key": "a", "percent": 60}, {"key": "b", "percent": 30}]
    assert node["next"] == {"a": "end", "b": "remind"}
    # 90 is a problem of the variants, with its path, under the table.
    assert "<code>config.variants</code>: The variants&#x27; percentages add up to 90" in html
    fixed = client.post(
        url, {**post, "v1-percent": "40", "v1-key": "b"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<code>config.variants</code>" not in fixed and "add up to 90" not in fixed
    not_a_number = client.post(
        url, {**post, "v1-percent": "half"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="node-saved"' not in not_a_number
    assert "Write a percentage, e.g. 50 or 12.5." in not_a_number


def test_a_viewer_sees_the_split_and_ab_rows_without_their_buttons(client, world, journey):
    _with_ab(journey)
    client_for(client, world.dave)
    split = client.get(builder(journey, node="split")).content.decode()
    assert 'name="b0-c0-field" value="total"' in split
    assert " disabled" in split.split('name="b0-c0-field"')[1].split(">")[0]
    assert 'name="op"' not in split and 'data-readonly="true"' in split
    ab = client.get(builder(journey, node="ab")).content.decode()
    assert 'name="v0-key" value="a"' in ab and 'name="op"' not in ab

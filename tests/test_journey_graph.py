"""journeys.graph.validate: every problem names its node and field."""

from __future__ import annotations

import copy

import pytest

from audiences.models import Segment
from channels.models import OptOutNumber, SenderNumber
from journeys.graph import Problem, edges, node_map, ports_of, reachable, validate


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


def good_graph(sender_id: int) -> dict:
    return {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "config": {"type": "event", "event": "cart_abandoned", "where": []},
                "next": {"next": "wait"},
            },
            {
                "key": "wait",
                "kind": "wait_event",
                "config": {
                    "event": "purchase",
                    "where": [{"field": "amount", "op": "gt", "value": 10}],
                    "match_field": "cartId",
                    "timeout_seconds": 3600,
                },
                "next": {"event": "done", "timeout": "ab"},
            },
            {
                "key": "ab",
                "kind": "ab",
                "config": {"variants": [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]},
                "next": {"a": "send", "b": "split"},
            },
            {
                "key": "split",
                "kind": "split",
                "config": {
                    "branches": [
                        {
                            "label": "VIP",
                            "entry_data": [{"field": "total", "op": "gt", "value": 100}],
                        }
                    ]
                },
                "next": {"b0": "send", "else": "delay"},
            },
            {"key": "delay", "kind": "delay", "config": {"seconds": 600}, "next": {"next": "send"}},
            {
                "key": "send",
                "kind": "send",
                "config": {
                    "sender_number_id": sender_id,
                    "body": "{{ name }}님, 장바구니 {{ entry_event.data.cartId }}",
                },
                "next": {"sent": "done", "not_sent": None},
            },
            {"key": "done", "kind": "exit", "config": {}, "next": {}},
        ]
    }


def fields_of(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.node, p.field) for p in problems}


def test_a_good_graph_has_no_problems(world, sender):
    assert validate(good_graph(sender.pk), {}, project=world.acme) == []


def test_ports_follow_the_config():
    graph = good_graph(1)
    nodes = node_map(graph)
    assert ports_of(nodes["ab"]) == ["a", "b"]
    assert ports_of(nodes["split"]) == ["b0", "else"]
    assert ports_of(nodes["send"]) == ["sent", "not_sent"]
    assert edges(nodes["split"]) == [("b0", "send"), ("else", "delay")]
    assert reachable(graph)[0] == "start"


def test_unknown_kind_bad_key_and_duplicate_key_are_reported(world, sender):
    graph = good_graph(sender.pk)
    graph["nodes"].append({"key": "Bad Key!", "kind": "exit"})
    graph["nodes"].append({"key": "done", "kind": "exit"})
    graph["nodes"].append({"key": "odd", "kind": "teleport"})
    found = fields_of(validate(graph, {}, project=world.acme))
    assert ("", "nodes[7].key") in found
    assert ("done", "key") in found
    assert ("odd", "kind") in found


def test_a_dangling_port_and_an_unknown_port_are_reported(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["delay"]["next"] = {"next": "nowhere", "sideways": "done"}
    problems = validate(graph, {}, project=world.acme)
    assert ("delay", "next.next") in fields_of(problems)
    assert ("delay", "next.sideways") in fields_of(problems)
    assert any("nowhere" in p.message for p in problems)


def test_an_unreachable_node_is_reported(world, sender):
    graph = good_graph(sender.pk)
    graph["nodes"].append({"key": "lost", "kind": "exit", "config": {}, "next": {}})
    assert fields_of(validate(graph, {}, project=world.acme)) == {("lost", "")}


def test_a_cycle_is_reported_on_its_nodes(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["send"]["next"]["not_sent"] = "delay"
    found = fields_of(validate(graph, {}, project=world.acme))
    assert ("delay", "next") in found
    assert ("send", "next") in found


def test_exactly_one_trigger(world, sender):
    graph = good_graph(sender.pk)
    second = copy.deepcopy(graph["nodes"][0])
    second["key"] = "start2"
    graph["nodes"].append(second)
    assert ("", "nodes") in fields_of(validate(graph, {}, project=world.acme))
    graph["nodes"] = graph["nodes"][1:-1]
    assert ("", "nodes") in fields_of(validate(graph, {}, project=world.acme))


def test_ab_percentages_must_sum_to_100(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["ab"]["config"]["variants"][1]["percent"] = 40
    problems = validate(graph, {}, project=world.acme)
    assert [p for p in problems if (p.node, p.field) == ("ab", "config.variants")]
    assert "90" in problems[0].message


def test_a_send_node_needs_an_approved_sender_of_the_project(world, sender):
    graph = good_graph(sender.pk)
    sender.status = SenderNumber.Status.PENDING
    sender.save()
    problems = validate(graph, {}, project=world.acme)
    assert fields_of(problems) == {("send", "config.sender_number_id")}
    assert "approved" in problems[0].message
    # Another project's approved sender is not this project's.
    other = SenderNumber.objects.create(
        project=world.bolt,
        number="+8215889999",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Bolt",
        status=SenderNumber.Status.APPROVED,
    )
    node_map(graph)["send"]["config"]["sender_number_id"] = other.pk
    assert ("send", "config.sender_number_id") in fields_of(validate(graph, {}, project=world.acme))


def test_a_send_body_that_does_not_compile_is_reported_with_its_line(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["send"]["config"]["body"] = "Hi {{ name "
    problems = validate(graph, {}, project=world.acme)
    assert fields_of(problems) == {("send", "config.body")}
    assert "Liquid" in problems[0].message and "line 1" in problems[0].message


def test_a_promotional_send_needs_the_080_number(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["send"]["config"]["is_promotional"] = True
    assert ("send", "config.is_promotional") in fields_of(validate(graph, {}, project=world.acme))
    OptOutNumber.objects.create(number="+82801234567", project=world.acme)
    assert validate(graph, {}, project=world.acme) == []


def test_delay_and_wait_bounds(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["delay"]["config"]["seconds"] = 5
    node_map(graph)["wait"]["config"]["timeout_seconds"] = "soon"
    found = fields_of(validate(graph, {}, project=world.acme))
    assert found == {("delay", "config.seconds"), ("wait", "config.timeout_seconds")}


def test_event_where_shapes_are_checked_with_paths(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["wait"]["config"]["where"] = [
        {"field": "amount", "op": "gt", "value": "ten"},
        {"field": "a__b", "op": "between", "value": 1},
    ]
    node_map(graph)["start"]["config"]["where"] = "amount > 10"
    found = fields_of(validate(graph, {}, project=world.acme))
    assert ("wait", "config.where[0].value") in found
    assert ("wait", "config.where[1].field") in found
    assert ("wait", "config.where[1].op") in found
    assert ("start", "config.where") in found


def test_split_segment_definitions_are_checked_with_the_path_prefixed(world, sender):
    graph = good_graph(sender.pk)
    node_map(graph)["split"]["config"]["branches"] = [
        {"segment": {"match": "all", "conditions": [{"kind": "tag", "key": "plan", "op": "zz"}]}},
        {},
    ]
    node_map(graph)["split"]["next"] = {"b0": "send", "b1": "send", "else": "delay"}
    found = fields_of(validate(graph, {}, project=world.acme))
    assert ("split", "config.branches[0].segment.conditions[0].op") in found
    assert ("split", "config.branches[1]") in found


def test_the_trigger_segment_must_be_the_projects(world, sender):
    graph = good_graph(sender.pk)
    theirs = Segment.objects.create(
        project=world.bolt, name="Theirs", definition={"match": "all", "conditions": []}
    )
    node_map(graph)["start"]["config"] = {"type": "segment", "segment_id": theirs.pk}
    assert ("start", "config.segment_id") in fields_of(validate(graph, {}, project=world.acme))
    node_map(graph)["start"]["config"] = {"type": "schedule", "cron": "every day"}
    assert ("start", "config.cron") in fields_of(validate(graph, {}, project=world.acme))


def test_settings_are_checked(world, sender):
    settings = {
        "reentry": {"mode": "sometimes"},
        "quiet_hours": {"start": "21:00", "end": "25:00", "mode": "hold"},
        "exit_events": [{"event": ""}],
        "late_tolerance_seconds": -1,
        "colour": "blue",
    }
    found = fields_of(validate(good_graph(sender.pk), settings, project=world.acme))
    assert found == {
        ("", "settings.reentry.mode"),
        ("", "settings.quiet_hours.end"),
        ("", "settings.exit_events[0].event"),
        ("", "settings.late_tolerance_seconds"),
        ("", "settings.colour"),
    }
    settings = {"reentry": {"mode": "cooldown", "cooldown_seconds": 10}}
    found = fields_of(validate(good_graph(sender.pk), settings, project=world.acme))
    assert found == {("", "settings.reentry.cooldown_seconds")}
    settings = {"reentry": {"mode": "keyed", "key_field": "cartId"}, "quiet_hours": None}
    assert validate(good_graph(sender.pk), settings, project=world.acme) == []

"""Event data conditions edited as rows (issue 13): the trigger's and the
wait-for-event's `where`, like a split branch's entry-event data, are rows
of a data field, an operator and a value. The stored JSON is the one of
docs/journeys.md: a node drawn as rows and saved untouched is unchanged."""

from __future__ import annotations

import copy
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation

from journeys.actions import do_create_journey, do_save_draft
from journeys.forms import NODE_FORMS, SettingsForm
from journeys.graph import node_map
from journeys.models import Journey
from tests.support.world import PASSWORD

WHERE_SHAPES = [
    [],
    [{"field": "total", "op": "gt", "value": 50000}],
    [
        {"field": "order.total", "op": "lt", "value": 12.5},
        {"field": "cart_id", "op": "eq", "value": "c-1"},
        {"field": "code", "op": "eq", "value": "80"},
        {"field": "vip", "op": "neq", "value": True},
        {"field": "note", "op": "eq", "value": "true"},
        {"field": "name", "op": "eq", "value": " padded "},
        {"field": "plan", "op": "eq", "value": '"gold"'},
    ],
    # Operators the builder does not offer, as an API client may have saved
    # them, keep their shape (the validator names them).
    [{"field": "coupon", "op": "is_set"}, {"field": "total", "op": "gte", "value": 0}],
]


def _graph(trigger_where: list, wait_where: list) -> dict:
    return {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "label": "",
                "config": {
                    "type": "event",
                    "event": "cart_abandoned",
                    "where": trigger_where,
                    "segment_id": None,
                },
                "next": {"next": "wait"},
            },
            {
                "key": "wait",
                "kind": "wait_event",
                "label": "",
                "config": {
                    "event": "purchase",
                    "where": wait_where,
                    "match_field": "cartId",
                    "timeout_seconds": 86400,
                },
                "next": {"event": "end", "timeout": "end"},
            },
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }


@pytest.fixture
def journey(world) -> Journey:
    journey = do_create_journey(world.acme, "Cart", world.carol)
    do_save_draft(journey, _graph([], []), {}, world.carol)
    return journey


@pytest.fixture
def carol(client, world):
    client.login(username=world.carol.email, password=PASSWORD)
    return client


def _graph_of(journey: Journey) -> dict:
    return Journey.objects.get(pk=journey.pk).versions.get().graph


def _node_url(journey: Journey, key: str) -> str:
    return reverse("journey_node", args=[journey.project_id, journey.pk, key])


class _FormData(HTMLParser):
    """What a browser posts for the form #node-form as drawn: inputs (checked
    boxes only), each select's selected option (else its first), textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.inside = False
        self.select: str | None = None
        self.first: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "node-form"
        if not self.inside or (tag not in ("option",) and not a.get("name")):
            return
        if tag == "input" and a.get("type") not in ("submit", "checkbox"):
            self.data[a["name"]] = a.get("value") or ""
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.data[a["name"]] = a.get("value") or "on"
        elif tag == "select":
            self.select, self.first = a["name"], None
        elif tag == "option" and self.select:
            if self.first is None:
                self.first = a.get("value", "")
                self.data.setdefault(self.select, self.first)
            if "selected" in a:
                self.data[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.data[self.textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            # Django writes a newline after <textarea> that browsers drop.
            self.data[self.textarea] += data.removeprefix("\n")


def _drawn_form(client, journey: Journey, key: str) -> dict[str, str]:
    html = client.get(_node_url(journey, key)).content.decode()
    parser = _FormData()
    parser.feed(html)
    return parser.data


@pytest.mark.parametrize("where", WHERE_SHAPES)
def test_trigger_and_wait_event_conditions_saved_from_their_rows_are_unchanged(
    carol, world, journey, where
):
    graph = _graph(where, copy.deepcopy(list(reversed(where))))
    do_save_draft(journey, graph, {}, world.carol)
    for key in ("start", "wait"):
        posted = _drawn_form(carol, journey, key)
        assert posted["where-conditions"] == str(len(node_map(graph)[key]["config"]["where"]))
        response = carol.post(_node_url(journey, key), posted, HTTP_HX_REQUEST="true")
        assert 'id="node-saved"' in response.content.decode(), response.content.decode()
    assert _graph_of(journey) == graph


def test_a_split_branchs_entry_data_saved_from_its_rows_is_unchanged(carol, world, journey):
    graph = _graph([], [])
    graph["nodes"][1]["next"]["timeout"] = "split"
    graph["nodes"].insert(
        2,
        {
            "key": "split",
            "kind": "split",
            "label": "",
            "config": {
                "branches": [
                    {"label": "a", "entry_data": WHERE_SHAPES[2]},
                    {"label": "b", "entry_data": WHERE_SHAPES[3]},
                ]
            },
            "next": {"b0": "end", "b1": None, "else": "end"},
        },
    )
    do_save_draft(journey, graph, {}, world.carol)
    response = carol.post(
        _node_url(journey, "split"), _drawn_form(carol, journey, "split"), HTTP_HX_REQUEST="true"
    )
    assert 'id="node-saved"' in response.content.decode()
    assert _graph_of(journey) == graph


def test_the_trigger_shows_its_conditions_as_labelled_rows_not_json(carol, world, journey):
    do_save_draft(journey, _graph(WHERE_SHAPES[1], []), {}, world.carol)
    html = carol.get(_node_url(journey, "start")).content.decode()
    assert "Event data conditions (JSON)" not in html and 'name="where"' not in html
    row = html.split('data-path="config.where[0]"')[1].split("</div>")[0]
    assert 'role="group" aria-label="Condition 1"' in row
    for name in ("field", "op", "value"):
        assert f'<label class="visually-hidden" for="id_where-c0-{name}">' in row
    assert 'name="where-c0-field" value="total"' in row
    assert '<option value="gt" selected>is greater than</option>' in row
    assert 'name="where-c0-value" value="50000"' in row
    assert 'value="remove_condition:0"' in row
    # The wait-for-event node without conditions says so and offers a row.
    wait = carol.get(_node_url(journey, "wait")).content.decode()
    assert 'name="where-conditions" value="0"' in wait
    assert "No condition on the event&#x27;s data" in wait
    assert 'name="op" value="add_condition"' in wait


def test_condition_rows_are_added_and_removed_over_htmx_without_saving(carol, world, journey):
    do_save_draft(journey, _graph(WHERE_SHAPES[1], []), {}, world.carol)
    before = _graph_of(journey)
    url = _node_url(journey, "start")
    posted = _drawn_form(carol, journey, "start")
    posted["event"] = "cart_changed"  # typed, not saved yet: kept in the redrawn panel
    added = carol.post(url, {**posted, "op": "add_condition"}, HTTP_HX_REQUEST="true")
    html = added.content.decode()
    assert 'id="node-unsaved"' in html and 'id="node-saved"' not in html
    assert 'name="where-conditions" value="2"' in html
    assert 'name="where-c0-field" value="total"' in html and 'name="where-c1-field"' in html
    assert 'name="event" value="cart_changed"' in html
    assert _graph_of(journey) == before

    two = {
        **posted,
        "where-conditions": "2",
        "where-c1-field": "cart_id",
        "where-c1-op": "eq",
        "where-c1-value": "c-9",
    }
    removed = carol.post(url, {**two, "op": "remove_condition:0"}, HTTP_HX_REQUEST="true")
    html = removed.content.decode()
    assert 'name="where-conditions" value="1"' in html
    assert 'name="where-c0-field" value="cart_id"' in html
    assert 'name="where-c1-field"' not in html
    assert _graph_of(journey) == before
    # Saved, the remaining row is the condition.
    saved = carol.post(url, {**two, "where-c0-field": "", "where-c0-value": ""})
    assert saved.status_code == 302
    assert node_map(_graph_of(journey))["start"]["config"]["where"] == [
        {"field": "cart_id", "op": "eq", "value": "c-9"}
    ]


@pytest.mark.parametrize(
    ("language", "field_message", "value_message"),
    [
        ("en", "Condition 2: field is required", "Condition 1: value is required"),
        ("ko", "조건 2: 필드를 입력하세요", "조건 1: 값을 입력하세요"),
    ],
)
def test_a_half_filled_row_is_an_error_naming_the_row_and_its_field(
    carol, world, journey, language, field_message, value_message
):
    posted = _drawn_form(carol, journey, "wait")
    posted.update(
        {
            "where-conditions": "3",
            "where-c0-field": "total",
            "where-c0-op": "gt",
            "where-c0-value": "",
            "where-c1-field": "",
            "where-c1-op": "eq",
            "where-c1-value": "c-1",
            "where-c2-field": "",
            "where-c2-op": "eq",
            "where-c2-value": "",
        }
    )
    before = _graph_of(journey)
    with translation.override(language):
        html = carol.post(
            _node_url(journey, "wait"),
            posted,
            HTTP_HX_REQUEST="true",
            HTTP_ACCEPT_LANGUAGE=language,
        ).content.decode()
    assert 'id="node-saved"' not in html
    assert value_message in html.split('data-path="config.where[0]"')[1].split("</div>")[0]
    assert field_message in html.split('data-path="config.where[1]"')[1].split("</div>")[0]
    assert _graph_of(journey) == before


def test_a_viewer_sees_the_condition_rows_disabled_without_their_buttons(client, world, journey):
    do_save_draft(journey, _graph(WHERE_SHAPES[1], WHERE_SHAPES[1]), {}, world.carol)
    client.login(username=world.dave.email, password=PASSWORD)
    for key in ("start", "wait"):
        html = client.get(_node_url(journey, key)).content.decode()
        assert 'name="where-c0-field" value="total"' in html
        assert " disabled" in html.split('name="where-c0-field"')[1].split(">")[0]
        assert 'name="op"' not in html


def test_the_validators_problem_is_shown_beside_its_condition_row(carol, world, journey):
    where = [{"field": "total", "op": "gt", "value": "many"}]
    do_save_draft(journey, _graph(where, []), {}, world.carol)
    html = carol.get(_node_url(journey, "start")).content.decode()
    row = html.split('data-path="config.where[0]"')[1].split("</div>")[0]
    assert '<p class="problem" data-field="config.where[0].value">' in row
    assert 'id="node-problems"' not in html


def test_the_settings_exit_events_saved_from_the_form_are_unchanged(carol, world, journey):
    # Exit events have no data conditions: an event and, optionally, the
    # field that must equal the entry event's (docs/journeys.md).
    settings = {
        "exit_events": [{"event": "purchase", "match_field": "cartId"}, {"event": "unsubscribe"}],
        "reentry": {"mode": "after_end"},
        "frequency_cap": None,
        "quiet_hours": None,
        "late_tolerance_seconds": 3600,
        "conversion_goal": None,
    }
    do_save_draft(journey, _graph([], []), settings, world.carol)
    form = SettingsForm.from_settings(settings)
    posted = {name: form[name].value() for name in form.fields}
    posted = {name: "" if value is None else value for name, value in posted.items()}
    response = carol.post(reverse("journey_settings", args=[world.acme.id, journey.pk]), posted)
    assert response.status_code == 302
    assert Journey.objects.get(pk=journey.pk).versions.get().settings == settings


def test_trigger_and_wait_event_forms_read_and_write_the_documented_where(world):
    # Without the page: the form bound to its own initial rows gives the same config.
    for kind, config in (
        ("trigger", _graph(WHERE_SHAPES[2], [])["nodes"][0]["config"]),
        ("wait_event", _graph([], WHERE_SHAPES[3])["nodes"][1]["config"]),
    ):
        node = {"key": "n", "kind": kind, "config": config, "next": {}}
        form = NODE_FORMS[kind](node=node, others=[], project=world.acme)
        data = {name: form[name].value() for name in form.fields}
        data = {name: "" if value is None else value for name, value in data.items()}
        bound = NODE_FORMS[kind](data, node=node, others=[], project=world.acme)
        assert bound.is_valid(), bound.errors
        assert bound.updated_node()["config"] == config

"""/v1/projects/{projectId}/journeys: create, get, list; the draft, its
validation with node and field paths, publish with migration choices;
activate / pause / resume / stop with 409 naming the status; statistics per
node and version; a dry run; a user's runs with their steps."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from audiences.models import Customer, Segment
from journeys.models import Journey, NodeCounter, Run, SegmentMember, Step
from projects.models import AuditLog
from tests.test_api_auth import assert_error
from tests.test_send_api_support import *  # noqa: F403 (the fixtures)
from tests.test_send_api_support import Api

GRAPH = {
    "nodes": [
        {
            "key": "start",
            "kind": "trigger",
            "config": {"type": "event", "event": "cart_abandoned", "where": []},
            "next": {"next": "wait"},
        },
        {"key": "wait", "kind": "delay", "config": {"seconds": 3600}, "next": {"next": "end"}},
        {"key": "end", "kind": "exit", "config": {}, "next": {}},
    ]
}


def put(api: Api, path: str, body: object):
    return Client().put(
        api.base + path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def created(api: Api, **body) -> dict:
    response = api.post("/journeys", {"name": "Cart reminder", "graph": GRAPH} | body)
    assert response.status_code == 201, response.content
    return response.json()


def live(api: Api, **activate) -> dict:
    journey = created(api)
    assert api.post(f"/journeys/{journey['id']}/publish").status_code == 200
    response = api.post(f"/journeys/{journey['id']}/activate", activate)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_journey_is_created_as_a_draft_and_listed_and_fetched(api: Api, other_api: Api):
    journey = created(api)
    assert journey["status"] == "draft"
    assert (journey["liveVersion"], journey["draftVersion"]) == (None, 1)
    assert journey["trigger"]["event"] == "cart_abandoned"
    assert journey["allowedActions"] == ["activate", "stop"]
    assert api.get(f"/journeys/{journey['id']}").json() == journey
    listed = api.get("/journeys").json()
    assert [item["id"] for item in listed["results"]] == [journey["id"]]
    assert api.get("/journeys?status=active").json()["results"] == []
    assert_error(api.get("/journeys?status=nope"), 400, "validation_failed")
    assert_error(other_api.get(f"/journeys/{journey['id']}"), 404, "not_found")
    assert AuditLog.objects.filter(action="journey.created").count() == 1


def test_validation_names_the_node_and_field_of_each_problem(api: Api):
    journey = created(api)
    broken = json.loads(json.dumps(GRAPH))
    broken["nodes"][1]["config"]["seconds"] = 5
    response = put(api, f"/journeys/{journey['id']}/draft", {"graph": broken})
    assert response.status_code == 200, response.content
    assert response.json()["graph"] == broken
    result = api.post(f"/journeys/{journey['id']}/draft/validate").json()
    assert result["valid"] is False
    assert {(p["node"], p["field"]) for p in result["problems"]} >= {("wait", "config.seconds")}

    refused = api.post(f"/journeys/{journey['id']}/publish")
    assert_error(refused, 422, "journey_invalid")
    problems = refused.json()["error"]["details"]["problems"]
    assert ("wait", "config.seconds") in {(p["node"], p["field"]) for p in problems}

    put(api, f"/journeys/{journey['id']}/draft", {"graph": GRAPH})
    assert api.post(f"/journeys/{journey['id']}/draft/validate").json() == {
        "valid": True,
        "problems": [],
    }


def test_publish_then_a_new_draft_then_publish_with_a_migration_choice(api: Api):
    journey = created(api)
    first = api.post(f"/journeys/{journey['id']}/publish")
    assert first.status_code == 200, first.content
    assert (first.json()["number"], first.json()["state"]) == (1, "published")
    shorter = json.loads(json.dumps(GRAPH))
    shorter["nodes"] = [shorter["nodes"][0], shorter["nodes"][2]]
    shorter["nodes"][0]["next"] = {"next": "end"}
    draft = put(api, f"/journeys/{journey['id']}/draft", {"graph": shorter}).json()
    assert (draft["number"], draft["state"]) == (2, "draft")

    wrong = api.post(f"/journeys/{journey['id']}/publish", {"choices": {"wait": "move:nowhere"}})
    assert_error(wrong, 422, "migration_choice_invalid")
    assert "wait" in wrong.json()["error"]["details"]["choices"]

    second = api.post(f"/journeys/{journey['id']}/publish", {"choices": {"wait": "exit"}})
    assert second.status_code == 200, second.content
    fetched = api.get(f"/journeys/{journey['id']}").json()
    assert (fetched["liveVersion"], fetched["draftVersion"]) == (2, None)
    versions = api.get(f"/journeys/{journey['id']}/versions").json()["results"]
    assert [(v["number"], v["state"]) for v in versions] == [(2, "published"), (1, "retired")]
    assert api.get(f"/journeys/{journey['id']}/versions/1").json()["graph"] == GRAPH
    assert_error(api.get(f"/journeys/{journey['id']}/versions/9"), 404, "not_found")


def test_status_moves_and_a_refused_one_answers_409_with_the_status(api: Api):
    journey = created(api)
    assert_error(api.post(f"/journeys/{journey['id']}/activate"), 422, "journey_problem")
    api.post(f"/journeys/{journey['id']}/publish")
    assert api.post(f"/journeys/{journey['id']}/activate").json()["status"] == "active"
    refused = api.post(f"/journeys/{journey['id']}/resume")
    assert_error(refused, 409, "status_conflict")
    assert refused.json()["error"]["details"] == {
        "status": "active",
        "allowedActions": ["pause", "stop"],
    }
    assert api.post(f"/journeys/{journey['id']}/pause").json()["status"] == "paused"
    assert api.post(f"/journeys/{journey['id']}/resume").json()["status"] == "active"
    stopped = api.post(f"/journeys/{journey['id']}/stop").json()
    assert (stopped["status"], stopped["allowedActions"]) == ("stopped", [])


@pytest.mark.parametrize("enter", [True, False])
def test_activating_a_segment_journey_can_enter_the_current_members(api: Api, enter: bool):
    for user_id in ("ann", "ben"):
        Customer.objects.create(project=api.project, user_id=user_id)
    segment = Segment.objects.create(
        project=api.project, name="All", definition={"match": "all", "conditions": []}
    )
    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"][0]["config"] = {"type": "segment", "segment_id": segment.pk}
    journey = created(api, graph=graph)
    api.post(f"/journeys/{journey['id']}/publish")
    response = api.post(f"/journeys/{journey['id']}/activate", {"enterCurrentMembers": enter})
    assert response.status_code == 200, response.content
    assert SegmentMember.objects.filter(journey_id=journey["id"]).count() == 2
    assert Run.objects.filter(journey_id=journey["id"]).count() == (2 if enter else 0)


def test_statistics_list_every_node_of_each_published_version(api: Api):
    journey = live(api)
    version = Journey.objects.get(pk=journey["id"]).live_version
    NodeCounter.objects.create(
        journey_id=journey["id"], version=version, node="wait", metric="entered", value=3
    )
    NodeCounter.objects.create(
        journey_id=journey["id"], version=version, node="wait", metric="waiting", value=2
    )
    stats = api.get(f"/journeys/{journey['id']}/statistics").json()
    assert stats["journeyId"] == journey["id"]
    [only] = stats["versions"]
    nodes = {item["node"]: item for item in only["nodes"]}
    assert set(nodes) == {"start", "wait", "end"}
    assert nodes["wait"] == {
        "node": "wait",
        "kind": "delay",
        "metrics": {"entered": 3, "waiting": 2},
    }
    assert nodes["end"]["metrics"] == {}


def test_a_dry_run_walks_the_draft_for_a_user(api: Api):
    Customer.objects.create(project=api.project, user_id="ann")
    journey = created(api)
    response = api.post(
        f"/journeys/{journey['id']}/dry-run",
        {"userId": "ann", "event": "cart_abandoned", "data": {"cartId": "c1"}},
    )
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["userId"], result["enters"]) == ("ann", True)
    assert [step["node"] for step in result["paths"][0]["steps"]][:2] == ["start", "wait"]
    other = api.post(f"/journeys/{journey['id']}/dry-run", {"userId": "ann", "event": "view"})
    assert other.json()["enters"] is False
    missing = api.post(f"/journeys/{journey['id']}/dry-run", {"userId": "nobody"})
    assert_error(missing, 404, "not_found")


def test_a_users_runs_come_with_their_steps(api: Api, other_api: Api):
    from journeys.runtime import do_enter_journey

    journey = live(api)
    ann = Customer.objects.create(project=api.project, user_id="ann")
    Customer.objects.create(project=api.project, user_id="ben")
    run = do_enter_journey(Journey.objects.get(pk=journey["id"]), ann, entry_key="manual")
    Step.objects.create(
        run=run, number=1, version=run.version, node="start", kind="trigger", port="next",
        at=run.started_at,
    )  # fmt: skip
    runs = api.get("/journey-runs?userId=ann").json()["results"]
    assert len(runs) == 1
    assert (runs[0]["journeyId"], runs[0]["userId"], runs[0]["entryKey"]) == (
        journey["id"],
        "ann",
        "manual",
    )
    assert [(s["number"], s["node"], s["port"]) for s in runs[0]["steps"]] == [(1, "start", "next")]
    assert api.get("/journey-runs?userId=ben").json()["results"] == []
    assert (
        api.get(f"/journey-runs?userId=ann&journeyId={journey['id'] + 1}").json()["results"] == []
    )
    assert_error(api.get("/journey-runs"), 400, "validation_failed")
    assert_error(other_api.get("/journey-runs?userId=ann"), 404, "not_found")

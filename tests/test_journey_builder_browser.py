"""The journey builder in headless Chromium: build a small journey, see a
validation error and fix it, dry-run it for a user and activate it, with
the browser console clean (no CSP refusal, no script error)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from audiences.models import Customer
from channels.models import SenderNumber
from journeys.graph import node_map
from journeys.models import Journey
from tests.support.browser import log_in
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def acme(world):
    SenderNumber.objects.create(
        project=world.acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=world.acme.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    Customer.objects.create(
        project=world.acme, user_id="kim", name="김철수", phone_number="+821011112222"
    )
    return world


def test_build_fix_dry_run_and_activate_a_journey(page, acme):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{acme.acme.id}/journeys/")
    page.fill("#journey-name", "Cart reminder")
    page.click("#new-journey")
    page.wait_for_selector("#journey-svg")
    journey = Journey.objects.get(project=acme.acme)

    # A new journey's trigger has no event yet: the problem names the node.
    problem = page.locator('#journey-problems li[data-node="start"][data-field="config.event"]')
    expect(problem).to_have_count(1)
    expect(page.locator('g.node.has-problem[data-node="start"]')).to_have_count(1)

    # Insert a send node on the edge from the trigger.
    page.click('a.insert[data-from="start"][data-port="next"]')
    page.wait_for_selector("#insert-form")
    page.select_option("#id_kind", "send")
    page.click("#insert-node")
    page.wait_for_selector('#node-panel[data-kind="send"]')
    send_key = page.locator("#node-panel").get_attribute("data-node")
    # Its empty body is another problem, listed and highlighted.
    expect(page.locator(f'#journey-problems li[data-node="{send_key}"]').first).to_be_visible()

    page.fill("#id_label", "Reminder")
    page.select_option("#id_sender_number_id", index=1)
    page.fill("#id_body", "{{ name }}님, 장바구니 {{ entry_event.data.cartId }}")
    # The compose screen's preview and byte count follow the typing.
    page.fill("#preview-entry-data", '{"cartId": "c-1"}')
    expect(page.locator("#preview-body")).to_have_text("김철수님, 장바구니 c-1")
    expect(page.locator("#preview-bytes")).to_be_visible()
    page.click("#node-save")
    page.wait_for_selector("#node-saved")
    expect(page.locator(f'#journey-problems li[data-node="{send_key}"]')).to_have_count(0)
    # The preview re-renders after the save, from the saved form.
    expect(page.locator("#preview-body")).to_have_text("김철수님, 장바구니 c-1")
    expect(page.locator('#journey-graph text.node-label:has-text("Reminder")')).to_have_count(1)

    # Fix the trigger.
    page.click('a.node-link[data-node="start"]')
    page.wait_for_selector('#node-panel[data-kind="trigger"]')
    page.fill("#id_event", "cart_abandoned")
    page.click("#node-save")
    page.wait_for_selector("#node-saved")
    expect(page.locator("#journey-valid")).to_be_visible()
    graph = journey.versions.get().graph
    assert node_map(graph)["start"]["next"] == {"next": send_key}
    assert node_map(graph)[send_key]["next"]["sent"] == "end"

    # Dry run for kim.
    page.click("#journey-dryrun-link")
    page.fill("#id_user_id", "kim")
    page.fill("#id_data", '{"cartId": "c-42"}')
    page.click("#dryrun-submit")
    result = page.locator("#dryrun-result")
    expect(result).to_contain_text("김철수님, 장바구니 c-42")
    expect(result.locator(f'li.dry-step[data-node="{send_key}"]')).to_have_attribute(
        "data-outcome", "sent"
    )

    # Publish and activate.
    page.goto(f"/p/{acme.acme.id}/journeys/{journey.pk}/publish/")
    page.click("#publish")
    page.wait_for_selector("#journey-activate")
    page.click("#journey-activate")
    expect(page.locator("#journey-status")).to_have_attribute("data-status", "active")
    journey.refresh_from_db()
    assert journey.status == Journey.Status.ACTIVE and journey.live_version.number == 1
    assert not errors, errors


def test_edit_a_live_journey_and_move_the_users_of_a_removed_node(page, acme):
    from datetime import UTC, datetime

    from journeys.actions import do_activate, do_create_journey, do_publish, do_save_draft
    from journeys.models import Run
    from journeys.versions import resume_migrations

    sender = SenderNumber.objects.get(project=acme.acme)
    journey = do_create_journey(acme.acme, "Welcome", acme.carol)
    graph = {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "config": {"type": "event", "event": "signup"},
                "next": {"next": "wait"},
            },
            {"key": "wait", "kind": "delay", "config": {"seconds": 86400}, "next": {"next": "hi"}},
            {
                "key": "hi",
                "kind": "send",
                "config": {"sender_number_id": sender.pk, "body": "안녕 {{ name }}"},
                "next": {"sent": "end"},
            },
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }
    do_save_draft(journey, graph, {}, acme.carol)
    do_publish(journey, acme.carol)
    do_activate(journey, acme.carol)
    journey.refresh_from_db()
    kim = Customer.objects.get(user_id="kim")
    run = Run.objects.create(
        project=acme.acme,
        journey=journey,
        version=journey.live_version,
        customer=kim,
        entry_key="e1",
        node="wait",
        step=1,
        started_at=datetime.now(UTC),
        due_at=datetime.now(UTC),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{acme.acme.id}/journeys/{journey.pk}/")
    page.click("#journey-edit")
    page.wait_for_selector("#journey-publish-link")
    # Remove the delay that kim waits in.
    page.click('a.node-link[data-node="wait"]')
    page.wait_for_selector('#node-panel[data-node="wait"]')
    page.click("#node-delete")
    page.wait_for_selector("#journey-valid")
    expect(page.locator('g.node[data-node="wait"]')).to_have_count(0)
    page.click("#journey-publish-link")
    removed = page.locator('#diff-removed li[data-node="wait"]')
    expect(removed).to_contain_text("1 user waiting here")
    page.select_option("#choice-wait", "move:hi")
    page.click("#publish")
    page.wait_for_selector("#migration-status")
    resume_migrations()
    page.reload()
    expect(page.locator("#migration-status")).to_have_attribute("data-finished", "true")
    expect(page.locator("#migration-status")).to_have_attribute("data-moved", "1")
    run.refresh_from_db()
    # Moved onto "hi" of version 2 (the finished move wakes the runner, so
    # the run may already have taken its step there).
    assert run.version.number == 2
    assert run.node == "hi" or run.steps.filter(version__number=2, node="hi").exists()


def test_split_branches_and_ab_variants_are_edited_as_forms(page, acme):
    from journeys.actions import do_create_journey, do_save_draft

    journey = do_create_journey(acme.acme, "Split", acme.carol)
    graph = {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "config": {"type": "event", "event": "cart_abandoned"},
                "next": {"next": "split"},
            },
            {
                "key": "split",
                "kind": "split",
                "config": {"branches": [{"label": "korea", "entry_data": []}]},
                "next": {"b0": "ab", "else": "end"},
            },
            {
                "key": "ab",
                "kind": "ab",
                "config": {"variants": [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]},
                "next": {"a": "end", "b": "end"},
            },
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }
    do_save_draft(journey, graph, {}, acme.carol)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{acme.acme.id}/journeys/{journey.pk}/?node=split")
    # The branch needs a condition: the problem is beside it, with its path.
    branch = page.locator('li.split-branch[data-branch="0"]')
    expect(branch.locator('p.problem[data-field="config.branches[0]"]')).to_have_count(1)
    # The segment editor's builder, mounted on the branch.
    builder = branch.locator(".branch-segment-builder[data-mounted=true]")
    builder.locator(".segment-add-condition").click()
    builder.locator(".segment-value").fill("KR")
    # A second branch (drawn again unsaved, the first one's segment kept),
    # with a condition on the entry event's data, moved to the top.
    page.click("#branch-add")
    page.wait_for_selector("#node-unsaved")
    expect(
        page.locator('li.split-branch[data-branch="1"] .branch-segment-builder[data-mounted=true]')
    ).to_have_count(1)
    page.fill("#id_b1-label", "small cart")
    page.fill("#id_b1-c0-field", "total")
    page.select_option("#id_b1-c0-op", "lt")
    page.fill("#id_b1-c0-value", "10000")
    page.select_option("#id_b1-next", "end")
    page.click('button[name=op][value="up:1"]')
    expect(page.locator("#id_b0-label")).to_have_value("small cart")
    page.click("#node-save")
    page.wait_for_selector("#node-saved")
    expect(page.locator('#journey-problems li[data-node="split"]')).to_have_count(0)
    split = node_map(journey.versions.get().graph)["split"]
    assert split["config"]["branches"] == [
        {"label": "small cart", "entry_data": [{"field": "total", "op": "lt", "value": 10000}]},
        {
            "label": "korea",
            "segment": {
                "match": "all",
                "conditions": [
                    {"kind": "attribute", "field": "country", "op": "eq", "value": "KR"}
                ],
            },
        },
    ]
    assert split["next"] == {"b0": "end", "b1": "ab", "else": "end"}

    # The A/B split: the total follows the typing; 90 is a problem on save.
    page.click('a.node-link[data-node="ab"]')
    page.wait_for_selector('#node-panel[data-kind="ab"]')
    page.fill("#id_v1-percent", "40")
    expect(page.locator("#ab-total")).to_have_text("90%")
    page.click("#node-save")
    page.wait_for_selector("#node-saved")
    expect(page.locator('#node-edit p.problem[data-field="config.variants"]')).to_contain_text(
        "add up to 90"
    )
    page.click("#variant-add")
    page.wait_for_selector("#node-unsaved")
    page.fill("#id_v2-percent", "10")
    expect(page.locator("#ab-total")).to_have_text("100%")
    # Enter in a field saves the node (it does not press a row's button).
    page.press("#id_v2-percent", "Enter")
    page.wait_for_selector("#node-saved")
    expect(page.locator('#node-edit p.problem[data-field="config.variants"]')).to_have_count(0)
    ab = node_map(journey.versions.get().graph)["ab"]
    assert ab["config"]["variants"] == [
        {"key": "a", "percent": 50},
        {"key": "b", "percent": 40},
        {"key": "c", "percent": 10},
    ]
    # The new variant's port is open until it is wired.
    expect(page.locator('g.edge.open[data-from="ab"][data-port="c"]')).to_have_count(1)
    assert not errors, errors


def test_a_trigger_condition_is_added_as_a_row_saved_and_shown_again(page, acme):
    from pathlib import Path

    overflow_js = (Path(__file__).parent / "support" / "overflow.js").read_text()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    from journeys.actions import do_create_journey

    journey = do_create_journey(acme.acme, "Big carts", acme.carol)
    # A phone's width: the rows fit without scrolling sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{acme.acme.id}/journeys/{journey.pk}/?node=start")
    page.wait_for_selector('#node-panel[data-kind="trigger"]')
    page.fill("#id_event", "cart_abandoned")
    # A row is added over htmx, unsaved, keeping what was typed; its inputs are labelled.
    page.click('button[name=op][value="add_condition"]')
    page.wait_for_selector("#node-unsaved")
    expect(page.locator("#id_event")).to_have_value("cart_abandoned")
    row = page.get_by_role("group", name="Condition 1")
    row.get_by_label("Data field").fill("order.total")
    row.get_by_label("Operator").select_option("gt")
    # Keyboard only: from the value, Enter saves the node.
    row.get_by_label("Value").fill("50000")
    assert not page.evaluate(overflow_js.split("\n", 1)[1])
    page.press("#id_where-c0-value", "Enter")
    page.wait_for_selector("#node-saved")
    assert node_map(journey.versions.get().graph)["start"]["config"]["where"] == [
        {"field": "order.total", "op": "gt", "value": 50000}
    ]
    page.reload()
    page.wait_for_selector('#node-panel[data-kind="trigger"]')
    row = page.get_by_role("group", name="Condition 1")
    expect(row.get_by_label("Data field")).to_have_value("order.total")
    expect(row.get_by_label("Operator")).to_have_value("gt")
    expect(row.get_by_label("Value")).to_have_value("50000")
    # Removed with its own button, the row is gone once saved.
    page.get_by_role("button", name="Remove condition 1").click()
    page.wait_for_selector("#node-unsaved")
    expect(page.get_by_role("group", name="Condition 1")).to_have_count(0)
    page.click("#node-save")
    page.wait_for_selector("#node-saved")
    assert node_map(journey.versions.get().graph)["start"]["config"]["where"] == []
    assert not errors, errors

"""Console screens for journeys: the list, the builder (the graph as SVG, a
side panel per node saved over htmx, nodes inserted on edges, the settings,
the validation problems), publish with the migration choices, the status
buttons, and the dry run. Every write goes through journeys.actions."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from audiences.models import Customer
from audiences.queries import customer_by_user_id
from audiences.segment_views import builder_config
from campaigns.compose import Preview, Recipient
from campaigns.rendering import Renderer, contexts_of_customers
from campaigns.test_sends import do_send_test_sms
from console.lib import liquid
from console.lib.sms import TITLE_MAX_BYTES, cp949_length, unencodable
from dispatch.models import Message
from journeys import actions, versions
from journeys.dryrun import dry_run
from journeys.forms import NODE_FORMS, DryRunForm, InsertForm, SettingsForm, default_config
from journeys.graph import edges, kind_labels, node_map, ports_of, problems_by_node, validate
from journeys.models import Journey, JourneyVersion, NodeCounter, VersionMigration
from journeys.sending import node_figures
from journeys.svg import render_counters, render_svg
from projects.access import load_membership, project_view
from projects.models import Project, Role


def _journey(project: Project, journey_id: int) -> Journey:
    return get_object_or_404(
        Journey.objects.select_related("project", "live_version"), project=project, pk=journey_id
    )


def _editable(request: HttpRequest, project: Project, journey_id: int) -> Journey:
    load_membership(request, project.id, Role.MARKETER)
    return _journey(project, journey_id)


def _builder_url(journey: Journey, **query: str) -> str:
    url = reverse("journey_builder", args=[journey.project_id, journey.pk])
    params = "&".join(f"{k}={v}" for k, v in query.items() if v)
    return f"{url}?{params}" if params else url


def _counters(version: JourneyVersion | None) -> dict[str, dict[str, int]]:
    if version is None:
        return {}
    found: dict[str, dict[str, int]] = {}
    for node, metric, value in NodeCounter.objects.filter(version=version).values_list(
        "node", "metric", "value"
    ):
        found.setdefault(node, {})[metric] = value
    for (_version, node), figures in node_figures([version.pk]).items():
        found.setdefault(node, {}).update(figures)  # a send node's sent, clicks…
    return found


# --- the list ------------------------------------------------------------------


@project_view()
def journey_list(request: HttpRequest, project: Project) -> HttpResponse:
    journeys = Journey.objects.filter(project=project).select_related("live_version")
    return render(
        request,
        "journeys/journey_list.html",
        {
            "project": project,
            "journeys": journeys.order_by("-created_at"),
            "can_edit": request.membership.can(Role.MARKETER),
        },
    )


@project_view(Role.MARKETER)
@require_POST
def journey_new(request: HttpRequest, project: Project) -> HttpResponse:
    name = request.POST.get("name", "").strip() or _("New journey")
    journey = actions.do_create_journey(project, name, request.user)
    return redirect("journey_builder", project_id=project.id, journey_id=journey.pk)


# --- the builder ---------------------------------------------------------------


def _shown_version(journey: Journey) -> JourneyVersion | None:
    return actions.draft_of(journey) or journey.live_version


def _graph_context(
    request: HttpRequest, journey: Journey, version: JourneyVersion | None, selected: str = ""
) -> dict[str, Any]:
    can_edit = request.membership.can(Role.MARKETER)
    graph = version.graph if version else {"nodes": []}
    is_draft = version is not None and version.state == JourneyVersion.State.DRAFT
    problems = (
        validate(version.graph, version.settings, project=journey.project) if is_draft else []
    )
    grouped = problems_by_node(problems)
    editing = can_edit and is_draft

    def node_url(key: str) -> str:
        return _builder_url(journey, node=key)

    def insert_url(key: str, port: str) -> str:
        return _builder_url(journey, insert=f"{key}:{port}")

    def panel_url(key: str) -> str:
        return reverse("journey_node", args=[journey.project_id, journey.pk, key])

    svg = render_svg(
        graph,
        node_url=node_url,
        panel_url=panel_url,
        insert_url=insert_url if editing else None,
        # The counters are drawn over the graph by _counts_context.
        problems={key for key in grouped if key},
        selected=selected,
    )
    return {
        "project": journey.project,
        "journey": journey,
        "version": version,
        "is_draft": is_draft,
        "can_edit": can_edit,
        "editing": editing,
        "svg": mark_safe(svg),  # render_svg escapes every text it writes
        "problems": problems,
        "kind_labels": kind_labels(),
        "allowed": [a.value for a in actions.allowed_actions(journey.status)],
        "segment_builder_config": builder_config(),
        **_counts_context(journey, version),
    }


def _counts_context(journey: Journey, version: JourneyVersion | None) -> dict[str, Any]:
    """The live version's counters drawn over the shown graph, the latest
    migration, and the URL that redraws both while users can move (a live or
    paused journey, a migration under way)."""
    migration = _migration_status(journey)
    moving = journey.status in (Journey.Status.ACTIVE, Journey.Status.PAUSED) or (
        migration is not None and not migration["finished"]
    )
    graph = version.graph if version else {"nodes": []}
    return {
        # render_counters escapes every text it writes.
        "counts_svg": mark_safe(render_counters(graph, _counters(journey.live_version))),
        "counts_url": (
            reverse("journey_counts", args=[journey.project_id, journey.pk]) if moving else ""
        ),
        "migration": migration,
    }


def _migration_status(journey: Journey) -> dict[str, Any] | None:
    """The latest move of runs between versions, while it runs and after."""
    migration = (
        VersionMigration.objects.filter(journey=journey)
        .select_related("from_version", "to_version")
        .order_by("-pk")
        .first()
    )
    if migration is None:
        return None
    return {
        "from": migration.from_version.number,
        "to": migration.to_version.number,
        "moved": migration.moved,
        "exited": migration.exited,
        "finished": migration.finished_at is not None,
        "remaining": 0 if migration.finished_at else versions.remaining(migration),
    }


@project_view()
def journey_builder(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    journey = _journey(project, journey_id)
    version = _shown_version(journey)
    selected = request.GET.get("node", "")
    context = _graph_context(request, journey, version, selected)
    panel = ""
    if version is not None and selected in node_map(version.graph):
        context.update(_node_panel(request, journey, version, selected))
        panel = "node"
    elif context["editing"] and request.GET.get("insert"):
        source, _sep, port = request.GET["insert"].partition(":")
        context.update(insert_form=InsertForm(), insert_from=source, insert_port=port)
        panel = "insert"
    elif request.GET.get("panel") == "settings" and version is not None:
        context.update(settings_form=SettingsForm.from_settings(version.settings))
        panel = "settings"
    context["panel"] = panel
    return render(request, "journeys/builder.html", context)


def _node_panel(
    request: HttpRequest,
    journey: Journey,
    version: JourneyVersion,
    key: str,
    form: Any = None,
) -> dict[str, Any]:
    node = node_map(version.graph)[key]
    form_class = NODE_FORMS.get(node.get("kind"))
    others = [k for k in node_map(version.graph) if k != key]
    if form is None and form_class is not None:
        form = form_class(node=node, others=others, project=journey.project)
    if form is not None and not (
        request.membership.can(Role.MARKETER) and version.state == JourneyVersion.State.DRAFT
    ):
        for field in form.fields.values():
            field.disabled = True
    node_problems = (
        [
            p
            for p in validate(version.graph, version.settings, project=journey.project)
            if p.node == key
        ]
        if version.state == JourneyVersion.State.DRAFT
        else []
    )
    if form is not None and hasattr(form, "show_problems"):
        # Split branches, A/B variants and data conditions show their problems beside them.
        node_problems = form.show_problems(node_problems)
    return {
        "node": node,
        "node_key": key,
        "node_kind_label": kind_labels().get(node.get("kind"), node.get("kind")),
        "form": form,
        "node_problems": node_problems,
    }


@project_view()
def journey_graph(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    """The graph alone, with its counters."""
    journey = _journey(project, journey_id)
    version = _shown_version(journey)
    context = _graph_context(request, journey, version, request.GET.get("node", ""))
    return render(request, "journeys/_graph.html", context)


@project_view()
def journey_counts(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    """The counters over the graph and the migration's progress, polled
    every 2 s while users move and the tab is visible (static/js/journeys.js)."""
    journey = _journey(project, journey_id)
    context = _counts_context(journey, _shown_version(journey))
    return render(request, "journeys/_counts.html", {**context, "oob": True})


@project_view(Role.MARKETER)
@require_POST
def journey_edit(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    journey = _journey(project, journey_id)
    try:
        actions.do_open_draft(journey, request.user)
    except actions.JourneyProblem as exc:
        messages.error(request, str(exc))
    return redirect(_builder_url(journey))


def _draft(journey: Journey) -> JourneyVersion:
    draft = actions.draft_of(journey)
    if draft is None:
        raise Http404
    return draft


@project_view()
def journey_node(request: HttpRequest, project: Project, journey_id: int, key: str) -> HttpResponse:
    """GET: the node's side panel. POST (marketers): save the node's form
    into the draft, answering with the panel and the redrawn graph."""
    journey = _journey(project, journey_id)
    if request.method != "POST":
        version = _shown_version(journey)
        if version is None or key not in node_map(version.graph):
            raise Http404
        context = _graph_context(request, journey, version, key)
        context.update(_node_panel(request, journey, version, key))
        # Over htmx the graph is redrawn with this node selected.
        context["oob"] = bool(request.htmx)
        return render(request, "journeys/_node_panel.html", context)
    journey = _editable(request, project, journey_id)
    draft = _draft(journey)
    graph = copy.deepcopy(draft.graph)
    nodes = node_map(graph)
    if key not in nodes:
        raise Http404
    node = nodes[key]
    form_class = NODE_FORMS[node.get("kind")]
    others = [k for k in nodes if k != key]
    form = form_class(request.POST, node=node, others=others, project=project)
    saved = False
    op = request.POST.get("op", "")
    data = form.rearranged(op) if op and hasattr(form, "rearranged") else None
    if data is not None:
        rows = form_class(data, node=node, others=others, project=project)
        return _rearranged_panel(request, journey, draft, key, rows)
    if form.is_valid():
        updated = form.updated_node()
        graph["nodes"] = [updated if n.get("key") == key else n for n in graph["nodes"]]
        draft = actions.do_save_draft(journey, graph, None, request.user)
        form = None
        saved = True
    if not request.htmx:
        if saved:
            messages.success(request, _("Saved."))
        return redirect(_builder_url(journey, node=key))
    context = _graph_context(request, journey, draft, key)
    context.update(_node_panel(request, journey, draft, key, form))
    context.update(saved=saved, oob=True)
    response = render(request, "journeys/_node_edit.html", context)
    if saved:
        response["HX-Trigger"] = "node-saved"
    return response


def _rearranged_panel(
    request: HttpRequest, journey: Journey, draft: JourneyVersion, key: str, form: Any
) -> HttpResponse:
    """After a row button (add, remove, move a branch or variant): the panel
    again with the rows rearranged, not saved until the marketer saves."""
    context = _graph_context(request, journey, draft, key)
    context.update(_node_panel(request, journey, draft, key, form))
    # The saved draft's problems would point at rows that have moved.
    form.problems = []
    context.update(node_problems=[], rearranged=True, oob=bool(request.htmx), panel="node")
    template = "journeys/_node_edit.html" if request.htmx else "journeys/builder.html"
    return render(request, template, context)


@project_view(Role.MARKETER)
@require_POST
def journey_node_delete(
    request: HttpRequest, project: Project, journey_id: int, key: str
) -> HttpResponse:
    """Remove a node; what led into it now leads where it led (its first
    connected port), so removing a step does not cut the journey."""
    journey = _journey(project, journey_id)
    draft = _draft(journey)
    graph = copy.deepcopy(draft.graph)
    nodes = node_map(graph)
    node = nodes.get(key)
    if node is None or node.get("kind") == "trigger":
        raise Http404
    onward = edges(node)
    follow = onward[0][1] if onward else None
    for other in graph["nodes"]:
        nexts = other.get("next") if isinstance(other, dict) else None
        if isinstance(nexts, dict):
            for port, target in list(nexts.items()):
                if target == key:
                    nexts[port] = follow
    graph["nodes"] = [n for n in graph["nodes"] if n.get("key") != key]
    actions.do_save_draft(journey, graph, None, request.user)
    url = _builder_url(journey)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def new_key(kind: str, taken: set[str]) -> str:
    """A fresh key with a random suffix: never a removed node's key again."""
    while True:
        key = f"{kind.replace('_', '-')}-{secrets.token_hex(3)}"
        if key not in taken:
            return key


@project_view(Role.MARKETER)
@require_POST
def journey_insert(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    """Insert a node of the chosen kind on the edge (from, port): the edge
    now leads to the new node, and the new node's first port to where the
    edge led."""
    journey = _journey(project, journey_id)
    draft = _draft(journey)
    form = InsertForm(request.POST)
    graph = copy.deepcopy(draft.graph)
    nodes = node_map(graph)
    source = nodes.get(request.POST.get("from", ""))
    port = request.POST.get("port", "")
    if not form.is_valid() or source is None or port not in ports_of(source):
        messages.error(request, _("Choose a kind of node and an edge to insert it on."))
        return redirect(_builder_url(journey))
    kind = form.cleaned_data["kind"]
    key = new_key(kind, set(nodes))
    node: dict[str, Any] = {"key": key, "kind": kind, "label": "", "config": default_config(kind)}
    old_target = (source.get("next") or {}).get(port)
    new_ports = ports_of(node)
    node["next"] = {new_ports[0]: old_target} if new_ports and old_target else {}
    source.setdefault("next", {})[port] = key
    graph["nodes"].append(node)
    actions.do_save_draft(journey, graph, None, request.user)
    url = _builder_url(journey, node=key)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@project_view(Role.MARKETER)
@require_POST
def journey_settings(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    journey = _journey(project, journey_id)
    draft = _draft(journey)
    form = SettingsForm(request.POST)
    if form.is_valid():
        actions.do_save_draft(journey, None, form.settings(draft.settings), request.user)
        messages.success(request, _("Settings saved."))
        return redirect(_builder_url(journey, panel="settings"))
    context = _graph_context(request, journey, draft)
    context.update(settings_form=form, panel="settings")
    return render(request, "journeys/builder.html", context)


# --- the send node's preview and test send -------------------------------------


def _preview_customer(project: Project, query: str) -> Customer | None:
    query = (query or "").strip()
    if query:
        return customer_by_user_id(project, query)
    return Customer.objects.filter(project=project).exclude(phone_number="").order_by("id").first()


def send_preview(
    project: Project,
    *,
    body: str,
    title: str,
    is_promotional: bool,
    customer: Customer | None,
    entry_data: dict[str, Any],
) -> Preview:
    """The compose screen's preview for a send node: the same Renderer, with
    the user's data and `entry_event.data`."""
    preview = Preview(title_bytes=cp949_length(title))
    preview.title_too_long = preview.title_bytes > TITLE_MAX_BYTES
    context: dict[str, Any] = {"entry_event": {"data": entry_data}}
    if customer is not None:
        context.update(contexts_of_customers([customer])[customer.pk])
        preview.recipient = Recipient(
            f"{customer.user_id} ({customer.phone_number})", customer.phone_number, context
        )
    else:
        preview.recipient_problem = _("No user to preview with; the message uses empty values.")
    try:
        renderer = Renderer.for_parts(project, body, is_promotional=is_promotional)
    except liquid.TemplateProblem as problem:
        preview.problem = problem
        preview.unencodable = unencodable(body)
        return preview
    rendered = renderer.render(context)
    if rendered.status != Message.Status.QUEUED:
        preview.error = rendered.error
        return preview
    preview.body, preview.bytes, preview.kind = rendered.body, rendered.bytes, rendered.kind
    preview.unencodable = unencodable(rendered.body)
    return preview


def _entry_data(text: str) -> dict[str, Any]:
    import json

    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@project_view()
@require_POST
def journey_preview(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    post = request.POST
    preview = send_preview(
        project,
        body=post.get("body", ""),
        title=post.get("title", ""),
        is_promotional=bool(post.get("is_promotional")),
        customer=_preview_customer(project, post.get("recipient", "")),
        entry_data=_entry_data(post.get("entry_data", "")),
    )
    return render(request, "campaigns/_preview.html", {"project": project, "preview": preview})


@project_view(Role.MARKETER)
@require_POST
def journey_test_send(
    request: HttpRequest, project: Project, journey_id: int, key: str
) -> HttpResponse:
    """Send the node's saved message, rendered for the preview user, to one number."""
    journey = _journey(project, journey_id)
    version = _shown_version(journey)
    node = node_map(version.graph).get(key) if version else None
    if node is None or node.get("kind") != "send":
        raise Http404
    config = node.get("config") or {}
    preview = send_preview(
        project,
        body=config.get("body", ""),
        title=config.get("title", ""),
        is_promotional=bool(config.get("is_promotional")),
        customer=_preview_customer(project, request.POST.get("recipient", "")),
        entry_data=_entry_data(request.POST.get("entry_data", "")),
    )
    if preview.problem or preview.error or not preview.body:
        text = str(preview.problem or preview.error or _("Write the message."))
        return HttpResponse(format_html('<p class="problem" id="test-send-result">{}</p>', text))
    try:
        do_send_test_sms(
            project,
            request.user,
            sender_number=config.get("sender_number_id"),
            to=request.POST.get("to", ""),
            body=preview.body,
            title=config.get("title", ""),
        )
    except ValidationError as exc:  # by field, with the reason
        reasons = getattr(exc, "message_dict", None) or {"": [str(exc)]}
        text = " ".join(" ".join(v) for v in reasons.values())
        return HttpResponse(format_html('<p class="problem" id="test-send-result">{}</p>', text))
    return HttpResponse(
        format_html('<p class="ok" id="test-send-result">{}</p>', _("The test message is queued."))
    )


# --- publish and status --------------------------------------------------------


@project_view(Role.MARKETER)
def journey_publish(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    """GET: what changed and the choices. POST: publish with the choices."""
    journey = _journey(project, journey_id)
    draft = _draft(journey)
    diff = versions.diff_versions(journey.live_version, draft)
    problems = validate(draft.graph, draft.settings, project=project)
    errors: dict[str, str] = {}
    if request.method == "POST":
        choices = {
            name[len("choice_") :]: value
            for name, value in request.POST.items()
            if name.startswith("choice_") and value
        }
        try:
            actions.do_publish(journey, request.user, choices if journey.live_version else None)
        except versions.MigrationChoiceInvalid as exc:
            errors = exc.problems
        except actions.JourneyProblem as exc:
            messages.error(request, str(exc))
            return redirect(_builder_url(journey))
        else:
            messages.success(request, _("Version %(n)d is published.") % {"n": draft.number})
            return redirect(_builder_url(journey))
    new_nodes = [
        k for k in node_map(draft.graph) if node_map(draft.graph)[k].get("kind") != "trigger"
    ]
    return render(
        request,
        "journeys/publish.html",
        {
            "project": project,
            "journey": journey,
            "draft": draft,
            "diff": diff,
            "problems": problems,
            "errors": errors,
            "changed": [
                {
                    "key": key,
                    "waiting": diff.waiting.get(key, 0),
                    "is_delay": key in diff.changed_delays,
                    "error": errors.get(key, ""),
                }
                for key in diff.changed
            ],
            "removed": [
                {"key": key, "waiting": diff.waiting.get(key, 0), "error": errors.get(key, "")}
                for key in diff.removed
            ],
            "move_targets": new_nodes,
            "live": journey.live_version,
        },
    )


@project_view(Role.MARKETER)
@require_POST
def journey_status(
    request: HttpRequest, project: Project, journey_id: int, action: str
) -> HttpResponse:
    journey = _journey(project, journey_id)
    moves = {
        "activate": lambda: actions.do_activate(
            journey,
            request.user,
            enter_current_members=bool(request.POST.get("enter_current_members")),
        ),
        "pause": lambda: actions.do_pause(journey, request.user),
        "resume": lambda: actions.do_resume(journey, request.user),
        "stop": lambda: actions.do_stop(journey, request.user),
    }
    if action not in moves:
        raise Http404
    try:
        moves[action]()
    except actions.JourneyProblem as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The journey is %(status)s.") % {"status": journey.get_status_display()}
        )
    url = _builder_url(journey)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- the dry run ---------------------------------------------------------------


@project_view()
def journey_dryrun(request: HttpRequest, project: Project, journey_id: int) -> HttpResponse:
    journey = _journey(project, journey_id)
    version = _shown_version(journey)
    if version is None:
        raise Http404
    result = None
    form = DryRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        customer = customer_by_user_id(project, form.cleaned_data["user_id"].strip())
        if customer is None:
            form.add_error("user_id", _("No user with this ID in the project."))
        else:
            result = dry_run(
                version,
                customer,
                event=form.cleaned_data["event"].strip(),
                data=form.cleaned_data["data"],
            )
    elif request.method != "POST":
        from journeys.graph import trigger_of

        trigger = trigger_of(version.graph) or {}
        form = DryRunForm(initial={"event": (trigger.get("config") or {}).get("event", "")})
    return render(
        request,
        "journeys/dryrun.html",
        {
            "project": project,
            "journey": journey,
            "version": version,
            "form": form,
            "result": result,
            "kind_labels": kind_labels(),
        },
    )

"""Console screens for segments: the list, the builder (create, change,
rename), delete, and the live count with a preview of matching users."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audiences import segments
from audiences.models import Segment
from audiences.segment_actions import do_change_segment, do_create_segment, do_delete_segment
from audiences.segment_forms import EMPTY_DEFINITION, SegmentForm, parse_definition
from projects.access import load_membership, project_view
from projects.models import Project, Role

PREVIEW_SIZE = 10


@project_view()
def segment_list(request: HttpRequest, project: Project) -> HttpResponse:
    return render(
        request,
        "audiences/segment_list.html",
        {
            "project": project,
            "segments": Segment.objects.filter(project=project),
            "can_edit": request.membership.can(Role.MARKETER),
        },
    )


@project_view(Role.MARKETER)
def segment_new(request: HttpRequest, project: Project) -> HttpResponse:
    initial = {"definition": json.dumps(EMPTY_DEFINITION)}
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            segment = do_create_segment(
                project, request.user, form.cleaned_data["name"], form.cleaned_data["definition"]
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("Segment %(name)s is saved.") % {"name": segment.name})
            return redirect("segment_detail", project_id=project.id, segment_id=segment.pk)
    return _builder(request, project, form, segment=None)


@project_view()
def segment_detail(request: HttpRequest, project: Project, segment_id: int) -> HttpResponse:
    """The builder for a saved segment; viewers see it read-only."""
    segment = get_object_or_404(Segment, project=project, pk=segment_id)
    initial = {"name": segment.name, "definition": json.dumps(segment.definition)}
    if request.method != "POST":
        return _builder(request, project, SegmentForm(initial=initial), segment)
    load_membership(request, project.id, Role.MARKETER)  # 403 for viewers, with the reason
    form = SegmentForm(request.POST, initial=initial)
    if form.is_valid():
        try:
            do_change_segment(
                segment, request.user, form.cleaned_data["name"], form.cleaned_data["definition"]
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("Segment %(name)s is saved.") % {"name": segment.name})
            return redirect("segment_detail", project_id=project.id, segment_id=segment.pk)
    return _builder(request, project, form, segment)


@project_view(Role.MARKETER)
@require_POST
def segment_delete(request: HttpRequest, project: Project, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, project=project, pk=segment_id)
    do_delete_segment(segment, request.user)
    messages.success(request, _("Segment %(name)s is deleted.") % {"name": segment.name})
    return redirect("segments", project_id=project.id)


@project_view()
@require_POST
def segment_count(request: HttpRequest, project: Project) -> HttpResponse:
    """The live count and preview for the definition being edited (htmx).
    Read-only, so viewers may use it too."""
    try:
        definition = parse_definition(request.POST.get("definition", ""))
    except ValidationError as exc:
        return _count_partial(request, project, errors=exc.messages)
    return _count_partial(request, project, definition=definition)


@project_view()
def segment_saved_count(request: HttpRequest, project: Project, segment_id: int) -> HttpResponse:
    """A saved segment's count, loaded lazily into the list."""
    segment = get_object_or_404(Segment, project=project, pk=segment_id)
    try:
        total = segments.count(project, segment.definition)
    except segments.InvalidDefinition:
        return HttpResponse(_("invalid"))
    return HttpResponse(f"{total:,}")


def _count_partial(
    request: HttpRequest,
    project: Project,
    definition: object = None,
    errors: list[str] | None = None,
) -> HttpResponse:
    context: dict = {"project": project, "errors": errors or []}
    if not errors:
        try:
            matching = segments.segment_queryset(project, definition)
        except segments.InvalidDefinition as exc:
            context["errors"] = [str(error) for error in exc.errors]
        else:
            context["count"] = matching.count()
            context["preview"] = matching.order_by("-id")[:PREVIEW_SIZE]
    return render(request, "audiences/segment_count.html", context)


def _builder(
    request: HttpRequest,
    project: Project,
    form: SegmentForm,
    segment: Segment | None,
) -> HttpResponse:
    can_edit = request.membership.can(Role.MARKETER)
    status = 400 if form.errors else 200
    context = {
        "project": project,
        "form": form,
        "segment": segment,
        "can_edit": can_edit,
        "builder_config": builder_config(),
    }
    return render(request, "audiences/segment_builder.html", context, status=status)


def builder_config() -> dict:
    """What the builder's script offers, with translated labels."""
    op_labels = {
        "eq": _("is"),
        "neq": _("is not"),
        "contains": _("contains"),
        "starts_with": _("starts with"),
        "gt": _("is greater than"),
        "lt": _("is less than"),
        "before": _("is before"),
        "after": _("is after"),
        "within_days": _("is within the last N days"),
        "is_set": _("is set"),
        "is_not_set": _("is not set"),
    }
    field_labels = {
        "userId": _("User ID"),
        "phoneNumber": _("Phone number"),
        "name": _("Name"),
        "email": _("Email"),
        "dob": _("Date of birth"),
        "timeZone": _("Time zone"),
        "country": _("Country"),
        "language": _("Language"),
        "createdAt": _("Created"),
        "lastSeenAt": _("Last seen"),
    }
    return {
        "fields": [
            {"name": name, "label": field_labels[name], "type": kind}
            for name, (_column, kind) in segments.ATTRIBUTE_FIELDS.items()
        ],
        "attributeOps": segments.ATTRIBUTE_OPS,
        "tagOps": segments.TAG_OPS,
        "eventDataOps": segments.EVENT_DATA_OPS,
        "opLabels": op_labels,
        "labels": {
            "all": _("all of"),
            "any": _("any of"),
            "match": _("Users matching"),
            "addCondition": _("+ Condition"),
            "addGroup": _("+ Group"),
            "remove": _("Remove"),
            "kinds": {
                "attribute": _("User attribute"),
                "tag": _("Tag"),
                "event": _("Event"),
                "phone": _("Phone number"),
                "optout": _("SMS opt-out"),
                "consent": _("Consent"),
            },
            "tagKey": _("tag name"),
            "value": _("value"),
            "eventType": _("event name, e.g. purchase"),
            "performed": _("performed"),
            "notPerformed": _("not performed"),
            "atLeast": _("at least"),
            "times": _("time(s)"),
            "withinDays": _("in the last … days (empty: any time)"),
            "whereField": _("where data field (optional)"),
            "hasPhone": _("has a phone number"),
            "noPhone": _("has no phone number"),
            "optedOut": _("is on the opt-out list"),
            "notOptedOut": _("is not on the opt-out list"),
            "promotional": _("promotional messages"),
            "night": _("night-time messages"),
            "given": _("consent given"),
            "notGiven": _("consent not given"),
            "empty": _("No conditions: every user matches. Add a condition."),
        },
    }

"""/v1/projects/{projectId}/journeys…: journeys, their draft and versions,
validation, publish with the migration choices, activate / pause / resume /
stop, statistics per node and version, a dry run, and a user's runs.

Every write goes through journeys.actions (as in the console); a status
move the transition table refuses answers 409 with the journey's status and
what may be done to it now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.models import Customer
from console.api.errors import ApiError
from console.api.pagination import CursorPagination
from console.api.views import ProjectAPIView
from journeys import actions
from journeys.api.serializers import (
    ActivateSerializer,
    DraftWriteSerializer,
    DryRunRequestSerializer,
    DryRunSerializer,
    JourneyCreateSerializer,
    JourneySerializer,
    PublishSerializer,
    RunSerializer,
    StatisticsSerializer,
    ValidationResultSerializer,
    VersionSerializer,
)
from journeys.graph import Problem, node_map, validate
from journeys.models import Journey, JourneyVersion, NodeCounter, Run, Step
from journeys.sending import node_figures, revenue
from journeys.versions import MigrationChoiceInvalid

TAGS = ["journeys"]
_CONFLICT = OpenApiResponse(
    description="status_conflict: details.status is the journey's status, "
    "details.allowedActions what may be done to it now."
)
_PROBLEMS = OpenApiResponse(
    description="journey_invalid (details.problems: node, field, message for each), "
    "migration_choice_invalid (details.choices: node key → why) or journey_problem."
)


def _journeys(request: Request) -> QuerySet[Journey]:
    return (
        Journey.objects.filter(project=request.project)
        .select_related("live_version")
        .prefetch_related(
            # To an attribute of its own: a filtered `versions` cache would
            # leak into the actions' own queries through the related manager.
            Prefetch(
                "versions",
                queryset=JourneyVersion.objects.filter(state=JourneyVersion.State.DRAFT),
                to_attr="drafts",
            )
        )
    )


def _problems(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"node": p.node, "field": p.field, "message": p.message} for p in problems]


def _action_errors(call: Callable[[], Any]) -> Any:
    """Run an action; its refusals become API errors."""
    try:
        return call()
    except actions.JourneyInvalid as exc:
        raise ApiError(
            "journey_invalid", str(exc), {"problems": _problems(exc.problems)}, status_code=422
        ) from None
    except MigrationChoiceInvalid as exc:
        raise ApiError(
            "migration_choice_invalid", str(exc), {"choices": exc.problems}, status_code=422
        ) from None
    except actions.JourneyProblem as exc:
        raise ApiError("journey_problem", str(exc), None, status_code=422) from None


class JourneyListView(ProjectAPIView):
    @extend_schema(
        operation_id="listJourneys",
        summary="List the project's journeys, newest first",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(Journey.Status.values)),
        ],
        responses=JourneySerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, project_id: object) -> Response:
        journeys = _journeys(request)
        value = request.query_params.get("status")
        if value is not None:
            if value not in Journey.Status.values:
                choices = ", ".join(Journey.Status.values)
                raise ValidationError(
                    {"status": [_("Must be one of: %(choices)s.") % {"choices": choices}]}
                )
            journeys = journeys.filter(status=value)
        paginator = CursorPagination()
        page = paginator.paginate_queryset(journeys, request, view=self)
        return paginator.get_paginated_response(JourneySerializer(page, many=True).data)

    @extend_schema(
        operation_id="createJourney",
        summary="Create a draft journey (version 1 is its draft)",
        request=JourneyCreateSerializer,
        responses={201: JourneySerializer, 422: _PROBLEMS},
        tags=TAGS,
    )
    def post(self, request: Request, project_id: object) -> Response:
        incoming = JourneyCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data

        def create() -> Journey:
            journey = actions.do_create_journey(request.project, data["name"], request.auth)
            if "graph" in data or "settings" in data:
                actions.do_save_draft(
                    journey, data.get("graph"), data.get("settings"), request.auth
                )
            return journey

        journey = _action_errors(create)
        return Response(
            JourneySerializer(_journeys(request).get(pk=journey.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class JourneyView(ProjectAPIView):
    """Base of the views of one journey: another project's id is a 404."""

    def journey(self) -> Journey:
        return get_object_or_404(_journeys(self.request), pk=self.kwargs["journey_id"])

    def detail(self, journey: Journey) -> Response:
        return Response(JourneySerializer(_journeys(self.request).get(pk=journey.pk)).data)


class JourneyDetailView(JourneyView):
    @extend_schema(
        operation_id="getJourney",
        summary="One journey: status, live and draft version numbers, trigger",
        responses=JourneySerializer,
        tags=TAGS,
    )
    def get(self, request: Request, project_id: object, journey_id: int) -> Response:
        return Response(JourneySerializer(self.journey()).data)


class JourneyVersionListView(JourneyView):
    @extend_schema(
        operation_id="listJourneyVersions",
        summary="The journey's versions, newest first, with their graph and settings",
        responses=VersionSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, project_id: object, journey_id: int) -> Response:
        versions = JourneyVersion.objects.filter(journey=self.journey())
        paginator = CursorPagination()
        page = paginator.paginate_queryset(versions, request, view=self)
        return paginator.get_paginated_response(VersionSerializer(page, many=True).data)


class JourneyVersionView(JourneyView):
    @extend_schema(
        operation_id="getJourneyVersion",
        summary="One version of the journey by its number",
        responses=VersionSerializer,
        tags=TAGS,
    )
    def get(self, request: Request, project_id: object, journey_id: int, number: int) -> Response:
        version = get_object_or_404(
            JourneyVersion.objects.filter(journey=self.journey()), number=number
        )
        return Response(VersionSerializer(version).data)


class JourneyDraftView(JourneyView):
    @extend_schema(
        operation_id="getJourneyDraft",
        summary="The draft of the next version (404 when there is none)",
        responses=VersionSerializer,
        tags=TAGS,
    )
    def get(self, request: Request, project_id: object, journey_id: int) -> Response:
        draft = actions.draft_of(self.journey())
        if draft is None:
            raise ApiError("not_found", _("The journey has no draft."), None, status_code=404)
        return Response(VersionSerializer(draft).data)

    @extend_schema(
        operation_id="saveJourneyDraft",
        summary="Write the draft's graph and/or settings",
        description="Opens the draft of the next version (a copy of the live one, node keys "
        "kept) when there is none. A draft may have problems: they are in the answer's "
        "problems, and publish refuses it until they are fixed.",
        request=DraftWriteSerializer,
        responses={200: VersionSerializer, 422: _PROBLEMS},
        tags=TAGS,
    )
    def put(self, request: Request, project_id: object, journey_id: int) -> Response:
        journey = self.journey()
        incoming = DraftWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        draft = _action_errors(
            lambda: actions.do_save_draft(
                journey, data.get("graph"), data.get("settings"), request.auth
            )
        )
        return Response(VersionSerializer(draft).data)


class JourneyValidateView(JourneyView):
    @extend_schema(
        operation_id="validateJourneyDraft",
        summary="Validate the draft: every problem with its node and field",
        request=None,
        responses={200: ValidationResultSerializer},
        tags=TAGS,
    )
    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        journey = self.journey()
        draft = actions.draft_of(journey) or journey.live_version
        if draft is None:
            raise ApiError("not_found", _("The journey has no draft."), None, status_code=404)
        problems = validate(draft.graph, draft.settings, project=request.project)
        return Response({"valid": not problems, "problems": _problems(problems)})


class JourneyPublishView(JourneyView):
    @extend_schema(
        operation_id="publishJourney",
        summary="Publish the draft as the live version, moving runs as chosen",
        description="Runs waiting at a removed node finish on the old version, move to a "
        "node of the new one, or exit, per `choices`; waiting runs of a changed delay are "
        "re-timed or keep their timers. The runs move in batches in the background.",
        request=PublishSerializer,
        responses={200: VersionSerializer, 422: _PROBLEMS},
        tags=TAGS,
    )
    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        journey = self.journey()
        incoming = PublishSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        choices = incoming.validated_data.get("choices")
        version = _action_errors(lambda: actions.do_publish(journey, request.auth, choices))
        return Response(VersionSerializer(version).data)


class _StatusView(JourneyView):
    """POST /journeys/{id}/<verb>: a status move through journeys.actions."""

    move: Callable[..., bool]

    def change(self, journey: Journey, request: Request) -> None:
        type(self).move(journey, request.auth)

    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        journey = self.journey()
        try:
            self.change(journey, request)
        except actions.JourneyInvalid:
            raise
        except actions.JourneyProblem as exc:
            current = Journey.objects.filter(pk=journey.pk).values_list("status", flat=True)[0]
            if journey.live_version_id is None:
                raise ApiError("journey_problem", str(exc), None, status_code=422) from None
            allowed = [str(a) for a in actions.allowed_actions(current)]
            raise ApiError(
                "status_conflict",
                str(exc),
                {"status": current, "allowedActions": allowed},
                status_code=409,
            ) from None
        return self.detail(journey)


def _status_schema(operation_id: str, summary: str, request: Any = None) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=request,
        responses={200: JourneySerializer, 409: _CONFLICT, 422: _PROBLEMS},
        tags=TAGS,
    )


class JourneyActivateView(_StatusView):
    def change(self, journey: Journey, request: Request) -> None:
        incoming = ActivateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        actions.do_activate(
            journey,
            request.auth,
            enter_current_members=incoming.validated_data["enterCurrentMembers"],
        )

    @_status_schema(
        "activateJourney", "Activate a published journey (draft → active)", ActivateSerializer
    )
    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        return super().post(request, project_id, journey_id)


class JourneyPauseView(_StatusView):
    move = staticmethod(actions.do_pause)

    @_status_schema("pauseJourney", "Pause: no entries and no steps until resumed")
    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        return super().post(request, project_id, journey_id)


class JourneyResumeView(_StatusView):
    move = staticmethod(actions.do_resume)

    @_status_schema(
        "resumeJourney", "Resume; sends overdue by more than the late tolerance are skipped"
    )
    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        return super().post(request, project_id, journey_id)


class JourneyStopView(_StatusView):
    move = staticmethod(actions.do_stop)

    @_status_schema("stopJourney", "Stop for good: every run ends")
    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        return super().post(request, project_id, journey_id)


class JourneyStatisticsView(JourneyView):
    @extend_schema(
        operation_id="getJourneyStatistics",
        summary="Counters per node of each published version",
        responses=StatisticsSerializer,
        tags=TAGS,
    )
    def get(self, request: Request, project_id: object, journey_id: int) -> Response:
        journey = self.journey()
        counters: dict[int, dict[str, dict[str, int]]] = {}
        for version_id, node, metric, value in NodeCounter.objects.filter(
            journey=journey
        ).values_list("version_id", "node", "metric", "value"):
            counters.setdefault(version_id, {}).setdefault(node, {})[metric] = value
        versions = []
        published = JourneyVersion.objects.filter(journey=journey).exclude(
            state=JourneyVersion.State.DRAFT
        )
        published = list(published.order_by("-number"))
        for (version_id, key), figures in node_figures(v.pk for v in published).items():
            counters.setdefault(version_id, {}).setdefault(key, {}).update(figures)
        for version in published:
            found = counters.get(version.pk, {})
            nodes = []
            for key, node in node_map(version.graph).items():
                item = {"node": key, "kind": node.get("kind", ""), "metrics": found.pop(key, {})}
                if item["kind"] == "send":
                    item["revenue"] = revenue(item["metrics"])
                nodes.append(item)
            # Nodes counted on this version but no longer in its graph (none expected).
            nodes += [{"node": key, "kind": "", "metrics": m} for key, m in found.items()]
            versions.append({"number": version.number, "state": version.state, "nodes": nodes})
        return Response(StatisticsSerializer({"journeyId": journey.pk, "versions": versions}).data)


class JourneyDryRunView(JourneyView):
    @extend_schema(
        operation_id="dryRunJourney",
        summary="Walk the journey for a user and an entry event, sending nothing",
        description="The paths the user would take (a wait for an event forks two), each "
        "send node's rendered message and what the compliance rules would do with it.",
        request=DryRunRequestSerializer,
        responses={200: DryRunSerializer},
        tags=TAGS,
    )
    def post(self, request: Request, project_id: object, journey_id: int) -> Response:
        from journeys.dryrun import dry_run

        journey = self.journey()
        incoming = DryRunRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        versions = JourneyVersion.objects.filter(journey=journey)
        if "version" in data:
            version = get_object_or_404(versions, number=data["version"])
        else:
            version = actions.draft_of(journey) or journey.live_version
            if version is None:
                raise ApiError("not_found", _("The journey has no version."), None, 404)
        customer = get_object_or_404(
            Customer.objects.filter(project=request.project), user_id=data["userId"]
        )
        result = dry_run(version, customer, event=data["event"], data=data["data"])
        return Response(DryRunSerializer(result).data)


class JourneyRunListView(ProjectAPIView):
    @extend_schema(
        operation_id="listJourneyRuns",
        summary="A user's runs through journeys, newest first, with their steps",
        parameters=[
            OpenApiParameter("userId", OpenApiTypes.STR, required=True),
            OpenApiParameter("journeyId", OpenApiTypes.INT),
        ],
        responses=RunSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, project_id: object) -> Response:
        user_id = request.query_params.get("userId")
        if not user_id:
            raise ValidationError({"userId": [_("Give the user's userId.")]})
        customer = get_object_or_404(
            Customer.objects.filter(project=request.project), user_id=user_id
        )
        runs = (
            Run.objects.filter(project=request.project, customer=customer)
            .select_related("journey", "version", "customer")
            .prefetch_related(
                Prefetch(
                    "steps", queryset=Step.objects.select_related("version").order_by("number")
                )
            )
        )
        journey_id = request.query_params.get("journeyId")
        if journey_id is not None:
            if not journey_id.isascii() or not journey_id.isdigit():
                raise ValidationError({"journeyId": [_("Must be a whole number.")]})
            runs = runs.filter(journey_id=int(journey_id))
        paginator = CursorPagination()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(RunSerializer(page, many=True).data)

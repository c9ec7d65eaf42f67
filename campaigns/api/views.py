"""/v1/projects/{projectId}/sms (the Send API), /messages/{id} and /campaigns.

API tokens are project-wide (like every other endpoint): a token may do
what the project's API may do; console roles do not apply to tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.models import AudienceFile, Customer, Segment
from campaigns import actions
from campaigns.api.serializers import (
    CampaignDetailSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    MessageSerializer,
    ScheduleSerializer,
    SendResultSerializer,
    SendSmsSerializer,
    api_actions,
    send_result,
)
from campaigns.models import Campaign
from campaigns.queries import campaign_progress, message_of_project
from campaigns.rules import Action, allows
from campaigns.sends import SendRefused, do_send_sms
from channels.queries import SenderNotAllowed, default_sender
from console.api.errors import ApiError
from console.api.pagination import CursorPagination
from console.api.views import ProjectAPIView
from console.lib import liquid

S = Campaign.Status
_NOT_EDITABLE = gettext_lazy(
    "The campaign is %(status)s; only a draft or scheduled campaign can be changed."
)

_REFUSED = OpenApiResponse(
    description="sender_not_allowed (details.senderNumber), optout_number_missing or "
    "company_name_missing (details.isAdvertisement): nothing was written; or "
    "idempotency_key_reused."
)
_POST_CONFLICT = OpenApiResponse(
    description="status_conflict (details.status is the campaign's status, "
    "details.allowedActions what may be done to it now), or idempotency_key_in_progress."
)
_POST_UNPROCESSABLE = OpenApiResponse(
    description="campaign_problem or sender_not_allowed; or idempotency_key_reused."
)


def _refusal(exc: SendRefused) -> ApiError:
    if exc.code == "validation_failed":
        return ApiError(exc.code, _("Some fields are invalid."), exc.details, exc.status)
    return ApiError(exc.code, exc.message, exc.details, exc.status)


class SendSmsView(ProjectAPIView):
    @extend_schema(
        operation_id="sendSms",
        summary="Send an SMS to up to 100 users or phone numbers",
        description=(
            "The send becomes an API campaign: one message per distinct target is written "
            "before the answer, then dispatch applies the opt-out list, the night-time rule "
            "(advertisements wait until 08:00 in the recipient's zone), the frequency cap and "
            "the rate limits. Each target gets a result: `queued` (follow it with GET "
            "/messages/{id}), `skipped` (a message records why: no_consent, render_error) or "
            "`refused` (nothing written: unknown_user, no_phone_number, invalid_number, "
            "duplicate_target, duplicate_phone_number). For a phoneNumber target of an "
            "advertisement the caller vouches for the recipient's promotional consent; a "
            "userId target needs the user's own consent. A Liquid error answers 400 with "
            "details.body[0].line and .column."
        ),
        request=SendSmsSerializer,
        responses={202: SendResultSerializer, 422: _REFUSED},
        tags=["sending"],
    )
    def post(self, request: Request, project_id: str) -> Response:
        incoming = SendSmsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        try:
            outcome = do_send_sms(
                request.project,
                target_type=data["targetType"],
                target_ids=data["targetIds"],
                body=data["body"],
                title=data["title"],
                is_promotional=data["isAdvertisement"],
                sender_number=data.get("senderNumber"),
                campaign_name=data["campaignName"],
                data=data["data"],
                actor=request.auth,
            )
        except SendRefused as exc:
            raise _refusal(exc) from None
        return Response(send_result(outcome), status=status.HTTP_202_ACCEPTED)


class MessageDetailView(ProjectAPIView):
    @extend_schema(
        operation_id="getMessage",
        summary="One message: rendered body, kind, bytes, status and its history",
        description=(
            "history is derived from the message's own timestamps: queued (when its campaign "
            "started), held (night-time rule; heldUntil says until when), retrying (after a "
            "transient gateway error), sending, sent (with the provider's id), delivered / "
            "failed / skipped. `at` is null where the moment is not recorded."
        ),
        responses=MessageSerializer,
        tags=["sending"],
    )
    def get(self, request: Request, project_id: str, message_id: int) -> Response:
        message = message_of_project(request.project, message_id)
        if message is None:
            raise Http404
        user_id = None
        if message.customer_id is not None:
            user_id = (
                Customer.objects.filter(project=request.project, pk=message.customer_id)
                .values_list("user_id", flat=True)
                .first()
            )
        return Response(MessageSerializer(message, context={"user_id": user_id}).data)


# --- campaigns ---------------------------------------------------------------------


def _campaigns(request: Request):
    return Campaign.objects.filter(project=request.project).select_related("sender_number")


def _detail(campaign: Campaign) -> dict[str, Any]:
    return {**CampaignSerializer(campaign).data, "statistics": campaign_progress(campaign)}


def _audience(request: Request, given: dict[str, Any]) -> Segment | AudienceFile:
    if given.get("segmentId") is not None:
        found = Segment.objects.filter(project=request.project, pk=given["segmentId"]).first()
        if found is None:
            raise ValidationError(
                {"audience": {"segmentId": [_("No segment with this id in the project.")]}}
            )
        return found
    found = AudienceFile.objects.filter(project=request.project, pk=given["audienceFileId"]).first()
    if found is None:
        raise ValidationError(
            {"audience": {"audienceFileId": [_("No audience file with this id in the project.")]}}
        )
    return found


def _changes(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """API field names → action keyword arguments."""
    names = {
        "name": "name",
        "body": "body",
        "title": "title",
        "isAdvertisement": "is_promotional",
        "senderNumber": "sender_number",
        "frequencyCap": "frequency_cap",
        "fileConsentConfirmed": "file_consent_confirmed",
    }
    changes = {names[key]: value for key, value in data.items() if key in names}
    sender = changes.get("sender_number")
    if sender is not None and not sender.startswith("+"):
        # The actions also take a sender number's id; the API speaks numbers only.
        message = _("%(number)s is not a registered sender number of this project.") % {
            "number": sender
        }
        raise ApiError("sender_not_allowed", message, {"senderNumber": [message]}, 422)
    if "audience" in data:
        changes["audience"] = _audience(request, data["audience"])
    return changes


def _update(campaign: Campaign, actor: object, changes: dict[str, Any]) -> bool:
    """Edit through the compose action; False when the campaign has started.
    The API refuses a body that is not valid Liquid (the console saves it as
    a draft and blocks the start instead)."""
    if "body" in changes:
        liquid.compile_template(changes["body"])
    try:
        actions.do_update_campaign(campaign, actor, **changes)
    except actions.CampaignStarted:
        return False
    return True


def _action_errors(call: Any) -> Any:
    """Run an action; its refusals become API errors."""
    try:
        return call()
    except liquid.TemplateProblem as problem:
        details = {
            "body": [{"message": problem.message, "line": problem.line, "column": problem.column}]
        }
        raise ApiError("validation_failed", _("Some fields are invalid."), details) from None
    except SenderNotAllowed as exc:
        raise ApiError(
            "sender_not_allowed", str(exc), {"senderNumber": [str(exc)]}, status_code=422
        ) from None
    except actions.CampaignNotReady as exc:
        problems = [{"code": p.code, "message": p.message} for p in exc.problems]
        raise ApiError(
            "campaign_problem", str(exc), {"problems": problems}, status_code=422
        ) from None
    except actions.CampaignProblem as exc:
        raise ApiError("campaign_problem", str(exc), None, status_code=422) from None


def _conflict(campaign: Campaign, message: str) -> ApiError:
    """409 naming the campaign's current status and what may be done to it
    now (by the transition table); `message` has %(status)s."""
    current = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
    allowed = api_actions(current)
    text = str(message) % {"status": S(current).label}
    text += " " + (
        _("Allowed now: %(actions)s.") % {"actions": ", ".join(allowed)}
        if allowed
        else _("Nothing can be done to it any more.")
    )
    return ApiError(
        "status_conflict", text, {"status": current, "allowedActions": allowed}, status_code=409
    )


class CampaignListView(ProjectAPIView):
    @extend_schema(
        operation_id="listCampaigns",
        summary="List the project's campaigns, newest first",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=[s.value for s in S]),
            OpenApiParameter("source", OpenApiTypes.STR, enum=["console", "api"]),
        ],
        responses=CampaignSerializer(many=True),
        tags=["campaigns"],
    )
    def get(self, request: Request, project_id: str) -> Response:
        campaigns = _campaigns(request)
        for name, choices in (("status", S.values), ("source", Campaign.Source.values)):
            value = request.query_params.get(name)
            if value is None:
                continue
            if value not in choices:
                raise ValidationError(
                    {name: [_("Must be one of: %(choices)s.") % {"choices": ", ".join(choices)}]}
                )
            campaigns = campaigns.filter(**{name: value})
        paginator = CursorPagination()
        page = paginator.paginate_queryset(campaigns, request, view=self)
        return paginator.get_paginated_response(CampaignSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createCampaign",
        summary="Create a draft campaign for a segment or an audience file",
        request=CampaignWriteSerializer,
        responses={
            201: CampaignDetailSerializer,
            422: _POST_UNPROCESSABLE,
        },
        tags=["campaigns"],
    )
    def post(self, request: Request, project_id: str) -> Response:
        incoming = CampaignWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        changes = _changes(request, incoming.validated_data)
        # Without a body the campaign is a draft that lists it in `missing`.
        changes.setdefault("body", "")
        if "sender_number" not in changes:
            sender = default_sender(request.project)
            if sender is None:
                message = _("The project has no approved sender number.")
                raise ApiError(
                    "sender_not_allowed", message, {"senderNumber": [message]}, status_code=422
                )
            changes["sender_number"] = sender
        campaign = _action_errors(
            lambda: actions.do_create_campaign(request.project, actor=request.auth, **changes)
        )
        campaign = _campaigns(request).get(pk=campaign.pk)
        return Response(_detail(campaign), status=status.HTTP_201_CREATED)


class CampaignView(ProjectAPIView):
    """Base of the views of one campaign: `self.campaign()` is 404 for another
    project's id."""

    def campaign(self) -> Campaign:
        return get_object_or_404(
            _campaigns(self.request).select_related("project"), pk=self.kwargs["campaign_id"]
        )


class CampaignDetailView(CampaignView):
    @extend_schema(
        operation_id="getCampaign",
        summary="One campaign with its statistics",
        responses=CampaignDetailSerializer,
        tags=["campaigns"],
    )
    def get(self, request: Request, project_id: str, campaign_id: int) -> Response:
        return Response(_detail(self.campaign()))

    @extend_schema(
        operation_id="updateCampaign",
        summary="Change a draft or scheduled campaign",
        description="Any subset of the create fields. A campaign that has started answers "
        "409 with its status in details.status.",
        request=CampaignWriteSerializer,
        responses={
            200: CampaignDetailSerializer,
            409: OpenApiResponse(
                description="status_conflict: details.status is the status, "
                "details.allowedActions what may be done now"
            ),
            422: OpenApiResponse(description="sender_not_allowed or campaign_problem"),
        },
        tags=["campaigns"],
    )
    def patch(self, request: Request, project_id: str, campaign_id: int) -> Response:
        campaign = self.campaign()
        if not allows(campaign.status, Action.EDIT):
            raise _conflict(campaign, _NOT_EDITABLE)
        incoming = CampaignWriteSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        changes = _changes(request, incoming.validated_data)
        if changes and not _action_errors(lambda: _update(campaign, request.auth, changes)):
            raise _conflict(campaign, _NOT_EDITABLE)
        return Response(_detail(_campaigns(request).get(pk=campaign.pk)))


def _schedule_time(data: dict[str, Any], fallback_zone: str) -> tuple[datetime, str]:
    zone_name = data.get("timeZone") or ""
    zone = None
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                {"timeZone": [_("'%(zone)s' is not an IANA time zone.") % {"zone": zone_name}]}
            ) from None
    try:
        at = parse_datetime(data["at"])
    except ValueError:
        at = None
    if at is None:
        raise ValidationError({"at": [_("Not an ISO 8601 date-time.")]})
    if timezone.is_naive(at):
        if zone is None:
            raise ValidationError(
                {"at": [_("Give the time with an offset (+09:00), or give timeZone.")]}
            )
        at = at.replace(tzinfo=zone)
    try:
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows.
        at = at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError({"at": [_("Not an ISO 8601 date-time.")]}) from None
    return at, zone_name or fallback_zone


class _TransitionView(CampaignView):
    """POST /campaigns/{id}/<verb>: allowed when the transition table allows
    `action` from the campaign's status, else 409."""

    action: Action
    conflict = gettext_lazy("The campaign is %(status)s; it cannot change that way.")

    def transition(self, campaign: Campaign, request: Request) -> bool:
        raise NotImplementedError

    def post(self, request: Request, project_id: str, campaign_id: int) -> Response:
        campaign = self.campaign()
        if not allows(campaign.status, self.action):
            raise _conflict(campaign, self.conflict)
        if not _action_errors(lambda: self.transition(campaign, request)):
            raise _conflict(campaign, self.conflict)
        return Response(_detail(_campaigns(request).get(pk=campaign.pk)))


def _transition_schema(operation_id: str, summary: str, request: Any = None) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=request,
        responses={
            200: CampaignDetailSerializer,
            409: _POST_CONFLICT,
            422: _POST_UNPROCESSABLE,
        },
        tags=["campaigns"],
    )


class CampaignScheduleView(_TransitionView):
    action = Action.SCHEDULE
    conflict = gettext_lazy(
        "The campaign is %(status)s; only a draft or scheduled campaign can be scheduled."
    )

    def transition(self, campaign: Campaign, request: Request) -> bool:
        incoming = ScheduleSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        at, zone = _schedule_time(incoming.validated_data, campaign.time_zone)
        with transaction.atomic():
            if zone != campaign.time_zone and not _update(
                campaign, request.auth, {"time_zone": zone}
            ):
                return False
            return actions.do_schedule_campaign(campaign, at, request.auth)

    @_transition_schema(
        "scheduleCampaign", "Schedule a draft (or move a scheduled campaign)", ScheduleSerializer
    )
    def post(self, request: Request, project_id: str, campaign_id: int) -> Response:
        return super().post(request, project_id, campaign_id)


class CampaignSendView(_TransitionView):
    action = Action.START
    conflict = gettext_lazy(
        "The campaign is %(status)s; only a draft or scheduled campaign can be started."
    )

    def transition(self, campaign: Campaign, request: Request) -> bool:
        return actions.do_start_campaign(campaign, request.auth)

    @_transition_schema("sendCampaign", "Start a draft or scheduled campaign now")
    def post(self, request: Request, project_id: str, campaign_id: int) -> Response:
        return super().post(request, project_id, campaign_id)


class CampaignPauseView(_TransitionView):
    action = Action.PAUSE
    conflict = gettext_lazy("The campaign is %(status)s; only a sending campaign can be paused.")

    def transition(self, campaign: Campaign, request: Request) -> bool:
        return actions.do_pause_campaign(campaign, request.auth)

    @_transition_schema("pauseCampaign", "Pause a sending campaign")
    def post(self, request: Request, project_id: str, campaign_id: int) -> Response:
        return super().post(request, project_id, campaign_id)


class CampaignResumeView(_TransitionView):
    action = Action.RESUME
    conflict = gettext_lazy("The campaign is %(status)s; only a paused campaign can be resumed.")

    def transition(self, campaign: Campaign, request: Request) -> bool:
        return actions.do_resume_campaign(campaign, request.auth)

    @_transition_schema("resumeCampaign", "Resume a paused campaign")
    def post(self, request: Request, project_id: str, campaign_id: int) -> Response:
        return super().post(request, project_id, campaign_id)


class CampaignCancelView(_TransitionView):
    action = Action.CANCEL
    conflict = gettext_lazy("The campaign is %(status)s; it has ended and cannot be cancelled.")

    def transition(self, campaign: Campaign, request: Request) -> bool:
        return actions.do_cancel_campaign(campaign, request.auth)

    @_transition_schema("cancelCampaign", "Cancel a campaign before it ends")
    def post(self, request: Request, project_id: str, campaign_id: int) -> Response:
        return super().post(request, project_id, campaign_id)

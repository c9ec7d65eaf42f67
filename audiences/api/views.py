"""/v1/projects/{projectId}/track and /users/{userId}."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.actions import do_delete_customer, do_track
from audiences.api.serializers import (
    CustomerSerializer,
    TrackRequestSerializer,
    TrackResponseSerializer,
)
from audiences.models import Customer
from audiences.signals import customer_described, extra_fields
from audiences.track import TrackBodyError, parse_track
from console.api.errors import ApiError
from console.api.views import ProjectAPIView


class TrackView(ProjectAPIView):
    @extend_schema(
        operation_id="track",
        summary=gettext_lazy("Track events, tags and user attributes"),
        description=gettext_lazy(
            "Up to 100 items in each of events, tags and userAttributes. Attributes are "
            "applied first, then tags, then events; a userId or subjectId not seen before "
            "creates the user. Each invalid item is reported in errors by group, index "
            "and field, and the valid items of the same call are stored: the answer is 200 "
            "with accepted and rejected counts per group. It is 400 only when the body "
            "cannot be read, a group has more than 100 items, or no item at all is valid "
            "(then nothing is stored and details.errors lists every problem). Error codes: "
            "malformed_body, unknown_group, too_many_items, nothing_to_track, "
            "validation_failed."
        ),
        request=TrackRequestSerializer,
        responses={200: TrackResponseSerializer},
        tags=[gettext_lazy("Users")],
    )
    def post(self, request: Request, project_id: object) -> Response:
        try:
            batch = parse_track(request.data)
        except TrackBodyError as exc:
            raise ApiError(exc.code, exc.message, exc.details) from None
        errors = [error.as_dict() for error in batch.errors]
        if errors and not any(batch.accepted().values()):
            raise ApiError(
                "validation_failed",
                _("No item of the call is valid; nothing was stored."),
                {"errors": errors},
            )
        result = do_track(request.project, batch, actor=request.auth)
        return Response(
            {
                "accepted": batch.accepted(),
                "rejected": batch.rejected(),
                "createdUsers": result.created_users,
                "errors": errors,
            }
        )


class UserDetailView(ProjectAPIView):
    serializer_class = CustomerSerializer

    def get_queryset(self):
        return Customer.objects.filter(project=self.request.project).prefetch_related("tags")

    @extend_schema(
        operation_id="getUser",
        summary=gettext_lazy("Get a user"),
        description=gettext_lazy(
            "Attributes, tags, consents, and when the user was created and last seen; "
            "consentHistory lists every change of the user's promotional and night-time "
            "consent and of their number on the opt-out list, newest first: field "
            "(promotional, night, optout), old, new, consentAt, changedAt, source (track, "
            "console, 080, api, import, seed, migration) and by."
        ),
        responses={200: CustomerSerializer},
        tags=[gettext_lazy("Users")],
    )
    def get(self, request: Request, project_id: object, user_id: str) -> Response:
        customer = get_object_or_404(self.get_queryset(), user_id=user_id)
        data = dict(self.get_serializer(customer).data)
        for extra in extra_fields(
            customer_described, sender=Customer, project=request.project, customer=customer
        ):
            data.update(extra)
        return Response(data)

    @extend_schema(
        operation_id="deleteUser",
        summary=gettext_lazy("Delete a user"),
        description=gettext_lazy("Deletes the user with their tags and events."),
        responses={204: None},
        tags=[gettext_lazy("Users")],
    )
    def delete(self, request: Request, project_id: object, user_id: str) -> Response:
        customer = get_object_or_404(self.get_queryset(), user_id=user_id)
        do_delete_customer(request.project, customer, request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""A test-only URLconf: small project API views that run the real
ProjectAPIView machinery (auth, tenancy, rate limit, idempotency, errors)
with an effect the tests can count (audit-log rows)."""

from __future__ import annotations

import threading

from django.test import Client
from django.urls import include, path
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.views import ProjectAPIView
from projects.actions import record_audit
from projects.models import AuditLog

THING_CREATED = "test.thing_created"
# How many of the next POSTs to /things should crash before doing anything.
CRASHES = {"left": 0}
# What a request made from inside a running request got back.
INNER_RESPONSES: list = []


class ThingSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=20)
    size = serializers.IntegerField(min_value=1, required=False)


def things_created() -> int:
    return AuditLog.objects.filter(action=THING_CREATED).count()


class ThingView(ProjectAPIView):
    serializer_class = ThingSerializer

    def post(self, request: Request, project_id: object) -> Response:
        if CRASHES["left"]:
            CRASHES["left"] -= 1
            raise RuntimeError("the gateway fell over")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record_audit(request.project, request.auth, THING_CREATED, serializer.data["name"])
        return Response(
            {"name": serializer.data["name"], "count": things_created()},
            status=status.HTTP_201_CREATED,
        )


class SlowThingView(ProjectAPIView):
    """While it runs, the same request with the same key arrives again."""

    def post(self, request: Request, project_id: object) -> Response:
        INNER_RESPONSES.append(
            Client().post(
                request.path,
                data=request._request.body,
                content_type=request.content_type,
                HTTP_AUTHORIZATION=request.headers["Authorization"],
                HTTP_IDEMPOTENCY_KEY=request.headers["Idempotency-Key"],
            )
        )
        record_audit(request.project, request.auth, THING_CREATED, "slow")
        return Response({"count": things_created()}, status=status.HTTP_201_CREATED)


class AuditEntryView(ProjectAPIView):
    """Looks an object up by id: only the token's project's rows are found."""

    queryset = AuditLog.objects.all()
    lookup_url_kwarg = "entry_id"

    def get(self, request: Request, project_id: object, entry_id: int) -> Response:
        return Response({"action": self.get_object().action})


class WaitingThingView(ProjectAPIView):
    """Holds its claim until the test says go (for requests on two threads)."""

    started = threading.Event()
    go = threading.Event()

    def post(self, request: Request, project_id: object) -> Response:
        self.started.set()
        # Released by the test; the deadline only stops a failed test from hanging.
        self.go.wait(timeout=120)
        record_audit(request.project, request.auth, THING_CREATED, "waiting")
        return Response({"count": things_created()}, status=status.HTTP_201_CREATED)


# The same error views as the real URLconf.
handler400 = "console.api.errors.handler400"
handler403 = "console.api.errors.handler403"
handler404 = "console.api.errors.handler404"
handler500 = "console.api.errors.handler500"

urlpatterns = [
    path("v1/projects/<uuid:project_id>/audit/<int:entry_id>", AuditEntryView.as_view()),
    path("v1/projects/<uuid:project_id>/things", ThingView.as_view()),
    path("v1/projects/<uuid:project_id>/slow-things", SlowThingView.as_view()),
    path("v1/projects/<uuid:project_id>/waiting-things", WaitingThingView.as_view()),
    path("", include("console.urls")),
]

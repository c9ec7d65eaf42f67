"""Callbacks from gateways: delivery reports and calls to 080 numbers.

Each request is verified by its backend, normalised, and handed on. Unknown
message ids and unknown 080 numbers still get 200 so the provider does not
retry forever.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels.delivery import handle_delivery_reports
from channels.gateways import UnknownBackend, backend_class
from channels.gateways.base import GatewayBackend, InvalidCallback
from channels.models import OptOutNumber
from channels.signals import optout_call_received


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


def _verified_backend(request: HttpRequest, backend: str) -> GatewayBackend | JsonResponse:
    try:
        instance = backend_class(backend)()
    except UnknownBackend:
        return _error(
            404,
            "unknown_backend",
            gettext("No gateway backend is called %(name)r.") % {"name": backend},
        )
    if not instance.verify_callback(request):
        return _error(
            403,
            "invalid_signature",
            gettext("The webhook-signature header is missing, stale or does not match the body."),
        )
    return instance


@csrf_exempt
@require_POST
def delivery_reports(request: HttpRequest, backend: str) -> JsonResponse:
    instance = _verified_backend(request, backend)
    if isinstance(instance, JsonResponse):
        return instance
    try:
        reports = instance.parse_delivery_reports(request)
    except InvalidCallback as exc:
        return _error(400, "invalid_payload", str(exc))
    updated = handle_delivery_reports(reports)
    return JsonResponse({"received": len(reports), "updated": updated})


@csrf_exempt
@require_POST
def optout_call(request: HttpRequest, backend: str) -> JsonResponse:
    instance = _verified_backend(request, backend)
    if isinstance(instance, JsonResponse):
        return instance
    try:
        call = instance.parse_optout_call(request)
    except (InvalidCallback, NotImplementedError) as exc:
        return _error(400, "invalid_payload", str(exc))
    number = (
        OptOutNumber.objects.select_related("project")
        .filter(number=call.opt_out_number, project__isnull=False)
        .first()
    )
    if number is None:
        return JsonResponse({"ignored": True})
    optout_call_received.send(
        sender=instance.name,
        project=number.project,
        phone_number=call.phone_number,
        subscribed=call.subscribed,
        occurred_at=call.occurred_at or timezone.now(),
        source="080",
    )
    return JsonResponse({"accepted": True, "subscribed": call.subscribed})

"""/v1/projects/{projectId}/sms/webhook: register the opt-out webhook (PUT,
answers the signing secret) and read its URL (GET)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.errors import ApiError
from console.api.views import ProjectAPIView
from webhooks.actions import do_register_webhook
from webhooks.api.serializers import (
    WebhookRegistrationSerializer,
    WebhookSerializer,
    WebhookUrlSerializer,
)
from webhooks.queries import endpoint_of


class SmsWebhookView(ProjectAPIView):
    @extend_schema(
        operation_id="getSmsWebhook",
        summary="The registered opt-out webhook URL (without the secret)",
        description="404 with code webhook_not_registered until a URL is registered.",
        responses={200: WebhookUrlSerializer},
        tags=["opt-out list"],
    )
    def get(self, request: Request, project_id: str) -> Response:
        endpoint = endpoint_of(request.project)
        if endpoint is None:
            raise ApiError(
                "webhook_not_registered",
                _("No webhook is registered for this project."),
                status_code=status.HTTP_404_NOT_FOUND,
            )
        return Response({"url": endpoint.url})

    @extend_schema(
        operation_id="putSmsWebhook",
        summary="Register or change the opt-out webhook URL",
        description=(
            "Every addition to or removal from the 080 opt-out list is POSTed to this URL as "
            '{"requestId", "type": "ReportSMSUnsubscribed", "data": {"phoneNumber", '
            '"subscribed"}} with Standard Webhooks headers (webhook-id, webhook-timestamp, '
            "webhook-signature). The answer carries the signing secret; changing only the URL "
            "keeps the secret. Only http(s) URLs; redirects are never followed."
        ),
        request=WebhookRegistrationSerializer,
        responses={
            200: WebhookSerializer,
            400: OpenApiResponse(description="validation_failed, with details.url"),
        },
        tags=["opt-out list"],
    )
    def put(self, request: Request, project_id: str) -> Response:
        incoming = WebhookRegistrationSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            endpoint = do_register_webhook(
                request.project, incoming.validated_data["url"], request.auth
            )
        except DjangoValidationError as exc:
            raise ValidationError({"url": exc.messages}) from None
        return Response({"url": endpoint.url, "secret": endpoint.secret})

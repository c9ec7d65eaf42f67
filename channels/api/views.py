"""/v1/projects/{projectId}/sender-numbers: list, detail and registration."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from channels.actions import DOCUMENT_FIELDS, do_register_sender_number
from channels.api.serializers import SenderNumberRegistrationSerializer, SenderNumberSerializer
from channels.models import SenderNumber
from console.api.pagination import CursorPagination
from console.api.views import ProjectAPIView


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# Action field names → API field names.
_API_FIELDS = {
    "number": "number",
    "owner_type": "ownerType",
    "owner_name": "ownerName",
    "label": "label",
    NON_FIELD_ERRORS: "nonFieldErrors",
    **{field: camel(field) for field in DOCUMENT_FIELDS.values()},
}


def _senders(request: Request):
    return SenderNumber.objects.filter(project=request.project).prefetch_related("documents")


def _document() -> dict:
    return {"type": "string", "format": "binary"}


# The form as the action judges it (the serializer only parses types, so the
# console and the API refuse with the same words): what is always required,
# the owner types, an E.164 number. Which other documents are needed depends
# on ownerType and isCompanyNumber (see the description).
REGISTRATION_SCHEMA = {
    "type": "object",
    "properties": {
        "number": {"type": "string", "pattern": r"^\+[0-9]{6,15}$", "description": "E.164"},
        "ownerType": {"type": "string", "enum": [t.value for t in SenderNumber.OwnerType]},
        "ownerName": {"type": "string", "minLength": 1, "pattern": r"\S"},
        "isCompanyNumber": {"type": "boolean", "default": True},
        "label": {"type": "string"},
        "telecomCertificate": _document(),
        "businessRegistration": _document(),
        "employmentCertificate": _document(),
        "powerOfAttorney": _document(),
    },
    "required": ["number", "ownerType", "ownerName", "telecomCertificate"],
}


class SenderNumberListView(ProjectAPIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        operation_id="listSenderNumbers",
        summary="List the project's sender-number profiles",
        responses=SenderNumberSerializer(many=True),
        tags=["sender numbers"],
    )
    def get(self, request: Request, project_id: str) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(_senders(request), request, view=self)
        return paginator.get_paginated_response(SenderNumberSerializer(page, many=True).data)

    @extend_schema(
        operation_id="registerSenderNumber",
        summary="Register a sender number for review",
        description=(
            "Multipart form. Documents are PDF, PNG or JPEG (checked by content) up to the "
            "document size limit. telecomCertificate is always required; "
            "businessRegistration when ownerType is company; employmentCertificate or "
            "powerOfAttorney when isCompanyNumber is false. The profile starts as pending."
        ),
        request={"multipart/form-data": REGISTRATION_SCHEMA},
        responses={
            201: SenderNumberSerializer,
            400: OpenApiResponse(description="validation_failed, with details per field"),
        },
        tags=["sender numbers"],
    )
    def post(self, request: Request, project_id: str) -> Response:
        incoming = SenderNumberRegistrationSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        documents = [
            (kind, data[camel(field)])
            for kind, field in DOCUMENT_FIELDS.items()
            if data.get(camel(field))
        ]
        try:
            sender = do_register_sender_number(
                request.project,
                request.auth,
                number=data["number"],
                owner_type=data["ownerType"],
                owner_name=data["ownerName"],
                is_company_number=data["isCompanyNumber"],
                label=data["label"],
                documents=documents,
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                {_API_FIELDS.get(field, field): msgs for field, msgs in exc.message_dict.items()}
            ) from None
        sender = _senders(request).get(pk=sender.pk)
        return Response(SenderNumberSerializer(sender).data, status=status.HTTP_201_CREATED)


class SenderNumberDetailView(ProjectAPIView):
    @extend_schema(
        operation_id="getSenderNumber",
        summary="One sender-number profile with its status and reason",
        responses=SenderNumberSerializer,
        tags=["sender numbers"],
    )
    def get(self, request: Request, project_id: str, sender_id: int) -> Response:
        sender = get_object_or_404(_senders(request), pk=sender_id)
        return Response(SenderNumberSerializer(sender).data)

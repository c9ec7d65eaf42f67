"""Base views for the project-scoped API under /v1/projects/{projectId}/."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from console.api import idempotency
from console.api.authentication import BEARER_HINT, ProjectTokenAuthentication
from console.api.metadata import ApiMetadata
from console.api.permissions import HasProjectToken
from console.api.throttling import ProjectRateThrottle


class ProjectAPIView(GenericAPIView):
    """Every project API view inherits this: bearer-token auth, the token's
    project only (404 otherwise), the per-project rate limit and, on POST,
    Idempotency-Key handling. `request.project` is the token's project.

    Objects are looked up through `get_queryset()`/`get_object()`, which keep
    to the token's project via `project_field` (e.g. "sender_number__project"
    for a model that reaches its project through another), so an id from
    another project is a 404 like any unknown id.
    """

    authentication_classes = [ProjectTokenAuthentication]
    permission_classes = [HasProjectToken]
    throttle_classes = [ProjectRateThrottle]
    metadata_class = ApiMetadata
    # JSON bodies only (upload views name multipart themselves): DRF's form
    # parsers cannot carry the nested objects and lists the serializers take,
    # and the schema lists every media type a view parses.
    parser_classes = [JSONParser]
    project_field = "project"

    _idempotency_record = None

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().filter(**{self.project_field: self.request.project})

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> None:
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated(
                _("Send your project's API token as '%(hint)s'.") % {"hint": BEARER_HINT}
            )
        super().permission_denied(request, message=message, code=code)

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        self._idempotency_record = None
        # Authentication, the project check and the rate limit come first, so
        # a foreign or throttled request never claims a key.
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            key = idempotency.key_from(request)
            if key is not None:
                self._idempotency_record = idempotency.claim(
                    request.project, key, idempotency.fingerprint(request)
                )

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            if isinstance(response, Response):
                response.render()
            idempotency.complete(record, response)
        return response

    def dispatch(self, request: object, *args: object, **kwargs: object) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except BaseException:
            # Whatever escaped DRF's handling is a failure: free the key.
            if self._idempotency_record is not None:
                idempotency.release(self._idempotency_record)
                self._idempotency_record = None
            raise

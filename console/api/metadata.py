"""What OPTIONS answers on a project endpoint: never a 500.

DRF's SimpleMetadata describes the POST/PUT form by calling
`view.get_serializer()`, which asserts when a view declares no
`serializer_class`. Most API views here name their request serializers in
their schema annotation instead (one per method), so OPTIONS describes only
what every view has: name, description, media types and, through the
`Allow` header, the methods. The full description is /v1/schema.
"""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request


class ApiMetadata(SimpleMetadata):
    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        # The form description needs one serializer for the whole view (and,
        # for PUT, an object from a queryset); only views that declare one get it.
        if getattr(view, "serializer_class", None) is None or getattr(view, "queryset", 0) is None:
            return {}
        return super().determine_actions(request, view)

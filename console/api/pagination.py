"""Cursor pagination: stable under inserts, cheap on large tables.

`limit` is checked, not clamped: DRF's default silently serves its default
page for `-1`, `0` or `abc` and caps `5000` at the maximum, so a client
never learns that it asked for something else than it got.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination as BaseCursorPagination
from rest_framework.request import Request

MAX_LIMIT = 1000


class CursorPagination(BaseCursorPagination):
    ordering = "-id"
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT

    def get_page_size(self, request: Request) -> int:
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        problem = _("Give limit once, as a whole number from 1 to %(max)d.") % {"max": MAX_LIMIT}
        if len(values) > 1 or not values[0].isascii() or not values[0].isdigit():
            raise ValidationError({self.page_size_query_param: [problem]})
        limit = int(values[0])
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationError({self.page_size_query_param: [problem]})
        return limit

    def get_schema_operation_parameters(self, view: object) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = _(
                    "Items per page, 1 to %(max)d (default %(default)d); anything else is a 400."
                ) % {"max": MAX_LIMIT, "default": self.page_size}
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
        return parameters

"""Cursor pagination: stable under inserts, cheap on large tables."""

from rest_framework.pagination import CursorPagination as BaseCursorPagination


class CursorPagination(BaseCursorPagination):
    ordering = "-id"
    page_size_query_param = "limit"
    max_page_size = 1000

"""Queue tasks of conversions (plain functions taking ids, safe to run twice)."""

from __future__ import annotations

from conversions import attribution


def attribute_events(project_id: str, event_ids: list[int]) -> int:
    """Attribution retried from the queue after an inline attempt failed."""
    return attribution.attribute_events(project_id, event_ids)

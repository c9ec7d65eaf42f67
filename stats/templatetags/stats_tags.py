"""Small formatting filters for the statistics screens."""

from __future__ import annotations

from django import template
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def window(seconds: int) -> str:
    """An attribution window in whole days or hours."""
    if seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    hours = seconds // 3600
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Sending")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dispatch import receivers  # noqa: F401 - connects the signal receivers

"""Conversion goals of campaigns, attributed as events arrive (SPEC §8), and
tracked links with their clicks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversionsConfig(AppConfig):
    name = "conversions"
    verbose_name = _("Conversions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns import rendering
        from conversions import receivers
        from conversions.actions import link_ids_for_outbox

        receivers.connect()
        rendering.register_link_ids(link_ids_for_outbox)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = _("Journeys")

    def ready(self) -> None:
        from journeys import (
            receivers,  # noqa: F401 - connects the signal receivers
            triggers,
        )

        # Segment-entry journeys hear which users changed (audiences, optout).
        triggers.connect()

        # The send core's long tasks hand their worker on to a waiting runner.
        from dispatch import handover
        from journeys.runtime import runner_waits

        handover.register(runner_waits)

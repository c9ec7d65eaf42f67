from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OptoutConfig(AppConfig):
    name = "optout"
    verbose_name = _("Opt-out list")

    def ready(self) -> None:
        from optout import receivers

        receivers.connect()

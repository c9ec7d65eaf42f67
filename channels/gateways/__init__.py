"""The gateway registry: backend names to classes, and which gateway a project uses.

Real provider adapters are documented in docs/gateways.md.
"""

from __future__ import annotations

from django.utils.module_loading import import_string
from django.utils.translation import gettext

from channels.gateways.base import GatewayBackend
from channels.models import Gateway
from projects.models import Project

BACKENDS: dict[str, str] = {
    "console": "channels.gateways.console.ConsoleBackend",
    "sandbox": "channels.gateways.sandbox.SandboxBackend",
    "solapi": "channels.gateways.solapi.SolapiBackend",
    "nhn": "channels.gateways.nhn.NhnBackend",
    "twilio": "channels.gateways.twilio.TwilioBackend",
}


class UnknownBackend(LookupError):
    pass


class NoGatewayConfigured(LookupError):
    pass


def backend_class(name: str) -> type[GatewayBackend]:
    try:
        path = BACKENDS[name]
    except KeyError:
        raise UnknownBackend(
            gettext("No gateway backend is called %(name)r.") % {"name": name}
        ) from None
    return import_string(path)


def get_backend(gateway: Gateway) -> GatewayBackend:
    return backend_class(gateway.backend)(gateway.config or {})


def default_gateway_for(project: Project) -> Gateway:
    """The project's SMS channel gateway, else the platform's default one."""
    channel_gateway = (
        Gateway.objects.filter(smschannel__project=project).first() if project is not None else None
    )
    if channel_gateway is not None:
        return channel_gateway
    gateway = Gateway.objects.filter(is_default=True).order_by("id").first()
    if gateway is None:
        raise NoGatewayConfigured(
            gettext("No gateway is configured: mark one gateway as the default in the admin.")
        )
    return gateway

"""The words of the delivery log. Attempts and events store an error *code*
and its parameters, never a sentence, so the log reads in the language of
whoever opens it (console or API), not of the worker that made the attempt.
Rows written before codes existed keep their text and show it as it is."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webhooks import addresses

HTTP_STATUS = "http_status"
REDIRECT = "redirect_not_followed"
TIMEOUT = "timeout"
CONNECT_FAILED = "connect_failed"
REQUEST_FAILED = "request_failed"
DNS_FAILED = "dns_failed"
ADDRESS_REFUSED = "address_refused"
GAVE_UP = "gave_up"
NO_ENDPOINT = "no_endpoint"

_KINDS = {
    addresses.LOOPBACK: gettext_lazy("a loopback address (this server itself)"),
    addresses.LINK_LOCAL: gettext_lazy("a link-local address"),
    addresses.UNSPECIFIED: gettext_lazy("an unspecified address (0.0.0.0 or ::)"),
    addresses.MULTICAST: gettext_lazy("a multicast address"),
    addresses.RESERVED: gettext_lazy("a reserved address"),
    addresses.METADATA: gettext_lazy("a cloud metadata service"),
    addresses.PRIVATE: gettext_lazy("a private network address"),
}


def describe(code: str, params: Mapping[str, object] | None = None) -> str:
    """The error `code` with its `params` as a sentence in the active language."""
    p = dict(params or {})
    if code == HTTP_STATUS:
        return _("The receiver answered HTTP %(code)s.") % p
    if code == REDIRECT:
        return _("Redirect to %(location)s not followed.") % p
    if code == TIMEOUT:
        return _("No answer within %(seconds)s s (timed out).") % p
    if code == CONNECT_FAILED:
        return _("Could not connect: %(reason)s") % p
    if code == REQUEST_FAILED:
        return _("Request failed: %(reason)s") % p
    if code == DNS_FAILED:
        return _("The host name %(host)s could not be resolved.") % p
    if code == ADDRESS_REFUSED:
        return _(
            "%(host)s is %(address)s, %(kind)s: webhooks are not delivered there unless "
            "the operator allows that network (MUNJA_WEBHOOK_ALLOWED_NETWORKS)."
        ) % {**p, "kind": _KINDS.get(str(p.get("kind")), p.get("kind"))}
    if code == GAVE_UP:
        cause = p.get("cause") or {}
        return _("Gave up after %(hours)s h: %(error)s") % {
            "hours": p.get("hours"),
            "error": describe(cause.get("code", ""), cause.get("params")),
        }
    if code == NO_ENDPOINT:
        return _("No webhook endpoint was registered within %(hours)s h.") % p
    return str(p.get("text", code))

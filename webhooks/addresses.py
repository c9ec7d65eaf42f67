"""Where a webhook may be delivered: the receiver-address policy, and an HTTP
session that connects to exactly the address that passed it.

A project admin chooses the URL, and the delivery log shows what answered,
so without a policy a URL such as http://127.0.0.1:6379/ or the cloud's
metadata service (169.254.169.254) would turn "send a test event" into a way
to reach services that only the server can reach (SSRF). So:

- always refused, unless the operator lists the network in
  settings.WEBHOOK_ALLOWED_NETWORKS (MUNJA_WEBHOOK_ALLOWED_NETWORKS): loopback,
  link-local (which holds most metadata services), unspecified (0.0.0.0, ::),
  multicast, broadcast and reserved ranges, and the metadata addresses that
  sit elsewhere (fd00:ec2::254, Alibaba's 100.100.100.200, Azure's
  168.63.129.16);
- private ranges (10/8, 172.16/12, 192.168/16, 100.64/10 shared address
  space, fc00::/7): allowed while settings.WEBHOOK_ALLOW_PRIVATE is on (the
  default: a self-hosted Munja usually posts to the operator's own internal
  system), refused when the operator turns it off.

The check runs on the *resolved* address at delivery time, and the
connection is made to that same address (`pinned_session`), so a name that
resolves to a public address when checked and to 127.0.0.1 a moment later
(DNS rebinding) cannot slip through. TLS still verifies the certificate
against the host name in the URL. Registration checks the URL's host too
when it is an address or a name that needs no DNS (localhost), for an early
and clear error; a DNS name is only resolved at delivery (registration must
not wait on DNS, and the answer could change anyway).
"""

from __future__ import annotations

import ipaddress
import socket

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Metadata services outside the link-local ranges.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("fd00:ec2::254", "100.100.100.200", "168.63.129.16", "169.254.169.254")
)
# RFC 1918, the shared address space of RFC 6598 (a carrier's or a cloud's
# internal network) and IPv6 unique local addresses.
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)

# Kinds of refused address; webhooks.messages words them.
LOOPBACK = "loopback"
LINK_LOCAL = "link_local"
UNSPECIFIED = "unspecified"
MULTICAST = "multicast"
RESERVED = "reserved"
METADATA = "metadata"
PRIVATE = "private"


class ReceiverRefused(Exception):
    """The receiver cannot be called: `code` and `params` say why (worded by
    webhooks.messages, in the reader's language)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


def address_kind(address: IPAddress) -> str | None:
    """Why `address` is refused by default (one of the kinds above), or None
    for an ordinary public address. An IPv4-mapped IPv6 address is judged
    as the IPv4 address it stands for."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return METADATA
    if address.is_loopback:
        return LOOPBACK
    if address.is_unspecified:
        return UNSPECIFIED
    if address.is_link_local:
        return LINK_LOCAL
    if address.is_multicast:
        return MULTICAST
    if any(
        address in network for network in _PRIVATE_NETWORKS if network.version == address.version
    ):
        return PRIVATE
    if not address.is_global:
        # 0/8, 240/4, broadcast, documentation and benchmarking ranges, …
        return RESERVED
    return None


def refusal(address: IPAddress) -> str | None:
    """The kind of `address` when the operator's settings refuse it, else None."""
    kind = address_kind(address)
    if kind is None:
        return None
    if kind == PRIVATE and settings.WEBHOOK_ALLOW_PRIVATE:
        return None
    if any(address in network for network in allowed_networks()):
        return None
    return kind


def allowed_networks() -> list[IPNetwork]:
    return [ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOK_ALLOWED_NETWORKS]


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names without DNS: an IP literal in any form
    the resolver accepts (127.1, 2130706433, 0x7f.1, [::1]) or localhost;
    None for a DNS name."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if all(part.isalnum() for part in host.split(".")) and host[:1].isdigit():
        # inet_aton's shorthand forms, which getaddrinfo also accepts.
        try:
            return ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_host(host: str) -> None:
    """At registration: refuse a host that is a refused address by itself
    (no DNS lookup). Raises ReceiverRefused."""
    address = literal_address(host)
    if address is not None:
        kind = refusal(address)
        if kind is not None:
            raise ReceiverRefused("address_refused", host=host, address=str(address), kind=kind)


def resolve(host: str, port: int) -> str:
    """At delivery: the address to connect to, the first the resolver gives
    that the policy allows. Raises ReceiverRefused when the name does not
    resolve or every address it has is refused."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise ReceiverRefused("dns_failed", host=host) from None
    first_refused: tuple[str, str] | None = None
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        kind = refusal(address)
        if kind is None:
            return str(address)
        first_refused = first_refused or (str(address), kind)
    if first_refused is None:
        raise ReceiverRefused("dns_failed", host=host)
    raise ReceiverRefused(
        "address_refused", host=host, address=first_refused[0], kind=first_refused[1]
    )


# --- connecting to the checked address ----------------------------------------------


def _pinned(base: type, address: str) -> type:
    class Pinned(base):  # type: ignore[misc, valid-type]
        """Connects to `address` whatever the host name: the Host header,
        SNI and certificate checks still use the URL's host."""

        def _new_conn(self):  # type: ignore[no-untyped-def]
            # urllib3 connects to `_dns_host`, which is also what `host`
            # (the Host header, SNI, the certificate check) reads: swap it
            # for the socket only.
            host = self._dns_host
            self._dns_host = address
            try:
                return super()._new_conn()
            finally:
                self._dns_host = host

    return Pinned


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        http = type(
            "PinnedHTTPPool",
            (HTTPConnectionPool,),
            {"ConnectionCls": _pinned(HTTPConnection, self._address)},
        )
        https = type(
            "PinnedHTTPSPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": _pinned(HTTPSConnection, self._address)},
        )
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


def pinned_session(address: str) -> requests.Session:
    """A session whose every connection goes to `address`. Proxies from the
    environment are not used: a proxy would connect to whatever the name
    resolves to at that moment, not to the address that was checked."""
    session = requests.Session()
    session.trust_env = False
    adapter = _PinnedAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

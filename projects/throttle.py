"""Login throttling: failed attempts counted per username and per client address
in Django's cache (the database cache by default, Redis when REDIS_URL is set),
so every web process on every machine shares the same counters.

The two counters have separate limits: an account is locked after a few
failures (`LOGIN_MAX_ATTEMPTS`), an address only after many more
(`LOGIN_MAX_ATTEMPTS_PER_ADDRESS`), so one person mistyping their password
does not lock out everyone behind the same office address."""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_PREFIX = "login-fail"


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded-for header is written by the client and
    # would let an attacker pick a fresh address for every attempt. Behind a
    # proxy the operator should make the proxy set REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(kind: str, value: str) -> str:
    # Hashed so any username (spaces, unicode, very long) makes a valid cache key.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"{_PREFIX}:{kind}:{digest}"


def _subjects(username: str, address: str) -> list[tuple[str, int]]:
    """Each counter with its limit."""
    return [
        (_key("user", username), settings.LOGIN_MAX_ATTEMPTS),
        (_key("addr", address), settings.LOGIN_MAX_ATTEMPTS_PER_ADDRESS),
    ]


def _live_window(key: str, now: float) -> dict | None:
    # The window's end is kept in the value itself rather than trusted to the
    # cache's expiry: some backends (the database cache) reset the expiry on
    # every write.
    window = cache.get(key)
    if isinstance(window, dict) and window.get("until", 0) > now:
        return window
    return None


def seconds_locked(username: str, address: str) -> int:
    """How long this username or address must wait, or 0 when it may try now."""
    now = time.time()
    wait = 0
    for key, limit in _subjects(username, address):
        window = _live_window(key, now)
        if window and window["count"] >= limit:
            wait = max(wait, math.ceil(window["until"] - now))
    return wait


def attempts_left(username: str, address: str) -> int:
    """How many more failures this username from this address may have before
    it is refused (the smaller of what its account and its address have left)."""
    now = time.time()
    left = []
    for key, limit in _subjects(username, address):
        window = _live_window(key, now)
        left.append(max(0, limit - (window["count"] if window else 0)))
    return min(left)


def record_failure(username: str, address: str) -> None:
    """Count one failed attempt for both the username and the address.

    The window starts at the first failure and is not extended by later ones, so
    a locked-out user knows exactly when they may try again. Two failures at the
    very same moment may be counted as one; the limit is a brake on guessing,
    not an exact quota.
    """
    now = time.time()
    for key, _limit in _subjects(username, address):
        window = _live_window(key, now) or {
            "count": 0,
            "until": now + settings.LOGIN_LOCKOUT_SECONDS,
        }
        window["count"] += 1
        cache.set(key, window, max(1, math.ceil(window["until"] - now)))


def clear_username(username: str) -> None:
    """A successful login forgives that username's failures (not the address's)."""
    cache.delete(_key("user", username))

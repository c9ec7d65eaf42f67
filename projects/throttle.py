"""Login throttling: failed attempts counted per username and per client address
in Django's cache (the database cache by default, Redis when REDIS_URL is set),
so every web process on every machine shares the same counters."""

from __future__ import annotations

import hashlib
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


def _keys(kind: str, value: str) -> tuple[str, str]:
    # Hashed so any username (spaces, unicode, very long) makes a valid cache key.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"{_PREFIX}:{kind}:{digest}", f"{_PREFIX}:{kind}:{digest}:until"


def _subjects(username: str, address: str) -> list[tuple[str, str]]:
    return [_keys("user", username), _keys("addr", address)]


def seconds_locked(username: str, address: str) -> int:
    """How long this username or address must wait, or 0 when it may try now."""
    wait = 0
    now = time.time()
    for count_key, until_key in _subjects(username, address):
        if (cache.get(count_key) or 0) >= settings.LOGIN_MAX_ATTEMPTS:
            until = cache.get(until_key) or now + settings.LOGIN_LOCKOUT_SECONDS
            wait = max(wait, int(until - now) + 1)
    return wait


def record_failure(username: str, address: str) -> None:
    """Count one failed attempt for both the username and the address.

    The window starts at the first failure and is not extended by later ones, so
    a locked-out user knows exactly when they may try again.
    """
    window = settings.LOGIN_LOCKOUT_SECONDS
    for count_key, until_key in _subjects(username, address):
        cache.add(until_key, time.time() + window, window)
        cache.add(count_key, 0, window)
        try:
            cache.incr(count_key)
        except ValueError:
            # Expired between add() and incr(): start a fresh window.
            cache.set(count_key, 1, window)
            cache.set(until_key, time.time() + window, window)


def clear_username(username: str) -> None:
    """A successful login forgives that username's failures (not the address's)."""
    cache.delete_many(list(_keys("user", username)))

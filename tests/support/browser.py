"""Headless Debian Chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("MUNJA_CHROMIUM", "/usr/bin/chromium")
# Every wait of a browser test is on a condition (a selector, a URL, an
# expect); these are only the deadlines, generous for a loaded machine. A
# passing test does not wait them out.
_SCALE = float(os.environ.get("MUNJA_TEST_WAIT_SCALE", "1") or 1)
TIMEOUT_MS = int(60_000 * _SCALE)
# Waits that span the queue, the carrier and delivery reports.
DELIVERY_TIMEOUT_MS = int(180_000 * _SCALE)


def new_context(browser, base_url: str, locale: str = "en-US"):
    """A browser context whose waits (actions, navigations, expect) all use
    the generous deadline."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base_url, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return context


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-gpu",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = new_context(browser, live_server.url)
    pg = context.new_page()
    yield pg
    context.close()


def log_in(page, email: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)

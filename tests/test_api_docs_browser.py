"""The API reference at /v1/docs renders in a real browser, offline, under our CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_reference_renders_offline_under_the_csp(page, live_server):
    own_host = urlsplit(live_server.url).netloc
    foreign_requests: list[str] = []
    csp_violations: list[str] = []

    def refuse_foreign(route):
        foreign_requests.append(route.request.url)
        route.abort()

    # Anything not served by Munja itself is refused, as on a machine offline.
    page.route(
        lambda url: urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != own_host,
        refuse_foreign,
    )
    page.on(
        "console",
        lambda message: (
            csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    response = page.goto("/v1/docs")
    assert response.status == 200
    assert "nonce-" in response.headers["content-security-policy"]
    page.get_by_text("Get the project").first.wait_for()
    assert page.get_by_text("/v1/projects/{projectId}").first.is_visible()
    assert page.title() == "Munja API reference"
    assert foreign_requests == []
    assert csp_violations == []

"""The language switcher: a POST to set_language, remembered in a cookie."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in, new_context
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


def test_switching_to_english_then_korean_changes_the_page_language(browser, live_server, world):
    # A Korean browser, so that each switch really changes something.
    context = new_context(browser, live_server.url, locale="ko-KR")
    try:
        page = context.new_page()
        log_in(page, "alice@acme.test", PASSWORD)
        assert page.locator("html").get_attribute("lang") == "ko"

        with page.expect_navigation():
            page.select_option("#language-switcher", "en")
        assert page.locator("html").get_attribute("lang") == "en"
        # The choice is kept in a cookie and survives a fresh page load.
        assert any(c["name"] == "django_language" and c["value"] == "en" for c in context.cookies())
        page.goto(page.url)
        assert page.locator("html").get_attribute("lang") == "en"

        with page.expect_navigation():
            page.select_option("#language-switcher", "ko")
        assert page.locator("html").get_attribute("lang") == "ko"
        page.goto("/login/")  # any page, even one that redirects home
        assert page.locator("html").get_attribute("lang") == "ko"
    finally:
        context.close()

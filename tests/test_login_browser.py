"""The console in a real browser: logging in and switching language."""

import pytest

from tests.support.browser import log_in
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


def test_a_member_logs_in_and_lands_on_their_project_dashboard(page, world):
    log_in(page, "alice@acme.test", PASSWORD)
    assert page.locator("h1").inner_text() == "Acme"

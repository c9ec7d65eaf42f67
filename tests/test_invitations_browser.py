"""In a real browser: an admin invites someone, who accepts as a new user and
lands on the project."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from projects.models import Membership, Role
from tests.support.browser import log_in
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


def test_invite_then_accept_as_a_new_user_and_land_on_the_project(page, browser, world):
    log_in(page, "alice@acme.test", PASSWORD)
    page.click("nav.main-nav >> text=Members")
    page.fill("#id_email", "erin@example.test")
    page.select_option("#id_role", "marketer")
    page.click("#invite-form button[type=submit]")
    link = page.locator("#invitation-link").inner_text().strip()
    assert page.locator("#new-invitation [data-copy]").get_attribute("data-copy") == link

    # The invited person opens the link in a browser of their own.
    context = browser.new_context(locale="en-US")
    try:
        visitor = context.new_page()
        visitor.goto(link)
        assert visitor.locator("#id_email").input_value() == "erin@example.test"
        visitor.fill("#id_password1", "violet-lantern-orbit-42")
        visitor.fill("#id_password2", "violet-lantern-orbit-42")
        visitor.click("#signup-form button[type=submit]")
        visitor.wait_for_url(f"**/p/{world.acme.id}/")
        assert visitor.locator("h1").inner_text() == "Acme"
        assert "Welcome to Acme. Your role is Marketer." in visitor.locator(".flash").inner_text()
    finally:
        context.close()

    erin = User.objects.get(email="erin@example.test")
    assert Membership.objects.get(user=erin, project=world.acme).role == Role.MARKETER
    page.reload()
    assert page.locator('[data-invitation="erin@example.test"]').count() == 0
    assert page.locator('[data-member="erin@example.test"]').count() == 1

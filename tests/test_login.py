"""Logging in with email and password, throttled per username and per address."""

from __future__ import annotations

import copy
import time
import uuid

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.support.world import PASSWORD


@pytest.fixture(autouse=True)
def fresh_counters(db, settings):
    settings.LOGIN_MAX_ATTEMPTS = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    # A fast hasher (set before `world` makes its users) keeps the timing test honest.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Fresh counters through a key prefix of this test's own, never cache.clear():
    # with REDIS_URL that would flush a Redis database other processes share.
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


def attempt(client, email: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def fail(client, email: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        response = attempt(client, email, "wrong password", address)
        assert response.status_code == 200
        assert "The email or password is not right." in response.text


def test_a_member_logs_in_with_email_and_password_and_lands_on_their_project(client, world):
    response = attempt(client, "alice@acme.test", PASSWORD)
    assert response.status_code == 302
    assert client.get(response.url, follow=True).redirect_chain[-1][0] == (
        reverse("dashboard", args=[world.acme.id])
    )


def test_an_account_whose_username_is_not_its_email_logs_in_by_email(client, db):
    User.objects.create_user(username="root", email="Root@Munja.test", password=PASSWORD)
    response = attempt(client, "root@munja.test", PASSWORD)
    assert response.status_code == 302
    assert client.session.get("_auth_user_id")


def test_a_wrong_password_says_so_and_does_not_log_in(client, world):
    fail(client, "alice@acme.test", 1)
    assert "_auth_user_id" not in client.session


def test_login_is_refused_after_too_many_failures_for_the_same_username(client, world):
    fail(client, "alice@acme.test", 3)
    # Even the right password is refused now: the lock is checked first.
    response = attempt(client, "alice@acme.test", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.text
    assert "Try again in 10 minutes, after " in response.text
    assert 590 <= int(response["Retry-After"]) <= 601
    assert "_auth_user_id" not in client.session


def test_the_same_username_from_another_address_is_still_refused(client, world):
    fail(client, "alice@acme.test", 3, address="10.0.0.1")
    assert attempt(client, "alice@acme.test", PASSWORD, address="10.9.9.9").status_code == 429


def test_one_accounts_failures_do_not_lock_others_out_behind_the_same_address(client, world):
    fail(client, "alice@acme.test", 3, address="10.0.0.1")
    assert attempt(client, "alice@acme.test", PASSWORD, address="10.0.0.1").status_code == 429
    # A colleague behind the same office address still logs in.
    assert attempt(client, "bob@bolt.test", PASSWORD, address="10.0.0.1").status_code == 302


def test_many_failures_from_one_address_across_accounts_lock_that_address(client, world, settings):
    settings.LOGIN_MAX_ATTEMPTS_PER_ADDRESS = 6
    for number in range(6):
        fail(client, f"guess{number}@example.test", 1, address="10.0.0.1")
    assert attempt(client, "bob@bolt.test", PASSWORD, address="10.0.0.1").status_code == 429
    # Only that address: the same account from elsewhere is fine.
    assert attempt(client, "bob@bolt.test", PASSWORD, address="10.0.0.2").status_code == 302


def test_the_form_says_how_many_tries_are_left(client, world):
    response = attempt(client, "alice@acme.test", "wrong password")
    assert "2 tries left before log-in is paused for 10 minutes." in response.text
    response = attempt(client, "alice@acme.test", "wrong password")
    assert "1 try left before log-in is paused for 10 minutes." in response.text
    response = attempt(client, "alice@acme.test", "wrong password")
    assert "No tries left: log-in is paused for 10 minutes." in response.text


def test_the_tries_left_count_the_address_when_it_is_closer_to_its_limit(client, world, settings):
    settings.LOGIN_MAX_ATTEMPTS_PER_ADDRESS = 4
    fail(client, "someone@example.test", 3, address="10.0.0.1")
    response = attempt(client, "alice@acme.test", "wrong password", address="10.0.0.1")
    assert "No tries left" in response.text


def test_a_success_clears_the_counter_for_that_username(client, world):
    fail(client, "alice@acme.test", 2, address="10.0.0.1")
    assert attempt(client, "alice@acme.test", PASSWORD, address="10.0.0.7").status_code == 302
    client.logout()
    # Two more failures from a fresh address would have locked her out had the
    # earlier two still counted.
    fail(client, "alice@acme.test", 2, address="10.0.0.8")
    assert attempt(client, "alice@acme.test", PASSWORD, address="10.0.0.8").status_code == 302


def test_empty_fields_are_not_counted_as_attempts(client, world):
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "alice@acme.test", "password": ""})
        assert response.status_code == 200
    assert attempt(client, "alice@acme.test", PASSWORD).status_code == 302


def test_the_lock_ends_when_the_window_has_passed(client, world, settings):
    settings.LOGIN_LOCKOUT_SECONDS = 3
    started = time.monotonic()
    fail(client, "alice@acme.test", 3)
    assert attempt(client, "alice@acme.test", PASSWORD).status_code == 429
    time.sleep(max(0, 3.2 - (time.monotonic() - started)))
    assert attempt(client, "alice@acme.test", PASSWORD).status_code == 302


def test_logout_is_a_post_and_ends_the_session(client, world):
    client.force_login(world.alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session

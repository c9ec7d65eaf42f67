"""The SMS channel settings page and the webhook API: URL validation,
registration, the secret, rotation, the test event, the delivery log and who
may do what."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from console.lib.signing import verify
from projects.models import AuditLog
from tests.support.world import PASSWORD
from tests.test_api_auth import assert_error
from webhooks import tasks
from webhooks.actions import do_register_webhook, validate_webhook_url
from webhooks.events import publish
from webhooks.models import WebhookEndpoint, WebhookEvent


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def settings_url(project) -> str:
    return reverse("sms_settings", args=[project.id])


def api(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "Enter the URL"),
        ("ftp://example.com/hook", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("example.com/hook", "Only http:// and https://"),
        ("https:///hook", "needs a host name"),
        ("https://user:pw@example.com/hook", "no user name or password"),
        ("https://example.com:99999/hook", "is not a valid URL"),
        ("https://exa mple.com/hook", "may not contain spaces"),
        ("https://example.com/" + "x" * 2000, "longer than 2000"),
    ],
)
def test_only_http_and_https_urls_with_a_host_can_be_registered(url, problem):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=problem):
        validate_webhook_url(url)


def test_good_urls_are_accepted_as_given():
    for url in ("https://example.com/hook", "http://127.0.0.1:8080/x?y=1", "HTTPS://host/h"):
        assert validate_webhook_url(f"  {url} ") == url


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_marketers_and_viewers_may_not_open_the_sms_settings(world, who):
    client = logged_in(getattr(world, who))
    response = client.get(settings_url(world.acme))
    assert response.status_code == 403
    response = client.post(settings_url(world.acme), {"url": "https://evil.test/h"})
    assert response.status_code == 403
    test_url = reverse("webhook_send_test_event", args=[world.acme.id])
    assert client.post(test_url).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_another_projects_admin_gets_404(world):
    assert logged_in(world.bob).get(settings_url(world.acme)).status_code == 404


def test_an_admin_registers_a_webhook_and_sees_the_masked_secret(world):
    client = logged_in(world.alice)
    page = client.get(settings_url(world.acme))
    assert page.status_code == 200
    assert b"Register webhook" in page.content

    response = client.post(settings_url(world.acme), {"url": "https://hooks.acme.test/munja"})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(project=world.acme)
    assert endpoint.url == "https://hooks.acme.test/munja"
    assert endpoint.secret.startswith("whsec_")
    page = client.get(settings_url(world.acme)).content.decode()
    assert 'id="secret-masked"' in page
    assert f'<span id="secret-value" hidden>{endpoint.secret}</span>' in page
    assert AuditLog.objects.filter(project=world.acme, action="webhook.registered").exists()

    # Changing the URL keeps the secret and is audited with the old URL.
    client.post(settings_url(world.acme), {"url": "https://new.acme.test/munja"})
    changed = WebhookEndpoint.objects.get(project=world.acme)
    assert (changed.url, changed.secret) == ("https://new.acme.test/munja", endpoint.secret)
    entry = AuditLog.objects.get(project=world.acme, action="webhook.url_changed")
    assert entry.detail == {"previous": "https://hooks.acme.test/munja"}


def test_a_bad_url_on_the_page_is_refused_with_the_reason(world):
    response = logged_in(world.alice).post(settings_url(world.acme), {"url": "ftp://x.test/h"})
    assert response.status_code == 400
    assert "Only http:// and https:// URLs can be registered" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_asks_first_and_is_audited(world):
    old = do_register_webhook(world.acme, "https://hooks.acme.test/h", world.alice).secret
    client = logged_in(world.alice)
    rotate = reverse("webhook_rotate_secret", args=[world.acme.id])
    confirm = client.get(rotate)
    assert confirm.status_code == 200 and b"Rotate secret" in confirm.content
    assert WebhookEndpoint.objects.get().secret == old

    assert client.post(rotate).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert AuditLog.objects.filter(action="webhook.secret_rotated").count() == 1
    assert b'id="rotation-grace"' in client.get(settings_url(world.acme)).content


def test_rotating_without_a_webhook_is_404(world):
    rotate = reverse("webhook_rotate_secret", args=[world.acme.id])
    assert logged_in(world.alice).post(rotate).status_code == 404


def test_the_test_event_is_a_real_signed_delivery_shown_in_the_log(
    world, receiver, django_capture_on_commit_callbacks
):
    endpoint = do_register_webhook(world.acme, receiver.url, world.alice)
    client = logged_in(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhook_send_test_event", args=[world.acme.id]))
    assert response.status_code == 302
    [got] = receiver.received
    assert verify(endpoint.secret, got.headers, got.body)
    assert got.payload["type"] == "ReportSMSUnsubscribed"
    assert got.payload["data"] == {"phoneNumber": "+821000000000", "subscribed": False}
    event = WebhookEvent.objects.get()
    assert event.is_test and event.status == WebhookEvent.Status.DELIVERED

    log = client.get(reverse("webhook_delivery_log", args=[world.acme.id])).content.decode()
    assert str(event.request_id) in log
    assert ">test<" in log
    assert '<td class="status-code">200</td>' in log


def test_a_test_event_needs_a_registered_webhook(world):
    client = logged_in(world.alice)
    response = client.post(reverse("webhook_send_test_event", args=[world.acme.id]), follow=True)
    assert b"Register a webhook URL before sending a test event." in response.content
    assert not WebhookEvent.objects.exists()


def test_the_delivery_log_shows_failures_retries_and_is_paginated_and_filtered(world, receiver):
    do_register_webhook(world.acme, receiver.url, world.alice)
    receiver.answer(500, body=b"receiver exploded")
    with transaction.atomic():
        for i in range(25):
            number = f"+8210123400{i:02d}"
            publish(
                world.acme, "ReportSMSUnsubscribed", {"phoneNumber": number}, ordering_key=number
            )
    tasks.deliver_webhook_events(str(world.acme.id))
    client = logged_in(world.alice)
    log_url = reverse("webhook_delivery_log", args=[world.acme.id])

    first = client.get(log_url).content.decode()
    assert first.count('class="webhook-event"') == 20
    assert "receiver exploded" in first
    assert "The receiver answered HTTP 500." in first
    assert "Page 1 of 2" in first
    second = client.get(log_url, {"page": 2}).content.decode()
    assert second.count('class="webhook-event"') == 5
    delivered = client.get(log_url, {"status": "delivered"}).content.decode()
    assert "No events yet." in delivered
    pending = client.get(log_url, {"status": "pending"}).content.decode()
    assert "Pending (25)" in pending
    # The log refreshes itself with htmx.
    assert 'hx-trigger="every 5s"' in first


def test_the_log_shows_only_this_projects_events(world, receiver):
    with transaction.atomic():
        publish(world.bolt, "ReportSMSUnsubscribed", {"phoneNumber": "+821099998888"})
    page = logged_in(world.alice).get(settings_url(world.acme)).content.decode()
    assert "+821099998888" not in page


# --- API ----------------------------------------------------------------------


def test_put_registers_the_webhook_and_answers_the_secret(world):
    url = f"/v1/projects/{world.acme.id}/sms/webhook"
    body = json.dumps({"url": "https://hooks.acme.test/munja"})
    response = Client().put(url, body, content_type="application/json", **api(world.acme_token))
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(project=world.acme)
    assert response.json() == {"url": endpoint.url, "secret": endpoint.secret}
    entry = AuditLog.objects.get(action="webhook.registered")
    assert entry.actor_label.startswith("API token")

    # The same PUT again changes nothing and answers the same secret.
    again = Client().put(url, body, content_type="application/json", **api(world.acme_token))
    assert again.json()["secret"] == endpoint.secret
    assert WebhookEndpoint.objects.count() == 1
    # GET answers the URL without the secret.
    got = Client().get(url, **api(world.acme_token))
    assert got.json() == {"url": "https://hooks.acme.test/munja"}


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        ({"url": "ftp://hooks.acme.test"}, "url", "Only http:// and https://"),
        ({"url": ""}, "url", "may not be blank"),
        ({}, "url", "required"),
        ({"url": "https://"}, "url", "needs a host name"),
    ],
)
def test_a_bad_webhook_url_is_a_400_saying_what_is_wrong(world, body, where, problem):
    response = Client().put(
        f"/v1/projects/{world.acme.id}/sms/webhook",
        json.dumps(body),
        content_type="application/json",
        **api(world.acme_token),
    )
    assert_error(response, 400, "validation_failed")
    assert problem in " ".join(response.json()["error"]["details"][where])
    assert not WebhookEndpoint.objects.exists()


def test_malformed_json_is_a_400(world):
    response = Client().put(
        f"/v1/projects/{world.acme.id}/sms/webhook",
        "{not json",
        content_type="application/json",
        **api(world.acme_token),
    )
    assert_error(response, 400, "malformed_body")


def test_get_before_registration_is_a_404_that_says_so(world):
    response = Client().get(f"/v1/projects/{world.acme.id}/sms/webhook", **api(world.acme_token))
    assert_error(response, 404, "webhook_not_registered")


@pytest.mark.parametrize("method", ["get", "put"])
def test_another_projects_token_gets_404(world, method):
    do_register_webhook(world.acme, "https://hooks.acme.test/h", world.alice)
    url = f"/v1/projects/{world.acme.id}/sms/webhook"
    if method == "put":
        body = json.dumps({"url": "https://evil.test/h"})
        response = Client().put(url, body, content_type="application/json", **api(world.bolt_token))
    else:
        response = Client().get(url, **api(world.bolt_token))
    assert_error(response, 404, "not_found")
    assert WebhookEndpoint.objects.get().url == "https://hooks.acme.test/h"

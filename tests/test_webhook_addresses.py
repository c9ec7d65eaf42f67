"""Where webhooks may go (issue 12 item 2): loopback, link-local, metadata
and other internal addresses are refused unless the operator allows their
network, at registration when the URL names the address and at delivery on
the address the host resolves to, which is then the address connected to.
The receiver's answer is kept only when the operator says so. Errors are
codes, worded in the reader's language.

The test environment allows loopback (tests/support/env.py) so the other
webhook tests can use a local receiver; these tests turn it off."""

from __future__ import annotations

import importlib
import socket

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.support.world import PASSWORD
from webhooks import addresses, tasks
from webhooks.actions import do_register_webhook, do_send_test_event, validate_webhook_url
from webhooks.models import WebhookAttempt, WebhookEvent

LOOPBACK_FORMS = [
    "http://127.0.0.1:6379/",
    "http://localhost:8000/",
    "http://LOCALHOST./x",
    "http://[::1]:8080/",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://127.1/",
    "http://0x7f.1/",
    "http://017700000001/",
    "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
]


@pytest.fixture
def strict(settings):
    """The defaults of a production installation: nothing allowed beyond
    private networks, answers not kept."""
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_LOG_RESPONSE_BODY = False
    return settings


def deliver(project) -> None:
    tasks.deliver_webhook_events(str(project.id))


def send_test_event(world) -> WebhookEvent:
    with transaction.atomic():
        event = do_send_test_event(world.acme, world.alice)
    deliver(world.acme)
    event.refresh_from_db()
    return event


@pytest.fixture
def resolving(monkeypatch):
    """DNS at its one seam: names in `answers` resolve as the test says
    (each lookup takes the next answer); everything else as usual."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            lookups.append(host)
            address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


@pytest.mark.parametrize("url", LOOPBACK_FORMS)
def test_it_refuses_to_register_an_internal_address_in_any_spelling(strict, url):
    with pytest.raises(ValidationError) as caught:
        validate_webhook_url(url)
    assert caught.value.code == "url_address_refused"
    assert "MUNJA_WEBHOOK_ALLOWED_NETWORKS" in caught.value.messages[0]


def test_it_accepts_public_and_private_receivers_by_default(strict):
    assert validate_webhook_url("https://hooks.example.com/munja")
    assert validate_webhook_url("http://10.1.2.3:8080/munja")
    assert validate_webhook_url("http://192.168.0.10/munja")


def test_it_refuses_private_receivers_when_the_operator_turns_them_off(strict):
    strict.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError):
        validate_webhook_url("http://10.1.2.3:8080/munja")


def test_the_operator_can_allow_a_network(strict):
    strict.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert validate_webhook_url("http://127.0.0.1:9000/hook")
    with pytest.raises(ValidationError):
        validate_webhook_url("http://169.254.169.254/")


def test_the_api_refuses_a_loopback_url_with_the_reason(strict, client, world):
    response = client.put(
        reverse("api_sms_webhook", args=[world.acme.id]),
        {"url": "http://127.1:6379/"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.acme_token}",
    )
    assert response.status_code == 400
    assert "loopback" in str(response.json()["error"]["details"]["url"])


def test_a_test_event_to_a_loopback_receiver_is_not_sent_and_reads_nothing_back(
    strict, world, receiver
):
    # Registered while the operator allowed loopback, then no longer allowed.
    strict.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    do_register_webhook(world.acme, receiver.url, world.alice)
    strict.WEBHOOK_ALLOWED_NETWORKS = []
    event = send_test_event(world)
    assert receiver.received == []
    attempt = WebhookAttempt.objects.get(event=event)
    assert attempt.status_code is None and attempt.response_excerpt == ""
    assert attempt.error_code == "address_refused"
    assert attempt.error_params["address"] == "127.0.0.1"
    assert event.status == WebhookEvent.Status.PENDING  # retried: the operator may allow it


def test_a_name_resolving_to_an_internal_address_is_refused_at_delivery(
    strict, world, receiver, resolving
):
    answers, _lookups = resolving
    answers["hooks.example.com"] = ["169.254.169.254"]
    do_register_webhook(world.acme, "http://hooks.example.com/hook", world.alice)
    event = send_test_event(world)
    attempt = WebhookAttempt.objects.get(event=event)
    assert (attempt.error_code, attempt.error_params["kind"]) == ("address_refused", "metadata")


def test_the_connection_goes_to_the_address_that_was_checked(strict, world, receiver, resolving):
    """DNS rebinding: the name resolves to the allowed receiver when checked
    and to the metadata service on any later lookup; the request must reach
    the receiver, with the URL's host name in its Host header."""
    strict.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    answers, lookups = resolving
    answers["rebind.example.com"] = ["127.0.0.1", "169.254.169.254"]
    url = f"http://rebind.example.com:{receiver.port}/hook"
    do_register_webhook(world.acme, url, world.alice)
    event = send_test_event(world)
    assert event.status == WebhookEvent.Status.DELIVERED
    assert lookups == ["rebind.example.com"]
    [got] = receiver.received
    assert got.headers["host"] == f"rebind.example.com:{receiver.port}"


def test_the_log_keeps_status_and_timing_but_not_the_answer_unless_enabled(strict, world, receiver):
    strict.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver.answer(200, body=b"internal secret")
    do_register_webhook(world.acme, receiver.url, world.alice)
    event = send_test_event(world)
    attempt = WebhookAttempt.objects.get(event=event)
    assert (attempt.status_code, attempt.response_excerpt) == (200, "")
    client = Client()
    client.login(username=world.alice.email, password=PASSWORD)
    log = client.get(reverse("webhook_delivery_log", args=[world.acme.id])).content.decode()
    assert '<td class="status-code">200</td>' in log and " ms</td>" in log
    assert "Response" not in log

    strict.WEBHOOK_LOG_RESPONSE_BODY = True
    second = send_test_event(world)
    assert WebhookAttempt.objects.get(event=second).response_excerpt == "internal secret"
    log = client.get(reverse("webhook_delivery_log", args=[world.acme.id])).content.decode()
    assert "internal secret" in log


def test_a_name_whose_every_address_is_refused_is_refused(strict, resolving):
    answers, _lookups = resolving
    answers["mixed.example.com"] = ["127.0.0.1"]
    with pytest.raises(addresses.ReceiverRefused):
        addresses.resolve("mixed.example.com", 80)
    assert addresses.resolve("93.184.215.14", 80) == "93.184.215.14"


# --- errors in the reader's language ------------------------------------------------


def test_a_stored_error_reads_in_the_readers_language(world):
    event = WebhookEvent.objects.create(
        project=world.acme,
        type="ReportSMSUnsubscribed",
        data={},
        last_error_code="gave_up",
        last_error_params={
            "hours": "72",
            "cause": {"code": "http_status", "params": {"code": 503}},
        },
    )
    with translation.override("en"):
        assert event.last_error_message == "Gave up after 72 h: The receiver answered HTTP 503."
    with translation.override("ko"):
        assert "503" in event.last_error_message
        assert "재시도한 후 중단했습니다" in event.last_error_message


def test_the_migration_turns_stored_sentences_into_codes():
    migration = importlib.import_module("webhooks.migrations.0004_webhook_error_codes")
    parse = migration.parse_legacy
    assert parse("The receiver answered HTTP 503.") == ("http_status", {"code": 503})
    assert parse("수신 서버가 HTTP 500 응답을 반환했습니다.") == ("http_status", {"code": 500})
    assert parse("Could not connect: Connection refused") == (
        "connect_failed",
        {"reason": "Connection refused"},
    )
    assert parse("Gave up after 72 h: No answer within 10 s (timed out).") == (
        "gave_up",
        {"hours": "72", "cause": {"code": "timeout", "params": {"seconds": "10"}}},
    )
    assert parse("something else") is None


def test_a_pinned_https_connection_checks_the_certificate_of_the_urls_host(tmp_path):
    """Connecting to the checked address must not change whom TLS talks to:
    the certificate is for the URL's host name, not for the address."""
    import http.server
    import ssl
    import threading

    import trustme

    from tests.support.processes import free_port

    ca = trustme.CA()
    cert = ca.issue_cert("receiver.example")
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with addresses.pinned_session("127.0.0.1") as session:
            response = session.post(
                f"https://receiver.example:{port}/hook", data=b"{}", verify=str(bundle), timeout=5
            )
        assert response.status_code == 204
    finally:
        server.shutdown()
        server.server_close()


def test_staff_read_an_events_error_in_words_in_the_admin(world):
    event = WebhookEvent.objects.create(
        project=world.acme,
        type="ReportSMSUnsubscribed",
        data={},
        last_error_code="address_refused",
        last_error_params={"host": "127.1", "address": "127.0.0.1", "kind": "loopback"},
    )
    WebhookAttempt.objects.create(
        event=event, url="http://127.1/", error_code="dns_failed", error_params={"host": "x.test"}
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.staff)
    page = client.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))
    text = page.content.decode()
    assert "127.1 is 127.0.0.1, a loopback address (this server itself)" in text
    assert "The host name x.test could not be resolved." in text

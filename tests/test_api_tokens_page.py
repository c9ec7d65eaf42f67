"""The API tokens page: a token is shown once, stored as a hash, listed by its
prefix afterwards, and revoked after a confirmation."""

from __future__ import annotations

import re

from django.urls import reverse

from projects.actions import hash_token
from projects.models import ApiToken, AuditLog


def test_a_new_token_is_shown_once_with_a_copy_button_and_only_its_hash_is_stored(client, world):
    client.force_login(world.alice)
    url = reverse("api_tokens", args=[world.acme.id])
    response = client.post(url, {"name": "shop backend"})
    assert response.status_code == 200
    raw = re.search(r'id="raw-token">([^<]+)<', response.text).group(1)
    assert f'data-copy="{raw}"' in response.text
    token = ApiToken.objects.get(name="shop backend")
    assert token.token_hash == hash_token(raw)
    assert raw.startswith(token.prefix)
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    # Never again: the list shows only the prefix.
    listing = client.get(url).text
    assert raw not in listing
    assert f"<code>{token.prefix}…</code>" in listing
    assert AuditLog.objects.filter(action="api_token.created", target__contains="shop").exists()


def test_the_list_shows_prefix_creator_last_use_and_status(client, world):
    client.force_login(world.alice)
    token = world.acme.api_tokens.get()
    text = client.get(reverse("api_tokens", args=[world.acme.id])).text
    row = re.search(rf'<tr data-token="{re.escape(token.prefix)}">(.*?)</tr>', text, re.S).group(1)
    assert "acme integration" in row
    assert "alice@acme.test" in row
    assert "never" in row
    assert "Active" in row
    assert world.bolt.api_tokens.get().prefix not in text


def test_a_token_without_a_name_is_refused(client, world):
    client.force_login(world.alice)
    response = client.post(reverse("api_tokens", args=[world.acme.id]), {"name": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert world.acme.api_tokens.count() == 1


def test_revoking_asks_first_then_revokes_and_records_it(client, world):
    client.force_login(world.alice)
    token = world.acme.api_tokens.get()
    url = reverse("revoke_api_token", args=[world.acme.id, token.id])
    confirm = client.get(url)
    assert "Revoke the token “acme integration”" in confirm.text
    token.refresh_from_db()
    assert token.is_active
    response = client.post(url, follow=True)
    assert "The token “acme integration” was revoked." in response.text
    token.refresh_from_db()
    assert not token.is_active
    assert "Revoked" in response.text
    assert AuditLog.objects.filter(action="api_token.revoked").count() == 1
    again = client.post(url, follow=True)
    assert "That token was already revoked." in again.text
    assert AuditLog.objects.filter(action="api_token.revoked").count() == 1

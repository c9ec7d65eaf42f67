"""Fixtures for the Send, Messages and Campaign API tests: a sending project
(approved default sender, 080 number, console gateway) with an API token,
and a second project whose token must never reach the first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from channels.gateways import console as console_backend
from channels.models import Gateway
from projects.actions import do_create_api_token
from projects.models import Project
from tests.support.campaigns import sending_project


@dataclass
class Api:
    """A client speaking JSON to one project's API with its token."""

    project: Project
    token: str

    @property
    def base(self) -> str:
        return f"/v1/projects/{self.project.id}"

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}", "HTTP_ACCEPT_LANGUAGE": "en", **extra}

    def get(self, path: str, **headers: str) -> Any:
        return Client().get(self.base + path, **self._headers(headers))

    def post(self, path: str, body: object = None, **headers: str) -> Any:
        return Client().post(
            self.base + path,
            data=json.dumps(body if body is not None else {}),
            content_type="application/json",
            **self._headers(headers),
        )

    def patch(self, path: str, body: object, **headers: str) -> Any:
        return Client().patch(
            self.base + path,
            data=json.dumps(body),
            content_type="application/json",
            **self._headers(headers),
        )

    def send(self, **body: Any) -> Any:
        return self.post("/sms", body)


@pytest.fixture
def console_gateway(db):
    console_backend.outbox.clear()
    yield Gateway.objects.create(name="Test console", backend="console")
    console_backend.outbox.clear()


@pytest.fixture
def api(console_gateway) -> Api:
    project = sending_project("Acme", gateway=console_gateway)
    _token, raw = do_create_api_token(project, "integration", None)
    return Api(project, raw)


@pytest.fixture
def other_api(console_gateway) -> Api:
    project = sending_project("Bolt", gateway=console_gateway)
    _token, raw = do_create_api_token(project, "integration", None)
    return Api(project, raw)

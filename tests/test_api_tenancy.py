"""A token of project A gets 404 for everything of project B.

Every endpoint under /v1/projects/<project_id>/ is found from the URL
resolver, so endpoints added by later issues are covered without editing
this file: each allowed method is called with Bolt's token on Acme's id and
must answer a JSON 404 and write nothing.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from console.api.views import ProjectAPIView
from projects.models import AuditLog
from tests.test_api_auth import assert_error

PROJECT_PREFIX = "v1/projects/<uuid:project_id>"
# Endpoints that exist today; the enumeration must find at least these, so the
# test cannot pass by finding nothing. Later issues add theirs here.
KNOWN_ENDPOINTS = {PROJECT_PREFIX} | {
    f"{PROJECT_PREFIX}/{route}"
    for route in [
        "sender-numbers",
        "sender-numbers/<int:sender_id>",
        "track",
        "users/<path:user_id>",
        "segments",
        "segments/count",
        "segments/<int:segment_id>",
        "segments/<int:segment_id>/count",
        "audience-files",
        "audience-files/sample",
        "audience-files/<uuid:file_id>",
        "audience-files/<uuid:file_id>/errors.csv",
        "audience-files/<uuid:file_id>/corrected.csv",
        "sms/unsubscribe",
        "sms/subscribe",
        "sms/unsubscribes",
        "sms/webhook",
        "sms",
        "messages/<int:message_id>",
        "campaigns",
        "campaigns/<int:campaign_id>",
        "campaigns/<int:campaign_id>/schedule",
        "campaigns/<int:campaign_id>/send",
        "campaigns/<int:campaign_id>/pause",
        "campaigns/<int:campaign_id>/resume",
        "campaigns/<int:campaign_id>/cancel",
        "campaigns/<int:campaign_id>/stats",
        "campaigns/<int:campaign_id>/stats.csv",
        "journeys",
        "journeys/<int:journey_id>",
        "journeys/<int:journey_id>/versions",
        "journeys/<int:journey_id>/versions/<int:number>",
        "journeys/<int:journey_id>/draft",
        "journeys/<int:journey_id>/draft/validate",
        "journeys/<int:journey_id>/publish",
        "journeys/<int:journey_id>/activate",
        "journeys/<int:journey_id>/pause",
        "journeys/<int:journey_id>/resume",
        "journeys/<int:journey_id>/stop",
        "journeys/<int:journey_id>/statistics",
        "journeys/<int:journey_id>/dry-run",
        "journey-runs",
    ]
}
WRITE_METHODS = {"post", "put", "patch", "delete"}
_CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")
_SAMPLES = {"int": "1", "str": "x1", "slug": "x1", "path": "x1/y2"}


def _walk(patterns: list, prefix: str = "", regex: bool = False):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        is_regex = regex or not isinstance(pattern.pattern, RoutePattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route, is_regex)
        elif isinstance(pattern, URLPattern):
            yield route, pattern, is_regex


def project_endpoints() -> list[tuple[str, str, type]]:
    """(route, method, view class) for every project-scoped endpoint."""
    found = []
    for route, pattern, is_regex in _walk(get_resolver().url_patterns):
        if not route.startswith(PROJECT_PREFIX):
            continue
        assert not is_regex, f"{route}: use path() so the tenancy test can fill it in"
        callback = pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        assert view_class is not None and issubclass(view_class, ProjectAPIView), (
            f"{route} must be served by a ProjectAPIView subclass"
        )
        actions = getattr(callback, "actions", None)
        methods = (
            list(actions)
            if actions
            else [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]
        )
        found.extend((route, method, view_class) for method in methods)
    return found


def concrete_path(route: str, project_id: object) -> str:
    def fill(match: re.Match) -> str:
        if match["name"] == "project_id":
            return str(project_id)
        if match["kind"] == "uuid":
            return str(uuid.uuid4())
        return _SAMPLES.get(match["kind"] or "str", "1")

    return "/" + _CONVERTER.sub(fill, route)


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


ENDPOINTS = project_endpoints()


def test_the_enumeration_finds_every_known_endpoint():
    routes = {route for route, _method, _view in ENDPOINTS}
    assert routes >= KNOWN_ENDPOINTS
    assert (PROJECT_PREFIX, "get") in {(route, method) for route, method, _view in ENDPOINTS}


def test_paths_are_filled_in_plausibly():
    project_id = uuid.uuid4()
    path = concrete_path(f"{PROJECT_PREFIX}/numbers/<int:number_id>/docs/<uuid:doc>", project_id)
    assert path.startswith(f"/v1/projects/{project_id}/numbers/1/docs/")
    assert "<" not in path


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "method"),
    [(route, method) for route, method, _view in ENDPOINTS],
    ids=[f"{method.upper()} /{route}" for route, method, _view in ENDPOINTS],
)
def test_a_foreign_token_gets_404_and_writes_nothing(world, route, method):
    path = concrete_path(route, world.acme.id)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.bolt_token}", "HTTP_ACCEPT_LANGUAGE": "en"}
    kwargs = {}
    if method in WRITE_METHODS:
        kwargs = {"data": json.dumps({}), "content_type": "application/json"}
        headers["HTTP_IDEMPOTENCY_KEY"] = f"tenancy-{uuid.uuid4()}"
    before = row_counts()
    response = getattr(Client(), method)(path, **kwargs, **headers)
    assert_error(response, 404, "not_found")
    assert row_counts() == before


@pytest.mark.django_db
@pytest.mark.urls("tests.support.api_views")
def test_an_object_of_another_project_is_404_under_ones_own_project(world):
    bolt_entry = AuditLog.objects.filter(project=world.bolt).first()
    acme_entry = AuditLog.objects.filter(project=world.acme).first()
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.acme_token}"}
    own = client.get(f"/v1/projects/{world.acme.id}/audit/{acme_entry.id}", **auth)
    assert own.status_code == 200
    foreign = client.get(f"/v1/projects/{world.acme.id}/audit/{bolt_entry.id}", **auth)
    assert_error(foreign, 404, "not_found")

"""The OpenAPI 3 schema at /v1/schema and the offline reference at /v1/docs."""

from __future__ import annotations

import re

import pytest
import yaml
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_json_and_needs_no_token():
    response = Client().get("/v1/schema")
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/v1/projects/{projectId}" in schema["paths"]


def test_schema_ignores_a_bad_token():
    response = Client().get("/v1/schema", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 200


def test_schema_is_available_as_yaml():
    response = Client().get("/v1/schema?format=yaml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi;")
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_schema_declares_the_bearer_scheme_and_uses_it():
    schema = Client().get("/v1/schema").json()
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operation = schema["paths"]["/v1/projects/{projectId}"]["get"]
    assert {"bearerAuth": []} in operation["security"]
    parameter_names = {p["name"] for p in operation["parameters"]}
    assert parameter_names == {"projectId"}


def test_schema_documents_the_error_shape_on_every_project_endpoint():
    schema = Client().get("/v1/schema").json()
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "details"]
    for path, operations in schema["paths"].items():
        if not path.startswith("/v1/projects/{projectId}"):
            continue
        for method, operation in operations.items():
            for status in ("401", "404", "429"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/Error"}, (path, method, status)
            assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_schema_describes_project_info_in_camel_case():
    schema = Client().get("/v1/schema").json()
    operation = schema["paths"]["/v1/projects/{projectId}"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {
        "projectId",
        "name",
        "companyName",
        "timeZone",
        "optOutNumber",
        "apiRatePerMinute",
    }
    assert component["properties"]["optOutNumber"]["nullable"] is True


def test_schema_is_valid_openapi():
    # drf-spectacular's validator: the schema against the OpenAPI 3.0 JSON schema.
    from drf_spectacular.validation import validate_schema

    validate_schema(Client().get("/v1/schema").json())


def test_docs_page_loads_everything_from_our_own_server():
    response = Client().get("/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(source.startswith("/") for source in sources), sources
    assert "swagger-ui-bundle.js" in html
    # Every script and style carries the CSP nonce; no inline handlers.
    assert re.search(r"<script(?![^>]*nonce=)", html) is None
    assert re.search(r"<style(?![^>]*nonce=)", html) is None
    assert re.search(r"\son[a-z]+=", html) is None


def test_docs_page_tells_how_to_send_the_token():
    html = Client().get("/v1/docs", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Authorization: Bearer &lt;token&gt;" in html

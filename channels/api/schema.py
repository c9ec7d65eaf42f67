"""Tells drf-spectacular how the project token is sent, so the schema (and
`check --deploy`) has no unresolved authenticator.

Integrator: if console/api gains its own extension for this class, drop this one.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ProjectTokenScheme(OpenApiAuthenticationExtension):
    target_class = "console.api.authentication.ProjectTokenAuthentication"
    name = "projectToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project API token: `Authorization: Bearer <token>`.",
        }

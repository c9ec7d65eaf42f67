# PROVISIONAL (dispatch branch): replaced by the text-helpers branch at merge
"""The one python-liquid 2 environment of the project, and what a message body uses.

python-liquid, not liquidpy (SPEC §9): it renders attribute tricks such as
`{{ cycler.__init__.__globals__ }}` as nothing and passes the Golden Liquid
suite. The campaigns issue extends this module with rendering.
"""

from __future__ import annotations

from functools import lru_cache

from liquid import Environment
from liquid.exceptions import LiquidError

ENVIRONMENT = Environment()

__all__ = [
    "ENVIRONMENT",
    "LiquidError",
    "TemplateProblem",
    "compile_template",
    "is_variable_name",
    "render",
    "template_variables",
]


class TemplateProblem(ValueError):
    """A body that is not valid Liquid; the message says where."""


def compile_template(source: str):
    try:
        return ENVIRONMENT.from_string(source)
    except LiquidError as exc:
        raise TemplateProblem(str(exc)) from exc


def render(template, context: dict) -> str:
    return template.render(**context)


def template_variables(body: str) -> list[str]:
    """The root names of the variables `body` reads from its data, in order of
    first use, without those it assigns itself. Raises LiquidError when the
    body is not valid Liquid."""
    return list(ENVIRONMENT.parse(body).global_variables())


@lru_cache(maxsize=1024)
def is_variable_name(name: str) -> bool:
    """Whether `{{ name }}` reads exactly the variable `name` — what a file
    column must be for a message to use it."""
    if not name or name != name.strip() or "{" in name or "}" in name or "%" in name:
        return False
    try:
        return template_variables("{{ " + name + " }}") == [name]
    except LiquidError:
        return False

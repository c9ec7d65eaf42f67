"""The one check of an outgoing message's text, used by every producer and
every screen that takes a message (the compose screen, the forms, the API
serializers and the Send API): the rules and their wording live here only.

The text goes to carriers in EUC-KR (CP949): every character must be in it,
a body may have at most LMS_MAX_BYTES bytes (over SMS_MAX_BYTES it goes as
an LMS), and an LMS title at most TITLE_MAX_BYTES.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from console.lib.sms import LMS_MAX_BYTES, TITLE_MAX_BYTES, cp949_length, unencodable


class OutgoingMessageRefused(ValueError):
    """A message that cannot go; `problems` maps a field (body, title) to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def characters_problem(text: str) -> str | None:
    """What is wrong with characters of `text` that EUC-KR cannot carry, or None."""
    bad = unencodable(text)
    if not bad:
        return None
    return _("EUC-KR cannot carry these characters: %(chars)s. Remove them.") % {
        "chars": " ".join(bad)
    }


def empty_body_problem() -> str:
    return _("Write the message.")


def body_problem(body: str) -> str | None:
    """What is wrong with a rendered message body (empty, characters, over
    the LMS limit), or None. A template is checked for characters only
    (`characters_problem`): its length is known once it is rendered."""
    if not body.strip():
        return empty_body_problem()
    problem = characters_problem(body)
    if problem:
        return problem
    size = cp949_length(body)
    if size > LMS_MAX_BYTES:
        return _("The message is %(count)d bytes; the limit is %(limit)d bytes.") % {
            "count": size,
            "limit": LMS_MAX_BYTES,
        }
    return None


def title_problem(title: str) -> str | None:
    """What is wrong with an LMS title (characters, over the limit), or None."""
    if not title:
        return None
    problem = characters_problem(title)
    if problem:
        return problem
    size = cp949_length(title)
    if size > TITLE_MAX_BYTES:
        return _(
            "The title is %(bytes)d bytes in EUC-KR; an LMS title may have at most %(limit)d."
        ) % {"bytes": size, "limit": TITLE_MAX_BYTES}
    return None


def check_outgoing_message(body: str, title: str = "") -> dict[str, str]:
    """Every problem of a message's text by field (empty: it can go)."""
    problems = {}
    for field, problem in (("body", body_problem(body)), ("title", title_problem(title))):
        if problem:
            problems[field] = problem
    return problems

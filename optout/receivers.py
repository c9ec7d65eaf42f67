"""Changes to the list that other apps report through signals.

channels verifies and normalises a provider's 080 callback and fires
`optout_call_received`; applying it here keeps channels ignorant of the list.
"""

from __future__ import annotations

import logging

from channels.signals import optout_call_received
from optout.actions import do_opt_in, do_opt_out
from optout.models import Source
from projects.models import Project

logger = logging.getLogger("optout")


def apply_optout_call(
    sender: object,
    *,
    project: Project,
    phone_number: str,
    subscribed: bool,
    source: str = Source.CALL_080,
    **kwargs: object,
) -> None:
    """Someone called the project's 080 number: opt them out (or back in)."""
    action = do_opt_in if subscribed else do_opt_out
    result = action(project, [phone_number], source, actor_label=f"080 call ({sender})")
    for problem in result.invalid:
        # channels already refuses non-E.164 callers with a 400; this is a
        # provider that slipped one through, so say so instead of guessing.
        logger.warning("080 call for %s ignored: %s", project.pk, problem.message)


def connect() -> None:
    optout_call_received.connect(apply_optout_call, dispatch_uid="optout.apply_optout_call")

"""The console's sidebar: sections grouped by task, each entry a URL name and
the least role that may use it. Adding a screen to the sidebar is one line in
SECTIONS; the context processor marks the current entry and drops the ones
the viewer's role cannot open."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from projects.models import ROLE_RANK, Role


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    minimum_role: str = Role.VIEWER
    # The dashboard's URL is the prefix of every project page: it is current
    # only on itself.
    exact: bool = False


@dataclass(frozen=True)
class Section:
    label: str
    entries: tuple[Entry, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        _("Overview"),
        (Entry(_("Dashboard"), "dashboard", exact=True), Entry(_("Statistics"), "project_stats")),
    ),
    Section(_("Messaging"), (Entry(_("Campaigns"), "campaigns"), Entry(_("Journeys"), "journeys"))),
    Section(
        _("Audience"),
        (
            Entry(_("Users"), "customers"),
            Entry(_("Segments"), "segments"),
            Entry(_("Audience files"), "audience_files"),
        ),
    ),
    Section(_("Compliance"), (Entry(_("Opt-outs"), "optouts"), Entry(_("Consent"), "consent"))),
    Section(
        _("Settings"),
        (
            Entry(_("Channels"), "channels"),
            Entry(_("SMS settings"), "sms_settings", Role.ADMIN),
            Entry(_("Members"), "members", Role.ADMIN),
            Entry(_("API tokens"), "api_tokens", Role.ADMIN),
            Entry(_("Audit log"), "audit_log", Role.ADMIN),
        ),
    ),
)


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool


def sidebar(request: HttpRequest) -> dict:
    """The sidebar of the current project as sections of links; the entry
    whose URL is the longest prefix of the current path is the current one
    (a campaign's page belongs to Campaigns, the dashboard only to itself)."""
    project = getattr(request, "project", None)
    membership = getattr(request, "membership", None)
    if project is None or membership is None:
        return {}
    rank = ROLE_RANK.get(membership.role, -1)
    built: list[tuple[str, list[tuple[Entry, str]]]] = []
    for section in SECTIONS:
        entries = []
        for entry in section.entries:
            if rank < ROLE_RANK[entry.minimum_role]:
                continue
            try:
                url = reverse(entry.url_name, args=[project.id])
            except NoReverseMatch:
                continue
            entries.append((entry, url))
        if entries:
            built.append((section.label, entries))
    path = request.path
    matches = [
        url
        for _, entries in built
        for entry, url in entries
        if path == url or (not entry.exact and path.startswith(url))
    ]
    current = max(matches, key=len, default=None)
    return {
        "nav_sections": [
            (label, [Link(entry.label, url, url == current) for entry, url in entries])
            for label, entries in built
        ]
    }

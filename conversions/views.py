"""The public end of tracked links: `/l/<code>` redirects and records the click."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from conversions.actions import do_follow_link


@never_cache
@require_safe
def follow_link(request: HttpRequest, code: str) -> HttpResponse:
    """302 to the URL the marketer wrote; 404 for anything not genuine. A
    HEAD (link previews, crawlers checking the target) redirects without
    counting a click."""
    url = do_follow_link(code, record=request.method == "GET")
    if url is None:
        raise Http404("unknown link")
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return response

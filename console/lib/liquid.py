"""The one python-liquid 2 environment: compiling, checking and rendering message bodies.

python-liquid, not liquidpy (SPEC §9): it renders attribute tricks such as
`{{ cycler.__init__.__globals__ }}` as nothing and passes the Golden Liquid
suite. On top of the standard tags and filters this environment:

- has no ``include`` / ``render`` tags (a body has no partials to load);
- caps loop iterations, the size of what a body assigns and of what it
  writes, so no body can keep a worker busy or fill its memory;
- adds ``number_with_delimiter`` (1234567 → 1,234,567), ``timezone`` (a time
  moved into a zone) and a ``date`` that takes a zone as its second argument:
  ``{{ createdAt | date: "%m/%d %H:%M", "Asia/Seoul" }}``;
- adds ``track`` (``{{ "https://shop.example" | track }}``), a per-recipient
  short link; it lives in `console.lib.links`, and only literal http(s) URLs
  may be tracked (checked when compiling).

Undefined variables and missing values (``None``, e.g. a user without a
birth date) render as the empty string in every filter added here, so
``{{ dob | date: "%m/%d" | default: "-" }}`` gives ``-`` and never ``None``.
The output keeps ``\r\n`` as written (python-liquid's size-limited output
stream would turn it into ``\n``). Where this environment differs from the
Golden Liquid suite on purpose: no ``include``/``render``; ``date`` takes a
zone as an optional second argument; ``date`` reads ISO 8601 text and text
that names its month (``March 14, 2016``), never all-number forms such as
``01/02/2024`` whose day and month could be either way round. ``%s`` is the
Unix time of the moment itself, whatever the server's zone
(tests/test_liquid_golden.py). A syntax error, an unknown
filter or a failure while rendering is a `TemplateProblem` with the 1-based
line and column, ready to be shown in compose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache, wraps
from typing import Any

from dateutil import parser as date_parser
from liquid import BoundTemplate, Environment, RenderContext, is_undefined
from liquid.exceptions import FilterArgumentError, LiquidError
from liquid.output import LimitedStringIO

from console.lib import links
from console.lib.compliance import DEFAULT_TIME_ZONE, resolve_time_zone

__all__ = [
    "ENVIRONMENT",
    "LiquidError",
    "TemplateProblem",
    "compile_template",
    "is_variable_name",
    "render",
    "template_variables",
    "undefined_variables",
]


class TemplateProblem(ValueError):
    """A message body that cannot be compiled or rendered, and where."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{message} (line {line}, column {column})")


# -- filters ---------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_CALENDAR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_NAME = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE
)
# `%s` (Unix time) and `%%` (a literal percent, which must not start a `%s`).
_EPOCH_DIRECTIVE = re.compile(r"%[%s]")


def _missing(value: object) -> bool:
    """An undefined variable or a missing value (None, Liquid's nil)."""
    return value is None or is_undefined(value)


def number_with_delimiter(value: object, delimiter: str = ",", separator: str = ".") -> object:
    """1234567 → "1,234,567"; 1234.5 and "1234.50" keep their decimals. Text
    that is not a plain number comes back unchanged; undefined renders empty."""
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float | Decimal):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else value
        except InvalidOperation:
            return value
        if not number.is_finite():
            return value
    elif isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        number = Decimal(value.strip())
    else:
        return value
    text = format(number, ",f")
    if delimiter == "," and separator == ".":
        return text
    return text.translate(str.maketrans({",": str(delimiter), ".": str(separator)}))


def _zone_argument(name: object) -> tzinfo:
    # An empty, undefined or unknown zone (a user's timeZone attribute may be
    # any of these) falls back to Asia/Seoul rather than failing the message.
    return resolve_time_zone(None if is_undefined(name) else str(name or "").strip() or None)


def _as_time(value: object, zone: tzinfo | None) -> datetime | date | None:
    """`value` as a datetime (or a calendar date, which has no zone to move
    into), or None when it is not a time at all. Times without an offset are
    taken as UTC, as the database and the track API store them."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("now", "today"):
            return datetime.now(zone or resolve_time_zone(DEFAULT_TIME_ZONE))
        if _CALENDAR_DATE.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                return None
        if text.isdigit():
            value = int(text)
        else:
            # ISO 8601 (what the track API and the database write), or text
            # that names its month ("March 14, 2016", as Liquid reads it).
            # All-number forms (01/02/2024) are refused: free-form parsing
            # would have to guess which is the day.
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                if not _MONTH_NAME.search(text):
                    return None
                try:
                    value = date_parser.parse(text)
                except (ValueError, OverflowError):
                    return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            value = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        if zone is None:
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(zone)
    if isinstance(value, date):
        return value
    return None


def timezone_filter(value: object, zone_name: object = None) -> object:
    """The time `value` as seen in `zone_name` (Asia/Seoul when empty or
    unknown), for `date` to format. Calendar dates are left as they are."""
    if _missing(value):
        return ""
    moment = _as_time(value, _zone_argument(zone_name))
    return value if moment is None else moment


def date_filter(value: object, fmt: object = None, zone_name: object = None) -> str:
    """Format a time with strftime `fmt`, first moved into `zone_name` when
    one is given. "now" is the current time (in Asia/Seoul without a zone).
    A value that is not a time comes back as it is, like Shopify's `date`."""
    if fmt is None:
        raise FilterArgumentError("date: the format is missing (e.g. date: '%Y-%m-%d')", token=None)
    if _missing(value):
        return ""
    if is_undefined(fmt):
        return str(value)
    zone = None if zone_name is None else _zone_argument(zone_name)
    moment = _as_time(value, zone)
    if moment is None:
        return str(value)
    try:
        return moment.strftime(_with_epoch(str(fmt), moment))
    except ValueError as error:
        raise FilterArgumentError(f"date: {error}", token=None) from error


def _with_epoch(fmt: str, moment: datetime | date) -> str:
    """`fmt` with `%s` replaced by the moment's Unix time. The C library's
    `%s` reads a naive time in the server's zone (9 hours off in Seoul);
    here a time without an offset is UTC, as everywhere in this module."""
    if "%s" not in fmt:
        return fmt
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    epoch = str(int(moment.timestamp()))
    return _EPOCH_DIRECTIVE.sub(lambda m: epoch if m[0] == "%s" else "%%", fmt)


def track_filter(value: object) -> str:
    """`links.track_filter`, rendering nothing for a missing value."""
    return "" if _missing(value) else links.track_filter(value)


# What one filter call may take and make. A body renders to at most 2,000
# bytes, so these are far above any real use and far below harm: without
# them `{{ (1..100000000) | join }}` or `{{ a | replace: "x", a }}` would hold
# a worker for minutes and gigabytes.
MAX_FILTER_ITEMS = 10_000
MAX_FILTER_TEXT = 100_000
_REPLACING = frozenset({"replace", "replace_first", "replace_last"})


def _guarded(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` refusing inputs whose result would be unreasonably large."""

    @wraps(function)  # keeps the with_context / with_environment markers
    def guarded(value: object, *args: Any, **kwargs: Any) -> Any:
        for argument in (value, *args):
            if isinstance(argument, range) and len(argument) > MAX_FILTER_ITEMS:
                raise FilterArgumentError(
                    f"{name}: a range of more than {MAX_FILTER_ITEMS:,} items", token=None
                )
        if _projected_length(name, value, args) > MAX_FILTER_TEXT:
            raise FilterArgumentError(
                f"{name}: the result would exceed {MAX_FILTER_TEXT:,} characters", token=None
            )
        result = function(value, *args, **kwargs)
        if isinstance(result, str) and len(result) > MAX_FILTER_TEXT:
            raise FilterArgumentError(
                f"{name}: the result would exceed {MAX_FILTER_TEXT:,} characters", token=None
            )
        return result

    return guarded


def _projected_length(name: str, value: object, args: tuple[Any, ...]) -> int:
    """An upper bound of the length of what the filters that multiply text
    (replace, join) would produce; 0 for the others."""
    if name in _REPLACING and isinstance(value, str) and args:
        old = "" if is_undefined(args[0]) else str(args[0])
        new = "" if len(args) < 2 or is_undefined(args[1]) else str(args[1])
        count = (len(value) + 1) if not old else value.count(old)
        if name != "replace":
            count = min(count, 1)
        return len(value) + count * max(0, len(new) - len(old))
    if name == "join" and isinstance(value, list | tuple):
        separator = " " if not args or is_undefined(args[0]) else str(args[0])
        return len(value) * len(separator) + sum(len(str(item)) for item in value)
    return 0


class _Output(LimitedStringIO):
    """python-liquid's size-limited output stream, without newline
    translation: its StringIO is made with newline=None, which turns every
    `\r\n` a body writes into `\n`."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit, newline="")


class _MessageContext(RenderContext):
    def get_buffer(self, buf: Any = None) -> Any:  # capture, for, if … blocks
        limit = self.env.output_stream_limit
        carry = buf.size if isinstance(buf, LimitedStringIO) else 0
        return _Output(limit - carry)


class _MessageTemplate(BoundTemplate):
    context_class = _MessageContext

    def _get_buffer(self) -> Any:
        return _Output(self.env.output_stream_limit)


class MessageEnvironment(Environment):
    """Standard Liquid, minus partials, with resource limits and our filters."""

    # A body renders to at most 2,000 bytes; these leave ample room for real
    # templates while stopping `{% for i in (1..100000000) %}` and friends.
    loop_iteration_limit = 10_000
    local_namespace_limit = 64 * 1024
    output_stream_limit = 50_000
    template_class = _MessageTemplate

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        for tag in ("include", "render"):
            self.tags.pop(tag, None)
        self.filters["number_with_delimiter"] = number_with_delimiter
        self.filters["timezone"] = timezone_filter
        self.filters["date"] = date_filter
        self.filters[links.FILTER_NAME] = track_filter
        self.filters = {name: _guarded(name, f) for name, f in self.filters.items()}


ENVIRONMENT = MessageEnvironment()


# -- compiling and rendering -------------------------------------------------


@lru_cache(maxsize=256)
def compile_template(source: str) -> BoundTemplate:
    """Parse a message body once (cached by source) and check its filters;
    raises TemplateProblem with the line and column of the first problem."""
    try:
        template = ENVIRONMENT.from_string(source)
        filters = template.analyze().filters
    except LiquidError as error:
        raise _problem(error, source) from None
    unknown = [
        (span.index, name)
        for name, spans in filters.items()
        if name not in ENVIRONMENT.filters
        for span in spans[:1]
    ]
    if unknown:
        index, name = min(unknown)
        line, column = _line_column(source, index)
        raise TemplateProblem(f"unknown filter '{name}'", line, column)
    if links.FILTER_NAME in filters:
        try:
            links.check_tracked_links(source, [s.index for s in filters[links.FILTER_NAME]])
        except links.LinkProblem as problem:
            line, column = _line_column(source, problem.index)
            raise TemplateProblem(problem.message, line, column) from None
    return template


def render(template: BoundTemplate, context: Mapping[str, object]) -> str:
    """Render a compiled body with one recipient's data. Undefined variables
    render as the empty string; a failure (a filter given a bad argument, a
    resource limit) raises TemplateProblem."""
    try:
        return template.render(context)
    except LiquidError as error:
        source = error.token.source if error.token is not None else ""
        raise _problem(error, source) from None


def template_variables(body: str) -> list[str]:
    """The root names of the variables `body` reads from its data, in order of
    first use, without those it assigns itself. Raises LiquidError when the
    body is not valid Liquid."""
    return list(ENVIRONMENT.parse(body).global_variables())


def undefined_variables(source: str, available: set[str]) -> list[str]:
    """The variables `source` reads that the audience does not have, in order
    of first use, to warn about in compose.

    `available` holds root names (``name``, ``tags``) and, to be precise about
    nested data, dotted paths (``tags.vip``): a variable is available when its
    root or any leading part of its path is listed. An unknown root is
    reported by its name (``coupon``), an unknown path under a known root in
    full (``tags.gold``). Raises TemplateProblem when `source` does not compile.
    """
    template = compile_template(source)
    uses = sorted(
        (variable.span.index, variable.segments)
        for variables in template.analyze().globals.values()
        for variable in variables
    )
    missing: dict[str, None] = {}
    for _index, segments in uses:
        path = _leading_names(segments)
        prefixes = [".".join(path[: size + 1]) for size in range(len(path))]
        if any(prefix in available for prefix in prefixes):
            continue
        root = path[0]
        root_known = any(name.startswith(root + ".") for name in available)
        missing[prefixes[-1] if root_known else root] = None
    return list(missing)


def _leading_names(segments: list[object]) -> list[str]:
    # `tags[key]` or `items[0]` can only be checked up to the first part that
    # is not a plain name.
    names: list[str] = []
    for segment in segments:
        if not isinstance(segment, str):
            break
        names.append(segment)
    return names


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


# -- error positions ---------------------------------------------------------


def _line_column(source: str, index: int) -> tuple[int, int]:
    """1-based line and column of character `index` in `source`."""
    index = max(0, min(index, len(source)))
    line = source.count("\n", 0, index) + 1
    column = index - (source.rfind("\n", 0, index) + 1) + 1
    return line, column


def _problem(error: LiquidError, source: str) -> TemplateProblem:
    message = str(error.message)
    token = error.token
    if token is not None and token.start_index >= 0 and token.source:
        line, column = _line_column(token.source, token.start_index)
        return TemplateProblem(message, line, column)
    line, column = _line_column(source, _locate(source))
    return TemplateProblem(message, line, column)


# An output statement ends at the first `}}` unless another markup opens first.
_MARKUP = re.compile(r"\{\{(?:(?!\{[{%]).)*?\}\}|\{%-?\s*(\w+).*?%\}|\{\{|\{%", re.DOTALL)
_BLOCK_TAGS = frozenset(
    {"if", "unless", "case", "for", "tablerow", "capture", "comment", "raw", "doc", "ifchanged"}
)
_INNER_TAGS = frozenset({"else", "elsif", "when", "break", "continue"})


def _locate(source: str) -> int:
    """Where the error python-liquid reported without a position is: the first
    markup that fails on its own, else the block left open, else the end."""
    stack: list[tuple[str, int]] = []
    for match in _MARKUP.finditer(source):
        tag = match[1]
        if stack and stack[-1][0] in ("raw", "comment", "doc") and tag != "end" + stack[-1][0]:
            continue
        if tag is None:
            snippet = match[0]
        elif tag in _BLOCK_TAGS:
            stack.append((tag, match.start()))
            snippet = f"{match[0]}{{% end{tag} %}}"
        elif tag.startswith("end"):
            if stack and stack[-1][0] == tag[3:]:
                stack.pop()
            else:
                return match.start()
            continue
        elif tag in _INNER_TAGS:
            continue
        else:
            snippet = match[0]
        try:
            ENVIRONMENT.parse(snippet)
        except LiquidError as error:
            token = error.token
            inner = token.start_index if token is not None and token.start_index >= 0 else 0
            return match.start() + min(inner, len(match[0]) - 1)
    if stack:
        return stack[-1][1]
    return len(source)

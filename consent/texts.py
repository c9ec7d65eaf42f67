"""The texts of the consent notices: Korean defaults, the facts each must
state, and `check_notice_template()`, the one check every path that saves or
previews a text goes through.

A text is Liquid (console/lib/liquid) with these variables:

- both kinds: `company_name` (the project's company name), `date` (the date
  of the change, or of the reminder), `optout_number` (the project's 080
  number, or empty), `withdraw` (how to withdraw: the 080 number when the
  project has one);
- result (Art. 50 ⑦): `result` (what was processed, e.g. "광고성 정보 수신 동의");
- reminder (Art. 50 ⑧): `consent_date` (the date of consent, from the history).

The law asks each notice to state certain facts, so a text that does not
show them is refused. Whether a fact is shown is decided by rendering the
text with a marker in each required variable and looking for the markers in
the output: `{% if false %}{{ company_name }}{% endif %}` or
`{{ company_name | truncate: 2 }}` does not state the company name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.lib.liquid import TemplateProblem, compile_template, render
from console.lib.sms import LMS_MAX_BYTES, cp949_length, sms_kind, unencodable

RESULT = "result"
REMINDER = "reminder"

DEFAULT_TEXTS = {
    RESULT: (
        "[{{ company_name }}] 수신동의 처리 결과 안내\n"
        "{{ date }}에 요청하신 {{ result }} 처리가 완료되었습니다."
    ),
    REMINDER: (
        "[{{ company_name }}] 광고성 정보 수신동의 확인 안내\n"
        "고객님은 {{ consent_date }}에 광고성 정보 수신에 동의하셨습니다. "
        "동의를 유지하시려면 별도로 하실 일이 없으며, 철회하시려면 {{ withdraw }}"
    ),
}

# Variable → what the law calls it, for the error message.
REQUIRED = {
    RESULT: {
        "company_name": gettext_lazy("the company name"),
        "date": gettext_lazy("the date"),
        "result": gettext_lazy("the result"),
    },
    REMINDER: {
        "company_name": gettext_lazy("the company name"),
        "consent_date": gettext_lazy("the date of consent"),
        "withdraw": gettext_lazy("how to withdraw"),
    },
}

RESULT_WORDS = {
    ("promotional", True): "광고성 정보 수신 동의",
    ("promotional", False): "광고성 정보 수신 거부(철회)",
    ("night", True): "야간(21시~08시) 광고성 정보 수신 동의",
    ("night", False): "야간(21시~08시) 광고성 정보 수신 거부(철회)",
    ("optout", True): "수신거부 등록",
    ("optout", False): "수신거부 해제",
}
_ORDER = ("promotional", "night", "optout")


class NoticeTemplateError(ValueError):
    """A notice text that cannot be used; `problems` says every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


@dataclass(frozen=True)
class NoticePreview:
    text: str
    bytes: int
    kind: str  # SMS or LMS


def result_words(changes: Mapping[str, bool]) -> str:
    """What was processed, in Korean: "광고성 정보 수신 동의, 수신거부 해제"."""
    return ", ".join(RESULT_WORDS[name, changes[name]] for name in _ORDER if name in changes)


def withdraw_words(optout_number: str) -> str:
    if optout_number:
        return f"무료 수신거부 {optout_number} 로 전화해 주세요."
    return "고객센터로 연락해 주세요."


def sample_variables(kind: str, company_name: str, optout_number: str = "") -> dict[str, str]:
    """Plausible values for a preview (and the byte count) of `kind`."""
    values = {
        "company_name": company_name,
        "date": "2026-12-05",
        "optout_number": optout_number,
        "withdraw": withdraw_words(optout_number),
    }
    if kind == RESULT:
        values["result"] = result_words({"promotional": False, "night": False})
    else:
        values["consent_date"] = "2024-12-05"
    return values


def check_notice_template(
    kind: str, source: str, company_name: str, optout_number: str = ""
) -> NoticePreview:
    """Refuse a text that is not valid Liquid, hides a required fact, has
    characters Korean gateways cannot send or is longer than an LMS; else the
    preview with sample values and its byte count (CP949)."""
    if kind not in REQUIRED:
        raise ValueError(f"unknown notice kind {kind!r}")
    if not source.strip():
        raise NoticeTemplateError([_("The text is empty.")])
    try:
        template = compile_template(source)
        markers = {name: f"\u27e6{name}\u27e7" for name in REQUIRED[kind]}
        marked = render(template, {**sample_variables(kind, "x", optout_number), **markers})
        text = render(template, sample_variables(kind, company_name, optout_number))
    except TemplateProblem as problem:
        raise NoticeTemplateError(
            [
                _("The text is not valid Liquid: %(problem)s (line %(line)d, column %(column)d).")
                % {"problem": problem.message, "line": problem.line, "column": problem.column}
            ]
        ) from None
    problems = [
        _(
            "The text must show %(fact)s: keep {{ %(name)s }} in it, unchanged "
            "and not inside a condition."
        )
        % {"fact": fact, "name": name}
        for name, fact in REQUIRED[kind].items()
        if markers[name] not in marked
    ]
    if "(광고)" in text:
        problems.append(_("A notice is informational: it must not carry the (광고) label."))
    bad = unencodable(text)
    if bad:
        problems.append(
            _("Korean gateways cannot send these characters: %(chars)s.") % {"chars": " ".join(bad)}
        )
    size = cp949_length(text)
    if size > LMS_MAX_BYTES:
        problems.append(
            _("The text is %(bytes)d bytes with sample values; at most %(max)d.")
            % {"bytes": size, "max": LMS_MAX_BYTES}
        )
    if problems:
        raise NoticeTemplateError(problems)
    return NoticePreview(text=text, bytes=size, kind=sms_kind(text))

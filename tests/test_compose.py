"""The compose screen, step by step: drafts saved as you go, the live
preview (bytes, SMS/LMS badge, emoji, GSM segments, cost, undefined
variables, Liquid errors, promotional wrapping), goals validation, who may
do what, and the tenancy boundary."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from audiences.models import Customer, CustomerTag, Segment
from campaigns.models import Campaign, Price
from channels.models import OptOutNumber, SenderNumber
from conversions.models import ConversionGoal
from projects.models import AuditLog
from tests.support.campaigns import EVERYONE, valid_file
from tests.support.world import PASSWORD


def _login(client, email: str) -> None:
    assert client.login(username=email, password=PASSWORD)


@pytest.fixture
def acme(world):
    """Acme ready to send: an approved default sender, an 080 number, three
    users (one American) in the segment Everyone."""
    SenderNumber.objects.create(
        project=world.acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=world.acme.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    OptOutNumber.objects.create(number="+82801234567", project=world.acme)
    kim = Customer.objects.create(
        project=world.acme,
        user_id="kim",
        name="김민수",
        phone_number="+821011112222",
        promotional_consent=True,
    )
    CustomerTag.objects.create(customer=kim, key="grade", value="gold")
    Customer.objects.create(
        project=world.acme, user_id="lee", name="이영희", phone_number="+821033334444"
    )
    Customer.objects.create(
        project=world.acme, user_id="amy", name="Amy", phone_number="+12025550123"
    )
    world.segment = Segment.objects.create(project=world.acme, name="Everyone", definition=EVERYONE)
    return world


def _new_campaign(client, world) -> Campaign:
    response = client.post(reverse("campaign_new", args=[world.acme.id]))
    campaign = Campaign.objects.get(project=world.acme)
    assert response.status_code == 302
    assert response["Location"] == reverse("campaign_compose", args=[world.acme.id, campaign.pk])
    return campaign


def _url(name: str, world, campaign: Campaign) -> str:
    return reverse(name, args=[world.acme.id, campaign.pk])


def _htmx(client, url: str, data: dict) -> object:
    return client.post(url, data, HTTP_HX_REQUEST="true")


def _preview(client, world, campaign, body: str, **fields) -> str:
    data = {"body": body, "title": "", "recipient": "", **fields}
    response = _htmx(client, _url("campaign_preview", world, campaign), data)
    assert response.status_code == 200
    return response.content.decode()


def _attr(html: str, element_id: str, attribute: str) -> str | None:
    match = re.search(rf'id="{element_id}"[^>]*?{attribute}="([^"]*)"', html)
    return match[1] if match else None


def _save_audience(client, world, campaign, audience: str, name: str = "Spring sale"):
    return _htmx(
        client,
        _url("campaign_save_audience", world, campaign),
        {"name": name, "audience": audience},
    )


def _save_content(client, world, campaign, body: str, **fields):
    sender = SenderNumber.objects.get(project=world.acme).pk
    data = {"sender_number": sender, "title": "", "body": body, **fields}
    return _htmx(client, _url("campaign_save_content", world, campaign), data)


# --- drafts ------------------------------------------------------------------


def test_a_marketer_saves_the_draft_step_by_step(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    # The project's default approved sender is preselected.
    assert campaign.sender_number.number == "+8215881234"

    response = _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    assert response.status_code == 200
    assert 'data-saved="true"' in response.content.decode()
    assert response["HX-Trigger"].startswith('{"campaign-saved"')
    response = _save_content(client, acme, campaign, "{{ name }}님, 봄 세일!", title="봄 세일")
    assert 'data-saved="true"' in response.content.decode()

    campaign.refresh_from_db()
    assert (campaign.name, campaign.segment, campaign.body, campaign.title) == (
        "Spring sale",
        acme.segment,
        "{{ name }}님, 봄 세일!",
        "봄 세일",
    )
    assert AuditLog.objects.filter(action="campaign.updated", target="Spring sale").count() == 2

    count = client.get(_url("campaign_audience_count", acme, campaign)).content.decode()
    assert 'data-count="3"' in count

    page = client.get(_url("campaign_compose", acme, campaign)).content.decode()
    assert "{{ name }}님, 봄 세일!" in page
    assert f'value="segment:{acme.segment.pk}" selected' in page


def test_switching_the_audience_to_a_file_clears_the_segment(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    audience = valid_file(acme.acme, [("+821055556666", {"coupon": "A1"})])
    _save_audience(client, acme, campaign, f"file:{audience.pk}")
    campaign.refresh_from_db()
    assert campaign.segment is None
    assert campaign.audience_file == audience


def test_an_invalid_or_foreign_audience_cannot_be_chosen(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    invalid = valid_file(acme.acme, [("+821055556666", {"coupon": "A1"})])
    invalid.status = "invalid"
    invalid.save()
    foreign = valid_file(acme.bolt, [("+821055556666", {"coupon": "A1"})])
    for choice in (f"file:{invalid.pk}", f"file:{foreign.pk}"):
        response = _save_audience(client, acme, campaign, choice, name=campaign.name)
        html = response.content.decode()
        assert 'data-saved="false"' in html
        assert "Audience: Select a valid choice" in html
    campaign.refresh_from_db()
    assert campaign.audience_file is None


def test_an_empty_name_does_not_stop_the_audience_from_being_saved_and_is_named(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    response = _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}", name="")
    html = response.content.decode()
    assert 'data-saved="partial"' in html
    assert "Campaign name: This field is required." in html
    # ... and beside the field itself, replacing the empty list the page has there.
    assert '<ul class="errorlist field-errors" id="id_name-errors" hx-swap-oob="true">' in html
    assert "<li>This field is required.</li></ul>" in html
    assert response["HX-Trigger"].startswith('{"campaign-saved"')
    campaign.refresh_from_db()
    assert campaign.segment == acme.segment
    assert campaign.name.startswith("Campaign of ")

    # A save that fixes it clears the error beside the field.
    html = _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}").content.decode()
    assert 'data-saved="true"' in html
    assert '<ul class="errorlist field-errors" id="id_name-errors" hx-swap-oob="true"></ul>' in html


def test_a_step_that_saves_nothing_says_so_and_names_the_field(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _save_audience(client, acme, campaign, "", name=campaign.name + "x" * 200)
    assert 'data-saved="false"' in html.content.decode()
    assert "Not saved:" in html.content.decode()
    assert "Campaign name: Ensure this value has at most 200 characters" in html.content.decode()


def test_the_auto_saving_forms_leave_validation_to_the_server(client, acme):
    """The browser's `required` check would block htmx's auto-save without a word."""
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    page = client.get(_url("campaign_compose", acme, campaign)).content.decode()
    for form in ("audience-form", "content-form", "goals-form"):
        assert re.search(rf'<form id="{form}" method="post" novalidate', page), form
    for field in ("id_name", "id_audience", "id_title", "id_body", "id_sender_number"):
        assert f'id="{field}-errors"' in page


def test_a_title_over_40_bytes_is_refused_with_its_size(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    response = _save_content(client, acme, campaign, "본문", title="가" * 21)
    assert "42 bytes" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.title == ""


def test_without_javascript_a_save_redirects_back_to_its_step(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    response = client.post(
        _url("campaign_save_audience", acme, campaign),
        {"name": "No JS", "audience": f"segment:{acme.segment.pk}"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#step-audience")
    assert Campaign.objects.get(pk=campaign.pk).name == "No JS"


# --- the live preview ------------------------------------------------------------


def test_the_preview_renders_for_the_first_recipient_with_bytes_and_the_sms_badge(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    html = _preview(client, acme, campaign, "{{ name }}님 안녕하세요")
    assert "김민수님 안녕하세요" in html
    # 김민수님 (4 syllables) + space + 안녕하세요 (5): 9 × 2 + 1 bytes in EUC-KR.
    assert _attr(html, "preview-bytes", "data-bytes") == "19"
    assert _attr(html, "preview-kind", "data-kind") == "SMS"


def test_the_preview_switches_to_lms_over_90_bytes(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _preview(client, acme, campaign, "가" * 46)
    assert _attr(html, "preview-bytes", "data-bytes") == "92"
    assert _attr(html, "preview-kind", "data-kind") == "LMS"
    html = _preview(client, acme, campaign, "가" * 45)
    assert _attr(html, "preview-kind", "data-kind") == "SMS"


def test_the_preview_is_for_the_chosen_recipient(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    html = _preview(client, acme, campaign, "{{ name }}/{{ tags.grade }}", recipient="lee")
    assert "이영희/" in html
    html = _preview(client, acme, campaign, "{{ name }}", recipient="+821011112222")
    assert 'id="preview-body">김민수<' in html
    html = _preview(client, acme, campaign, "{{ name }}", recipient="nobody")
    assert 'id="recipient-problem"' in html


def test_a_file_row_is_previewed_by_its_row_number(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    audience = valid_file(
        acme.acme,
        [("+821055556666", {"coupon": "A1"}), ("+821077778888", {"coupon": "B2"})],
    )
    _save_audience(client, acme, campaign, f"file:{audience.pk}")
    # valid_file numbers rows from 2 (row 1 is the header).
    html = _preview(client, acme, campaign, "쿠폰 {{ coupon }}", recipient="3")
    assert 'id="preview-body">쿠폰 B2<' in html


def test_characters_euc_kr_cannot_carry_are_flagged(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _preview(client, acme, campaign, "세일 🎉 시작")
    assert _attr(html, "unencodable", "data-chars") == "🎉"
    html = _preview(client, acme, campaign, "세일 시작")
    assert 'id="unencodable"' not in html


def test_a_non_korean_recipient_gets_gsm_segment_counts(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    html = _preview(client, acme, campaign, "Hi {{ name }} " + "x" * 160, recipient="amy")
    assert _attr(html, "preview-segments", "data-encoding") == "GSM-7"
    assert _attr(html, "preview-segments", "data-segments") == "2"
    html = _preview(client, acme, campaign, "안녕 {{ name }}", recipient="amy")
    assert _attr(html, "preview-segments", "data-encoding") == "UCS-2"
    html = _preview(client, acme, campaign, "{{ name }}", recipient="kim")
    assert 'id="preview-segments"' not in html


def test_the_cost_estimate_is_recipients_times_the_price_of_the_kind(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    html = _preview(client, acme, campaign, "짧은 문자")
    assert "prices not set" in html
    Price.objects.create(kind="SMS", amount=Decimal("8.40"), currency="KRW")
    Price.objects.create(kind="LMS", amount=Decimal("25.00"), currency="KRW")
    html = _preview(client, acme, campaign, "짧은 문자")
    # Amy (+1) is priced as international, whose price is not set.
    assert "prices not set for INTL" in html
    Price.objects.create(kind="INTL", amount=Decimal("100.00"), currency="KRW")
    html = _preview(client, acme, campaign, "짧은 문자")
    assert _attr(html, "cost-estimate", "data-recipients") == "3"
    assert _attr(html, "cost-estimate", "data-domestic") == "2"
    assert _attr(html, "cost-estimate", "data-international") == "1"
    assert _attr(html, "cost-estimate", "data-amount") == "116.80"  # 2 × 8.40 + 1 × 100
    html = _preview(client, acme, campaign, "가" * 60)
    assert _attr(html, "cost-estimate", "data-amount") == "150.00"  # 2 × 25 + 1 × 100


def test_the_cost_estimate_does_not_change_with_the_previewed_recipient(client, acme):
    """Previewing the one +1 recipient priced all of them as international."""
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    Price.objects.create(kind="SMS", amount=Decimal("8.40"), currency="KRW")
    Price.objects.create(kind="LMS", amount=Decimal("25.00"), currency="KRW")
    Price.objects.create(kind="INTL", amount=Decimal("100.00"), currency="KRW")
    amounts = {
        _attr(
            _preview(client, acme, campaign, "Sale", recipient=who), "cost-estimate", "data-amount"
        )
        for who in ("kim", "lee", "amy")
    }
    assert amounts == {"116.80"}


def test_variables_the_audience_does_not_have_are_warned_about(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    html = _preview(client, acme, campaign, "{{ name }} {{ tags.grade }} {{ coupon }}")
    assert _attr(html, "undefined-variables", "data-variables") == "coupon"

    audience = valid_file(acme.acme, [("+821055556666", {"coupon": "A1"})])
    _save_audience(client, acme, campaign, f"file:{audience.pk}")
    html = _preview(client, acme, campaign, "{{ name }} {{ coupon }}")
    assert _attr(html, "undefined-variables", "data-variables") == "name"
    html = _preview(client, acme, campaign, "{{ coupon }} {{ phoneNumber }}")
    assert 'id="undefined-variables"' not in html


def test_a_liquid_syntax_error_is_shown_with_its_line_and_column(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _preview(client, acme, campaign, "안녕하세요\n{{ name | upcase }\n끝")
    assert _attr(html, "liquid-error", "data-line") == "2"
    assert _attr(html, "liquid-error", "data-column") == "1"
    assert "line 2, column 1" in html
    html = _preview(client, acme, campaign, "첫 줄\n둘째 {{ name | nosuchfilter }}")
    line, column = (_attr(html, "liquid-error", f"data-{part}") for part in ("line", "column"))
    assert (line, column) == ("2", "14")
    assert "nosuchfilter" in html


def test_a_promotional_preview_is_wrapped_by_the_system_and_counted(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    plain = _preview(client, acme, campaign, "{{ name }}님 세일")
    wrapped = _preview(client, acme, campaign, "{{ name }}님 세일", is_promotional="on")
    body = re.search(r'id="preview-body">(.*?)</pre>', wrapped, re.S)[1]
    lines = body.split("\n")
    assert lines[0] == "(광고)에이크미 주식회사"
    assert lines[-1] == "무료수신거부 080-123-4567"
    assert "김민수님 세일" in lines[1]
    assert int(_attr(wrapped, "preview-bytes", "data-bytes")) > int(
        _attr(plain, "preview-bytes", "data-bytes")
    ) + len("(광고)".encode("cp949"))


def test_the_marketer_cannot_remove_the_promotional_label(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    # A body that tries to start with a bare label still gets the full header once.
    html = _preview(client, acme, campaign, "(광고) 세일", is_promotional="on")
    body = re.search(r'id="preview-body">(.*?)</pre>', html, re.S)[1]
    assert body.startswith("(광고)에이크미 주식회사\n")
    assert body.count("(광고)") == 1


def test_promotional_is_refused_without_an_080_number(client, acme):
    OptOutNumber.objects.filter(project=acme.acme).update(project=None)
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _preview(client, acme, campaign, "세일", is_promotional="on")
    assert 'id="promotional-problem"' in html
    response = _save_content(client, acme, campaign, "세일", is_promotional="on")
    assert "080" in response.content.decode()
    assert not Campaign.objects.get(pk=campaign.pk).is_promotional


def test_the_sample_file_links_carry_the_saved_body(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_content(client, acme, campaign, "{{ coupon }}")
    page = client.get(_url("campaign_compose", acme, campaign)).content.decode()
    href = re.search(r'id="sample-csv" href="([^"]+)"', page)[1].replace("&amp;", "&")
    sample = client.get(href)
    assert sample.status_code == 200
    assert b"".join(sample.streaming_content).decode("utf-8-sig").startswith("phoneNumber,coupon")


# --- conversion goals ------------------------------------------------------------


def _goals(client, world, campaign, rows: dict[int, tuple]) -> str:
    data = {}
    for i, (event, window, unit, amount, quantity) in rows.items():
        data.update(
            {
                f"event_{i}": event,
                f"window_{i}": window,
                f"unit_{i}": unit,
                f"amount_{i}": amount,
                f"quantity_{i}": quantity,
            }
        )
    return _htmx(client, _url("campaign_save_goals", world, campaign), data).content.decode()


def test_conversion_goals_are_saved_in_order(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _goals(
        client,
        acme,
        campaign,
        {1: ("purchase", 3, "days", "amount", "quantity"), 3: ("signup", 1, "hours", "", "")},
    )
    assert 'data-saved="true"' in html
    goals = list(
        ConversionGoal.objects.filter(campaign=campaign).values_list(
            "position", "event_name", "window_seconds", "revenue_field", "quantity_field"
        )
    )
    assert goals == [
        (1, "purchase", 3 * 86400, "amount", "quantity"),
        (2, "signup", 3600, "", ""),
    ]
    # Saving again replaces them.
    _goals(client, acme, campaign, {1: ("signup", 30, "days", "", "")})
    assert list(ConversionGoal.objects.values_list("event_name", "window_seconds")) == [
        ("signup", 30 * 86400)
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("purchase", 31, "days", "", ""), "between 1 hour and 30 days"),
        (("purchase", 0, "hours", "", ""), "between 1 hour and 30 days"),
        (("purchase", "", "hours", "", ""), "between 1 hour and 30 days"),
        (("", 3, "days", "amount", ""), "name the event"),
        (("purchase", 3, "days", "", "quantity"), "quantity field multiplies"),
    ],
)
def test_invalid_goals_are_refused_with_a_clear_error(client, acme, row, message):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _goals(client, acme, campaign, {2: row})
    assert 'data-saved="false"' in html
    assert "Goal 2" in html
    assert message in html
    assert not ConversionGoal.objects.exists()


def test_the_same_event_cannot_be_two_goals(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    html = _goals(
        client,
        acme,
        campaign,
        {1: ("purchase", 1, "days", "", ""), 2: ("purchase", 2, "days", "", "")},
    )
    assert "already a goal" in html
    assert not ConversionGoal.objects.exists()


# --- who may do what ---------------------------------------------------------------


def test_a_viewer_sees_compose_read_only_and_cannot_save(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_content(client, acme, campaign, "{{ name }}님 안녕")
    client.logout()
    _login(client, "dave@acme.test")
    page = client.get(_url("campaign_compose", acme, campaign)).content.decode()
    assert 'id="read-only"' in page
    assert "<fieldset disabled>" in page
    assert 'id="save-content"' not in page
    assert 'id="send-test"' not in page
    # The preview of the saved message works for a viewer (read-only).
    html = _htmx(client, _url("campaign_preview", acme, campaign), {"recipient": ""})
    assert html.status_code == 200
    for name in (
        "campaign_save_audience",
        "campaign_save_content",
        "campaign_save_goals",
        "campaign_test_send",
        "campaign_review",
        "campaign_cancel",
    ):
        response = client.post(_url(name, acme, campaign), {"body": "changed"})
        assert response.status_code == 403, name
    assert client.post(reverse("campaign_new", args=[acme.acme.id])).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).body == "{{ name }}님 안녕"


def test_another_projects_campaign_is_not_found(client, acme):
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    client.logout()
    _login(client, "bob@bolt.test")
    for name in ("campaign_compose", "campaign_detail", "campaign_progress"):
        assert client.get(reverse(name, args=[acme.acme.id, campaign.pk])).status_code == 404
        # Bob's own project id with Acme's campaign id: not found either.
        assert client.get(reverse(name, args=[acme.bolt.id, campaign.pk])).status_code == 404
    response = client.post(
        reverse("campaign_save_content", args=[acme.bolt.id, campaign.pk]), {"body": "x"}
    )
    assert response.status_code == 404


def test_a_body_typed_in_the_browser_is_stored_with_the_line_breaks_the_person_typed(client, acme):
    # HTML form encoding turns a textarea's line breaks into CRLF; the
    # message keeps one line break each (Liquid itself keeps CRLF as written).
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_content(client, acme, campaign, "첫 줄\r\n{{ name }}\r\n끝")
    campaign.refresh_from_db()
    assert campaign.body == "첫 줄\n{{ name }}\n끝"

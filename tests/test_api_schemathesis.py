"""Schemathesis against the live server: the schema at /v1/schema must tell the
truth about every operation, for valid and invalid requests alike.

The schema is read once from the application; each of its operations becomes
a test that sends its cases over HTTP to pytest-django's live server, with a
freshly seeded project and its token: the examples, coverage (boundary and
negative values derived from the schema) and fuzzing phases, with a fixed seed
and a small number of random examples so that the whole file stays within a
few minutes on two cores. Select it with `pytest -m schemathesis`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as openapi_checks

from audiences.models import Customer, Segment
from dispatch.models import Message
from journeys.models import Journey, JourneyVersion
from projects.actions import do_create_api_token
from tests.support.campaigns import EVERYONE, add_customers, segment_campaign, sending_project

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db(transaction=True)]

# Small on purpose: the coverage phase generates its cases in full (every
# boundary and every kind of wrong value the schema implies); max-examples
# bounds only the random fuzzing on top of them.
MAX_EXAMPLES = 8
SEED = 20261205

# positive_data_acceptance expects a request that matches the schema to be
# accepted. These operations also judge what no schema can state, and refuse
# it with a 400 or 422 that names the problem: a segment, audience file or
# sender number that must exist in the project (or, for a segment name, must
# not), a Liquid body that must compile, an IANA zone and a future time, a
# file's content, an E.164 number with its documents, a webhook host, a Track
# call with nothing in it, nested segment groups (described one level deep).
# Their other checks stay strict; every other operation must accept valid data.
JUDGED_BEYOND_THE_SCHEMA = [
    "createCampaign",
    "updateCampaign",
    "scheduleCampaign",
    "sendCampaign",
    "sendSms",
    "createSegment",
    "countSegmentDefinition",
    "registerSenderNumber",
    "uploadAudienceFile",
    "putSmsWebhook",
    "track",
    # Journeys: a draft must exist (getJourneyDraft), validate (publishJourney),
    # be published and in a status that allows the move (activate, pause,
    # resume, stop: 409 otherwise), not be stopped (saveJourneyDraft); a
    # dry run and a user's runs name a user who must exist.
    "getJourneyDraft",
    "saveJourneyDraft",
    "publishJourney",
    "activateJourney",
    "pauseJourney",
    "resumeJourney",
    "stopJourney",
    "dryRunJourney",
    "listJourneyRuns",
]

# A Track call is accepted item by item (FlareLane's contract): a wrong item
# is counted in `rejected` with its path in `errors` and the call answers 200,
# so an invalid item is not refused with a 4xx and negative_data_rejection
# does not apply. The call as a whole (not an object, unknown keys, nothing in
# it, over 100 items) is a 400: test_track_validation.
ACCEPTED_ITEM_BY_ITEM = {"POST /v1/projects/{projectId}/track"}

CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-operation-id": JUDGED_BEYOND_THE_SCHEMA,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", 400, 401, 403, 404, 409, 413, 422, 429]
                    }
                },
            },
        ],
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "mode": "all",
            # Unknown query parameters are ignored, as HTTP APIs commonly do;
            # they are not "invalid data" the server should refuse.
            "allow-extra-parameters": False,
            # DRF refuses NUL in every string field ("Null characters are not
            # allowed."), a 400 that names the field; not a schema matter.
            "allow-x00": False,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            # The schema declares no links between operations to follow.
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/v1/schema", get_wsgi_application(), config=CONFIG)

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.positive_data_acceptance,
]


@dataclass
class Seeded:
    token: str
    path: dict[str, object]


@pytest.fixture
def seeded(live_server) -> Seeded:
    """A project that can send, with one of each thing a path can name."""
    project = sending_project("Schemathesis")
    project.api_rate_per_minute = 1_000_000  # 429 is documented, but would hide the rest
    project.save(update_fields=["api_rate_per_minute"])
    add_customers(project, 3)
    segment, _ = Segment.objects.get_or_create(
        project=project, name="Everyone", defaults={"definition": EVERYONE}
    )
    campaign = segment_campaign(project)
    customer = Customer.objects.filter(project=project).order_by("pk").first()
    message = Message.objects.create(
        project=project,
        outbox_id=campaign.outbox_id,
        dedupe_key=customer.phone_number.lstrip("+"),
        customer_id=customer.pk,
        phone_number=customer.phone_number,
        body="hello",
    )
    journey = Journey.objects.create(project=project, name="Cart reminder")
    version = JourneyVersion.objects.create(
        journey=journey,
        number=1,
        state=JourneyVersion.State.PUBLISHED,
        graph={
            "nodes": [
                {
                    "key": "start",
                    "kind": "trigger",
                    "config": {"type": "event", "event": "cart_abandoned", "where": []},
                    "next": {"next": "end"},
                },
                {"key": "end", "kind": "exit", "config": {}, "next": {}},
            ]
        },
    )
    journey.live_version = version
    journey.save(update_fields=["live_version"])
    _, token = do_create_api_token(project, "schemathesis", None)
    return Seeded(
        token=token,
        path={
            "projectId": str(project.pk),
            "campaignId": campaign.pk,
            "segmentId": segment.pk,
            "messageId": message.pk,
            "userId": customer.user_id,
            "senderId": project.sender_numbers.get().pk,
            "journeyId": journey.pk,
            "number": 1,
        },
    )


@schema.parametrize()
# The seeded world is made once per operation, not per generated case: the
# cases of one operation share it (and may change it, as a client would).
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_keeps_to_the_schema(case, seeded, live_server):
    if not case.meta.is_negative_at("path"):
        # Valid path ids point at the seeded rows, so that positive cases reach
        # the code behind the lookup instead of stopping at a 404.
        for name in case.path_parameters or {}:
            if name in seeded.path:
                case.path_parameters[name] = seeded.path[name]
    if (
        case.headers
        and "Idempotency-Key" in case.headers
        and not case.meta.is_negative_at("header")
    ):
        # Generated keys repeat across different bodies, which the server
        # rightly refuses (422 idempotency_key_reused, tested in
        # test_api_idempotency); here each case is a new request.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {seeded.token}", "Accept-Language": "en"},
        checks=CHECKS,
        excluded_checks=(
            [openapi_checks.negative_data_rejection]
            if case.operation.label in ACCEPTED_ITEM_BY_ITEM
            else None
        ),
    )

"""One project's large opt-out import does not stall the installation: while
Acme imports, Bolt's Track calls, API reads and a one-recipient campaign
(through the real qcluster and sandbox carrier) keep answering.

N is 100,000 by default (MUNJA_TEST_OPTOUT_IMPORT_ROWS to change it); the
1,000,000-number figure is measured by bench/optout_import.py and written in
docs/benchmarks.md, because a million rows would add minutes to the suite.

The bounds are not timing-fragile: the failure this guards against made
every other writer wait for SQLite's write lock until its 20 s busy timeout
(then fail with "database is locked"), for the whole import. Each call here
must answer within max(3 s, 10 x the median of the same calls measured just
before the import, in the same test); each campaign must complete within
max(30 s, 5 x the one sent before the import). A loaded 2-core machine slows the baseline
and the calls during the import alike.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.actions import do_start_campaign
from campaigns.models import Campaign
from channels.models import Gateway
from optout.actions import do_upload_optout_import
from optout.models import OptOutImport
from projects.actions import do_create_api_token
from tests.support.campaigns import add_customers, segment_campaign, sending_project
from tests.support.processes import make_project, wait_until

ROWS = int(os.environ.get("MUNJA_TEST_OPTOUT_IMPORT_ROWS", "100000"))


def _csv(rows: int) -> bytes:
    return ("phoneNumber\n" + "".join(f"+8210{20000000 + i}\n" for i in range(rows))).encode()


class Bolt:
    """The other project: its calls, timed."""

    def __init__(self, base: str, project, token: str, gateway) -> None:
        self.project, self.gateway = project, gateway
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.read_url = f"{base}/v1/projects/{project.id}"
        self.track_url = f"{base}/v1/projects/{project.id}/track"
        self.sent = 0

    def track_and_read(self, index: int) -> tuple[float, float]:
        started = time.monotonic()
        body = {"events": [{"subjectType": "user", "subjectId": f"u{index}", "type": "visit"}]}
        answer = self.session.post(self.track_url, json=body, timeout=60)
        tracked = time.monotonic() - started
        assert answer.status_code in (200, 202), answer.text
        started = time.monotonic()
        answer = self.session.get(self.read_url, timeout=60)
        read = time.monotonic() - started
        assert answer.status_code == 200, answer.text
        return tracked, read

    def send_one(self) -> float:
        """Start a one-recipient campaign and wait until it completes; seconds taken."""
        self.sent += 1
        campaign = segment_campaign(self.project, name=f"Ping {self.sent}", body="안녕하세요")
        started = time.monotonic()
        assert do_start_campaign(campaign)

        def completed() -> bool:
            status = Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)
            return status == Campaign.Status.COMPLETED

        wait_until(completed, timeout=180, what="Bolt's one-recipient campaign to complete")
        return time.monotonic() - started


@pytest.mark.processes
def test_another_projects_calls_keep_answering_during_a_large_import(
    qcluster, live_server, transactional_db, settings
):
    settings.OPTOUT_IMPORT_INLINE_MAX_BYTES = 0  # the qcluster imports
    acme = make_project("Acme")
    gateway = Gateway.objects.create(name="Pipeline carrier", backend="sandbox", config={})
    bolt_project = sending_project("Bolt", gateway=gateway)
    add_customers(bolt_project, 1)
    _, token = do_create_api_token(bolt_project, "bolt", None)
    bolt = Bolt(live_server.url, bolt_project, token, gateway)

    for i in range(3):  # warm up: the first calls pay for imports and connections
        bolt.track_and_read(i)
    baseline = [bolt.track_and_read(i) for i in range(3, 13)]
    baseline_send = bolt.send_one()
    call_bound = max(3.0, 10 * statistics.median(t for pair in baseline for t in pair))
    send_bound = max(30.0, 5 * baseline_send)

    upload = SimpleUploadedFile("acme.csv", _csv(ROWS))
    started = time.monotonic()
    optout_import = do_upload_optout_import(acme, upload, None)

    def status() -> str:
        return OptOutImport.objects.values_list("status", flat=True).get(pk=optout_import.pk)

    during: list[tuple[float, float]] = []
    sends: list[float] = []
    index = 100
    while status() == OptOutImport.Status.IMPORTING:
        if time.monotonic() - started > 900:
            pytest.fail(f"the import did not finish; qcluster log:\n{qcluster.process.output()}")
        during.append(bolt.track_and_read(index))
        index += 1
        if len(during) % 20 == 1:
            sends.append(bolt.send_one())
    took = time.monotonic() - started
    optout_import.refresh_from_db()
    assert optout_import.status == OptOutImport.Status.DONE
    assert optout_import.added == ROWS
    # Enough calls fell inside the import for the check to mean something.
    assert len(during) >= 5 and sends, (len(during), sends, took)
    worst_call = max(max(pair) for pair in during)
    print(
        f"\n{ROWS} numbers in {took:.1f} s ({ROWS / took:,.0f} rows/s); Bolt during import: "
        f"{len(during)} track+read pairs, worst {worst_call * 1000:.0f} ms "
        f"(bound {call_bound * 1000:.0f} ms); "
        f"campaigns {[round(s, 2) for s in sends]} s (baseline {baseline_send:.2f} s)"
    )
    assert worst_call <= call_bound, (worst_call, call_bound)
    assert max(sends) <= send_bound, (sends, send_bound)

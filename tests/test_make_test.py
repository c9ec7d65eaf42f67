"""`make test` sets up what the suite needs (Chromium, gettext) or stops at
once with the one command to run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(target: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", target],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_test_checks_the_suites_system_needs_before_running_it():
    recipe = subprocess.run(
        ["make", "-n", "-p", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout
    assert "\ntest: install test-deps messages" in recipe


def test_a_missing_chromium_stops_at_once_with_the_command_to_run(tmp_path):
    done = make("test-deps", MUNJA_APT="0", MUNJA_CHROMIUM=str(tmp_path / "no-chromium"))
    assert done.returncode != 0
    assert "sudo apt-get install -y chromium" in done.stdout


def test_with_everything_present_it_goes_on(tmp_path):
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    if shutil.which("msgfmt") is None:
        pytest.skip("gettext is not installed here")
    done = make("test-deps", MUNJA_APT="0", MUNJA_CHROMIUM=str(chromium))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""

"""Settings come from the environment and refuse bad values loudly."""

import subprocess
import sys

import pytest

from console.lib.env import EnvError, env_bool, env_int


def test_env_bool_refuses_a_value_that_is_not_a_boolean(monkeypatch):
    monkeypatch.setenv("MUNJA_X", "maybe")
    with pytest.raises(EnvError, match="MUNJA_X='maybe' is not a boolean"):
        env_bool("MUNJA_X")


def test_env_int_refuses_words_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("MUNJA_N", "ten")
    with pytest.raises(EnvError, match="not a whole number"):
        env_int("MUNJA_N", 1)
    monkeypatch.setenv("MUNJA_N", "0")
    with pytest.raises(EnvError, match="below the minimum"):
        env_int("MUNJA_N", 1, minimum=1)


def test_env_int_refuses_values_above_the_maximum(monkeypatch):
    monkeypatch.setenv("MUNJA_N", "10001")
    with pytest.raises(EnvError, match="MUNJA_N=10001 is above the maximum of 10000"):
        env_int("MUNJA_N", 1, maximum=10_000)
    monkeypatch.setenv("MUNJA_N", "10000")
    assert env_int("MUNJA_N", 1, maximum=10_000) == 10_000


def test_env_float_refuses_values_below_the_minimum(monkeypatch):
    from console.lib.env import env_float

    monkeypatch.setenv("MUNJA_F", "-1")
    with pytest.raises(EnvError, match="below the minimum"):
        env_float("MUNJA_F", 1.0, minimum=0.0)


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only setting")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 10000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "MUNJA_DEBUG": "0",
        "MUNJA_SECURE": "1",
        "MUNJA_DATA_DIR": str(tmp_path),
        "MUNJA_ALLOWED_HOSTS": "sms.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""`make run`: the web console, the django-q2 cluster and the sandbox carrier, together.

Seeds a demo project on an empty database, prints where to log in, and stops
all three processes on Ctrl-C (or when any one of them dies).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from projects.models import Project

DEMO_FILE = "demo.json"


class Command(BaseCommand):
    help = "Run the web console, the task cluster and the sandbox carrier on loopback."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("MUNJA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("MUNJA_PORT", "8000")))
        parser.add_argument(
            "--sandbox-port", type=int, default=int(os.environ.get("MUNJA_SANDBOX_PORT", "8025"))
        )

    def handle(self, *args, host: str, port: int, sandbox_port: int, **options) -> None:
        demo = self._demo_credentials()
        console_url = f"http://{host}:{port}"
        env = {
            **os.environ,
            "MUNJA_PUBLIC_URL": os.environ.get("MUNJA_PUBLIC_URL", console_url),
            "MUNJA_SANDBOX_URL": os.environ.get(
                "MUNJA_SANDBOX_URL", f"http://127.0.0.1:{sandbox_port}"
            ),
        }
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        commands = {
            "sandbox carrier": [
                *manage,
                "sandbox_carrier",
                "--host",
                "127.0.0.1",
                "--port",
                str(sandbox_port),
                "--console-url",
                env["MUNJA_PUBLIC_URL"],
            ],
            "task cluster": [*manage, "qcluster"],
            # gunicorn, not runserver: the carrier's delivery reports arrive as
            # fast as messages go out, and one runserver process applies them
            # at about half the rate of two workers (docs/benchmarks.md,
            # "Delivery reports at 1,000,000").
            "web console": [
                sys.executable,
                "-m",
                "gunicorn",
                "console.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                os.environ.get("MUNJA_WEB_WORKERS", "2"),
                "--threads",
                "4",
                "--chdir",
                str(settings.BASE_DIR),
                "--access-logfile",
                "-",
            ],
        }
        processes: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_args: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                # Own process group each, so Ctrl-C reaches them only through us
                # and they stop in a known order.
                processes[name] = subprocess.Popen(command, env=env, start_new_session=True)
            self._banner(console_url, demo)
            while not stopping:
                for name, proc in processes.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping.")
                        stopping = True
                time.sleep(0.3)
        finally:
            self._stop_all(processes)

    def _demo_credentials(self) -> dict:
        path = settings.DATA_DIR / DEMO_FILE
        if not Project.objects.exists():
            call_command("seed_demo", stdout=self.stdout)
        if path.exists():
            return json.loads(path.read_text())
        return {}

    def _banner(self, console_url: str, demo: dict) -> None:
        lines = [
            "",
            f"Munja console:   {console_url}/",
            f"Django admin:    {console_url}/admin/",
            f"API reference:   {console_url}/v1/docs",
        ]
        if demo:
            lines += [
                f"Demo login:      {demo['email']} / {demo['password']}  (platform staff too)",
                f"Demo project:    {demo['projectId']}",
                f"Demo API token:  {demo['token']}",
            ]
        lines += ["Press Ctrl-C to stop the console, the task cluster and the sandbox carrier.", ""]
        self.stdout.write("\n".join(lines))

    def _stop_all(self, processes: dict[str, subprocess.Popen]) -> None:
        for proc in processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.stdout.write("Stopped.")

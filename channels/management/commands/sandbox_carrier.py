"""`manage.py sandbox_carrier`: run the sandbox carrier until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels.sandbox.server import Carrier, CarrierHTTPServer, CarrierSettings


class Command(BaseCommand):
    help = "Run the sandbox carrier: a fake SMS provider for development and tests."
    # The carrier never touches the database. The model checks would: on
    # SQLite with IMMEDIATE transactions they wait for any open writer, such
    # as a test holding its transaction while it starts the carrier.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument(
            "--latency-ms", type=int, default=200, help="delay before each delivery report"
        )
        parser.add_argument(
            "--failure-rate", type=float, default=0.0, help="fraction reported as failed"
        )
        parser.add_argument(
            "--throttle-rate",
            type=float,
            default=0.0,
            help="fraction of batch requests answered 429 with Retry-After",
        )
        parser.add_argument(
            "--burst-every",
            type=int,
            default=0,
            help="good batch requests between 5xx bursts",
        )
        parser.add_argument(
            "--burst-length", type=int, default=0, help="batch requests answered 503 per burst"
        )
        parser.add_argument("--retry-after", type=int, default=1, help="Retry-After on 429, s")
        parser.add_argument("--seed", type=int, default=None, help="seed for the random choices")
        parser.add_argument("--log", default="", help="JSONL file of every accepted message")
        parser.add_argument("--api-key", default="", help="require this Bearer token")
        parser.add_argument("--secret", default="", help="signs callbacks to the console")
        parser.add_argument(
            "--console-url", default="", help="where 080 calls go (default: PUBLIC_URL)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        carrier_settings = CarrierSettings()
        try:
            carrier_settings.update(
                {
                    "latency_ms": options["latency_ms"],
                    "failure_rate": options["failure_rate"],
                    "throttle_rate": options["throttle_rate"],
                    "burst_every": options["burst_every"],
                    "burst_length": options["burst_length"],
                    "retry_after": options["retry_after"],
                    "console_url": options["console_url"] or settings.PUBLIC_URL,
                }
            )
        except ValueError as exc:
            raise CommandError(str(exc).replace("_", "-", 1)) from exc
        log_path = Path(options["log"]).resolve() if options["log"] else None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        carrier = Carrier(
            carrier_settings,
            secret=options["secret"] or settings.SANDBOX_CARRIER_SECRET,
            api_key=options["api_key"],
            seed=options["seed"],
            log_path=log_path,
        )
        try:
            server = CarrierHTTPServer((options["host"], options["port"]), carrier)
        except OSError as exc:
            carrier.close()
            where = f"{options['host']}:{options['port']}"
            raise CommandError(f"Cannot listen on {where}: {exc}") from exc

        def stop(signum: int, frame: object) -> None:
            # shutdown() waits for serve_forever() to return, so not from its thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        host, port = server.server_address[:2]
        self.stdout.write(f"Sandbox carrier listening on http://{host}:{port}")
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            carrier.close()
            self.stdout.write("Sandbox carrier stopped.")

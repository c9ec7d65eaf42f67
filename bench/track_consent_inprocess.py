"""In-process `do_track` cost in events per CPU-second (robust on a shared machine).

Run: .venv/bin/python bench/track_consent_inprocess.py TREE N [--consent]

TREE is a checkout of the project: compare an old tree (exported with
`git archive HEAD~n | tar -x -C /tmp/old`, this script copied beside it) with
this one, alternately. Times N calls of 100 events for new users, then N
calls for the same users again, on a throwaway SQLite database. With
`--consent` each call also sets promotionalConsent (and phoneNumber) of its
100 users, true then false: every call changes 100 consents, the worst case
for the consent history and notices.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("calls", type=int)
    parser.add_argument("--consent", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="munja-bench-track-inprocess-")
    os.environ.update(
        {
            "MUNJA_DATA_DIR": tmp,
            "MUNJA_SQLITE_PATH": f"{tmp}/bench.sqlite3",
            "MUNJA_DEBUG": "0",
            "MUNJA_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "console.settings",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(args.tree.resolve()))
    os.chdir(args.tree)
    import django

    django.setup()
    from django.core.management import call_command

    from audiences.actions import do_track
    from audiences.track import parse_track
    from projects.actions import do_create_project

    call_command("migrate", verbosity=0)
    project = do_create_project("Bench", "Bench Ltd")
    now = datetime.now(UTC)

    def body(call: int, grant: bool) -> object:
        users = [f"u{call * 100 + i}" for i in range(100)]
        data: dict[str, list] = {
            "events": [
                {
                    "subjectType": "user",
                    "subjectId": user,
                    "type": "purchase",
                    "data": {"amount": i},
                    "createdAt": (now - timedelta(seconds=i)).isoformat(),
                }
                for i, user in enumerate(users)
            ]
        }
        if args.consent:
            data["userAttributes"] = [
                {
                    "userId": user,
                    "promotionalConsent": grant,
                    "phoneNumber": f"+8210{call * 100 + i:08d}",
                }
                for i, user in enumerate(users)
            ]
        return parse_track(data, now)

    for phase, grant in (("new users", True), ("existing users", False)):
        batches = [body(call, grant) for call in range(args.calls)]
        started = time.process_time()
        for batch in batches:
            do_track(project, batch, now)
        rate = args.calls * 100 / (time.process_time() - started)
        print(f"{args.tree.resolve().name} {phase}: {rate:,.0f} events per CPU-second")


if __name__ == "__main__":
    main()

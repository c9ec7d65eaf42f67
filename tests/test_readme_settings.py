"""Every environment variable the code reads is documented in the README."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["console", "projects", "channels", "tests/support"]


def test_every_setting_read_from_the_environment_is_in_the_readme():
    pattern = re.compile(r"""["'](MUNJA_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)["']""")
    names = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            names.update(pattern.findall(path.read_text()))
    assert len(names) > 10  # the scan found the settings
    readme = (ROOT / "README.md").read_text()
    undocumented = sorted(n for n in names if f"`{n}`" not in readme)
    assert not undocumented, f"add to README's settings table: {undocumented}"

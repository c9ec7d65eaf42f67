"""Which app may know which (STYLE.md, "Which app may know which"): arrows
point one way, from the product's flows down to its parts. This test parses
every .py file of every app with `ast` (module-level and function-level
imports alike, relative ones resolved) and fails on an import that runs the
wrong way.

The rule is a table of tiers: an import from one part to another is allowed
when the imported part's tier is lower, or when the pair is listed in
PEERS. A lower part tells a higher one something through a signal or a task
enqueued by its dotted name, which this test does not see (on purpose).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Low to high. Adding an app is one line here; an app without a tier fails
# the test, so a newcomer's place is a decision, not an accident.
LIB = 0  # pure helpers and plumbing that import no app
TENANCY = 1  # tenancy, roles, tokens, audit; the API's base views
CHANNELS = 2  # sender numbers, 080 numbers, gateways: knows nothing of what is sent
LISTS = 3  # the opt-out list and its webhooks: consulted, never consulting
AUDIENCES = 4  # users, events, segments, files: knows no campaign or journey
SEND_CORE = 5  # outboxes, messages, claims, gates, reports: knows no producer
PRODUCERS = 6  # campaigns, journeys, consent notices: use the core and audiences
READERS = 7  # conversions and stats read producers and the core; nothing writes through them
PROJECT = 8  # the project package: settings, URLs, dashboard, management commands

TIERS: dict[str, int] = {
    "console.lib": LIB,
    "console.queue": LIB,
    "projects": TENANCY,
    "console.api": TENANCY,
    "channels": CHANNELS,
    "optout": LISTS,
    "webhooks": LISTS,
    "audiences": AUDIENCES,
    "dispatch": SEND_CORE,
    "campaigns": PRODUCERS,
    "journeys": PRODUCERS,
    "consent": PRODUCERS,  # the consent-notice app, under whatever name it gets
    "conversions": READERS,
    "stats": READERS,
    "console": PROJECT,
}

# Allowed arrows between parts of one tier.
PEERS: set[tuple[str, str]] = {
    # The API's base view (console.api) authenticates with projects' tokens,
    # and projects' own API views stand on that base view: plumbing, not a
    # product dependency; module by module it is no cycle.
    ("console.api", "projects"),
    ("projects", "console.api"),
    # The opt-out list announces its changes through its webhooks.
    ("optout", "webhooks"),
    # A journey may reuse campaign parts (not its views or forms: FORBIDDEN).
    ("journeys", "campaigns"),
    # Statistics show conversions next to the sends.
    ("stats", "conversions"),
}

# Arrows that no tier allows away: (importer part, imported module prefix).
FORBIDDEN: set[tuple[str, str]] = {
    ("journeys", "campaigns.views"),
    ("journeys", "campaigns.forms"),
}


@dataclass(frozen=True)
class Arrow:
    importer: str  # the importing module
    imported: str  # the imported module (or package)
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}"


def part_of(module: str, tiers: Mapping[str, int]) -> str:
    """The part (a key of `tiers`) a module belongs to: the longest prefix."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in tiers:
            return prefix
    return parts[0]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> Iterator[Arrow]:
    """Every import in the file, at any depth (functions, methods, `if`
    blocks, TYPE_CHECKING), with relative imports made absolute."""
    importer = module_name(path, root)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Arrow(importer, alias.name, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield Arrow(importer, module, path, node.lineno)
            # `from campaigns import dispatch` imports campaigns.dispatch.
            for alias in node.names:
                yield Arrow(importer, f"{module}.{alias.name}", path, node.lineno)


def app_files(root: Path, apps: Iterable[str]) -> Iterator[Path]:
    for app in sorted(apps):
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def wrong_arrows(
    root: Path,
    apps: Iterable[str],
    tiers: Mapping[str, int],
    peers: set[tuple[str, str]],
    forbidden: set[tuple[str, str]],
) -> tuple[list[Arrow], list[str]]:
    """(arrows that run the wrong way, parts that have no tier)."""
    apps = set(apps)
    wrong: list[Arrow] = []
    untiered: set[str] = set()
    for path in app_files(root, apps):
        for arrow in imports_of(path, root):
            if arrow.imported.split(".")[0] not in apps:
                continue  # Django, the standard library, third parties
            source = part_of(arrow.importer, tiers)
            target = part_of(arrow.imported, tiers)
            for part in (source, target):
                if part not in tiers:
                    untiered.add(part)
            if source == target or source not in tiers or target not in tiers:
                continue
            banned = any(
                source == who and (arrow.imported + ".").startswith(prefix + ".")
                for who, prefix in forbidden
            )
            if banned or not (tiers[target] < tiers[source] or (source, target) in peers):
                wrong.append(arrow)
    # One arrow per (importer, imported module) and line: `from a import b`
    # yields a and a.b, which are one import.
    unique: dict[tuple[str, Path, int, str], Arrow] = {}
    for a in wrong:
        unique.setdefault((a.importer, a.path, a.line, part_of(a.imported, tiers)), a)
    return list(unique.values()), sorted(untiered)


def project_apps(root: Path) -> list[str]:
    """The project's own packages: top-level directories with an apps.py."""
    return sorted(p.parent.name for p in root.glob("*/apps.py"))


# --- the project ----------------------------------------------------------------------


def test_every_app_has_a_tier():
    _wrong, untiered = wrong_arrows(ROOT, project_apps(ROOT), TIERS, PEERS, FORBIDDEN)
    assert not untiered, f"give these a tier in TIERS: {untiered}"


def test_no_import_runs_the_wrong_way():
    wrong, _untiered = wrong_arrows(ROOT, project_apps(ROOT), TIERS, PEERS, FORBIDDEN)
    assert not wrong, "imports that run the wrong way:\n" + "\n".join(map(str, wrong))


def test_actions_and_tasks_do_not_import_each_other_one_way():
    # Tasks may call actions; actions enqueue tasks by dotted name.
    for app in project_apps(ROOT):
        actions = ROOT / app / "actions.py"
        if not actions.exists():
            continue
        for arrow in imports_of(actions, ROOT):
            assert not arrow.imported.startswith(f"{app}.tasks"), str(arrow)


# --- the walker itself, on a tiny synthetic tree -------------------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for app in {name.split("/")[0] for name in files}:
        (root / app / "__init__.py").touch()
        (root / app / "apps.py").touch()


SYNTHETIC_TIERS = {"low": 0, "mid": 1, "high": 2}


def test_the_walker_allows_arrows_that_point_down(tmp_path):
    _tree(
        tmp_path,
        {
            "high/views.py": "from mid.models import Thing\nimport low\n",
            "mid/models.py": "from low import helpers\nfrom .other import x\n",
            "mid/other.py": "x = 1\n",
            "low/helpers.py": "import json\n",
        },
    )
    wrong, untiered = wrong_arrows(tmp_path, project_apps(tmp_path), SYNTHETIC_TIERS, set(), set())
    assert (wrong, untiered) == ([], [])


@pytest.mark.parametrize(
    "source",
    [
        "from high.views import page\n",  # module level
        "def f():\n    from high import views\n    return views\n",  # in a function
        "class C:\n    def m(self):\n        import high.views\n",  # in a method
        "if True:\n    from high.views import page as p\n",  # in a block
    ],
)
def test_the_walker_finds_an_injected_wrong_import(tmp_path, source):
    _tree(tmp_path, {"low/helpers.py": source, "high/views.py": "page = 1\n"})
    wrong, _untiered = wrong_arrows(tmp_path, project_apps(tmp_path), SYNTHETIC_TIERS, set(), set())
    assert [(arrow.importer, arrow.path.name) for arrow in wrong] == [("low.helpers", "helpers.py")]


def test_the_walker_resolves_relative_imports(tmp_path):
    _tree(
        tmp_path,
        {
            "high/sub/__init__.py": "from . import y\n",
            "high/sub/y.py": "from ..models import Thing\nfrom . import z\n",
            "high/models.py": "",
        },
    )
    seen = {
        arrow.imported
        for path in app_files(tmp_path, ["high"])
        for arrow in imports_of(path, tmp_path)
    }
    assert {"high.models", "high.models.Thing", "high.sub", "high.sub.y", "high.sub.z"} <= seen


def test_the_walker_honours_peers_and_forbidden_modules(tmp_path):
    _tree(
        tmp_path,
        {
            "mid/a.py": "from high import views\n",
            "high/views.py": "from mid import forms\nfrom mid import rendering\n",
            "mid/forms.py": "",
            "mid/rendering.py": "",
        },
    )
    tiers = {"low": 0, "mid": 1, "high": 1}
    wrong, _untiered = wrong_arrows(
        tmp_path, project_apps(tmp_path), tiers, {("high", "mid")}, {("high", "mid.forms")}
    )
    assert sorted((arrow.importer, arrow.line) for arrow in wrong) == [
        ("high.views", 1),
        ("mid.a", 1),
    ]


def test_the_walker_reports_an_app_without_a_tier(tmp_path):
    _tree(tmp_path, {"newcomer/x.py": "import low\n", "low/y.py": ""})
    _wrong, untiered = wrong_arrows(tmp_path, project_apps(tmp_path), SYNTHETIC_TIERS, set(), set())
    assert untiered == ["newcomer"]

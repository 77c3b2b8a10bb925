"""The apps' imports go one way: no cycle between apps, no selector importing a service, and an app
reaches another only through its public modules (its services and selectors, and the few small
modules listed in PUBLIC). Read from the source with ``ast``, lazy imports inside functions included."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "billing", "memes", "ingest", "webhooks", "privacy", "portal")
# What another app may import from each app, besides its services and selectors.
PUBLIC = {
    # events: the signals an app sends, for others to connect to (webhooks does).
    "accounts": {"principal", "permissions", "roles", "throttling", "events"},  # what other apps' views need
    "billing": {"exceptions", "events", "export"},  # export: the CSV/JSON streams (API and portal)
    "memes": {"exceptions"},
    "ingest": {"exceptions"},
    "webhooks": {"exceptions"},
    "privacy": set(),
    "portal": set(),
}


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, module) for every module the file at ``path`` imports (``source``: its text, if not
    read from the file), ``from x import y`` naming ``x.y`` when ``y`` is a module of ours."""
    package = _module_of(path) if path.name == "__init__.py" else _module_of(path).rpartition(".")[0]
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield node.lineno, candidate if _is_module(candidate) else base


def _app_files() -> Iterator[tuple[str, Path]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            yield app, path


def _app_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in APPS else None


def test_the_graph_is_read_from_the_source():
    # The checks below mean something only if the reader sees the imports that are there.
    found = {module for _, module in imports_of(ROOT / "memes" / "services" / "serving.py")}
    assert {"billing.services", "accounts.principal", "memes.selectors"} <= found


def test_no_cycle_between_apps():
    edges: dict[str, set[str]] = {app: set() for app in APPS}
    for app, path in _app_files():
        for _, module in imports_of(path):
            other = _app_of(module)
            if other is not None and other != app:
                edges[app].add(other)

    def cycle_from(start: str, trail: list[str]) -> list[str] | None:
        for target in sorted(edges[trail[-1]]):
            if target == start:
                return [*trail, start]
            if target not in trail and (found := cycle_from(start, [*trail, target])):
                return found
        return None

    cycles = [cycle for app in APPS if (cycle := cycle_from(app, [app]))]
    assert not cycles, f"import cycle between apps: {' -> '.join(cycles[0])}"


def test_no_selector_imports_a_service():
    offending = []
    for _, path in _app_files():
        if "selectors" not in path.relative_to(ROOT).with_suffix("").parts:
            continue
        for line, module in imports_of(path):
            if "services" in module.split("."):
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not offending, offending


def test_apps_talk_to_each_other_only_through_their_public_modules():
    offending = []
    for app, path in _app_files():
        for line, module in imports_of(path):
            other = _app_of(module)
            if other is None or other == app:
                continue
            parts = module.split(".")
            allowed = {"services", "selectors", *PUBLIC[other]}
            if len(parts) != 2 or parts[1] not in allowed:
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not offending, offending


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from billing.services import account_debit", {"billing.services"}),
        ("from billing import services", {"billing.services"}),
        ("import billing.services.paid_calls", {"billing.services.paid_calls"}),
        ("from .engine import MemeHit", {"memes.search.engine"}),
        ("from . import engine", {"memes.search.engine"}),
        ("def f():\n    from accounts.models import Client", {"accounts.models"}),
    ],
)
def test_imports_are_resolved_as_python_resolves_them(source, expected):
    in_search_package = ROOT / "memes" / "search" / "probe.py"  # only its place matters: never read
    assert {module for _, module in imports_of(in_search_package, source)} == expected

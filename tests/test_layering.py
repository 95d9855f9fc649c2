"""Imports point one way, and each third-party library has one home (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sync_server", "pipeline", "exports")

# package -> the first-party packages it must never import
FORBIDDEN_FIRST_PARTY = {
    "pipeline": {"sync_server", "exports"},
    "exports": {"sync_server"},
    "sync_server": set(),
}

# third-party module -> where it may be imported (path prefixes relative to the repo)
HOMES = {
    "flask": ("sync_server/",),
    "flask_wtf": ("sync_server/",),
    "cryptography": ("sync_server/web/cookie.py",),
    "flask_babel": ("sync_server/",),
    "pyxform": ("pipeline/forms.py",),
    "requests": ("pipeline/connectors/",),
    "pandas": ("exports/",),
    "xlsxwriter": ("exports/",),
    "odata_query": ("exports/odata_query.py",),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    package = rel.split("/")[0]
    imported = _imports(path)
    wrong = imported & FORBIDDEN_FIRST_PARTY[package]
    assert not wrong, f"{rel} imports {sorted(wrong)}, against the dependency rule"
    for module, homes in HOMES.items():
        if module in imported:
            assert rel.startswith(homes), f"{rel} imports {module}, which lives only in {homes}"


def test_every_problem_is_made_by_the_catalogue() -> None:
    """``pipeline/problems.py`` is the one catalogue of errors: nothing else calls ``Problem(...)``
    with a code of its own, so codes and statuses are never retyped by hand."""
    inline = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "pipeline" / "problems.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and (
                        getattr(node.func, "id", None) == "Problem"
                        or getattr(node.func, "attr", None) == "Problem"):
                    inline.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not inline, f"Problem(...) outside pipeline/problems.py: {inline}"


def _relative_imports(path: Path) -> set[str]:
    """The sibling modules ``path`` imports (``from . import x``, ``from .x import y``), anywhere."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [a.name for a in node.names])
    return found


def test_the_write_path_imports_one_way() -> None:
    """The door (``ingest``) uses the raw store and the loader; neither reaches back to the door,
    not even inside a function, so the write path reads top to bottom."""
    assert {"rawstore", "loader"} <= _relative_imports(ROOT / "pipeline" / "ingest.py")
    for module in ("rawstore", "rawstore_fastpath", "loader"):
        assert "ingest" not in _relative_imports(ROOT / "pipeline" / f"{module}.py"), module

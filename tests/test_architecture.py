"""The import rules of the architecture (README, Layout) hold: data flows one way and no surface imports another.

Read from the source with `ast`, so a rule broken inside a function (a late import) is caught too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support import REPO

PACKAGES = ("knowledge", "indexer", "bot", "adapters")
SURFACES = ("slack", "teams", "web")


def _imports(path: Path) -> set[str]:
    """The husbot modules a file imports, absolute (relative imports resolved against its package)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - node.level]
                out.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                out.add(node.module)
    return {m for m in out if m.split(".")[0] in PACKAGES}


def _modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _broken(folder: str, allowed) -> list[str]:
    return [f"{p.relative_to(REPO)} imports {m}" for p in _modules(folder) for m in sorted(_imports(p))
            if not allowed(m)]


def test_knowledge_imports_no_other_part_of_husbot():
    assert _broken("knowledge", lambda m: m.startswith("knowledge")) == []


def test_the_indexer_imports_only_knowledge():
    assert _broken("indexer", lambda m: m.startswith(("indexer", "knowledge"))) == []


def test_the_conversation_core_knows_no_platform():
    assert _broken("bot", lambda m: not m.startswith("adapters")) == []


@pytest.mark.parametrize("surface", SURFACES)
def test_no_surface_imports_another(surface):
    own = f"adapters.{surface}"
    assert _broken(f"adapters/{surface}", lambda m: not m.startswith("adapters") or m.startswith(own)) == []


def test_the_rules_see_a_broken_import():
    """The checker itself: a late import of Slack inside a Teams module is found."""
    bad = REPO / "adapters" / "teams" / "_late_import_probe.py"
    bad.write_text("def f():\n    from ..slack import translate\n    return translate\n", encoding="utf-8")
    try:
        assert _broken("adapters/teams", lambda m: not m.startswith("adapters") or m.startswith("adapters.teams")) \
            == ["adapters/teams/_late_import_probe.py imports adapters.slack"]
    finally:
        bad.unlink()

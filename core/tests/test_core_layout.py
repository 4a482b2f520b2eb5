"""The shape of core: grouped by concern, no import cycles, no first-party plugin named in code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "s3dlio"
PLUGIN_NAME = re.compile(r"s3dlio[_-](?:s3|gcs|azure|posix|direct|datagen|oplog|loaders)\b")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module, package: str) -> set[str]:
    """Core modules imported when the module is executed (not in functions, not for type checkers)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y
                    parts = package.split(".")
                    base = ".".join([*parts[: len(parts) - node.level + 1], base])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in MODULES else base)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return {name for name in found if name in MODULES}


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _module_level_imports(ast.parse(path.read_text()), package) - {name}
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def test_core_has_no_import_cycle() -> None:
    assert _find_cycle(_graph()) is None, " -> ".join(_find_cycle(_graph()) or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_core_is_grouped_by_concern() -> None:
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert len(top) <= 12, top
    packages = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").exists())
    assert packages == ["api", "cli", "engines", "plugin", "store", "testing"], packages


def _strings_outside_docstrings(tree: ast.Module) -> list[tuple[int, str]]:
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


@pytest.mark.parametrize("name", [n for n in MODULES if n != "s3dlio.plugin.catalog"])
def test_core_names_no_first_party_plugin(name: str) -> None:
    """Only the catalog knows the first-party distributions; everything else goes through hooks."""
    tree = ast.parse(MODULES[name].read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not [m for m in imported if PLUGIN_NAME.match(m)], imported
    named = [(line, text) for line, text in _strings_outside_docstrings(tree) if PLUGIN_NAME.search(text)]
    assert not named, named


def test_composition_stays_light() -> None:
    """Composing core imports neither asyncio nor the API modules (the first I/O does)."""
    import subprocess
    import sys

    code = ("import sys\nfrom s3dlio.plugin.runtime import runtime\nruntime()\n"
            "print(sorted(m for m in ('asyncio', 's3dlio.api', 's3dlio.store.multi_endpoint') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"S3DLIO_DISABLE_PLUGIN_AUTOLOAD": "1"}).stdout
    assert out.strip() == "[]"


def test_declared_multi_endpoint_variables_match_the_store() -> None:
    from s3dlio.plugin.builtin import MULTI_ENDPOINT_ENV
    from s3dlio.store import multi_endpoint as me

    assert (me.ENV_ENDPOINT_URIS, me.ENV_ENDPOINT_TEMPLATE, me.ENV_ENDPOINT_FILE, me.ENV_STRATEGY) == \
        MULTI_ENDPOINT_ENV

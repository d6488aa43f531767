"""The installed package's imports form no cycle, and run one way: from the pytest layer down.

Read with `ast` from the files `importlib` finds for `esp_hil`, every import counted
(those inside functions too: a lazy import only hides a cycle), except those under
`if TYPE_CHECKING:`, which never run.
"""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path

PACKAGE = "esp_hil"
PYTEST_LAYER = "esp_hil.pytestplugin"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _modules() -> dict[str, Path]:
    """Every module of the packages the wheel installs (pyproject's list), found where importlib finds them."""
    packages = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"]
    found: dict[str, Path] = {}
    for name in packages:
        spec = importlib.util.find_spec(name)
        found[name] = Path(spec.origin)
        for folder in spec.submodule_search_locations or []:
            found.update({f"{name}.{path.stem}": path for path in Path(folder).glob("*.py") if path.stem != "__init__"})
    return found


def _runtime_imports(tree: ast.Module):
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for child in node.body for n in ast.walk(child)}
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skipped]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    graph = _graph()
    assert len(graph) > 50  # the walk found the package, not an empty folder
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_nothing_below_the_pytest_layer_imports_it():
    upward = sorted(f"{name} -> {target}" for name, targets in _graph().items() if not name.startswith(PYTEST_LAYER)
                    for target in targets if target.startswith(PYTEST_LAYER))
    assert upward == []


def test_a_cycle_is_found_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None

"""The module import graph of sadpnet: no cycles (function-level imports included) and no stage importing a
later one (crystal -> defects -> simulate -> io -> data -> model -> study; cli and web on top; the
package-level helpers below every stage)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
#: Rank of each stage; a module may import modules of its own or a lower rank only.
STAGES = {"crystal": 1, "defects": 2, "simulate": 3, "io": 4, "data": 5, "model": 6, "study": 7, "cli": 8, "web": 8}
BASE = 0  # sadpnet.errors, sadpnet.atomic_write, sadpnet.resources, ...
TOP = 9  # sadpnet/__main__.py starts the CLI


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (SRC / "sadpnet").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _resolve(name: str, mods) -> str | None:
    """The module (or package) of sadpnet an imported name lives in."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, mods) -> set[str]:
    """Every sadpnet module ``module`` imports, at any depth of its code (functions, classes, conditionals)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {_resolve(a.name, mods) for a in node.names if a.name.split(".")[0] == "sadpnet"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if base.split(".")[0] != "sadpnet":
                continue
            for a in node.names:  # "from sadpnet.model import infer" imports the module infer
                full = f"{base}.{a.name}"
                out.add(full if full in mods else _resolve(base, mods))
    out.discard(None)
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle [a, b, ..., a] of the graph, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(graph):
        if state.get(root):
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def rank(module: str) -> int:
    parts = module.split(".")
    if parts[1:] == ["__main__"]:
        return TOP
    return STAGES.get(parts[1], BASE) if len(parts) > 1 else BASE


def test_graph_sees_function_level_imports():
    g = import_graph()
    assert "sadpnet.model.card" in g["sadpnet.model.infer"]  # imported inside load functions only
    assert "sadpnet.simulate.detector" in g["sadpnet.data.build"]


@pytest.mark.parametrize("graph, cycle", [({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
                                          ({"a": {"b"}, "b": set()}, None)])
def test_find_cycle(graph, cycle):
    assert find_cycle(graph) == cycle


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_no_stage_imports_a_later_stage():
    upward = sorted(f"{a} -> {b}" for a, deps in import_graph().items() for b in deps if rank(b) > rank(a))
    assert upward == []

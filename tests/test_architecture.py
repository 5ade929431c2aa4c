"""The shape of the package, read from its source: layers, cycles, sizes and exports.

See ``docs/architecture.md``. Lower layers never import higher ones; two packages of the same
layer (the study and the calibration) do not import each other; nothing in the library imports
the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "retention_sim"

#: Layer of every part of the package (the first component below ``retention_sim``).
LAYERS = {
    "_version": 0,
    "errors": 0,
    "vocabulary": 0,
    "outputs": 0,
    "config": 1,
    "model": 2,
    "study": 3,
    "calibration": 3,
    "reporting": 4,
    "cli": 5,
    "__init__": 6,
    "__main__": 6,
}
MAX_MODULE_LINES, MAX_CLASS_LINES, MAX_FUNCTION_LINES = 500, 300, 120


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out[name] = p
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Package modules that ``name`` imports (at module level or inside functions)."""
    path = MODULES[name]
    is_pkg = path.name == "__init__.py"
    here = name.split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_pkg else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [
                f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod for a in node.names
            ]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            while t and t not in MODULES and "." in t:
                t = t.rsplit(".", 1)[0]
            if t in MODULES and t != name and t.startswith("retention_sim"):
                found.add(t)
    return found


def _part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_layer():
    assert {_part(m) for m in MODULES} <= set(LAYERS), sorted({_part(m) for m in MODULES})


def test_at_least_four_subpackages():
    subs = {m for m, p in MODULES.items() if p.name == "__init__.py" and m != "retention_sim"}
    assert len({s.split(".")[1] for s in subs}) >= 4


@pytest.mark.parametrize("name", sorted(MODULES))
def test_lower_layers_never_import_higher_ones(name):
    mine = _part(name)
    for target in _imports(name):
        theirs = _part(target)
        if theirs == mine:
            continue
        assert LAYERS[theirs] < LAYERS[mine] or mine in ("__init__", "__main__"), (
            f"{name} (layer {mine}) imports {target} (layer {theirs})"
        )


def test_no_import_cycles():
    edges = {m: _imports(m) for m in MODULES}
    # an edge into a package's own __init__ from inside it is how Python loads packages
    for m in edges:
        edges[m] = {
            t for t in edges[m] if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))
        }
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(v: str) -> None:
        state[v] = 1
        path.append(v)
        for w in sorted(edges[v]):
            if state.get(w) == 1:
                cycle = path[path.index(w) :] + [w]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if w not in state:
                visit(w)
        path.pop()
        state[v] = 2

    for v in sorted(edges):
        if v not in state:
            visit(v)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_sizes_stay_readable(name):
    src = MODULES[name].read_text()
    assert src.count("\n") + 1 <= MAX_MODULE_LINES, f"{name} is too long"
    for node in ast.walk(ast.parse(src)):
        size = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
        if isinstance(node, ast.ClassDef):
            assert size <= MAX_CLASS_LINES, f"class {name}.{node.name}: {size} lines"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert size <= MAX_FUNCTION_LINES, f"function {name}:{node.name}: {size} lines"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if not m.endswith("__main__")))
def test_every_module_declares_its_exports(name):
    tree = ast.parse(MODULES[name].read_text())
    names = {
        t.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    assert "__all__" in names, f"{name} has no __all__"

"""The layout's two rules, read from the source (every import, also those inside functions, which are still
dependencies): no two modules of src/ depend on each other through a circle, and no module imports one in a
layer above its own (README, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import rustworkx as rx

SRC = Path(__file__).resolve().parents[2] / "src"

#: Layers from the bottom; a module may import its own layer and those below. A module not named here is a
#: feature (layer 3). `test_rig` itself re-exports the public API lazily and is the top, beside the CLI.
LAYERS: dict[str, int] = {
    # foundation, and the report writers every run ends with (JSON, JUnit, HTML: functions of a result dict)
    **dict.fromkeys(["test_rig.results", "test_rig.errors", "test_rig.report", "test_rig.config", "test_rig.db",
                     "test_rig.resilience", "test_rig.environment", "test_rig.workers", "test_rig.options",
                     "test_rig.startup", "test_rig.timeouts"], 1),
    # engine and servers (replay writes an engine's step log as a script)
    **dict.fromkeys(["test_rig.machine", "test_rig.coordinator", "test_rig.report.replay", "test_rig.servers"], 2),
    **dict.fromkeys(["test_rig.cli", "test_rig.pytest_plugin", "test_rig", "test_rig.__main__", "test_rig_python"], 5),
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _layer(module: str) -> int:
    name = module
    while name:
        if name in LAYERS:
            return LAYERS[name]
        name = name.rpartition(".")[0]
    return 3


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
                target = ".".join([*base, *([node.module] if node.module else [])])
                subs = [f"{target}.{a.name}" for a in node.names]
                # `from pkg import module` depends on the module, as `from pkg.module import x` does (the package's
                # __init__ runs for both); `from pkg import name` depends on the package
                found.update(c for c in (subs if all(s in modules for s in subs) else [target, *subs]) if c in modules)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in modules)
        found.discard(name)
        # a package's own re-exports of its submodules are not a dependency of theirs on it
        out[name] = {m for m in found if not (path.name == "__init__.py" and m.startswith(name + "."))}
    return out


def test_no_import_circle() -> None:
    modules = _modules()
    graph = rx.PyDiGraph()
    index = {name: graph.add_node(name) for name in modules}
    for name, targets in _imports(modules).items():
        for target in targets:
            graph.add_edge(index[name], index[target], None)
    circles = [sorted(graph[i] for i in c) for c in rx.strongly_connected_components(graph) if len(c) > 1]
    assert circles == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = sorted(f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
                    for name, targets in _imports(_modules()).items() for target in targets
                    if _layer(target) > _layer(name))
    assert upward == []

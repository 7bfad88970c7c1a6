"""The engine's layers point down only: core ← compat ← runtime ← scaleout ← server ← cli.

Every module of ``inkgraph.engine`` is imported (so none is broken or circular at import time) and every
import statement in it, at module level or inside a function, is checked against the allowed directions.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"
LAYERS = ["core", "compat", "runtime", "scaleout", "server", "cli"]
# Imports of the built-in node pack from the engine, each for a stated reason.
NODES_ALLOWED = {
    "runtime": "the pack loader loads the built-in pack",
    "compat": "ComfyUI's internal modules (comfy.utils, comfy.sd, comfy.samplers …) are facades over the built-in "
              "pack's models and samplers",
    "cli": "train-demo runs the demo model's trainer",
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        parts = list(path.relative_to(ENGINE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(["inkgraph", "engine", *parts]), path))
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["inkgraph", "engine"]:
        return None
    return parts[2] if len(parts) > 2 and parts[2] in LAYERS else "api"  # engine/__init__: the plugin API


def _imports(module: str, path: Path) -> list[str]:
    """Absolute names of what ``path`` imports (relative imports resolved against ``module``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names += [f"{target}.{alias.name}" for alias in node.names] if node.module is None else [target]
    return names


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_imports_point_down(module: str, path: Path) -> None:
    layer = _layer(module)
    assert layer is not None
    rank = -1 if layer == "api" else LAYERS.index(layer)
    for target in _imports(module, path):
        if target.startswith("inkgraph.nodes"):
            assert layer in NODES_ALLOWED, f"{module} imports the built-in node pack ({target})"
            continue
        target_layer = "api" if target in ("inkgraph", "inkgraph.engine") else _layer(target)
        if target_layer is None:
            continue
        target_rank = -1 if target_layer == "api" else LAYERS.index(target_layer)
        if layer == "api":
            assert target_layer in ("api", "core"), f"the plugin API imports {target}"
            continue
        assert target_rank <= rank, f"{module} ({layer}) imports {target}, a layer above it"


@pytest.mark.parametrize("module", [m for m, _ in _modules() if not m.endswith("__main__")])
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_the_core_and_the_server_import_without_torch() -> None:
    code = ("import sys, inkgraph, inkgraph.engine.runtime, inkgraph.engine.server.app, inkgraph.engine.cli.commands; "
            "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_old_engine_name_is_an_alias_not_a_copy() -> None:
    """Packs written against ``engine`` get the very modules the runtime uses, never a second copy."""
    code = ("import inkgraph.engine.runtime.packs as packs, inkgraph.engine.core.spec as spec; "
            "from inkgraph.engine import compat; compat.install_engine_alias(); "
            "import engine, engine.core.spec; "
            "assert engine.core.spec is spec and engine.node is __import__('inkgraph').node")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd="/")

"""Finding node packs: the built-in ``inkgraph.nodes``, installed entry points, ``custom_nodes`` folders.

The registry (:mod:`inkgraph.engine.core.registry`) only holds what was found; this module decides what to
load and how: native packs (``NODES`` or ``node_list()``), ComfyUI V1 packs (``NODE_CLASS_MAPPINGS``,
through the compatibility layer), front-end-only extensions, ``.disabled`` entries and ComfyUI's
``--disable-all-custom-nodes`` / ``--whitelist-custom-nodes``.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import compat
from ..compat.v1_adapter import specs_from_mappings
from ..core.paths import Folders
from ..core.registry import BUILTIN_PACK, NodeRegistry, PackStatus

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "inkgraph.nodes"


def load_builtins(registry: NodeRegistry) -> PackStatus:
    """Inkgraph's own node pack, :mod:`inkgraph.nodes`."""

    def load() -> Iterable[Any]:
        from ... import nodes

        return list(nodes.node_list())

    return registry.load_pack(BUILTIN_PACK, "built-in", load)


def load_entry_points(registry: NodeRegistry) -> list[PackStatus]:
    """Packs installed as Python distributions: entry point → a callable returning a node list."""
    compat.install_engine_alias()  # packs written before the package was named ``inkgraph`` import ``engine``
    statuses = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        def load(ep: metadata.EntryPoint = ep) -> Iterable[Any]:
            target = ep.load()
            return list(target() if callable(target) else target)

        status = registry.load_pack(ep.name, f"entry point {ep.value}", load)
        module = sys.modules.get(ep.module)
        module_file = getattr(module, "__file__", None)
        if status.loaded and module is not None and module_file:
            web = _web_directory(module, Path(module_file).parent)
            status.web_directory = str(web) if web is not None else None
        statuses.append(status)
    return statuses


def load_custom_nodes(registry: NodeRegistry, directories: Iterable[Path], *, enabled: bool = True,
                      whitelist: Iterable[str] = (), folders: Folders | None = None) -> list[PackStatus]:
    """Packs in ``custom_nodes`` folders: each ``name.py`` or ``name/__init__.py`` is either a native pack
    (``NODES`` or ``node_list()``) or a ComfyUI V1 pack (``NODE_CLASS_MAPPINGS``). Entries ending in
    ``.disabled`` are skipped; with ``enabled=False`` only ``whitelist`` names load (ComfyUI's
    ``--disable-all-custom-nodes`` / ``--whitelist-custom-nodes``). ComfyUI's module names
    (``folder_paths``, ``comfy.*``, ``server``, ``nodes`` …) are answered while the packs import, and kept
    only if a V1 pack loaded. Each pack's ``prestartup_script.py`` runs first, as in ComfyUI.
    """
    allowed = set(whitelist)
    entries = [(entry, init) for directory in directories for entry, init in _pack_entries(directory)
               if enabled or _pack_name(entry) in allowed]
    compat.install_engine_alias()
    compat.activate(folders, registry)
    statuses: list[PackStatus] = []
    try:
        for entry, _ in entries:
            script = entry / "prestartup_script.py"
            if entry.is_dir() and script.is_file():
                try:
                    _import_file(f"custom_nodes.{_pack_name(entry)}.prestartup_script", script)
                except Exception:
                    log.exception("prestartup script of %s failed", entry.name)
        for entry, init in entries:
            statuses.append(_load_pack_file(registry, entry, init))
    finally:
        if not any(status.kind == "comfyui-v1" and status.loaded for status in statuses):
            compat.deactivate()
    return statuses


def default_registry(*, entry_points: bool = True, custom_nodes: Iterable[Path] | Path | None = None,
                     enabled: bool = True, whitelist: Iterable[str] = (), folders: Folders | None = None
                     ) -> NodeRegistry:
    """The built-in nodes plus installed node packs (and those in the ``custom_nodes`` folders)."""
    registry = NodeRegistry()
    load_builtins(registry)
    if entry_points and enabled:
        load_entry_points(registry)
    if custom_nodes is not None:
        directories = [custom_nodes] if isinstance(custom_nodes, Path) else list(custom_nodes)
        load_custom_nodes(registry, directories, enabled=enabled, whitelist=whitelist, folders=folders)
    return registry


def pack_summary(registry: NodeRegistry) -> str:
    """One line for the server's start: the packs that loaded (with their node counts) and those that did
    not (each failure was logged with its traceback as it happened)."""
    loaded = [p for p in registry.packs.values() if p.loaded]
    failed = [p for p in registry.packs.values() if not p.loaded]
    counts = ", ".join(f"{'built-in' if p.name == BUILTIN_PACK else p.name}: {p.node_count} nodes" for p in loaded)
    line = f"Node packs: {len(loaded)} loaded ({counts})"
    if failed:
        reasons = ", ".join(f"{p.name} ({(p.error or 'no reason given').splitlines()[-1]})" for p in failed)
        line += f"; {len(failed)} failed: {reasons}"
    return line


def _load_pack_file(registry: NodeRegistry, entry: Path, init: Path) -> PackStatus:
    name = _pack_name(entry)
    module_name = f"custom_nodes.{name}"
    found: dict[str, Any] = {"kind": "native", "web": None, "skipped": []}

    def load() -> Iterable[Any]:
        module = _import_file(module_name, init)
        found["web"] = _web_directory(module, entry)
        if hasattr(module, "node_list"):
            return list(module.node_list())
        if hasattr(module, "NODES"):
            return list(module.NODES)
        if hasattr(module, "NODE_CLASS_MAPPINGS"):
            found["kind"] = "comfyui-v1"
            specs, found["skipped"] = specs_from_mappings(
                dict(module.NODE_CLASS_MAPPINGS), getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", None), module_name)
            return specs
        if found["web"] is not None:  # a front-end-only extension
            return []
        raise ImportError("the pack exposes neither NODES, node_list() nor NODE_CLASS_MAPPINGS")

    status = registry.load_pack(name, str(entry), load)
    status.kind = found["kind"]
    status.web_directory = str(found["web"]) if found["web"] is not None else None
    status.skipped_nodes = [*found["skipped"], *status.skipped_nodes]
    for reason in found["skipped"]:
        log.error("node pack %r: %s", name, reason)
    return status


def _pack_name(entry: Path) -> str:
    return entry.stem if entry.suffix == ".py" else entry.name


def _pack_entries(directory: Path) -> list[tuple[Path, Path]]:
    """(entry, file to import) for each pack in a custom_nodes folder, in name order."""
    if not directory.is_dir():
        return []
    found = []
    for entry in sorted(directory.iterdir()):
        name = _pack_name(entry)
        if name.startswith((".", "_")) or entry.name.endswith(".disabled"):
            continue
        init = entry / "__init__.py" if entry.is_dir() else entry
        if (entry.is_dir() and init.is_file()) or (entry.is_file() and entry.suffix == ".py"):
            found.append((entry, init))
    return found


def _web_directory(module: Any, entry: Path) -> Path | None:
    """A pack's front-end folder: ``WEB_DIRECTORY`` (relative to the pack) or pyproject ``[tool.comfy] web``."""
    root = entry if entry.is_dir() else entry.parent
    web = getattr(module, "WEB_DIRECTORY", None)
    if web is None and (root / "pyproject.toml").is_file() and entry.is_dir():
        try:
            web = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {}) \
                .get("comfy", {}).get("web")
        except (OSError, tomllib.TOMLDecodeError):
            web = None
    if not isinstance(web, str):
        return None
    path = (root / web).resolve()
    return path if path.is_dir() else None


def _import_file(module_name: str, path: Path) -> Any:
    """Import a file as ``module_name`` (packages keep relative imports working)."""
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=[str(path.parent)] if path.name == "__init__.py" else None)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module

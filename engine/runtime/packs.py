"""Finding node packs: the built-in ``inkgraph.nodes``, installed entry points, ``custom_nodes`` folders.

The registry (:mod:`inkgraph.engine.core.registry`) only holds what was found; this module decides what to
load and how: native packs (``NODES`` or ``node_list()``), ComfyUI packs (V1 ``NODE_CLASS_MAPPINGS``, whose
classes may be V3 nodes too, or a V3 ``comfy_entrypoint``, through the compatibility layer), front-end-only
extensions, ``.disabled`` entries and ComfyUI's ``--disable-all-custom-nodes`` / ``--whitelist-custom-nodes``.
Packs are imported as ``custom_nodes.<name>``, as ComfyUI imports them.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import compat
from ..compat.v1_adapter import specs_from_mappings
from ..compat.v3_adapter import specs_from_entrypoint
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
                      whitelist: Iterable[str] = (), folders: Folders | None = None,
                      api_nodes: bool = True) -> list[PackStatus]:
    """Packs in ``custom_nodes`` folders: each ``name.py`` or ``name/__init__.py`` is either a native pack
    (``NODES`` or ``node_list()``) or a ComfyUI V1 pack (``NODE_CLASS_MAPPINGS``). Entries ending in
    ``.disabled`` are skipped; with ``enabled=False`` only ``whitelist`` names load (ComfyUI's
    ``--disable-all-custom-nodes`` / ``--whitelist-custom-nodes``). ComfyUI's module names
    (``folder_paths``, ``comfy.*``, ``server``, ``nodes`` …) are answered while the packs import, and kept
    only if a ComfyUI pack loaded. Each pack's ``prestartup_script.py`` runs first, as in ComfyUI. With
    ``api_nodes=False`` the nodes packs mark as API nodes are skipped (ComfyUI's ``--disable-api-nodes``).
    """
    allowed = set(whitelist)
    entries = [(entry, init) for directory in directories for entry, init in _pack_entries(directory)
               if enabled or _pack_name(entry) in allowed]
    compat.install_engine_alias()
    compat.activate(folders, registry)
    package = custom_nodes_package(d for d in directories if d.is_dir())
    statuses: list[PackStatus] = []
    try:
        for entry, _ in entries:
            script = entry / "prestartup_script.py"
            if entry.is_dir() and script.is_file():
                try:
                    _import_file(f"custom_nodes.{_module_name(_pack_name(entry))}.prestartup_script", script)
                except Exception:
                    log.exception("prestartup script of %s failed", entry.name)
        for entry, init in entries:
            statuses.append(_load_pack_file(registry, entry, init, package, api_nodes))
    finally:
        if not any(status.kind != "native" and status.loaded for status in statuses):
            compat.deactivate()
    return statuses


def default_registry(*, entry_points: bool = True, custom_nodes: Iterable[Path] | Path | None = None,
                     enabled: bool = True, whitelist: Iterable[str] = (), folders: Folders | None = None,
                     api_nodes: bool = True) -> NodeRegistry:
    """The built-in nodes plus installed node packs (and those in the ``custom_nodes`` folders)."""
    registry = NodeRegistry()
    load_builtins(registry)
    if entry_points and enabled:
        load_entry_points(registry)
    if custom_nodes is not None:
        directories = [custom_nodes] if isinstance(custom_nodes, Path) else list(custom_nodes)
        load_custom_nodes(registry, directories, enabled=enabled, whitelist=whitelist, folders=folders,
                          api_nodes=api_nodes)
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


def _load_pack_file(registry: NodeRegistry, entry: Path, init: Path, custom_nodes: ModuleType,
                    api_nodes: bool = True) -> PackStatus:
    name = _pack_name(entry)
    module_name = f"custom_nodes.{_module_name(name)}"
    found: dict[str, Any] = {"kind": _sniff_kind(entry, init), "web": None, "skipped": []}

    def load() -> Iterable[Any]:
        from ..compat import nodes as comfy_nodes

        web_dirs = dict(comfy_nodes.EXTENSION_WEB_DIRS)
        module = _import_file(module_name, init)
        setattr(custom_nodes, _module_name(name), module)
        comfy_nodes.LOADED_MODULE_DIRS[name] = str(entry if entry.is_dir() else entry.parent)
        found["web"] = _web_directory(module, entry)
        added = [Path(d) for k, d in comfy_nodes.EXTENSION_WEB_DIRS.items() if web_dirs.get(k) != d]
        if found["web"] is None and added and added[0].is_dir():  # nodes.EXTENSION_WEB_DIRS[...] = folder
            found["web"] = added[0].resolve()
        if hasattr(module, "node_list"):
            found["kind"] = "native"
            return list(module.node_list())
        if hasattr(module, "NODES"):
            found["kind"] = "native"
            return list(module.NODES)
        if getattr(module, "NODE_CLASS_MAPPINGS", None) is not None:  # ComfyUI checks V1 first, then V3
            found["kind"] = "comfyui-v1"
            specs, found["skipped"] = specs_from_mappings(
                dict(module.NODE_CLASS_MAPPINGS), getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", None),
                f"custom_nodes.{name}", api_nodes)
            return specs
        if hasattr(module, "comfy_entrypoint"):
            found["kind"] = "comfyui-v3"
            specs, found["skipped"] = specs_from_entrypoint(module.comfy_entrypoint, f"custom_nodes.{name}", api_nodes)
            return specs
        if found["web"] is not None:  # a front-end-only extension
            return []
        raise ImportError("the pack exposes neither NODES, node_list(), NODE_CLASS_MAPPINGS nor comfy_entrypoint")

    status = registry.load_pack(name, str(entry), load, kind=found["kind"])
    status.kind = found["kind"]
    status.web_directory = str(found["web"]) if found["web"] is not None else None
    status.skipped_nodes = [*found["skipped"], *status.skipped_nodes]
    for reason in found["skipped"]:
        log.error("node pack %r: %s", name, reason)
    return status


def _sniff_kind(entry: Path, init: Path) -> str:
    """What a pack is, read from its source before it runs, so that one failing to import is still reported
    as the kind it is: ComfyUI's V1 (``NODE_CLASS_MAPPINGS``), V3 (``comfy_entrypoint``), or native."""
    files = [init]
    if entry.is_dir():
        files += sorted(p for p in entry.glob("*.py") if p != init)
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "NODE_CLASS_MAPPINGS" in text:
            return "comfyui-v1"
        if "comfy_entrypoint" in text:
            return "comfyui-v3"
        if "NODES" in text or "node_list" in text:
            return "native"
    return "native"


def _module_name(pack: str) -> str:
    """A pack's module name under ``custom_nodes``: dots would split it into packages, so ComfyUI writes
    them as ``_x_``."""
    return pack.replace(".", "_x_")


def custom_nodes_package(directories: Iterable[Path]) -> ModuleType:
    """The ``custom_nodes`` package every pack is imported under, as in a ComfyUI checkout, where it is the
    folder beside ``main.py``: ``import custom_nodes.Pack.sub`` and a pack's sub-folders without
    ``__init__.py`` resolve through its ``__path__`` (the custom_nodes folders)."""
    paths = [str(Path(d).resolve()) for d in directories]
    package = sys.modules.get("custom_nodes")
    if package is None or not getattr(package, "__inkgraph_custom_nodes__", False):
        package = ModuleType("custom_nodes", "Node packs loaded by Inkgraph (ComfyUI's custom_nodes package).")
        package.__spec__ = importlib.machinery.ModuleSpec("custom_nodes", None, is_package=True)
        package.__path__ = []
        package.__inkgraph_custom_nodes__ = True  # type: ignore[attr-defined]
        sys.modules["custom_nodes"] = package
    search = package.__path__
    for path in paths:
        if path not in search:
            search.append(path)
    if package.__spec__ is not None:
        package.__spec__.submodule_search_locations = list(search)
    return package


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

"""The node registry: which node types exist, where each came from, and how each pack loaded.

Packs are registered explicitly (a pack exposes its node list; nothing registers itself on import). The
built-in pack is the top-level package ``nodes``; installed packages add packs through the entry-point
group ``inkgraph.nodes``. A pack that fails is reported and skipped, never fatal, and no pack may replace
a built-in node.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .api import spec_of
from .paths import Folders
from .spec import NodeSpec, SpecError, check_spec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "inkgraph.nodes"
BUILTIN_PACK = "nodes"


class PackStatus(BaseModel):
    """How one node pack loaded: shown by the CLI and the server's pack-status route."""

    name: str
    source: str
    loaded: bool
    node_count: int = 0
    load_seconds: float = 0.0
    error: str | None = None
    skipped_nodes: list[str] = []
    kind: str = "native"  # "native" or "comfyui-v1"
    web_directory: str | None = None


def as_spec(item: Any) -> NodeSpec:
    """A pack lists NodeSpecs or decorated node functions/classes; both are accepted."""
    return item if isinstance(item, NodeSpec) else spec_of(item)


class NodeRegistry:
    """class_type → NodeSpec, with the origin of each node and the status of each pack."""

    def __init__(self) -> None:
        self._specs: dict[str, NodeSpec] = {}
        self._pack_of: dict[str, str] = {}
        self.packs: dict[str, PackStatus] = {}

    def __contains__(self, class_type: object) -> bool:
        return class_type in self._specs

    def __iter__(self) -> Iterator[NodeSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, class_type: str) -> NodeSpec | None:
        return self._specs.get(class_type)

    def pack_of(self, class_type: str) -> str | None:
        return self._pack_of.get(class_type)

    def register(self, spec: NodeSpec, pack: str = BUILTIN_PACK) -> None:
        """Add one node. Built-ins cannot be replaced; between other packs the later one wins."""
        check_spec(spec)
        previous = self._pack_of.get(spec.class_type)
        if previous == BUILTIN_PACK and pack != BUILTIN_PACK:
            raise SpecError(f"{spec.class_type!r} is a built-in node; pack {pack!r} cannot replace it")
        if previous is not None:
            if previous == pack:
                raise SpecError(f"{spec.class_type!r} is declared twice in pack {pack!r}")
            log.warning("node %r from pack %r replaces the one from %r", spec.class_type, pack, previous)
        self._specs[spec.class_type] = spec
        self._pack_of[spec.class_type] = pack

    def load_pack(self, name: str, source: str, load: Callable[[], Iterable[Any]]) -> PackStatus:
        """Import a pack through ``load`` and register its nodes; failures become a PackStatus.

        A node that fails its checks is skipped with a reason; the rest of its pack still loads.
        """
        start = time.perf_counter()
        try:
            items = list(load())
        except Exception as exc:
            status = PackStatus(name=name, source=source, loaded=False,
                                load_seconds=time.perf_counter() - start,
                                error="".join(traceback.format_exception_only(exc)).strip())
            log.error("node pack %r failed to load:\n%s", name, traceback.format_exc())
            self.packs[name] = status
            return status
        count = 0
        skipped: list[str] = []
        for item in items:
            try:
                spec = as_spec(item)
                if name != BUILTIN_PACK and spec.python_module == BUILTIN_PACK:
                    spec = spec.model_copy(update={"python_module": f"custom_nodes.{name}"})
                self.register(spec, pack=name)
                count += 1
            except SpecError as exc:
                skipped.append(str(exc))
                log.error("node pack %r: %s", name, exc)
        status = PackStatus(name=name, source=source, loaded=True, node_count=count,
                            load_seconds=time.perf_counter() - start, skipped_nodes=skipped)
        self.packs[name] = status
        return status

    def load_builtins(self) -> PackStatus:
        def load() -> Iterable[Any]:
            import nodes

            items: list[Any] = list(nodes.node_list())
            return items

        return self.load_pack(BUILTIN_PACK, "built-in", load)

    def load_entry_points(self) -> list[PackStatus]:
        """Packs installed as Python distributions: entry point → a callable returning a node list."""
        statuses = []
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            def load(ep: metadata.EntryPoint = ep) -> Iterable[Any]:
                target = ep.load()
                return list(target() if callable(target) else target)

            status = self.load_pack(ep.name, f"entry point {ep.value}", load)
            module = sys.modules.get(ep.module)
            if status.loaded and module is not None and getattr(module, "__file__", None):
                web = _web_directory(module, Path(module.__file__).parent)  # type: ignore[arg-type]
                status.web_directory = str(web) if web is not None else None
            statuses.append(status)
        return statuses

    def load_custom_nodes(self, directories: Iterable[Path], *, enabled: bool = True,
                          whitelist: Iterable[str] = (), folders: Folders | None = None) -> list[PackStatus]:
        """Packs in ``custom_nodes`` folders: each ``name.py`` or ``name/__init__.py`` is either a native pack
        (``NODES`` or ``node_list()``) or a ComfyUI V1 pack (``NODE_CLASS_MAPPINGS``). Entries ending in
        ``.disabled`` are skipped; with ``enabled=False`` only ``whitelist`` names load (ComfyUI's
        ``--disable-all-custom-nodes`` / ``--whitelist-custom-nodes``). ComfyUI's module names
        (``folder_paths``, ``comfy.*``, ``server`` …) are answered while the packs import, and kept only if a
        V1 pack loaded. Each pack's ``prestartup_script.py`` runs first, as in ComfyUI.
        """
        from . import compat

        allowed = set(whitelist)
        entries = [(entry, init) for directory in directories for entry, init in _pack_entries(directory)
                   if enabled or _pack_name(entry) in allowed]
        compat.activate(folders)
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
                statuses.append(self._load_pack_file(entry, init))
        finally:
            if not any(status.kind == "comfyui-v1" and status.loaded for status in statuses):
                compat.deactivate()
        return statuses

    def _load_pack_file(self, entry: Path, init: Path) -> PackStatus:
        from .comfy_v1 import specs_from_mappings

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

        status = self.load_pack(name, str(entry), load)
        status.kind = found["kind"]
        status.web_directory = str(found["web"]) if found["web"] is not None else None
        status.skipped_nodes = [*found["skipped"], *status.skipped_nodes]
        for reason in found["skipped"]:
            log.error("node pack %r: %s", name, reason)
        return status

    def load_folder(self, folder: Path) -> list[PackStatus]:
        """The packs in one ``custom_nodes`` folder (see :meth:`load_custom_nodes`)."""
        return self.load_custom_nodes([folder])

    def web_directories(self) -> dict[str, Path]:
        """Pack name → the folder its front-end extension files are served from (``/extensions/<pack>/``)."""
        return {name: Path(status.web_directory) for name, status in self.packs.items()
                if status.loaded and status.web_directory}

    @classmethod
    def default(cls, *, entry_points: bool = True, custom_nodes: Iterable[Path] | Path | None = None,
                enabled: bool = True, whitelist: Iterable[str] = (), folders: Folders | None = None
                ) -> NodeRegistry:
        """The built-in nodes plus installed node packs (and those in the ``custom_nodes`` folders)."""
        registry = cls()
        registry.load_builtins()
        if entry_points and enabled:
            registry.load_entry_points()
        if custom_nodes is not None:
            directories = [custom_nodes] if isinstance(custom_nodes, Path) else list(custom_nodes)
            registry.load_custom_nodes(directories, enabled=enabled, whitelist=whitelist, folders=folders)
        return registry


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
        import tomllib

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
    import importlib.util

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

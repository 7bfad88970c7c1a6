"""The module names ComfyUI packs import, as thin shims over Inkgraph's engine.

``folder_paths``, ``comfy`` (``comfy.utils``, ``comfy.model_management``, ``comfy.comfy_types``,
``comfy.cli_args``), ``server``, ``nodes`` (ComfyUI's ``MAX_RESOLUTION``, ``NODE_CLASS_MAPPINGS`` and each
built-in node as a V1 class), ``comfy_execution``, ``comfy_api`` (the V3 node API), ``node_helpers``,
``execution`` and ``comfy_extras`` exist only while a ComfyUI pack is being imported or after one has loaded:
:func:`activate` puts an import hook in front of ``sys.meta_path`` that answers those names with the modules
of this package, and :func:`deactivate` removes the hook and every shim from ``sys.modules`` when no
ComfyUI pack needed them. Every other module ComfyUI has (``comfy.ldm.*``, ``comfy.k_diffusion.*`` …) imports
as a stub whose names are stand-ins raising at call time (:mod:`.stubs`); ComfyUI's generic top-level names
(``app``, ``utils`` …) are answered last, so a real module of that name wins.

:func:`install_engine_alias` is the one permanent hook: native packs written before the installed package
was named ``inkgraph`` import ``engine``; it answers them with :mod:`inkgraph.engine`, never with a second
copy of its modules.

What is covered, and what is not, is listed in docs/plugins.md.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..core.registry import BUILTIN_PACK
from .stubs import stub_spec

if TYPE_CHECKING:
    from ..core.paths import Folders
    from ..core.registry import NodeRegistry

SHIMMED = ("folder_paths", "comfy", "server", "comfy_execution", "nodes", "comfy_api", "comfy_extras",
           "node_helpers", "execution", "latent_preview")
# ComfyUI's top-level names common enough that another module may own them: answered only if nothing else does.
FALLBACK = ("app", "utils", "api_server", "middleware", "protocol", "comfy_config", "comfyui_version")
ENGINE_PACKAGE = __name__.rpartition(".")[0]  # "inkgraph.engine"


class _State:
    """What the shims answer from: the folders of the runtime that loaded V1 packs, and its server."""

    folders: Folders | None = None
    registry: NodeRegistry | None = None  # its built-in nodes answer ``nodes.<NodeClass>``
    server: Any = None  # inkgraph.engine.server.app.PromptServer once one is serving


STATE = _State()


class _ShimLoader(importlib.abc.Loader):
    def __init__(self, real: str) -> None:
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.real)

    def exec_module(self, module: ModuleType) -> None:
        return None  # already executed under its real name


class _ShimFinder(importlib.abc.MetaPathFinder):
    """Answers top-level names with other modules: ``folder_paths`` → ``inkgraph.engine.compat.folder_paths``,
    ``comfy.utils`` → ``inkgraph.engine.compat.comfy.utils``, ``engine.core`` → ``inkgraph.engine.core`` …"""

    def __init__(self, targets: dict[str, str], stubs: bool = False) -> None:
        self.targets = targets  # top-level name → the real module it stands for
        self.stubs = stubs  # ComfyUI modules without a shim import as stubs

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        top, _, rest = fullname.partition(".")
        if top not in self.targets:
            return None
        real = f"{self.targets[top]}.{rest}" if rest else self.targets[top]
        if real == fullname:  # this package imported under the name it would answer (a checkout's engine/)
            return None
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return stub_spec(fullname) if self.stubs else None
        spec = importlib.machinery.ModuleSpec(fullname, _ShimLoader(real), is_package=found.submodule_search_locations
                                              is not None)
        if found.submodule_search_locations is not None:
            spec.submodule_search_locations = list(found.submodule_search_locations)
        return spec


_FINDER = _ShimFinder({name: f"{__name__}.{name}" for name in SHIMMED}, stubs=True)
_FALLBACK_FINDER = _ShimFinder({name: f"{__name__}.{name}" for name in FALLBACK}, stubs=True)
_ENGINE_ALIAS = _ShimFinder({"engine": ENGINE_PACKAGE})


def activate(folders: Folders | None = None, registry: NodeRegistry | None = None) -> None:
    """Answer the shimmed module names from now on (idempotent)."""
    if folders is not None:
        STATE.folders = folders
    if registry is not None and BUILTIN_PACK in registry.packs:
        # ``nodes.<NodeClass>`` answers with the built-in nodes: any registry holding them will do (a registry
        # made for packs alone must not replace it, or packs already loaded would lose ``nodes.X``)
        STATE.registry = registry
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    if _FALLBACK_FINDER not in sys.meta_path:
        sys.meta_path.append(_FALLBACK_FINDER)


def install_engine_alias() -> None:
    """``import engine`` (and ``engine.*``) answers with :mod:`inkgraph.engine` from now on (idempotent)."""
    if _ENGINE_ALIAS not in sys.meta_path:
        sys.meta_path.insert(0, _ENGINE_ALIAS)


def deactivate() -> None:
    """Stop answering the shimmed names and forget the shim modules imported under them."""
    for finder in (_FINDER, _FALLBACK_FINDER):
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if n.split(".")[0] in SHIMMED + FALLBACK]:
        module = sys.modules[name]
        if getattr(module, "__name__", "").startswith(__name__) or getattr(module, "__inkgraph_stub__", False):
            del sys.modules[name]


def active() -> bool:
    return _FINDER in sys.meta_path


def folders() -> Folders:
    """The folders of the running node's runtime, else of the runtime that loaded the packs."""
    from ..core.context import current_context
    from ..core.paths import Folders

    ctx = current_context()
    if ctx is not None:
        return ctx.folders
    if STATE.folders is None:
        STATE.folders = Folders.at(None)
    return STATE.folders

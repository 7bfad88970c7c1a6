"""The module names ComfyUI packs import, as thin shims over Inkgraph's engine.

``folder_paths``, ``comfy`` (``comfy.utils``, ``comfy.model_management``), ``server`` and
``comfy_execution`` (``graph_utils``, ``graph``, ``utils``) exist only while a ComfyUI V1 pack is being
imported or after one has loaded: :func:`activate` puts an import hook in front of ``sys.meta_path`` that
answers those names with the modules of this package, and :func:`deactivate` removes the hook and every
shim from ``sys.modules`` when no V1 pack needed them. ``nodes`` needs no shim: it is Inkgraph's own
built-in package, which also answers ComfyUI's ``nodes.MAX_RESOLUTION`` and ``nodes.<NodeClass>``.

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

if TYPE_CHECKING:
    from ..paths import Folders

SHIMMED = ("folder_paths", "comfy", "server", "comfy_execution")


class _State:
    """What the shims answer from: the folders of the runtime that loaded V1 packs, and its server."""

    folders: Folders | None = None
    server: Any = None  # engine.server.app.PromptServer once one is serving


STATE = _State()


class _ShimLoader(importlib.abc.Loader):
    def __init__(self, real: str) -> None:
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.real)

    def exec_module(self, module: ModuleType) -> None:
        return None  # already executed under its real name


class _ShimFinder(importlib.abc.MetaPathFinder):
    """Maps ``folder_paths`` → ``engine.compat.folder_paths``, ``comfy.utils`` → ``engine.compat.comfy.utils`` …"""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] not in SHIMMED:
            return None
        real = f"{__name__}.{fullname}"
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            return None
        if found is None:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, _ShimLoader(real), is_package=found.submodule_search_locations
                                              is not None)
        if found.submodule_search_locations is not None:
            spec.submodule_search_locations = list(found.submodule_search_locations)
        return spec


_FINDER = _ShimFinder()


def activate(folders: Folders | None = None) -> None:
    """Answer the shimmed module names from now on (idempotent)."""
    if folders is not None:
        STATE.folders = folders
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def deactivate() -> None:
    """Stop answering the shimmed names and forget the shim modules imported under them."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n.split(".")[0] in SHIMMED]:
        module = sys.modules[name]
        if getattr(module, "__name__", "").startswith(__name__):
            del sys.modules[name]


def active() -> bool:
    return _FINDER in sys.meta_path


def folders() -> Folders:
    """The folders of the running node's runtime, else of the runtime that loaded the packs."""
    from ..context import current_context
    from ..paths import Folders

    ctx = current_context()
    if ctx is not None:
        return ctx.folders
    if STATE.folders is None:
        STATE.folders = Folders.at(None)
    return STATE.folders

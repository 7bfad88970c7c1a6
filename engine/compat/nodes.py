"""ComfyUI's ``nodes`` module for ComfyUI packs: ``MAX_RESOLUTION``, ``NODE_CLASS_MAPPINGS``,
``NODE_DISPLAY_NAME_MAPPINGS``, ``EXTENSION_WEB_DIRS`` and each built-in node as a V1 class
(``nodes.VAEDecode().decode(vae, x)``, or a base class to subclass). The classes come from the built-in
nodes of the registry that is loading the packs, so they are exactly the nodes the engine runs; ComfyUI's
other nodes and helpers are stand-ins."""

from __future__ import annotations

from typing import Any

from ..core.api import MAX_RESOLUTION
from . import STATE
from .node_facades import builtin_classes
from .stubs import comfy_attribute

__all__ = ["MAX_RESOLUTION"]

# ComfyUI's registry of front-end folders; packs add theirs (name → folder) instead of WEB_DIRECTORY.
EXTENSION_WEB_DIRS: dict[str, str] = {}
# ComfyUI's pack module name → its folder, filled as packs load.
LOADED_MODULE_DIRS: dict[str, str] = {}


def _classes() -> dict[str, type]:
    if STATE.registry is None:
        raise ImportError("ComfyUI's 'nodes' module is answered only while Inkgraph loads node packs")
    return builtin_classes(STATE.registry)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    classes = _classes()
    if name == "NODE_CLASS_MAPPINGS":
        return dict(classes)
    if name == "NODE_DISPLAY_NAME_MAPPINGS":
        return {class_type: getattr(cls, "DISPLAY_NAME", class_type) for class_type, cls in classes.items()}
    if name in classes:
        return classes[name]
    return comfy_attribute("nodes", name)  # ComfyUI's other nodes and helpers: stand-ins

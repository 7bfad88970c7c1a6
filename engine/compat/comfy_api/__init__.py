"""ComfyUI's ``comfy_api`` package: the V3 node API (``comfy_api.latest``: ``io``, ``ui``, ``ComfyExtension``,
``ComfyAPI``), its versioned aliases (``v0_0_1``, ``v0_0_2``), ``internal`` and ``feature_flags``.

Written from ComfyUI's API (class names, arguments, and what they render into ``/object_info``) so that V3
packs load unchanged; :mod:`inkgraph.engine.compat.v3_adapter` turns their node classes into NodeSpecs.
"""

from typing import Any

from ..stubs import comfy_attribute


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_api", name)

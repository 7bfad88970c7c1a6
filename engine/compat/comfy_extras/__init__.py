"""ComfyUI's ``comfy_extras`` package for node packs: every ``comfy_extras.nodes_*`` module imports; its node
classes answer with Inkgraph's built-in nodes of those names (``comfy_extras.nodes_mask.InvertMask``), and
``nodes_custom_sampler`` adds ComfyUI's noise and guider helper classes."""

from typing import Any

from ..stubs import comfy_attribute


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_extras", name)

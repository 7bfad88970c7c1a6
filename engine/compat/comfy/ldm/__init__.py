"""ComfyUI's ``comfy.ldm`` package: only ``comfy.ldm.modules.attention``'s attention functions are Inkgraph's;
ComfyUI's network modules (``comfy.ldm.*``) import as stand-ins."""

from typing import Any

from ...stubs import comfy_attribute


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.ldm", name)

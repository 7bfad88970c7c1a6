"""ComfyUI's ``comfy.k_diffusion`` package: ``sampling`` is Inkgraph's samplers under k-diffusion's names."""

from typing import Any

from ...stubs import comfy_attribute


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.k_diffusion", name)

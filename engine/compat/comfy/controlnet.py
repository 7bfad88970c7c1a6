"""``comfy.controlnet`` for ComfyUI packs: ``load_controlnet`` over Inkgraph's ControlNet loader.

The file's kind is read from its tensors as ControlNetLoader reads it (SD1/SDXL original or diffusers layout,
union, T2I-Adapter, Flux, SD3.5, Qwen-Image); the value returned is the CONTROL_NET the built-in apply nodes
take (ComfyUI's ControlBase methods: ``copy``, ``set_cond_hint``, ``set_previous_controlnet``), loaded once per
file by the model manager. ``model`` makes a "diff" ControlNet whole, as DiffControlNetLoader does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..stubs import comfy_attribute

__all__ = ["load_controlnet"]


def load_controlnet(ckpt_path: str, model: Any = None, model_options: dict[str, Any] | None = None) -> Any:
    """The ControlNet (or T2I-Adapter) in a file, as ControlNetLoader loads it."""
    from inkgraph.nodes.diffusion.control import load
    from inkgraph.nodes.diffusion.control.base import ControlNet

    from ..values import to_inkgraph
    from ._sampling import context

    handle = to_inkgraph(model) if model is not None else None
    return ControlNet(load(context().models, Path(ckpt_path), handle))


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.controlnet", name)

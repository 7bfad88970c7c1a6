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


def common_ksampler(model: Any, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str, positive: Any,
                    negative: Any, latent: dict[str, Any], denoise: float = 1.0, disable_noise: bool = False,
                    start_step: int | None = None, last_step: int | None = None,
                    force_full_denoise: bool = False) -> tuple[dict[str, Any]]:
    """ComfyUI's KSampler body, which packs call directly: the built-in KSampler's sampling (same noise, sigmas,
    sampler and progress), returning ``(latent,)``."""
    from inkgraph.nodes.diffusion.ksampler import sample

    from .comfy._sampling import context
    from .values import to_inkgraph

    out = sample(context("KSampler"), to_inkgraph(model), seed, steps, cfg, sampler_name, scheduler,
                 to_inkgraph(positive), to_inkgraph(negative), latent, denoise, disable_noise, start_step, last_step,
                 force_full_denoise)
    return (out,)


def interrupt_processing(value: bool = True) -> None:
    from .comfy.model_management import interrupt_current_processing

    interrupt_current_processing(value)


def before_node_execution() -> None:
    from .comfy.model_management import throw_exception_if_processing_interrupted

    throw_exception_if_processing_interrupted()

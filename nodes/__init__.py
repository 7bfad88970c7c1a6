"""Inkgraph's built-in node pack.

This package answers ``import nodes`` the way ComfyUI's module does for custom node packs
(``MAX_RESOLUTION``), and exposes :func:`node_list` for the registry. Importing it is cheap: family
modules import torch only inside the nodes that compute.
"""

from __future__ import annotations

from typing import Any

MAX_RESOLUTION = 16384


def node_list() -> list[Any]:
    """Every built-in node, family by family."""
    from . import (
        checkpoint_save,
        conditioning,
        custom_sampling,
        image_filters,
        image_io,
        image_ops,
        latent,
        loaders,
        mask,
        model_advanced,
        primitives,
        sampling,
        sigmas,
        upscale,
        vae,
    )

    return [*loaders.NODES, *checkpoint_save.NODES, *conditioning.NODES, *sampling.NODES, *custom_sampling.NODES,
            *sigmas.NODES, *model_advanced.NODES, *latent.NODES, *vae.NODES, *image_io.NODES, *image_ops.NODES,
            *image_filters.NODES, *upscale.NODES, *mask.NODES, *primitives.NODES]


def __getattr__(name: str) -> Any:
    """ComfyUI's ``nodes`` module for custom node packs: ``NODE_CLASS_MAPPINGS`` and each built-in node as a
    V1 class (``nodes.VAEDecode().decode(vae, samples)``). Built only when a pack asks."""
    from pathlib import Path

    here = Path(__file__).parent
    if name.startswith("_") or (here / f"{name}.py").exists() or (here / name).is_dir():
        raise AttributeError(name)  # a submodule not imported yet (``from . import x`` asks first)
    from engine.compat.node_facades import builtin_classes

    classes = builtin_classes()
    if name == "NODE_CLASS_MAPPINGS":
        return dict(classes)
    if name == "NODE_DISPLAY_NAME_MAPPINGS":
        return {class_type: getattr(cls, "DISPLAY_NAME", class_type) for class_type, cls in classes.items()}
    if name in classes:
        return classes[name]
    raise AttributeError(f"module 'nodes' has no attribute {name!r}")

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
        bounding_boxes,
        checkpoint_save,
        conditioning,
        image_batch,
        image_filters,
        image_io,
        image_morphology,
        image_ops,
        image_resize,
        image_transform,
        latent,
        latent_ops,
        loaders,
        logic,
        mask,
        mask_ops,
        math_expression,
        primitives,
        sampling,
        save_nodes,
        strings,
        upscale,
        vae,
    )

    return [*loaders.NODES, *checkpoint_save.NODES, *conditioning.NODES, *sampling.NODES, *latent.NODES, *vae.NODES, *image_io.NODES,
            *image_ops.NODES, *image_filters.NODES, *upscale.NODES, *mask.NODES, *primitives.NODES,
            *latent_ops.NODES, *image_transform.NODES, *image_resize.NODES, *image_batch.NODES,
            *image_morphology.NODES, *mask_ops.NODES, *strings.NODES, *logic.NODES, *math_expression.NODES,
            *save_nodes.NODES, *bounding_boxes.NODES]


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

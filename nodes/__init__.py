"""Inkgraph's built-in node pack (:mod:`inkgraph.nodes`).

It exposes :func:`node_list` for the registry. Importing it is cheap: family modules import torch only
inside the nodes that compute. ComfyUI packs that ``import nodes`` are answered by the compatibility
layer (:mod:`inkgraph.engine.compat.nodes`), which wraps these same nodes as V1 classes.
"""

from __future__ import annotations

from typing import Any

from inkgraph.engine import MAX_RESOLUTION

__all__ = ["MAX_RESOLUTION", "node_list"]


def node_list() -> list[Any]:
    """Every built-in node, family by family."""
    from . import (
        checkpoint_save,
        conditioning,
        custom_sampling,
        edit_models,
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
            *image_filters.NODES, *upscale.NODES, *mask.NODES, *primitives.NODES, *edit_models.NODES]


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
        image_filters,
        image_io,
        image_ops,
        latent,
        loaders,
        mask,
        primitives,
        sampling,
        upscale,
        vae,
    )

    return [*loaders.NODES, *checkpoint_save.NODES, *conditioning.NODES, *sampling.NODES, *latent.NODES, *vae.NODES, *image_io.NODES,
            *image_ops.NODES, *image_filters.NODES, *upscale.NODES, *mask.NODES, *primitives.NODES]

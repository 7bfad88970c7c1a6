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
        animated,
        audio,
        audio_ops,
        bounding_boxes,
        checkpoint_save,
        clip_vision,
        conditioning,
        controlnet,
        custom_sampling,
        dataset,
        edit_models,
        flux2,
        gligen,
        guidance_extras,
        hidream,
        hooks,
        hunyuan_sr,
        image_batch,
        image_filters,
        image_io,
        image_morphology,
        image_ops,
        image_resize,
        image_transform,
        latent,
        latent_io,
        latent_ops,
        loaders,
        logic,
        ltxv,
        lumina2,
        mask,
        mask_ops,
        math_expression,
        model_advanced,
        model_merging,
        model_patches,
        primitives,
        qwen_image,
        sampling,
        save_nodes,
        sigmas,
        strings,
        training,
        upscale,
        vae,
        video,
        video_latents,
        wan,
    )

    families = (loaders, checkpoint_save, conditioning, hooks, gligen, sampling, custom_sampling, sigmas,
                model_advanced, model_patches, guidance_extras, latent, latent_io, latent_ops, vae, image_io,
                image_ops, image_filters, image_transform, image_resize, image_batch, image_morphology, upscale,
                mask, mask_ops, strings, logic, math_expression, save_nodes, bounding_boxes, primitives, animated,
                video, audio, audio_ops, edit_models, qwen_image, flux2, hidream, clip_vision, wan, video_latents,
                hunyuan_sr, lumina2, training, dataset, controlnet, model_merging, ltxv)
    return [node for family in families for node in family.NODES]

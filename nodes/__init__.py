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
        camera_angle,
        checkpoint_save,
        clip_vision,
        compositing,
        conditioning,
        controlnet,
        custom_sampling,
        dataset,
        dit_patches,
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
        image_output_load,
        image_resize,
        image_transform,
        inspect_nodes,
        latent,
        latent_io,
        latent_ops,
        loaders,
        logic,
        logic_gates,
        ltxv,
        lumina2,
        mask,
        mask_ops,
        math_expression,
        model_advanced,
        model_merging,
        model_patches,
        number_convert,
        painter,
        primitives,
        qwen_image,
        sampling,
        save_nodes,
        sigmas,
        strings,
        textgen,
        training,
        upscale,
        vae,
        video,
        video_latents,
        wan,
        wan_fun,
        wan_tracks,
    )

    families = (loaders, checkpoint_save, conditioning, hooks, gligen, sampling, custom_sampling, sigmas,
                model_advanced, model_patches, guidance_extras, dit_patches, latent, latent_io, latent_ops, vae,
                image_io, image_ops, image_filters, image_transform, image_resize, image_batch, image_morphology,
                upscale, mask, mask_ops, image_output_load, inspect_nodes, compositing, number_convert, painter,
                strings, logic, logic_gates, math_expression, save_nodes, bounding_boxes, camera_angle, primitives,
                animated, video, audio, audio_ops, edit_models, qwen_image, flux2, hidream, clip_vision, wan, wan_fun,
                wan_tracks, video_latents, hunyuan_sr, lumina2, textgen, training, dataset, controlnet, model_merging,
                ltxv)
    return [node for family in families for node in family.NODES]

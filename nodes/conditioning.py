"""Conditioning: combining, averaging, zeroing and placing text embeddings (ComfyUI's nodes).

CONDITIONING is a list of ``[embedding [1, tokens, dim], options dict]``. Options carry e.g.
``pooled_output`` (SDXL), ``area`` (h, w, y, x in latent units) and ``strength``; the sampler reads them.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from inkgraph.engine import Conditioning, Context, Float, Int, Output, Socket, String, node
from inkgraph.engine.core.paths import Folders

from . import MAX_RESOLUTION

log = logging.getLogger(__name__)
Area = Annotated[int, Int(min=64, max=MAX_RESOLUTION, step=8)]
Offset = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=8)]


def with_options(conditioning: Conditioning, **options: Any) -> Conditioning:
    """A copy of every entry with options set (embeddings are shared, never modified)."""
    return [[embedding, {**extra, **options}] for embedding, extra in conditioning]


def _embedding_files(folders: Folders, text: str | None = None) -> Any:
    """The embedding files the prompt names, with their mtimes: a new or replaced one re-encodes it."""
    from .diffusion.embeddings import referenced_files

    return referenced_files(folders, text) if isinstance(text, str) else None


@node(display_name="CLIP Text Encode (Prompt)", category="conditioning",
      description="Encodes a text prompt using a CLIP model into an embedding that can be used to guide the "
                  "diffusion model towards generating specific images.",
      fingerprint=_embedding_files)
def CLIPTextEncode(
    ctx: Context,
    *,
    text: Annotated[str, String(multiline=True, dynamic_prompts=True, tooltip="The text to be encoded.")],
    clip: Annotated[Any, Socket(type="CLIP", tooltip="The CLIP model used for encoding the text.")],
) -> Annotated[list[Any], Socket(type="CONDITIONING"), Output(
        tooltip="A conditioning containing the embedded text used to guide the diffusion model.")]:
    import torch

    from .diffusion.text import encode_prompt

    if clip is None:
        raise RuntimeError("clip input is invalid: None (the checkpoint loader found no text encoder)")
    warnings: list[str] = []
    with clip.use() as encoders, torch.inference_mode():
        conditioning = encode_prompt(encoders, clip.family.kind, clip.layer, text, ctx.folders, warnings)
    for warning in dict.fromkeys(warnings):  # SDXL's two encoders may both report the same name
        log.warning("CLIPTextEncode %s: %s", ctx.node_id, warning)
        ctx.text(warning)
    return conditioning



@node(display_name="Conditioning (Combine)", category="conditioning")
def ConditioningCombine(conditioning_1: Conditioning, conditioning_2: Conditioning) -> Conditioning:
    """Both conditionings guide the sampler; their predictions are averaged."""
    return list(conditioning_1) + list(conditioning_2)


@node(display_name="Conditioning (Average)", category="conditioning")
def ConditioningAverage(conditioning_to: Conditioning, conditioning_from: Conditioning,
                        conditioning_to_strength: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0,
                        ) -> Conditioning:
    """Blends the embeddings: strength 1 is all ``conditioning_to``, 0 all ``conditioning_from``."""
    import torch

    if len(conditioning_from) > 1:
        log.warning("ConditioningAverage: conditioning_from has %d entries; only the first is used",
                    len(conditioning_from))
    source = conditioning_from[0][0]
    pooled_from = conditioning_from[0][1].get("pooled_output")
    out = []
    for embedding, extra in conditioning_to:
        blend = source[:, :embedding.shape[1]]
        if blend.shape[1] < embedding.shape[1]:
            padding = torch.zeros((1, embedding.shape[1] - blend.shape[1], embedding.shape[2]), dtype=blend.dtype)
            blend = torch.cat([blend, padding], dim=1)
        mixed = embedding * conditioning_to_strength + blend * (1.0 - conditioning_to_strength)
        options = dict(extra)
        pooled_to = extra.get("pooled_output", pooled_from)
        if pooled_from is not None and pooled_to is not None:
            options["pooled_output"] = pooled_to * conditioning_to_strength + pooled_from * (
                1.0 - conditioning_to_strength)
        elif pooled_from is not None:
            options["pooled_output"] = pooled_from
        out.append([mixed, options])
    return out


@node(display_name="Conditioning (Concat)", category="conditioning")
def ConditioningConcat(conditioning_to: Conditioning, conditioning_from: Conditioning) -> Conditioning:
    """Appends the first ``conditioning_from`` embedding's tokens to each ``conditioning_to`` entry."""
    import torch

    if len(conditioning_from) > 1:
        log.warning("ConditioningConcat: conditioning_from has %d entries; only the first is used",
                    len(conditioning_from))
    tokens = conditioning_from[0][0]
    return [[torch.cat((embedding, tokens), 1), dict(extra)] for embedding, extra in conditioning_to]


@node(display_name="Conditioning (Set Area)", category="conditioning")
def ConditioningSetArea(conditioning: Conditioning, width: Area = 64, height: Area = 64, x: Offset = 0,
                        y: Offset = 0, strength: Annotated[float, Float(min=0.0, max=10.0, step=0.01)] = 1.0,
                        ) -> Conditioning:
    """Applies the conditioning to a rectangle only (in pixels), with a strength."""
    return with_options(conditioning, area=(height // 8, width // 8, y // 8, x // 8), strength=strength,
                        set_area_to_bounds=False)


@node(display_name="ConditioningZeroOut", category="advanced/conditioning")
def ConditioningZeroOut(conditioning: Conditioning) -> Conditioning:
    """All-zero embeddings (and pooled outputs): a neutral negative for some models."""
    import torch

    out = []
    for embedding, extra in conditioning:
        options = dict(extra)
        if options.get("pooled_output") is not None:
            options["pooled_output"] = torch.zeros_like(options["pooled_output"])
        out.append([torch.zeros_like(embedding), options])
    return out


NODES = [CLIPTextEncode, ConditioningCombine, ConditioningAverage, ConditioningConcat, ConditioningSetArea, ConditioningZeroOut]

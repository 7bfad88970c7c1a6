"""Conditioning: combining, averaging, zeroing and placing text embeddings (ComfyUI's nodes).

CONDITIONING is a list of ``[embedding [1, tokens, dim], options dict]``. Options carry e.g.
``pooled_output`` (SDXL), ``area`` (h, w, y, x in latent units) and ``strength``; the sampler reads them.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from inkgraph.engine import Clip, Conditioning, Context, Float, Int, Mask, Output, Socket, String, node
from inkgraph.engine.core.paths import Folders

from . import MAX_RESOLUTION

log = logging.getLogger(__name__)
Area = Annotated[int, Int(min=64, max=MAX_RESOLUTION, step=8)]
Offset = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=8)]
Fraction = Annotated[float, Float(min=0, max=1.0, step=0.01)]
Strength = Annotated[float, Float(min=0.0, max=10.0, step=0.01)]
Size = Annotated[int, Int(min=0, max=MAX_RESOLUTION)]
PromptText = Annotated[str, String(multiline=True, dynamic_prompts=True)]


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
    if clip is None:
        raise RuntimeError("clip input is invalid: None (the checkpoint loader found no text encoder)")
    return encode_with(ctx, "CLIPTextEncode", clip, text=text)


def encode_with(ctx: Context, node_name: str, clip: Any, text: str | None = None,
                texts: dict[str, str] | None = None, **options: Any) -> Conditioning:
    """CONDITIONING from a CLIP handle's recipe (its CLIPLoader type): one text for every encoder, or a
    text per encoder slot; ``options`` reach the recipe (CLIPTextEncodeSD3's empty_padding …). Unknown
    ``embedding:`` names and the like are reported on the node."""
    import torch

    from .diffusion.encoders import EncodeRequest, recipe

    chosen = recipe(clip.recipe)
    request = EncodeRequest(ctx.folders, [], {**dict(getattr(clip, "tokenizer_options", ())), **options})

    def encode(encoders: dict[str, Any]) -> Conditioning:
        if texts is None:
            return chosen.encode(encoders, text or "", clip.layer, request)
        return chosen.encode_texts(encoders, texts, clip.layer, request)

    hooks = getattr(clip, "hooks", None)
    with torch.inference_mode():
        if hooks is not None:  # SetClipHooks: the hooks' CLIP weights, maybe one encoding per keyframe range
            from .diffusion.hooks.clip import encode_hooked

            conditioning = encode_hooked(clip, hooks, encode)
        else:
            with clip.by_slot() as encoders:
                conditioning = encode(encoders)
    for warning in dict.fromkeys(request.warnings):  # SDXL's two encoders may both report the same name
        log.warning("%s %s: %s", node_name, ctx.node_id, warning)
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


@node(display_name="Conditioning (Set Area with Percentage)", category="conditioning")
def ConditioningSetAreaPercentage(conditioning: Conditioning, width: Fraction = 1.0, height: Fraction = 1.0,
                                  x: Fraction = 0, y: Fraction = 0, strength: Strength = 1.0) -> Conditioning:
    """Applies the conditioning to a rectangle given as fractions of the image, with a strength."""
    return with_options(conditioning, area=("percentage", height, width, y, x), strength=strength,
                        set_area_to_bounds=False)


@node(category="conditioning")
def ConditioningSetAreaStrength(conditioning: Conditioning, strength: Strength = 1.0) -> Conditioning:
    """Sets how much the conditioning weighs where it overlaps others."""
    return with_options(conditioning, strength=strength)


@node(display_name="Conditioning (Set Mask)", category="conditioning")
def ConditioningSetMask(conditioning: Conditioning, mask: Mask, strength: Strength = 1.0, *,
                        set_cond_area: Literal["default", "mask bounds"]) -> Conditioning:
    """Applies the conditioning where the mask is set, weighted by it; "mask bounds" also runs the model
    on the mask's bounding box only."""
    if len(mask.shape) < 3:
        mask = mask.unsqueeze(0)
    return with_options(conditioning, mask=mask, set_area_to_bounds=set_cond_area != "default",
                        mask_strength=strength)


@node(category="advanced/conditioning")
def ConditioningSetTimestepRange(conditioning: Conditioning,
                                 start: Annotated[float, Float(min=0.0, max=1.0, step=0.001)] = 0.0,
                                 end: Annotated[float, Float(min=0.0, max=1.0, step=0.001)] = 1.0) -> Conditioning:
    """Applies the conditioning only between two fractions of the sampling (0 = first step, 1 = last)."""
    return with_options(conditioning, start_percent=start, end_percent=end)


@node(category="advanced/conditioning/flux")
def FluxGuidance(conditioning: Conditioning,
                 guidance: Annotated[float, Float(min=0.0, max=100.0, step=0.1)] = 3.5) -> Conditioning:
    """The guidance strength a guidance-distilled model (Flux dev) is told to imitate."""
    return with_options(conditioning, guidance=guidance)


@node(category="advanced/conditioning/flux",
      description="This node completely disables the guidance embed on Flux and Flux like models")
def FluxDisableGuidance(conditioning: Conditioning) -> Conditioning:
    """Entries without a guidance value: a guidance-distilled model adds no guidance embedding for them."""
    return with_options(conditioning, guidance=None)


def _encode_sdxl(ctx: Context, node_name: str, clip: Any, texts: list[str], pad: bool) -> Conditioning:
    if clip is None:
        raise RuntimeError(f"{node_name}: clip input is invalid: None (the checkpoint loader found no text encoder)")
    slots = clip.slot_names()
    if clip.recipe not in ("stable_diffusion", "sdxl") or len(slots) != len(texts):
        raise ValueError(f"{node_name}: input 'clip' has {len(slots)} text encoder(s) ({', '.join(slots)}, type "
                         f"{clip.recipe}); this node needs {len(texts)} (an SDXL CLIP)")
    return encode_with(ctx, node_name, clip, texts=dict(zip(slots, texts, strict=True)), pad_chunks=pad)


def _sdxl_embedding_files(folders: Folders, text_g: str | None = None, text_l: str | None = None) -> Any:
    return _embedding_files(folders, text_g), _embedding_files(folders, text_l)


@node(category="advanced/conditioning", fingerprint=_sdxl_embedding_files)
def CLIPTextEncodeSDXL(ctx: Context, clip: Clip, width: Size = 1024, height: Size = 1024, crop_w: Size = 0,
                       crop_h: Size = 0, target_width: Size = 1024, target_height: Size = 1024, *,
                       text_g: PromptText, text_l: PromptText) -> Conditioning:
    """SDXL's two prompts (text_g for CLIP-G, text_l for CLIP-L) and its size conditioning: the original
    size, the crop's top-left corner and the target size the model is told about."""
    conditioning = _encode_sdxl(ctx, "CLIPTextEncodeSDXL", clip, [text_l, text_g], pad=True)
    return with_options(conditioning, width=width, height=height, crop_w=crop_w, crop_h=crop_h,
                        target_width=target_width, target_height=target_height)


@node(category="advanced/conditioning", fingerprint=_embedding_files)
def CLIPTextEncodeSDXLRefiner(ctx: Context, ascore: Annotated[float, Float(min=0.0, max=1000.0, step=0.01)] = 6.0,
                              width: Size = 1024, height: Size = 1024, *, text: PromptText, clip: Clip
                              ) -> Conditioning:
    """The SDXL refiner's prompt with its aesthetic score and size conditioning."""
    if clip is None:
        raise RuntimeError("CLIPTextEncodeSDXLRefiner: clip input is invalid: None")
    conditioning = _encode_sdxl(ctx, "CLIPTextEncodeSDXLRefiner", clip, [text] * len(clip.slot_names()), pad=False)
    return with_options(conditioning, aesthetic_score=ascore, width=width, height=height)


def _flux_embedding_files(folders: Folders, clip_l: str | None = None, t5xxl: str | None = None) -> Any:
    return _embedding_files(folders, clip_l), _embedding_files(folders, t5xxl)


@node(category="advanced/conditioning/flux", fingerprint=_flux_embedding_files)
def CLIPTextEncodeFlux(ctx: Context, clip: Clip, *, clip_l: PromptText, t5xxl: PromptText,
                       guidance: Annotated[float, Float(min=0.0, max=100.0, step=0.1)] = 3.5) -> Conditioning:
    """Flux's two prompts (clip_l for CLIP-L's pooled output, t5xxl for T5's states) and the guidance a
    guidance-distilled model is told to imitate."""
    if clip is None:
        raise RuntimeError("CLIPTextEncodeFlux: clip input is invalid: None")
    conditioning = encode_with(ctx, "CLIPTextEncodeFlux", clip, texts={"clip_l": clip_l, "t5xxl": t5xxl})
    return with_options(conditioning, guidance=guidance)


def _sd3_embedding_files(folders: Folders, clip_l: str | None = None, clip_g: str | None = None,
                         t5xxl: str | None = None) -> Any:
    return tuple(_embedding_files(folders, text) for text in (clip_l, clip_g, t5xxl))


@node(category="advanced/conditioning", fingerprint=_sd3_embedding_files)
def CLIPTextEncodeSD3(ctx: Context, clip: Clip, *, clip_l: PromptText, clip_g: PromptText, t5xxl: PromptText,
                      empty_padding: Literal["none", "empty_prompt"]) -> Conditioning:
    """SD3's three prompts, one per encoder; with empty_padding "none" an empty prompt adds no tokens."""
    if clip is None:
        raise RuntimeError("CLIPTextEncodeSD3: clip input is invalid: None")
    return encode_with(ctx, "CLIPTextEncodeSD3", clip, texts={"clip_l": clip_l, "clip_g": clip_g, "t5xxl": t5xxl},
                       empty_padding=empty_padding)


@node(category="_for_testing/conditioning")
def T5TokenizerOptions(clip: Clip, min_padding: Annotated[int, Int(min=0, max=10000, step=1)] = 0,
                       min_length: Annotated[int, Int(min=0, max=10000, step=1)] = 0) -> Clip:
    """Padding of T5 prompts: min_padding pad tokens always follow the prompt; min_length pads it to at least
    that many tokens (replacing the model's own minimum, e.g. Flux's 256)."""
    options = {}
    for t5_type in ("t5xxl", "pile_t5xl", "t5base", "mt5xl", "umt5xxl"):
        options[f"{t5_type}_min_padding"] = min_padding
        options[f"{t5_type}_min_length"] = min_length
    return clip.with_tokenizer_options(**options)


NODES = [CLIPTextEncode, ConditioningCombine, ConditioningAverage, ConditioningConcat, ConditioningSetArea,
         ConditioningSetAreaPercentage, ConditioningSetAreaStrength, ConditioningSetMask, ConditioningSetTimestepRange,
         ConditioningZeroOut, FluxGuidance, FluxDisableGuidance, CLIPTextEncodeSDXL, CLIPTextEncodeSDXLRefiner,
         CLIPTextEncodeFlux, CLIPTextEncodeSD3, T5TokenizerOptions]

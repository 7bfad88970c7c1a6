"""Model patches that change sampling, with ComfyUI's names, inputs and behaviour: FreeU, FreeU_V2,
PerturbedAttentionGuidance, SelfAttentionGuidance, RescaleCFG, CFGZeroStar, APG, TomePatchModel, HyperTile,
PatchModelAddDownscale (Kohya deep shrink), EasyCache and LazyCache.

Each node returns the same weights with one more entry in the MODEL's ``model_options`` (see
``nodes.diffusion.patches``); the MODEL it was given is unchanged, and patches stack in the order the nodes
are chained. The patch code itself lives in ``nodes.diffusion.patches``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Float, Int, Model, Output, Socket, node

UNET = "model_patches/unet"
Scale = Annotated[float, Float(min=0.0, max=10.0, step=0.01)]
ResizeMethod = Literal["bicubic", "nearest-exact", "bilinear", "area", "bislerp"]


def _patched(model: Any, node_name: str, edit: Any) -> Any:
    """``model`` with its model options changed by ``edit(options)``."""
    from .diffusion.patches.options import model_options_of

    try:
        return replace(model, model_options=edit(model_options_of(model)))
    except TypeError as exc:  # a MODEL value that is not a handle Inkgraph made
        raise ValueError(f"{node_name}: cannot patch a MODEL of type {type(model).__name__}") from exc


def _model_channels(model: Any, node_name: str) -> int:
    """The UNet's base width (ComfyUI's unet_config["model_channels"])."""
    family = getattr(model, "family", None)
    detected = getattr(family, "detected", None)
    config = detected.config if detected is not None else (getattr(family, "configs", None) or {}).get("unet")
    channels = (config or {}).get("block_out_channels")
    if not channels:
        raise ValueError(f"{node_name} patches a UNet's decoder blocks; the '{getattr(family, 'kind', '?')}' model "
                         "has no UNet")
    return int(channels[0])


def _free_u(model: Any, node_name: str, b1: float, b2: float, s1: float, s2: float, v2: bool) -> Any:
    from .diffusion.patches.unet_patches import FreeUPatch

    patch = FreeUPatch(node_name, _model_channels(model, node_name), b1, b2, s1, s2, v2)
    return _patched(model, node_name, lambda o: o.with_patch("output_block_patch", patch))


@node(category=UNET)
def FreeU(model: Model, b1: Scale = 1.1, b2: Scale = 1.2, s1: Scale = 0.9, s2: Scale = 0.2) -> Model:
    """FreeU: the decoder's backbone features scaled up (b1, b2) and its skip connections' low frequencies
    scaled down (s1, s2) at the two deepest levels; no training."""
    return _free_u(model, "FreeU", b1, b2, s1, s2, v2=False)


@node(category=UNET)
def FreeU_V2(model: Model, b1: Scale = 1.3, b2: Scale = 1.4, s1: Scale = 0.9, s2: Scale = 0.2) -> Model:
    """FreeU v2: as FreeU, the backbone scaling weighted by each position's normalised mean activation."""
    return _free_u(model, "FreeU_V2", b1, b2, s1, s2, v2=True)


@node(category=UNET)
def PerturbedAttentionGuidance(
    model: Model, scale: Annotated[float, Float(min=0.0, max=100.0, step=0.01, round=0.01)] = 3.0,
) -> Model:
    """Perturbed-Attention Guidance: guides away from the prediction made with the middle block's
    self-attention replaced by identity (one more network pass per step)."""
    from .diffusion.patches.guidance_patches import PerturbedAttentionGuidance as Pag

    return _patched(model, "PerturbedAttentionGuidance",
                    lambda o: o.with_post_cfg_function(Pag(scale), disable_cfg1_optimization=True))


@node(category="_for_testing", display_name="Self-Attention Guidance", experimental=True)
def SelfAttentionGuidance(
    model: Model,
    scale: Annotated[float, Float(min=-2.0, max=5.0, step=0.01)] = 0.5,
    blur_sigma: Annotated[float, Float(min=0.0, max=10.0, step=0.1)] = 2.0,
) -> Model:
    """Self-Attention Guidance: guides away from the negative prediction re-made on a copy blurred where
    the middle block's self-attention concentrates (one more network pass per step)."""
    from .diffusion.patches.guidance_patches import SelfAttentionGuidance as Sag

    sag = Sag(scale, blur_sigma)
    return _patched(model, "SelfAttentionGuidance",
                    lambda o: o.with_post_cfg_function(sag, disable_cfg1_optimization=True)
                    .with_patch_replace("attn1", "middle", 0, sag.attn1_replace, transformer_index=0))


@node(category="advanced/model")
def RescaleCFG(model: Model, multiplier: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 0.7) -> Model:
    """RescaleCFG: the CFG result rescaled towards the positive prediction's standard deviation (for
    v-prediction and zero-terminal-SNR models at high cfg)."""
    from .diffusion.patches.guidance_patches import RescaleCFG as Rescale

    return _patched(model, "RescaleCFG", lambda o: o.with_cfg_function(Rescale(multiplier)))


@node(category="advanced/guidance")
def CFGZeroStar(model: Model) -> Annotated[Any, Socket(type="MODEL"), Output("patched_model")]:
    """CFG-Zero*: the negative prediction scaled by its optimal projection onto the positive one."""
    from .diffusion.patches.guidance_patches import CFGZeroStar as ZeroStar

    return _patched(model, "CFGZeroStar", lambda o: o.with_post_cfg_function(ZeroStar()))


@node(category="advanced/guidance")
def CFGNorm(
    model: Model,
    strength: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 1.0,
    pre_cfg: Annotated[bool, Boolean(optional=True, tooltip=(
        "If true, rescale the combined noise BEFORE the sampler's CFG combine, without clamping (can amplify). "
        "Matches the norm-scaled CFG used by models like Lens. Default false keeps the original post-CFG x0-space "
        "attenuate-only behavior."))] = False,
) -> Annotated[Any, Socket(type="MODEL"), Output("patched_model")]:
    """Keeps the guided prediction's norm at the positive prediction's (Qwen-Image Edit, HiDream E1): scaled
    down after CFG, or with ``pre_cfg`` the combined noise rescaled before it."""
    from .diffusion.patches.guidance_patches import CFGNorm as Norm
    from .diffusion.patches.guidance_patches import CFGNormPre

    if pre_cfg:
        return _patched(model, "CFGNorm", lambda o: o.with_cfg_function(CFGNormPre(strength)))
    return _patched(model, "CFGNorm", lambda o: o.with_post_cfg_function(Norm(strength)))


@node(category="sampling/custom_sampling", display_name="Adaptive Projected Guidance")
def APG(
    model: Model,
    eta: Annotated[float, Float(min=-10.0, max=10.0, step=0.01, tooltip=(
        "Controls the scale of the parallel guidance vector. Default CFG behavior at a setting of 1."))] = 1.0,
    norm_threshold: Annotated[float, Float(min=0.0, max=50.0, step=0.1, tooltip=(
        "Normalize guidance vector to this value, normalization disable at a setting of 0."))] = 5.0,
    momentum: Annotated[float, Float(min=-5.0, max=1.0, step=0.01, tooltip=(
        "Controls a running average of guidance during diffusion, disabled at a setting of 0."))] = 0.0,
) -> Model:
    """Adaptive Projected Guidance: the guidance's component parallel to the positive prediction scaled by
    eta, its norm capped, optionally averaged over steps (reduces CFG's oversaturation)."""
    from .diffusion.patches.guidance_patches import APG as Apg

    return _patched(model, "APG", lambda o: o.with_pre_cfg_function(Apg(eta, norm_threshold, momentum)))


def _run_seeded(model: Any, node_name: str, patch: Any, key: str) -> Any:
    from .diffusion.patches.options import WrappersMP

    return _patched(model, node_name, lambda o: o.with_patch("attn1_patch", patch.attn1_patch)
                    .with_patch("attn1_output_patch", patch.attn1_output_patch)
                    .with_wrapper(WrappersMP.OUTER_SAMPLE, key, patch.outer_sample))


@node(category=UNET)
def TomePatchModel(model: Model, ratio: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 0.3) -> Model:
    """Token merging (ToMe): merges this share of similar tokens before each full-resolution
    self-attention and spreads the result back after (faster, slightly softer)."""
    from .diffusion.patches.unet_patches import TomePatch

    return _run_seeded(model, "TomePatchModel", TomePatch(ratio), "tomesd")


@node(category=UNET)
def HyperTile(
    model: Model,
    tile_size: Annotated[int, Int(min=1, max=2048)] = 256,
    swap_size: Annotated[int, Int(min=1, max=128)] = 2,
    max_depth: Annotated[int, Int(min=0, max=10)] = 0,
    scale_depth: Annotated[bool, Boolean()] = False,
) -> Model:
    """HyperTile: self-attention in tiles of about tile_size pixels at the top max_depth + 1 levels
    (faster at large sizes)."""
    from .diffusion.patches.unet_patches import HyperTilePatch

    return _run_seeded(model, "HyperTile", HyperTilePatch(tile_size, swap_size, max_depth, scale_depth), "hypertile")


@node(category=UNET, display_name="PatchModelAddDownscale (Kohya Deep Shrink)")
def PatchModelAddDownscale(
    model: Model,
    block_number: Annotated[int, Int(min=1, max=32, step=1)] = 3,
    downscale_factor: Annotated[float, Float(min=0.1, max=9.0, step=0.001)] = 2.0,
    start_percent: Annotated[float, Float(min=0.0, max=1.0, step=0.001)] = 0.0,
    end_percent: Annotated[float, Float(min=0.0, max=1.0, step=0.001)] = 0.35,
    downscale_after_skip: Annotated[bool, Boolean()] = True,
    *,
    downscale_method: ResizeMethod,
    upscale_method: ResizeMethod,
) -> Model:
    """Kohya's deep shrink: the output of one input block is downscaled during the early steps (start to end
    percent), so a model composes large images at the size it was trained for."""
    from .diffusion.model_api import model_sampling_of
    from .diffusion.patches.unet_patches import DeepShrink

    sampling = model_sampling_of(model)
    patch = DeepShrink(block_number, downscale_factor, float(sampling.percent_to_sigma(start_percent)),
                       float(sampling.percent_to_sigma(end_percent)), downscale_method, upscale_method)
    where = "input_block_patch_after_skip" if downscale_after_skip else "input_block_patch"
    return _patched(model, "PatchModelAddDownscale", lambda o: o.with_patch(where, patch.input_block_patch)
                    .with_patch("output_block_patch", patch.output_block_patch))


def _step_cache(model: Any, name: str, reuse_threshold: float, start_percent: float, end_percent: float,
                verbose: bool) -> Any:
    from .diffusion.patches import step_cache
    from .diffusion.patches.options import WrappersMP

    settings = step_cache.StepCacheSettings(name, reuse_threshold, start_percent, end_percent, verbose, name)
    key = name.lower()

    def edit(options: Any) -> Any:
        options = (options.with_transformer_option(step_cache.KEY, settings)
                   .with_wrapper(WrappersMP.OUTER_SAMPLE, key, step_cache.outer_sample))
        if name == "EasyCache":
            return (options.with_wrapper(WrappersMP.CALC_COND_BATCH, key, step_cache.calc_cond_batch)
                    .with_wrapper(WrappersMP.DIFFUSION_MODEL, key, step_cache.diffusion_model))
        return options.with_wrapper(WrappersMP.PREDICT_NOISE, key, step_cache.predict_noise)

    return _patched(model, name, edit)


def _cache_inputs(name: str) -> dict[str, Any]:
    return {
        "threshold": Float(min=0.0, max=3.0, step=0.01, tooltip="The threshold for reusing cached steps."),
        "start": Float(min=0.0, max=1.0, step=0.01, tooltip=f"The relative sampling step to begin use of {name}."),
        "end": Float(min=0.0, max=1.0, step=0.01, tooltip=f"The relative sampling step to end use of {name}."),
    }


_EASY, _LAZY = _cache_inputs("EasyCache"), _cache_inputs("LazyCache")
Verbose = Annotated[bool, Boolean(tooltip="Whether to log verbose information.")]


@node(class_type="EasyCache", category="advanced/debug/model", display_name="EasyCache", experimental=True,
      description="Native EasyCache implementation.")
def EasyCacheNode(
    model: Annotated[Any, Socket(type="MODEL", tooltip="The model to add EasyCache to.")],
    reuse_threshold: Annotated[float, _EASY["threshold"]] = 0.2,
    start_percent: Annotated[float, _EASY["start"]] = 0.15,
    end_percent: Annotated[float, _EASY["end"]] = 0.95,
    verbose: Verbose = False,
) -> Annotated[Any, Socket(type="MODEL"), Output(tooltip="The model with EasyCache.")]:
    return _step_cache(model, "EasyCache", reuse_threshold, start_percent, end_percent, verbose)


@node(class_type="LazyCache", category="advanced/debug/model", display_name="LazyCache", experimental=True,
      description="A homebrew version of EasyCache - even 'easier' version of EasyCache to implement. Overall "
                  "works worse than EasyCache, but better in some rare cases AND universal compatibility with "
                  "everything in ComfyUI.")
def LazyCacheNode(
    model: Annotated[Any, Socket(type="MODEL", tooltip="The model to add LazyCache to.")],
    reuse_threshold: Annotated[float, _LAZY["threshold"]] = 0.2,
    start_percent: Annotated[float, _LAZY["start"]] = 0.15,
    end_percent: Annotated[float, _LAZY["end"]] = 0.95,
    verbose: Verbose = False,
) -> Annotated[Any, Socket(type="MODEL"), Output(tooltip="The model with LazyCache.")]:
    return _step_cache(model, "LazyCache", reuse_threshold, start_percent, end_percent, verbose)


NODES = [FreeU, FreeU_V2, PerturbedAttentionGuidance, SelfAttentionGuidance, RescaleCFG, CFGZeroStar, CFGNorm, APG,
         TomePatchModel, HyperTile, PatchModelAddDownscale, EasyCacheNode, LazyCacheNode]

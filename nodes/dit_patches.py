"""Model patches for transformer (DiT) models and attention, with ComfyUI's names and inputs:
SkipLayerGuidanceDiT and SkipLayerGuidanceDiTSimple (``comfy_extras/nodes_slg.py``), SkipLayerGuidanceSD3
(``nodes_sd3.py``), UNetTemporalAttentionMultiply, UNetSelfAttentionMultiply and UNetCrossAttentionMultiply
(``nodes_attention_multiply.py``), ModelAttentionBackend (``nodes_model_advanced.py``) and ScaleROPE
(``nodes_rope.py``).

Each returns the same weights with one more entry in the MODEL's ``model_options``; the patch code lives in
``nodes.diffusion.patches`` (``slg``, ``dit_blocks``; the attention scaling below).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from inkgraph.engine import Combo, Float, Model, Output, Socket, String, node

from .model_patches import _patched

log = logging.getLogger(__name__)
ADVANCED = {"advanced": True}
Layers = Annotated[str, String(multiline=False, extra=ADVANCED)]
Percent = Annotated[float, Float(min=0.0, max=1.0, step=0.001, extra=ADVANCED)]


def _sigma_range(model: Any, start_percent: float, end_percent: float) -> tuple[float, float]:
    from .diffusion.model_api import model_sampling_of

    sampling = model_sampling_of(model)
    return float(sampling.percent_to_sigma(start_percent)), float(sampling.percent_to_sigma(end_percent))


@node(category="advanced/guidance", experimental=True,
      description="Generic version of SkipLayerGuidance node that can be used on every DiT model.")
def SkipLayerGuidanceDiT(
    model: Model,
    double_layers: Layers = "7, 8, 9",
    single_layers: Layers = "7, 8, 9",
    scale: Annotated[float, Float(min=0.0, max=10.0, step=0.1)] = 3.0,
    start_percent: Percent = 0.01,
    end_percent: Percent = 0.15,
    rescaling_scale: Annotated[float, Float(min=0.0, max=10.0, step=0.01)] = 0.0,
) -> Model:
    """Skip Layer Guidance: within the σ range, the positive is predicted again with the named blocks
    skipped and the result moves away from that by ``scale`` (one more network pass per step)."""
    from .diffusion.patches.slg import SkipLayerGuidance, layer_numbers

    double, single = layer_numbers(double_layers), layer_numbers(single_layers)
    if not double and not single:
        return model
    sigma_start, sigma_end = _sigma_range(model, start_percent, end_percent)
    hook = SkipLayerGuidance(double, single, scale, sigma_start, sigma_end, rescaling_scale)
    return _patched(model, "SkipLayerGuidanceDiT", lambda o: o.with_post_cfg_function(hook))


@node(category="advanced/guidance", experimental=True,
      description="Simple version of the SkipLayerGuidanceDiT node that only modifies the uncond pass.")
def SkipLayerGuidanceDiTSimple(
    model: Model,
    double_layers: Layers = "7, 8, 9",
    single_layers: Layers = "7, 8, 9",
    start_percent: Percent = 0.0,
    end_percent: Percent = 1.0,
) -> Model:
    """The negative is predicted with the named blocks skipped within the σ range (no extra pass)."""
    from .diffusion.patches.options import CALC_COND_BATCH_FUNCTION
    from .diffusion.patches.slg import SkipLayerUncond, layer_numbers

    double, single = layer_numbers(double_layers), layer_numbers(single_layers)
    if not double and not single:
        return model
    sigma_start, sigma_end = _sigma_range(model, start_percent, end_percent)
    hook = SkipLayerUncond(double, single, sigma_start, sigma_end)
    return _patched(model, "SkipLayerGuidanceDiTSimple", lambda o: o.with_option(CALC_COND_BATCH_FUNCTION, hook))


@node(category="advanced/guidance", experimental=True,
      description="Generic version of SkipLayerGuidance node that can be used on every DiT model.")
def SkipLayerGuidanceSD3(
    model: Model,
    layers: Layers = "7, 8, 9",
    scale: Annotated[float, Float(min=0.0, max=10.0, step=0.1)] = 3.0,
    start_percent: Percent = 0.01,
    end_percent: Percent = 0.15,
) -> Model:
    """SkipLayerGuidanceDiT over the named (double) blocks only, as ComfyUI's SD3 node calls it."""
    return SkipLayerGuidanceDiT(model=model, double_layers=layers, single_layers="", scale=scale,
                                start_percent=start_percent, end_percent=end_percent, rescaling_scale=0.0)


class AttentionScale:
    """DIFFUSION_MODEL wrapper: projections of the named attentions (``…attn1.to_q``, ``…attn2.to_out.0``)
    scaled for one network call — what ComfyUI's weight patch ``(None,)`` with strength_model ``s`` does to a
    linear layer (weight and bias × s, so its output × s). Factors are keyed (attention, projection,
    temporal): temporal True/False for modules under ``.time_stack.`` (SVD's temporal layers;
    ``temporal_transformer_blocks`` in diffusers) or not, None for both.

    ComfyUI matches the names of its own state dict: diffusers modules whose ComfyUI layout names these layers
    otherwise are left alone (Wan's are ``self_attn``/``cross_attn`` there, ``attn1``/``attn2`` here)."""

    other_names = ("Wan",)  # diffusers classes (by name prefix) whose attn1/attn2 ComfyUI does not call so

    def __init__(self, factors: dict[tuple[str, str, bool | None], float], node_name: str) -> None:
        self.factors = {key: value for key, value in factors.items() if value != 1.0}
        self.node_name = node_name

    def scales(self, module: Any) -> list[tuple[Any, float]]:
        found: list[tuple[Any, float]] = []
        if type(module).__name__.startswith(self.other_names):
            return found
        for name, sub in module.named_modules():
            temporal = ".time_stack." in f".{name}" or "temporal_transformer_blocks." in name
            for (attention, projection, when), factor in self.factors.items():
                if name.endswith(f"{attention}.{projection}") and when in (None, temporal):
                    found.append((sub, factor))
        return found

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        hooks = [sub.register_forward_hook(lambda m, i, out, f=factor: out * f)
                 for sub, factor in self.scales(executor.class_obj)]
        try:
            return executor(*args, **kwargs)
        finally:
            for hook in hooks:
                hook.remove()


def _scaled(model: Any, node_name: str, factors: dict[tuple[str, str, bool | None], float]) -> Any:
    from .diffusion.patches.options import WrappersMP

    wrapper = AttentionScale(factors, node_name)
    if not wrapper.factors:
        return model
    return _patched(model, node_name, lambda o: o.with_wrapper(WrappersMP.DIFFUSION_MODEL, node_name, wrapper))


Factor = Annotated[float, Float(min=0.0, max=10.0, step=0.01)]
ATTENTION_EXPERIMENTS = "_for_testing/attention_experiments"


@node(category=ATTENTION_EXPERIMENTS, experimental=True, description=(
    "Scales the output weights of UNet temporal and structural attention layers independently, allowing "
    "fine-grained control over video model attention behavior."))
def UNetTemporalAttentionMultiply(
    model: Model,
    self_structural: Factor = 1.0,
    self_temporal: Factor = 1.0,
    cross_structural: Factor = 1.0,
    cross_temporal: Factor = 1.0,
) -> Model:
    """Scales the self- and cross-attention outputs of UNet transformer blocks, spatial and temporal apart.
    Models without such layers in ComfyUI's naming (DiTs such as Wan, Flux) are unchanged, as in ComfyUI."""
    out = "to_out.0"
    return _scaled(model, "UNetTemporalAttentionMultiply", {
        ("attn1", out, False): self_structural, ("attn1", out, True): self_temporal,
        ("attn2", out, False): cross_structural, ("attn2", out, True): cross_temporal})


def _qkv_out(attention: str, q: float, k: float, v: float, out: float) -> dict[tuple[str, str, bool | None], float]:
    return {(attention, "to_q", None): q, (attention, "to_k", None): k, (attention, "to_v", None): v,
            (attention, "to_out.0", None): out}


@node(category=ATTENTION_EXPERIMENTS, experimental=True, description=(
    "Scales the query, key, value, and output weights of UNet self-attention layers by specified multipliers "
    "to experiment with attention behavior."))
def UNetSelfAttentionMultiply(model: Model, q: Factor = 1.0, k: Factor = 1.0, v: Factor = 1.0,
                              out: Factor = 1.0) -> Model:
    """Scales the query, key, value and output projections of the UNet's self-attention (attn1)."""
    return _scaled(model, "UNetSelfAttentionMultiply", _qkv_out("attn1", q, k, v, out))


@node(category=ATTENTION_EXPERIMENTS, experimental=True, description=(
    "Scales the query, key, value, and output weights of UNet cross-attention layers by specified multipliers "
    "to experiment with text-to-image attention."))
def UNetCrossAttentionMultiply(model: Model, q: Factor = 1.0, k: Factor = 1.0, v: Factor = 1.0,
                               out: Factor = 1.0) -> Model:
    """Scales the query, key, value and output projections of the UNet's cross-attention (attn2)."""
    return _scaled(model, "UNetCrossAttentionMultiply", _qkv_out("attn2", q, k, v, out))


ATTENTION_BACKENDS = ("pytorch attention",)  # ComfyUI adds "comfy kitchen attention" where its INT8 kernels exist


def _any_backend(**_: Any) -> bool:
    return True  # ComfyUI's validate_inputs accepts every name (a missing backend falls back to PyTorch's)


@node(display_name="Model Attention Backend", category="model/patch", experimental=True, validate=_any_backend,
      description=("Selects the dense attention implementation for the model. When used with Block Sparse "
                   "Attention, this backend is used whenever sparse attention is inactive or unsupported."))
def ModelAttentionBackend(
    model: Annotated[Any, Socket(type="MODEL", tooltip="The model to patch.")],
    attention: Annotated[str, Combo(options=ATTENTION_BACKENDS, default="pytorch attention", extra={
        "display_name": "backend"}, tooltip=(
        "The dense attention backend. Comfy Kitchen attention uses quantized INT8 attention and is available "
        "only on Nvidia and AMD GPUs."))] = "pytorch attention",
) -> Annotated[Any, Socket(type="MODEL"), Output("model", tooltip="The model with the selected attention backend.")]:
    """Chooses the attention implementation. Inkgraph's networks use PyTorch's scaled-dot-product attention;
    another backend's name (ComfyUI's "comfy kitchen attention") falls back to it with a warning, as ComfyUI
    does when a backend is unavailable."""
    if attention not in ATTENTION_BACKENDS:
        log.warning("Attention backend '%s' is unavailable; using PyTorch attention.", attention)
    return _patched(model, "ModelAttentionBackend",
                    lambda o: o.with_transformer_option("attention_backend", "pytorch"))


Scale = Annotated[float, Float(min=0.0, max=100.0, step=0.1)]
Shift = Annotated[float, Float(min=-256.0, max=256.0, step=0.1)]


@node(category="advanced/model_patches", experimental=True, description="Scale and shift the ROPE of the model.")
def ScaleROPE(
    model: Model,
    scale_x: Scale = 1.0, shift_x: Shift = 0.0,
    scale_y: Scale = 1.0, shift_y: Shift = 0.0,
    scale_t: Scale = 1.0, shift_t: Shift = 0.0,
) -> Model:
    """Stretches and shifts the rotary positions along each axis (``transformer_options["rope_options"]``,
    read by the Wan and Flux adapters; other families refuse it): positions 0 … n−1 become
    shift + (0 … (n−1)·scale)."""
    options = {"scale_x": scale_x, "shift_x": shift_x, "scale_y": scale_y, "shift_y": shift_y,
               "scale_t": scale_t, "shift_t": shift_t}
    return _patched(model, "ScaleROPE", lambda o: o.with_transformer_option("rope_options", options))


NODES = [SkipLayerGuidanceDiT, SkipLayerGuidanceDiTSimple, SkipLayerGuidanceSD3, UNetTemporalAttentionMultiply,
         UNetSelfAttentionMultiply, UNetCrossAttentionMultiply, ModelAttentionBackend, ScaleROPE]

"""LTX-Video (0.9 … 0.9.8, 2B and 13B) from Lightricks' single files (``ltx-video-2b-v0.9.5.safetensors``: the
transformer under ``model.diffusion_model.``, the VAE under ``vae.``) or a transformer alone, as diffusers'
LTXVideoTransformer3DModel.

Lightricks' names are diffusers' but for four (``patchify_proj`` → ``proj_in``, ``adaln_single`` →
``time_embed``, ``q_norm``/``k_norm`` → ``norm_q``/``norm_k``: diffusers' single-file converter's table). The
architecture is read from the tensors as ComfyUI's model_detection reads it: 32 heads over the width, depth,
latent channels in and out, T5's width (the caption projection). The file's ``config`` metadata (Lightricks
writes it from 0.9.5 on) says whether time positions are causal (``causal_temporal_positioning``), as ComfyUI
reads it. LTX-2's audio-video files share the marker and are not this family.

One family, ``ltxv``: 128 latent channels, 32× down, 8 frames a latent frame, scale 1 (ComfyUI's
``latent_formats.LTXV``). Sampling as ComfyUI: Flux's exponential flow shift, 2.37 by default (the templates
give LTXVScheduler's sigmas instead), the network fed 1000·σ.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat

LTXV_LATENT = LatentFormat(128, 1.0, downscale=32, dims=3, temporal=8)
MARKER = "adaln_single.emb.timestep_embedder.linear_1.bias"
HEADS = 32  # ComfyUI: attention_head_dim = width // 32
SHIFT = 2.37
RENAME = (("patchify_proj", "proj_in"), ("adaln_single", "time_embed"), ("q_norm", "norm_q"), ("k_norm", "norm_k"))


def to_diffusers(key: str) -> str:
    for old, new in RENAME:
        key = key.replace(old, new)
    return key


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """An LTXVideoTransformer3DModel config from the shapes under ``prefix``."""
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return tuple(found)

    width, in_channels = shape("patchify_proj.weight")
    if width % HEADS:
        raise ValueError(f"a width of {width} is not LTX-Video's 32 heads")
    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    return {"in_channels": in_channels, "out_channels": shape("proj_out.weight")[0], "patch_size": 1,
            "patch_size_t": 1, "num_attention_heads": HEADS, "attention_head_dim": width // HEADS,
            "cross_attention_dim": shape("transformer_blocks.0.attn2.to_k.weight")[1],
            "num_layers": block_count(keys, "transformer_blocks."),
            "caption_channels": shape("caption_projection.linear_1.weight")[1], "qk_norm": "rms_norm_across_heads"}


def causal_positions(metadata: dict[str, str]) -> bool:
    """Whether the file's ``config`` metadata asks for causal time positions (0.9.5 and later)."""
    try:
        config = json.loads(metadata.get("config", "{}"))
    except json.JSONDecodeError:
        return False
    transformer = config.get("transformer", {}) if isinstance(config, dict) else {}
    return bool(isinstance(transformer, dict) and transformer.get("causal_temporal_positioning", False))


class LTXV(DiffusionFamily):
    """LTX-Video's transformer."""

    name = "ltxv"
    latent = LTXV_LATENT
    text_encoders: ClassVar[tuple[str, ...]] = ("t5xxl",)
    vae = "ltxv"
    keep_precision = ("time_embed.", "caption_projection.")

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + "patchify_proj.weight" not in index:
            return None
        if any(k.startswith(prefix + "audio_") for k in index):
            return None  # LTX-2's audio-video model
        detected = Detected(self, read_config(index, prefix), prefix)
        detected.extra["causal"] = causal_positions(index.metadata)
        return detected

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from diffusers import LTXVideoTransformer3DModel

        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble, unquantize

        renamed = {to_diffusers(k): v for k, v in tensors.items()}
        weights, scales = split_scales(renamed, detected.source)
        model = assemble(LTXVideoTransformer3DModel, detected.config, weights, dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, scales)
        unquantize(model, self.keep_precision, dtype)
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=SHIFT)

    def adapter(self, detected: Detected) -> Any:
        from .ltxv_adapter import LTXVAdapter

        return LTXVAdapter(detected.config, bool(detected.extra.get("causal", False)))

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        """Lightricks' module names flattened with underscores, as kohya writes them → diffusers' modules."""
        names: dict[str, Any] = {}
        for name, child in module.named_modules():
            if name and isinstance(getattr(child, "weight", None), torch.Tensor):
                original = name
                for old, new in RENAME:
                    original = original.replace(new, old)
                names[original.replace(".", "_")] = [(name, None)]
        return names

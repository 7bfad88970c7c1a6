"""Chroma (Chroma1-HD, base and its fp8 files): Flux's blocks without their per-block modulation, which a
small approximator network computes from the timestep (``distilled_guidance_layer``); T5 alone as text
encoder; diffusers' ChromaTransformer2DModel.

Read from the tensors like Flux (``families/flux.py``), plus the approximator's width, input width and
depth. Sampling as ComfyUI's Chroma: ModelSamplingFlux with shift 1.15 (σ fed, ×1000 inside); the
adapter is Flux's (2×2 packing, reference latents, concatenated inputs) without pooled output or
guidance (the approximator's guidance input is 0, as ComfyUI's default).
"""

from __future__ import annotations

from typing import Any

from ..state_dict import TensorIndex, block_count
from .base import Detected
from .flux import Flux, read_transformer


class Chroma(Flux):
    name = "chroma"
    text_encoders = ("t5xxl",)
    chroma = True

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = self._prefix(index)
        if prefix is None:
            return None
        config = read_transformer(index, prefix)
        hidden, approximator_in = index[prefix + "distilled_guidance_layer.in_proj.weight"].shape
        keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
        config.update(approximator_num_channels=approximator_in, approximator_hidden_dim=hidden,
                      approximator_layers=block_count(keys, "distilled_guidance_layer.layers."))
        return Detected(self, config, prefix, "chroma")

    def diffusers_class(self) -> Any:
        from diffusers import ChromaTransformer2DModel

        return ChromaTransformer2DModel

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=1.15)

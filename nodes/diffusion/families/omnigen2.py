"""OmniGen2 in ComfyUI's repackaged layout (``omnigen2_fp16.safetensors``: ``time_caption_embed.…``,
``ref_image_patch_embedder``, ``noise_refiner.N.attn.to_q`` …, with or without ``model.diffusion_model.``),
as Inkgraph's own module (``omnigen2_model.py``; diffusers has no OmniGen2 class).

Detection: the time/caption embedder together with the reference-image patch embedder (diffusers' Lumina 2
layout shares the first, never the second). The architecture is read from the tensors: width and latent
channels (the patch embedder), head width (the q-norm), heads and key/value heads (q and k rows), depths
of the layers and of each refiner, the MLP width, the caption width, the time embedding's width, the
output channels and the reference-index rows; the rotary axes are the head width's thirds (40, 40, 40 at
120), θ 10,000 and the time scale 1000 are fixed, as in ComfyUI's config.

Sampling as ComfyUI's Omnigen2 config: discrete flow (CONST) with shift 2.6 and multiplier 1; the network
is fed t = 1 − σ and its output negated; Flux's latents and VAE (``ae.safetensors``). The conditioning is
Qwen2.5-VL 3B's states (CLIPLoader type ``omnigen2``) and, for editing, reference latents (ReferenceLatent),
which reach the model in its latent space.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat
from .flux import FLUX_LATENT
from .lumina2 import even_thirds, shape_reader
from .omnigen2_model import PATCH, OmniGen2Transformer

MARKER = "time_caption_embed.timestep_embedder.linear_1.bias"
REFERENCE_EMBEDDER = "ref_image_patch_embedder.weight"
SHIFT = 2.6


def read_architecture(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """The fields of ``omnigen2_model.Architecture`` read from the shapes under ``prefix``."""
    shape = shape_reader(index, prefix)
    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    width, tokens = shape("x_embedder.weight")
    head_dim = shape("layers.0.attn.norm_q.weight")[0]
    q_rows, k_rows = shape("layers.0.attn.to_q.weight")[0], shape("layers.0.attn.to_k.weight")[0]
    if q_rows != width or width % head_dim or k_rows % head_dim:
        raise ValueError(f"q of {q_rows} rows and k of {k_rows} rows do not divide into heads {head_dim} wide "
                         f"at width {width}")
    refiners = {group: block_count(keys, group + ".") for group in ("noise_refiner", "ref_image_refiner",
                                                                   "context_refiner")}
    if len(set(refiners.values())) != 1:
        raise ValueError(f"refiners of different depths: {refiners}")
    heads, kv_heads = width // head_dim, k_rows // head_dim
    if heads % kv_heads:
        raise ValueError(f"{heads} query heads do not share {kv_heads} key/value heads evenly")
    return {"width": width, "heads": heads, "kv_heads": kv_heads, "layers": block_count(keys, "layers."),
            "refiners": refiners["noise_refiner"], "mlp": shape("layers.0.feed_forward.linear_1.weight")[0],
            "caption": shape("time_caption_embed.caption_embedder.1.weight")[1],
            "in_channels": tokens // (PATCH * PATCH),
            "out_channels": shape("norm_out.linear_2.weight")[0] // (PATCH * PATCH),
            "time_width": shape("time_caption_embed.timestep_embedder.linear_1.weight")[0],
            "axes": even_thirds(head_dim), "references": shape("image_index_embedding")[0]}


class OmniGen2(DiffusionFamily):
    name: ClassVar[str] = "omnigen2"
    latent: ClassVar[LatentFormat] = FLUX_LATENT
    vae: ClassVar[str] = "flux"
    text_encoders: ClassVar[tuple[str, ...]] = ("qwen25_3b",)

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + REFERENCE_EMBEDDER not in index:
            return None
        config = read_architecture(index, prefix)
        return Detected(self, config, prefix, "omnigen2")

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble

        weights, scales = split_scales(tensors, detected.source)
        model = assemble(OmniGen2Transformer, detected.config, dict(weights), dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, scales)
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=SHIFT, multiplier=1.0)

    def adapter(self, detected: Detected) -> Any:
        return OmniGen2Adapter(self.latent)

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        """kohya's names of the linear layers (dots as underscores); ComfyUI's own names are the module's."""
        return {name.replace(".", "_"): [(name, None)] for name, child in module.named_modules()
                if isinstance(child, torch.nn.Linear)}

    def original_state(self, detected: Detected, module: torch.nn.Module) -> dict[str, torch.Tensor]:
        """The module's own names are ComfyUI's layout: ModelSave writes them as they are."""
        return dict(module.state_dict())

    def train_targets(self, detected: Detected, module: torch.nn.Module) -> str:
        """Every block's attention projections and MLP (the module's names are not diffusers' usual ones)."""
        return r"(layers|noise_refiner|ref_image_refiner|context_refiner)\.\d+\.(attn\.(to_q|to_k|to_v|to_out\.0)" \
               r"|feed_forward\.linear_[123])"


REFERENCE = "reference_latent_"


class OmniGen2Adapter:
    """Feeds :class:`OmniGen2Transformer` (see ``conds.ModelAdapter``) as ComfyUI's Omnigen2 model does.

    Per entry: the caption states — only the attended tokens when the encoder's mask has padding (ComfyUI
    passes the mask to the caption refiner and counts the attended tokens for the positions; with no
    padding, its only working case, the two agree) — and the reference latents in the model's space. A call
    feeds t = 1 − σ (in float32) and returns the output negated; the module pads odd sizes to the patch.
    """

    spatial_keys: frozenset[str] = frozenset()

    def __init__(self, latent_format: LatentFormat) -> None:
        self.latent_format = latent_format

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        mask = options.get("attention_mask")
        if mask is not None and not bool(mask.bool().all()):
            embedding = embedding[:, mask.reshape(-1)[:embedding.shape[1]].bool()]
        out = {"context": embedding.to(ctx.device, ctx.dtype)}
        for i, ref in enumerate(options.get("reference_latents") or ()):
            out[f"{REFERENCE}{i:02d}"] = self.latent_format.process_in(ref[:1].float()).to(ctx.device, ctx.dtype)
        return out

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        context = conds["context"]
        refs = [conds[key] for key in sorted(conds) if key.startswith(REFERENCE)]
        out: torch.Tensor = module(x_in.to(context.dtype), (1.0 - timestep).float(), context, refs)
        return -out.to(x_in.dtype)

"""Z-Image (Turbo and base) in its original single-file layout (``z_image_turbo_bf16.safetensors``:
``layers.N.attention.qkv``, ``cap_embedder``, ``x_pad_token`` …, with or without ``model.diffusion_model.``),
as diffusers' ZImageTransformer2DModel.

The NextDiT of Lumina 2 (``families/lumina2.py``) with Z-Image's own parts, by which it is told apart:
learned padding tokens (``x_pad_token``, ``cap_pad_token``: image and caption are padded to multiples of
32 tokens), a modulation without SiLU (``adaLN_modulation.0``) fed a 256-wide time embedding, the time
scaled by 1000, rotary axes (32, 48, 48) at 128-wide heads with θ = 256, and an MLP 8/3 as wide as the
model. The architecture is read from the tensors as for Lumina 2; diffusers' converter renames the keys.

Sampling as ComfyUI: discrete flow with shift 3 (ModelSamplingAuraFlow's, as the official templates set
it), the network fed t = 1 − σ, its output negated; Flux's latents and VAE (``ae.safetensors``); the
conditioning is Qwen3-4B's states (the encoder ``lumina2`` type's Z-Image reading).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

import torch

from ..control.inject import BLOCK_PATCHES
from ..state_dict import TensorIndex
from .base import Detected
from .flux import pad_to_patch
from .lumina2 import CAPTION_POSITIONS, PATCH, NextDiTFamily, read_nextdit


def rope_axes(head_dim: int) -> tuple[int, int, int]:
    """Z-Image's rotary axes (32, 48, 48) for 128-wide heads; other head widths in the same proportion."""
    time = head_dim // 4
    side = (head_dim - time) // 2
    if time % 2 or side % 2 or time + 2 * side != head_dim:
        raise ValueError(f"heads {head_dim} wide have no rotary split like Z-Image's (32, 48, 48)")
    return time, side, side


class ZImage(NextDiTFamily):
    name: ClassVar[str] = "z_image"
    text_encoders: ClassVar[tuple[str, ...]] = ("qwen3_4b",)
    modulation = "adaLN_modulation.0"
    shift = 3.0

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = self._prefix(index)
        if prefix is None:
            return None
        shapes = read_nextdit(index, prefix)
        width = shapes["width"]
        if shapes["kv_heads"] != shapes["heads"]:
            raise ValueError(f"{shapes['kv_heads']} key/value heads for {shapes['heads']} query heads; Z-Image "
                             "has as many of each")
        if shapes["mlp"] != int(width / 3 * 8):
            raise ValueError(f"an MLP {shapes['mlp']} wide; Z-Image's is 8/3 of the width ({int(width / 3 * 8)})")
        if shapes["out_channels"] != shapes["in_channels"]:
            raise ValueError(f"{shapes['in_channels']} input and {shapes['out_channels']} output channels")
        config = {"all_patch_size": (PATCH,), "all_f_patch_size": (1,), "in_channels": shapes["in_channels"],
                  "dim": width, "n_layers": shapes["layers"], "n_refiner_layers": shapes["refiners"],
                  "n_heads": shapes["heads"], "n_kv_heads": shapes["kv_heads"], "norm_eps": 1e-5,
                  "qk_norm": True, "cap_feat_dim": shapes["caption"], "rope_theta": 256.0, "t_scale": 1000.0,
                  "axes_dims": list(rope_axes(shapes["head_dim"])), "axes_lens": [CAPTION_POSITIONS, 512, 512]}
        return Detected(self, config, prefix, "z_image", extra={"shapes": shapes})

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        model = super().build(tensors, detected, dtype)
        model.t_embedder.__class__ = _time_embedder()
        return model

    def converter(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        from diffusers.loaders.single_file_utils import convert_z_image_transformer_checkpoint_to_diffusers

        return convert_z_image_transformer_checkpoint_to_diffusers

    def diffusers_class(self) -> Any:
        from diffusers import ZImageTransformer2DModel

        return ZImageTransformer2DModel

    def adapter(self, detected: Detected) -> Any:
        return ZImageAdapter()


class ZImageAdapter:
    """Feeds a diffusers ZImageTransformer2DModel (see ``conds.ModelAdapter``): each batch item as its own
    image and caption (the caption's attended tokens only, as diffusers' pipeline passes them), t = 1 − σ,
    the latent padded to the patch size, the prediction negated and cropped back, as ComfyUI's NextDiT."""

    spatial_keys: frozenset[str] = frozenset()
    # ZImageFunControlnet's patch sits under both names in ComfyUI (its refiner and main layers); here one
    # call of it gives diffusers' ``controlnet_block_samples``
    supported_patches: frozenset[str] = frozenset({"double_block", "noise_refiner"})

    def patched(self, module: Any, transformer_options: dict[str, Any]) -> Any:
        """One call of ``module`` with the call's Z-Image Fun ControlNet patches, which :meth:`apply` runs."""
        from ..control.inject import lent

        found = transformer_options.get("patches") or {}
        unique = list({id(p): p for name in ("double_block", "noise_refiner") for p in found.get(name) or ()}.values())
        return lent(module, unique, transformer_options)

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        mask = options.get("attention_mask")
        if mask is not None and not bool(mask.bool().all()):
            embedding = embedding[:, mask.reshape(-1)[:embedding.shape[1]].bool()]
        return {"context": embedding.to(ctx.device, ctx.dtype)}

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        h, w = x_in.shape[-2:]
        x = pad_to_patch(x_in, PATCH)
        images = [item.unsqueeze(1) for item in x]  # [C, 1, H, W]: one frame
        captions = list(conds["context"])
        t = (1.0 - timestep).to(x.dtype)
        kwargs: dict[str, Any] = {}
        lent_patches = module.__dict__.get(BLOCK_PATCHES)
        if lent_patches and lent_patches[0]:
            samples: dict[int, torch.Tensor] = {}
            for patch in lent_patches[0]:
                if not hasattr(patch, "residuals"):
                    raise ValueError(f"{getattr(patch, 'node_name', type(patch).__name__)}: its patch is not one "
                                     "a Z-Image model runs (Z-Image runs the Z-Image Fun ControlNet's)")
                for layer, add in patch.residuals(module, images, t, captions).items():
                    samples[layer] = samples[layer] + add if layer in samples else add
            kwargs["controlnet_block_samples"] = samples
        out = module(images, t, captions, return_dict=False, **kwargs)[0]
        return -torch.stack([item[:, 0] for item in out])[..., :h, :w]


@cache
def _time_embedder() -> type:
    """Z-Image's time embedder, its sinusoidal features in the compute dtype: diffusers casts them to the
    first linear layer's weight dtype, which with fp8 storage (fp8 files, UNETLoader's fp8 weight_dtype)
    would be fp8 activations."""
    from diffusers.models.transformers.transformer_z_image import TimestepEmbedder

    class TimeEmbedder(TimestepEmbedder):
        def forward(self, t: torch.Tensor) -> torch.Tensor:
            features = self.timestep_embedding(t, self.frequency_embedding_size)
            first = self.mlp[0]
            dtype = first.bias.dtype if first.bias is not None and first.bias.is_floating_point() else t.dtype
            return self.mlp(features.to(dtype))  # type: ignore[no-any-return]

    return TimeEmbedder

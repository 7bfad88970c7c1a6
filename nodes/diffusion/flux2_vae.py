"""Flux.2's VAE (``flux2-vae.safetensors``, ``full_encoder_small_decoder.safetensors``) as diffusers'
AutoencoderKLFlux2, and the latents it gives: what Flux.2's model samples.

The file is an SD-style KL autoencoder (32 latent channels, 8× down, quant convs) with batch-norm statistics
``bn.running_mean``/``bn.running_var`` over its latent in 2×2 patches (128 channels). As ComfyUI's VAE does
(``AutoencodingEngine`` with ``batch_norm_latent``), encoding takes the distribution's mode, puts it in 2×2
patches (channel c·4 + 2·row + column) and normalises it by those statistics (ε 10⁻⁴); decoding undoes both.
So a LATENT of Flux.2 is [B, 128, H/16, W/16] and the family's latent format is the identity. The decoder may be
narrower than the encoder ("small decoder"): its widths are read from the decoder's own tensors.
"""

from __future__ import annotations

from typing import Any

import torch

from .state_dict import TensorIndex, block_count

MARKER = "bn.running_mean"
PATCH = 2


def is_flux2_file(index: TensorIndex, prefix: str) -> bool:
    return prefix + MARKER in index


def is_flux2(vae: Any) -> bool:
    """A loaded VAE whose latents are Flux.2's (patchified and normalised)."""
    return type(vae).__name__ == "AutoencoderKLFlux2"


def decoder_widths(index: TensorIndex, prefix: str, layout: str) -> list[int]:
    """The decoder's width per level, lowest resolution last (diffusers' ``decoder_block_out_channels`` order)."""
    keys = {k[len(prefix):]: index[k].shape for k in index if k.startswith(prefix)}
    if layout == "diffusers":
        levels = block_count(keys, "decoder.up_blocks.")
        return [keys[f"decoder.up_blocks.{levels - 1 - i}.resnets.0.conv2.weight"][0] for i in range(levels)]
    levels = block_count(keys, "decoder.up.")
    return [keys[f"decoder.up.{i}.block.0.conv2.weight"][0] for i in range(levels)]


def config(base: dict[str, Any], index: TensorIndex, prefix: str, layout: str) -> dict[str, Any]:
    """AutoencoderKLFlux2's config from an AutoencoderKL config read from the same tensors."""
    keep = ("in_channels", "out_channels", "down_block_types", "up_block_types", "block_out_channels",
            "layers_per_block", "latent_channels", "norm_num_groups", "use_quant_conv", "use_post_quant_conv",
            "mid_block_add_attention")
    out = {k: base[k] for k in keep if k in base}
    decoder = decoder_widths(index, prefix, layout)
    if list(decoder) != list(out["block_out_channels"]):
        out["decoder_block_out_channels"] = decoder
    features = index.shape(prefix + MARKER)
    assert features is not None
    patch = int(round((features[0] / out["latent_channels"]) ** 0.5))
    out["patch_size"] = (patch, patch)
    out["batch_norm_eps"] = 1e-4
    return out


def _stats(vae: Any, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = vae.bn.running_mean.view(1, -1, 1, 1).to(like.device, torch.float32)
    std = torch.sqrt(vae.bn.running_var.view(1, -1, 1, 1).to(like.device, torch.float32) + vae.config.batch_norm_eps)
    return mean, std


def to_latent(vae: Any, z: torch.Tensor) -> torch.Tensor:
    """The VAE's latent [B, 32, h, w] → Flux.2's [B, 128, h/2, w/2]: 2×2 patches, normalised."""
    b, c, h, w = z.shape
    z = z.float().view(b, c, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 1, 3, 5, 2, 4)
    z = z.reshape(b, c * PATCH * PATCH, h // PATCH, w // PATCH)
    mean, std = _stats(vae, z)
    return (z - mean) / std


def from_latent(vae: Any, z: torch.Tensor) -> torch.Tensor:
    """Flux.2's latent [B, 128, h, w] → the VAE's [B, 32, 2h, 2w]."""
    mean, std = _stats(vae, z)
    z = z.float() * std + mean
    b, c, h, w = z.shape
    z = z.view(b, c // (PATCH * PATCH), PATCH, PATCH, h, w).permute(0, 1, 4, 2, 5, 3)
    return z.reshape(b, c // (PATCH * PATCH), h * PATCH, w * PATCH)

"""The causal 3-D VAE of Wan 2.1 as Qwen-Image uses it (``qwen_image_vae.safetensors``, Layered's RGBA
``qwen_image_layered_vae.safetensors``), in ComfyUI's layout (Wan's original names: ``encoder.conv1``,
``encoder.downsamples.N.residual.…``, ``decoder.upsamples.N…``, ``conv1``/``conv2`` for the quant convs), as
diffusers' AutoencoderKLQwenImage.

The architecture is read from the tensors: base width, latent channels, image channels (3, or 4 for
Layered's RGBA), resnets per level; the shape of diffusers' default (widths ×1, 2, 4, 4) is checked weight
by weight on loading. Latents are video latents [B, 16, T, H/8, W/8]; an image is one frame. Images are
encoded to the distribution's mode (deterministic, as ComfyUI) and decoded frame by frame into the batch
(ComfyUI's VAEDecode of a video latent).
"""

from __future__ import annotations

from typing import Any

import torch

from .state_dict import TensorIndex, block_count

MARKER = "decoder.head.0.gamma"


def is_wan_layout(index: TensorIndex, prefix: str) -> bool:
    """Whether the VAE under ``prefix`` is a Wan-style 3-D VAE in the original layout."""
    conv = index.shape(prefix + "encoder.conv1.weight")
    return prefix + MARKER in index and conv is not None and len(conv) == 5


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """AutoencoderKLQwenImage's config from the shapes."""
    keys = {k[len(prefix):]: index[k].shape for k in index if k.startswith(prefix)}
    base, channels = keys["encoder.conv1.weight"][:2]
    z_dim = keys["conv2.weight"][0]
    levels = 4
    blocks = block_count(keys, "encoder.downsamples.")
    res_blocks = (blocks - (levels - 1)) // levels  # each level: its resnets, then a downsample (not the last)
    return {"base_dim": base, "z_dim": z_dim, "dim_mult": [1, 2, 4, 4], "num_res_blocks": res_blocks,
            "attn_scales": [], "temperal_downsample": [False, True, True], "dropout": 0.0, "input_channels": channels}


def load(state: dict[str, torch.Tensor], config: dict[str, Any], dtype: torch.dtype, name: str = "") -> Any:
    from diffusers import AutoencoderKLQwenImage
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    from .weights import assemble

    converted = convert_wan_vae_to_diffusers(state)
    return assemble(AutoencoderKLQwenImage, config, converted, dtype, "VAE", name)


def is_video(vae: Any) -> bool:
    """A 3-D VAE (latents [B, C, T, h, w]) rather than SD's 2-D AutoencoderKL."""
    return hasattr(getattr(vae, "config", None), "z_dim") and hasattr(vae.config, "temperal_downsample")


def channels_in(vae: Any) -> int:
    return int(getattr(vae.config, "input_channels", 3))


def encode_frame(vae: Any, pixels: torch.Tensor) -> torch.Tensor:
    """One image [1, C, H, W] in −1…1 → its latent [1, z, 1, h, w]; an RGB image given to an RGBA VAE is
    made opaque."""
    wanted = channels_in(vae)
    if pixels.shape[1] < wanted:
        pixels = torch.cat([pixels, torch.ones_like(pixels[:, :1]).expand(-1, wanted - pixels.shape[1], -1, -1)], 1)
    return vae.encode(pixels[:, :wanted].unsqueeze(2)).latent_dist.mode()  # type: ignore[no-any-return]


def decode_latent(vae: Any, latent: torch.Tensor) -> torch.Tensor:
    """A latent [1, z, T, h, w] (or [1, z, h, w]) → its frames [T', C, H, W] in −1…1."""
    if latent.ndim == 4:
        latent = latent.unsqueeze(2)
    out = vae.decode(latent, return_dict=False)[0]
    return out[0].movedim(1, 0)  # type: ignore[no-any-return]

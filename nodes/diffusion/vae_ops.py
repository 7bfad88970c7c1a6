"""VAE encode/decode between IMAGE [B,H,W,C] 0..1 and raw LATENT samples, whole or in tiles.

Video VAEs (:mod:`.video_vae`) take IMAGE frames to one [1, C, T, h, w] latent and give a video latent's
frames back as an IMAGE batch, as ComfyUI's VAE does; the functions here hand them over.

LATENT samples hold the VAE's raw latents (ComfyUI's convention); the sampler applies the scale factor.
Tiled versions process overlapping tiles and blend them with linear ramps over the overlap, so large
images fit in memory; the result differs from the whole-image pass only near tile seams.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .tiling import tiled

DOWNSCALE = 8


def factor(vae: Any) -> int:
    """Pixels per latent cell: 8 for every SD VAE (each block after the first halves the size), 16 for Flux.2's;
    a video VAE's spatial factor (Wan 2.1: 8, Wan 2.2: 16)."""
    from . import flux2_vae, video_vae

    if video_vae.is_video(vae):
        return video_vae.spatial(vae)
    patch = 2 if flux2_vae.is_flux2(vae) else 1  # Flux.2's latent cells are 2×2 patches of the VAE's
    return int(2 ** (len(vae.config.block_out_channels) - 1)) * patch


def _to_latent(vae: Any, z: torch.Tensor) -> torch.Tensor:
    """The VAE's latent → the LATENT the model samples (Flux.2's: patchified and normalised; others: as is)."""
    from . import flux2_vae

    return flux2_vae.to_latent(vae, z) if flux2_vae.is_flux2(vae) else z


def _from_latent(vae: Any, z: torch.Tensor) -> torch.Tensor:
    from . import flux2_vae

    return flux2_vae.from_latent(vae, z) if flux2_vae.is_flux2(vae) else z


def _device_dtype(vae: Any) -> tuple[torch.device, torch.dtype]:
    parameter = next(vae.parameters())
    return parameter.device, parameter.dtype


def decode(vae: Any, latents: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
    from . import video_vae

    if video_vae.is_video(vae):
        return video_vae.decode(vae, latents, check)
    device, dtype = _device_dtype(vae)
    images = []
    for sample in latents.split(1):  # one at a time: VAE decoding is memory hungry
        if check is not None:
            check()
        out = vae.decode(_from_latent(vae, sample).to(device, dtype), return_dict=False)[0]
        images.append(((out.float() + 1.0) / 2.0).clamp(0, 1).cpu())
    return torch.cat(images).movedim(1, -1)


def crop_to_multiple(pixels: torch.Tensor, multiple: int = DOWNSCALE, channels: int = 3) -> torch.Tensor:
    """Centre-crop H and W to multiples of the VAE's factor (ComfyUI's vae_encode_crop_pixels), keeping the
    VAE's image ``channels``: RGB, or RGBA for Qwen-Image Layered's VAE (RGB given to it is made opaque)."""
    for dim in (1, 2):
        size = pixels.shape[dim]
        keep = (size // multiple) * multiple
        if keep != size:
            pixels = pixels.narrow(dim, (size % multiple) // 2, keep)
    if pixels.shape[-1] < channels:
        alpha = torch.ones_like(pixels[..., :1]).expand(*pixels.shape[:-1], channels - pixels.shape[-1])
        pixels = torch.cat([pixels, alpha], -1)
    return pixels[..., :channels]


def encode(vae: Any, pixels: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
    from . import video_vae

    if video_vae.is_video(vae):
        return video_vae.encode(vae, pixels, check)
    device, dtype = _device_dtype(vae)
    pixels = crop_to_multiple(pixels, factor(vae))
    latents = []
    for sample in pixels.split(1):
        if check is not None:
            check()
        x = (sample.movedim(-1, 1) * 2.0 - 1.0).to(device, dtype)
        mode = vae.encode(x).latent_dist.mode()  # the mode, as ComfyUI: deterministic
        latents.append(_to_latent(vae, mode).float().cpu())
    return torch.cat(latents)


def decode_tiled(vae: Any, latents: torch.Tensor, tile: int | tuple[int, int], overlap: int,
                 check: Callable[[], None] | None = None) -> torch.Tensor:
    device, dtype = _device_dtype(vae)

    def run(piece: torch.Tensor) -> torch.Tensor:
        if check is not None:
            check()
        return vae.decode(_from_latent(vae, piece).to(device, dtype), return_dict=False)[0]

    out = tiled(run, latents, tile, overlap, factor(vae), 3)
    return ((out + 1.0) / 2.0).clamp(0, 1).movedim(1, -1)


def encode_tiled(vae: Any, pixels: torch.Tensor, tile: int | tuple[int, int], overlap: int,
                 check: Callable[[], None] | None = None) -> torch.Tensor:
    from . import flux2_vae

    device, dtype = _device_dtype(vae)
    pixels = crop_to_multiple(pixels, factor(vae))

    def run(piece: torch.Tensor) -> torch.Tensor:
        if check is not None:
            check()
        return _to_latent(vae, vae.encode(piece.to(device, dtype)).latent_dist.mode())

    channels = int(getattr(vae.config, "latent_channels", 4)) * (4 if flux2_vae.is_flux2(vae) else 1)
    return tiled(run, pixels.movedim(-1, 1) * 2.0 - 1.0, tile, overlap, 1 / factor(vae), channels)

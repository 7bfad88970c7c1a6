"""VAE encode/decode between IMAGE [B,H,W,C] 0..1 and raw LATENT samples, whole or in tiles.

LATENT samples hold the VAE's raw latents (ComfyUI's convention); the sampler applies the scale factor.
Tiled versions process overlapping tiles and blend them with linear ramps over the overlap, so large
images fit in memory; the result differs from the whole-image pass only near tile seams.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

DOWNSCALE = 8


def _device_dtype(vae: Any) -> tuple[torch.device, torch.dtype]:
    parameter = next(vae.parameters())
    return parameter.device, parameter.dtype


def decode(vae: Any, latents: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
    device, dtype = _device_dtype(vae)
    images = []
    for sample in latents.split(1):  # one at a time: VAE decoding is memory hungry
        if check is not None:
            check()
        out = vae.decode(sample.to(device, dtype), return_dict=False)[0]
        images.append(((out.float() + 1.0) / 2.0).clamp(0, 1).cpu())
    return torch.cat(images).movedim(1, -1)


def crop_to_multiple(pixels: torch.Tensor, multiple: int = DOWNSCALE) -> torch.Tensor:
    """Centre-crop H and W to multiples of 8 (ComfyUI's vae_encode_crop_pixels)."""
    for dim in (1, 2):
        size = pixels.shape[dim]
        keep = (size // multiple) * multiple
        if keep != size:
            pixels = pixels.narrow(dim, (size % multiple) // 2, keep)
    return pixels[..., :3]


def encode(vae: Any, pixels: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
    device, dtype = _device_dtype(vae)
    pixels = crop_to_multiple(pixels)
    latents = []
    for sample in pixels.split(1):
        if check is not None:
            check()
        x = (sample.movedim(-1, 1) * 2.0 - 1.0).to(device, dtype)
        latents.append(vae.encode(x).latent_dist.mode().float().cpu())  # the mode, as ComfyUI: deterministic
    return torch.cat(latents)


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    weights = torch.ones(length)
    if overlap > 0:
        ramp = torch.linspace(1.0 / (overlap + 1), overlap / (overlap + 1), overlap)
        if not at_start:
            weights[:overlap] = ramp[: min(overlap, length)]
        if not at_end:
            weights[-overlap:] = torch.minimum(weights[-overlap:], ramp.flip(0)[: min(overlap, length)])
    return weights


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int, scale: float,
          out_channels: int) -> torch.Tensor:
    """Apply ``fn`` (NCHW → NCHW, spatially scaled by ``scale``) tile by tile with blended seams."""
    n, _, height, width = x.shape
    out_h, out_w = round(height * scale), round(width * scale)
    output = torch.zeros(n, out_channels, out_h, out_w)
    weight = torch.zeros(1, 1, out_h, out_w)
    stride = max(1, tile - overlap)
    ys = list(range(0, max(height - overlap, 1), stride)) or [0]
    xs = list(range(0, max(width - overlap, 1), stride)) or [0]
    for y in ys:
        for x0 in xs:
            y0, x1 = min(y, max(0, height - tile)), min(x0, max(0, width - tile))
            piece = fn(x[:, :, y0:y0 + tile, x1:x1 + tile]).float().cpu()
            ph, pw = piece.shape[-2], piece.shape[-1]
            oy, ox = round(y0 * scale), round(x1 * scale)
            o = round(overlap * scale)
            mask = (_ramp(ph, o, oy == 0, oy + ph >= out_h)[:, None] *
                    _ramp(pw, o, ox == 0, ox + pw >= out_w)[None, :])[None, None]
            output[:, :, oy:oy + ph, ox:ox + pw] += piece * mask
            weight[:, :, oy:oy + ph, ox:ox + pw] += mask
    return output / weight.clamp_min(1e-8)


def decode_tiled(vae: Any, latents: torch.Tensor, tile: int, overlap: int,
                 check: Callable[[], None] | None = None) -> torch.Tensor:
    device, dtype = _device_dtype(vae)

    def run(piece: torch.Tensor) -> torch.Tensor:
        if check is not None:
            check()
        return vae.decode(piece.to(device, dtype), return_dict=False)[0]

    out = tiled(run, latents, tile, overlap, DOWNSCALE, 3)
    return ((out + 1.0) / 2.0).clamp(0, 1).movedim(1, -1)


def encode_tiled(vae: Any, pixels: torch.Tensor, tile: int, overlap: int,
                 check: Callable[[], None] | None = None) -> torch.Tensor:
    device, dtype = _device_dtype(vae)
    pixels = crop_to_multiple(pixels)

    def run(piece: torch.Tensor) -> torch.Tensor:
        if check is not None:
            check()
        return vae.encode(piece.to(device, dtype)).latent_dist.mode()

    channels = int(getattr(vae.config, "latent_channels", 4))
    return tiled(run, pixels.movedim(-1, 1) * 2.0 - 1.0, tile, overlap, 1 / DOWNSCALE, channels)

"""Tensor helpers shared by the image nodes (imports torch: import this module inside node bodies).

Conventions are ComfyUI's: IMAGE is float32 [B, H, W, C] in 0..1, MASK is [B, H, W].
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image as PILImage

UPSCALE_METHODS = ("nearest-exact", "bilinear", "area", "bicubic", "lanczos", "bislerp")


def to_pil(image: torch.Tensor) -> PILImage.Image:
    """One [H, W, C] image → an 8-bit PIL image (truncating, as ComfyUI's SaveImage does)."""
    array = np.clip(255.0 * image.detach().cpu().float().numpy(), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return PILImage.fromarray(array)


def from_pil(image: PILImage.Image) -> torch.Tensor:
    """A PIL image → [1, H, W, C] float32."""
    array = np.asarray(image).astype(np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy())[None]


def lanczos(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Lanczos resize through Pillow, NCHW in and out (8-bit quantised, like ComfyUI; 1 channel works)."""
    out = []
    for image in samples:
        resized = to_pil(image.movedim(0, -1)).resize((width, height), resample=PILImage.Resampling.LANCZOS)
        out.append(from_pil(resized)[0].movedim(-1, 0))
    return torch.stack(out).to(samples.device, samples.dtype)


def _slerp(a: torch.Tensor, b: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of vectors [N, C] by ratios [N, 1]; lengths are interpolated linearly."""
    a_norm = a.norm(dim=-1, keepdim=True)
    b_norm = b.norm(dim=-1, keepdim=True)
    a_unit = torch.where(a_norm > 0, a / a_norm.clamp_min(1e-12), torch.zeros_like(a))
    b_unit = torch.where(b_norm > 0, b / b_norm.clamp_min(1e-12), torch.zeros_like(b))
    dot = (a_unit * b_unit).sum(-1, keepdim=True).clamp(-1, 1)
    omega = torch.acos(dot)
    sin_omega = torch.sin(omega)
    result = (torch.sin((1 - r) * omega) * a_unit + torch.sin(r * omega) * b_unit) / sin_omega.clamp_min(1e-12)
    result = result * (a_norm * (1 - r) + b_norm * r)
    linear = a * (1 - r) + b * r
    degenerate = (dot > 1 - 1e-5) | (dot < -1 + 1e-5)  # (anti)parallel: slerp is undefined, blend linearly
    return torch.where(degenerate, linear, result)


def _slerp_axis(samples: torch.Tensor, size: int) -> torch.Tensor:
    """Resize the last axis of NCHW samples by slerping neighbouring channel vectors."""
    old = samples.shape[-1]
    position = ((torch.arange(size, dtype=torch.float32) + 0.5) * (old / size) - 0.5).clamp(0, old - 1)
    low = position.floor().long()
    high = (low + 1).clamp(max=old - 1)
    ratio = (position - low.float()).reshape(1, 1, 1, size)
    n, c, h, _ = samples.shape
    first = samples[..., low].movedim(1, -1).reshape(-1, c)
    second = samples[..., high].movedim(1, -1).reshape(-1, c)
    ratios = ratio.expand(n, 1, h, size).movedim(1, -1).reshape(-1, 1)
    return _slerp(first, second, ratios).reshape(n, h, size, c).movedim(-1, 1)


def bislerp(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Resize NCHW latents with spherical interpolation along width, then height (ComfyUI's bislerp):
    it keeps latent vectors' lengths, which plain bilinear interpolation shrinks."""
    dtype = samples.dtype
    out = _slerp_axis(samples.float(), width)
    out = _slerp_axis(out.transpose(-1, -2), height).transpose(-1, -2)
    return out.to(dtype)


def center_crop(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Crop NCHW samples to the aspect ratio of width×height, keeping the centre."""
    old_w, old_h = samples.shape[-1], samples.shape[-2]
    old_aspect, new_aspect = old_w / old_h, width / height
    x = y = 0
    if old_aspect > new_aspect:
        x = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
    elif old_aspect < new_aspect:
        y = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
    return samples.narrow(-2, y, old_h - y * 2).narrow(-1, x, old_w - x * 2)


def common_upscale(samples: torch.Tensor, width: int, height: int, method: str, crop: str) -> torch.Tensor:
    """Resize NCHW samples to width×height (ComfyUI's common_upscale: optional centre crop first).

    Video latents [B, C, T, H, W] (and any other leading dimensions) are resized frame by frame, as
    ComfyUI's common_upscale does for 5-D samples."""
    if width < 1 or height < 1:
        raise ValueError(f"cannot resize to {width}x{height}: both sides must be at least 1 pixel")
    if samples.ndim > 4:
        shape = tuple(samples.shape)
        frames = samples.reshape(shape[0], shape[1], -1, shape[-2], shape[-1]).movedim(2, 1)
        out = common_upscale(frames.reshape(-1, shape[1], shape[-2], shape[-1]), width, height, method, crop)
        out = out.reshape(shape[0], -1, shape[1], height, width).movedim(1, 2)
        return out.reshape(*shape[:-2], height, width)
    if crop == "center":
        samples = center_crop(samples, width, height)
    if method == "lanczos":
        return lanczos(samples, width, height)
    if method == "bislerp":
        return bislerp(samples, width, height)
    if method not in UPSCALE_METHODS:
        raise ValueError(f"unknown upscale method {method!r}; choose one of {', '.join(UPSCALE_METHODS)}")
    return F.interpolate(samples, size=(height, width), mode=method)


def resize_image(image: torch.Tensor, width: int, height: int, method: str, crop: str = "disabled") -> torch.Tensor:
    """IMAGE [B,H,W,C] → resized IMAGE."""
    return common_upscale(image.movedim(-1, 1), width, height, method, crop).movedim(1, -1)


def alpha_fix(destination: torch.Tensor, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Give two images the same channel count: drop the source's extra channel, or give the source an
    opaque alpha (ComfyUI 0.8.0 padded the destination instead, which then failed to broadcast)."""
    if destination.shape[-1] < source.shape[-1]:
        source = source[..., : destination.shape[-1]]
    elif destination.shape[-1] > source.shape[-1]:
        source = F.pad(source, (0, destination.shape[-1] - source.shape[-1]), value=1.0)
    return destination, source


def repeat_to_batch_size(tensor: torch.Tensor, size: int, dim: int = 0) -> torch.Tensor:
    """Truncate or repeat along ``dim`` to exactly ``size`` items."""
    current = tensor.shape[dim]
    if current > size:
        return tensor.narrow(dim, 0, size)
    if current < size:
        repeats = [1] * tensor.ndim
        repeats[dim] = math.ceil(size / current)
        return tensor.repeat(*repeats).narrow(dim, 0, size)
    return tensor


def gaussian_kernel(size: int, sigma: float, device: torch.device | None = None) -> torch.Tensor:
    """A normalised size×size Gaussian on a [-1, 1] grid (sigma relative to the half-width, as ComfyUI)."""
    axis = torch.linspace(-1, 1, size, device=device)
    x, y = torch.meshgrid(axis, axis, indexing="ij")
    kernel = torch.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return kernel / kernel.sum()


def depthwise_filter(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve every channel of IMAGE [B,H,W,C] with ``kernel`` using reflected borders."""
    radius = kernel.shape[-1] // 2
    channels = image.shape[-1]
    height, width = image.shape[1], image.shape[2]
    if radius >= height or radius >= width:
        raise ValueError(f"filter radius {radius} needs an image larger than {radius}px on each side, "
                         f"got {width}x{height}")
    x = image.permute(0, 3, 1, 2)
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    weight = kernel.to(x.dtype).repeat(channels, 1, 1).unsqueeze(1)
    out = F.conv2d(x, weight, groups=channels)
    return out.permute(0, 2, 3, 1)

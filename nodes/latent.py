"""Latent images: empty latents, resizing, batches and inpainting masks (ComfyUI's latent nodes).

A LATENT is a dict: ``samples`` [B, C, H/8, W/8], optionally ``noise_mask`` [B, 1, h, w] (1 = repaint)
and ``batch_index`` (which noise seeds a batch slice uses, so a slice reproduces its full-batch image).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from inkgraph.engine import Allocation, Float, Int, Latent, Mask, Output, Socket, node

from . import MAX_RESOLUTION

LatentMethod = Literal["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]
PixelSize = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=8)]
LATENT_CHANNELS = 4


@node(display_name="Empty Latent Image", category="latent",
      description="Create a new batch of empty latent images to be denoised via sampling.",
      allocates=Allocation(("width", "height", "batch_size"), bytes_per_pixel=LATENT_CHANNELS * 4 / 64))
def EmptyLatentImage(
    width: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=8,
                              tooltip="The width of the latent images in pixels.")] = 512,
    height: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=8,
                               tooltip="The height of the latent images in pixels.")] = 512,
    batch_size: Annotated[int, Int(min=1, max=4096, tooltip="The number of latent images in the batch.")] = 1,
) -> Annotated[dict[str, Any], Socket(type="LATENT"), Output(tooltip="The empty latent image batch.")]:
    import torch

    return {"samples": torch.zeros([batch_size, LATENT_CHANNELS, height // 8, width // 8])}


def _resized(samples: Latent, width: int, height: int, method: str, crop: str) -> Latent:
    from .image_utils import common_upscale

    out = dict(samples)
    out["samples"] = common_upscale(samples["samples"], width, height, method, crop)
    return out


@node(display_name="Upscale Latent", category="latent")
def LatentUpscale(samples: Latent, *, upscale_method: LatentMethod, width: PixelSize = 512,
                  height: PixelSize = 512, crop: Literal["disabled", "center"]) -> Latent:
    """Resizes latents to a size in pixels (a side of 0 keeps the aspect ratio; at least 64 px)."""
    if width == 0 and height == 0:
        return samples
    latent_h, latent_w = samples["samples"].shape[-2], samples["samples"].shape[-1]
    if width == 0:
        height = max(64, height)
        width = max(64, round(latent_w * height / latent_h))
    elif height == 0:
        width = max(64, width)
        height = max(64, round(latent_h * width / latent_w))
    else:
        width, height = max(64, width), max(64, height)
    return _resized(samples, width // 8, height // 8, upscale_method, crop)


@node(display_name="Upscale Latent By", category="latent")
def LatentUpscaleBy(samples: Latent, *, upscale_method: LatentMethod,
                    scale_by: Annotated[float, Float(min=0.01, max=8.0, step=0.01)] = 1.5) -> Latent:
    """Resizes latents by a factor (the usual first half of a "hires fix")."""
    width = max(1, round(samples["samples"].shape[-1] * scale_by))
    height = max(1, round(samples["samples"].shape[-2] * scale_by))
    return _resized(samples, width, height, upscale_method, "disabled")


def _repeat_rows(tensor: Any, count: int) -> Any:
    """Repeat along the batch axis up to ``count`` rows."""
    if tensor.shape[0] >= count:
        return tensor[:count]
    reps = (math.ceil(count / tensor.shape[0]),) + (1,) * (tensor.ndim - 1)
    return tensor.repeat(reps)[:count]


@node(display_name="Latent From Batch", category="latent/batch")
def LatentFromBatch(samples: Latent, batch_index: Annotated[int, Int(min=0, max=63)] = 0,
                    length: Annotated[int, Int(min=1, max=64)] = 1) -> Latent:
    """Takes ``length`` latents starting at ``batch_index``; they keep their original noise seeds."""
    source = samples["samples"]
    start = min(source.shape[0] - 1, batch_index)
    length = min(source.shape[0] - start, length)
    out = dict(samples)
    out["samples"] = source[start:start + length].clone()
    if "noise_mask" in samples:
        masks = samples["noise_mask"]
        out["noise_mask"] = masks.clone() if masks.shape[0] == 1 else \
            _repeat_rows(masks, source.shape[0])[start:start + length].clone()
    indices = samples.get("batch_index", list(range(source.shape[0])))
    out["batch_index"] = list(indices[start:start + length])
    return out


@node(display_name="Repeat Latent Batch", category="latent/batch")
def RepeatLatentBatch(samples: Latent, amount: Annotated[int, Int(min=1, max=64)] = 1) -> Latent:
    """Repeats the batch ``amount`` times (each copy gets its own noise)."""
    source = samples["samples"]
    out = dict(samples)
    out["samples"] = source.repeat((amount,) + (1,) * (source.ndim - 1))
    masks = samples.get("noise_mask")
    if masks is not None and masks.shape[0] > 1:
        masks = _repeat_rows(masks, source.shape[0])
        out["noise_mask"] = masks.repeat((amount,) + (1,) * (masks.ndim - 1))
    if "batch_index" in samples:
        indices = list(samples["batch_index"])
        offset = max(indices) - min(indices) + 1
        out["batch_index"] = indices + [i + k * offset for k in range(1, amount) for i in indices]
    return out


@node(display_name="Set Latent Noise Mask", category="latent/inpaint")
def SetLatentNoiseMask(samples: Latent, mask: Mask) -> Latent:
    """Limits sampling to the masked area (1 = repaint); the rest keeps the input latent."""
    out = dict(samples)
    out["noise_mask"] = mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1]))
    return out


NODES = [EmptyLatentImage, LatentUpscale, LatentUpscaleBy, LatentFromBatch, RepeatLatentBatch, SetLatentNoiseMask]


@node(category="latent/sd3")
def EmptySD3LatentImage(
    width: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)] = 1024,
    height: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)] = 1024,
    batch_size: Annotated[int, Int(min=1, max=4096)] = 1,
) -> Latent:
    """An empty 16-channel latent (SD3, Flux, Chroma) of the given size in pixels."""
    import torch

    return {"samples": torch.zeros([batch_size, 16, height // 8, width // 8]), "downscale_ratio_spacial": 8}


NODES += [EmptySD3LatentImage]

"""Pixel filters and compositing: blur, sharpen, blend modes, masked composite (ComfyUI's nodes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Float, Image, Int, Mask, node

from . import MAX_RESOLUTION


@node(display_name="Image Blur", category="image/postprocessing")
def ImageBlur(
    image: Image,
    blur_radius: Annotated[int, Int(min=1, max=31, step=1)] = 1,
    sigma: Annotated[float, Float(min=0.1, max=10.0, step=0.1)] = 1.0,
) -> Image:
    """Gaussian blur over a (2·radius+1)² window; sigma is relative to the window's half-width."""
    from .image_utils import depthwise_filter, gaussian_kernel

    kernel = gaussian_kernel(blur_radius * 2 + 1, sigma, device=image.device)
    return depthwise_filter(image, kernel)


@node(display_name="Image Sharpen", category="image/postprocessing")
def ImageSharpen(
    image: Image,
    sharpen_radius: Annotated[int, Int(min=1, max=31, step=1)] = 1,
    sigma: Annotated[float, Float(min=0.1, max=10.0, step=0.01)] = 1.0,
    alpha: Annotated[float, Float(min=0.0, max=5.0, step=0.01)] = 1.0,
) -> Image:
    """Unsharp-mask style sharpening; alpha 0 leaves the image unchanged."""
    from .image_utils import depthwise_filter, gaussian_kernel

    size = sharpen_radius * 2 + 1
    kernel = gaussian_kernel(size, sigma, device=image.device) * -(alpha * 10)
    center = size // 2
    kernel[center, center] = kernel[center, center] - kernel.sum() + 1.0
    return depthwise_filter(image, kernel).clamp(0, 1)


BlendMode = Literal["normal", "multiply", "screen", "overlay", "soft_light", "difference"]


def _blend(mode: str, a: Any, b: Any) -> Any:
    import torch

    if mode == "normal":
        return b
    if mode == "multiply":
        return a * b
    if mode == "screen":
        return 1 - (1 - a) * (1 - b)
    if mode == "overlay":
        return torch.where(a <= 0.5, 2 * a * b, 1 - 2 * (1 - a) * (1 - b))
    if mode == "soft_light":
        g = torch.where(a <= 0.25, ((16 * a - 12) * a + 4) * a, torch.sqrt(a))
        return torch.where(b <= 0.5, a - (1 - 2 * b) * a * (1 - a), a + (2 * b - 1) * (g - a))
    if mode == "difference":
        return a - b
    raise ValueError(f"Unsupported blend mode: {mode}")


@node(display_name="Image Blend", category="image/postprocessing")
def ImageBlend(image1: Image, image2: Image,
               blend_factor: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 0.5, *,
               blend_mode: BlendMode) -> Image:
    """Blends image2 over image1 with a blend mode; image2 is resized (bicubic, centre crop) to fit."""
    from .image_utils import alpha_fix, resize_image

    image1, image2 = alpha_fix(image1, image2.to(image1.device))
    if image1.shape[1:] != image2.shape[1:]:
        image2 = resize_image(image2, image1.shape[2], image1.shape[1], "bicubic", "center")
    blended = _blend(blend_mode, image1, image2)
    return (image1 * (1 - blend_factor) + blended * blend_factor).clamp(0, 1)


Offset = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)]


@node(display_name="Image Composite Masked", category="image")
def ImageCompositeMasked(destination: Image, source: Image, x: Offset = 0, y: Offset = 0,
                         resize_source: Annotated[bool, Boolean()] = False, mask: Mask = None) -> Image:
    """Pastes source onto destination at (x, y); where a mask is given, 1 takes the source."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from .image_utils import alpha_fix, repeat_to_batch_size

    destination, source = alpha_fix(destination, source)
    dest = destination.clone().movedim(-1, 1)
    src = source.to(dest.device).movedim(-1, 1)
    dest_h, dest_w = dest.shape[2], dest.shape[3]
    if resize_source:
        src = F.interpolate(src, size=(dest_h, dest_w), mode="bilinear")
    src = repeat_to_batch_size(src, dest.shape[0])
    src_h, src_w = src.shape[2], src.shape[3]
    x = max(-src_w, min(x, dest_w))
    y = max(-src_h, min(y, dest_h))
    if mask is None:
        weight = torch.ones_like(src)
    else:
        weight = mask.to(dest.device, copy=True).reshape(-1, 1, mask.shape[-2], mask.shape[-1])
        weight = F.interpolate(weight, size=(src_h, src_w), mode="bilinear")
        weight = repeat_to_batch_size(weight, src.shape[0])
    visible_h, visible_w = dest_h - y, dest_w - x
    weight = weight[:, :, :visible_h, :visible_w]
    region = dest[:, :, y:y + src_h, x:x + src_w]
    dest[:, :, y:y + src_h, x:x + src_w] = weight * src[:, :, :visible_h, :visible_w] + (1 - weight) * region
    return dest.movedim(1, -1)


NODES = [ImageBlur, ImageSharpen, ImageBlend, ImageCompositeMasked]

"""Geometry and construction of images: empty, invert, resize, crop, pad, batch (ComfyUI's nodes)."""

from __future__ import annotations

from typing import Annotated, Literal

from inkgraph.engine import Allocation, Float, Image, Int, Mask, node

from . import MAX_RESOLUTION

UpscaleMethod = Literal["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
Size = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)]


@node(category="image", allocates=Allocation(("width", "height", "batch_size"), bytes_per_pixel=12))
def EmptyImage(
    width: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 512,
    height: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 512,
    batch_size: Annotated[int, Int(min=1, max=4096)] = 1,
    color: Annotated[int, Int(min=0, max=0xFFFFFF, step=1, display="color")] = 0,
) -> Image:
    """A batch of images filled with one colour (``color`` is 0xRRGGBB)."""
    import torch

    rgb = [((color >> shift) & 0xFF) / 0xFF for shift in (16, 8, 0)]
    return torch.tensor(rgb, dtype=torch.float32).expand(batch_size, height, width, 3).contiguous()


@node(display_name="Invert Image", category="image")
def ImageInvert(image: Image) -> Image:
    """Inverts every channel: 1 − value."""
    return 1.0 - image


@node(display_name="Upscale Image", category="image/upscaling")
def ImageScale(image: Image, *, upscale_method: UpscaleMethod, width: Size = 512, height: Size = 512,
               crop: Literal["disabled", "center"]) -> Image:
    """Resizes to width×height; a side of 0 keeps the aspect ratio, both 0 leave the image as it is."""
    from .image_utils import resize_image

    if width == 0 and height == 0:
        return image
    old_h, old_w = image.shape[1], image.shape[2]
    if width == 0:
        width = max(1, round(old_w * height / old_h))
    elif height == 0:
        height = max(1, round(old_h * width / old_w))
    return resize_image(image, width, height, upscale_method, crop)


@node(display_name="Upscale Image By", category="image/upscaling")
def ImageScaleBy(image: Image, *, upscale_method: UpscaleMethod,
                 scale_by: Annotated[float, Float(min=0.01, max=8.0, step=0.01)] = 1.0) -> Image:
    """Resizes by a factor."""
    from .image_utils import resize_image

    width = max(1, round(image.shape[2] * scale_by))
    height = max(1, round(image.shape[1] * scale_by))
    return resize_image(image, width, height, upscale_method)


@node(display_name="Image Crop", category="image/transform")
def ImageCrop(
    image: Image,
    width: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 512,
    height: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 512,
    x: Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)] = 0,
    y: Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)] = 0,
) -> Image:
    """Crops a width×height region at (x, y); a region past the edge is cut short, never padded."""
    x = min(x, image.shape[2] - 1)
    y = min(y, image.shape[1] - 1)
    return image[:, y:y + height, x:x + width, :]


Pad = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=8)]


@node(display_name="Pad Image for Outpainting", category="image")
def ImagePadForOutpaint(
    image: Image, left: Pad = 0, top: Pad = 0, right: Pad = 0, bottom: Pad = 0,
    feathering: Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)] = 40,
) -> tuple[Image, Mask]:
    """Pads with grey and returns a mask of the new area, feathered into the original by ``feathering``."""
    import torch

    batch, height, width, channels = image.shape
    new_image = torch.full((batch, height + top + bottom, width + left + right, channels), 0.5,
                           dtype=torch.float32)
    new_image[:, top:top + height, left:left + width, :] = image
    mask = torch.ones((height + top + bottom, width + left + right), dtype=torch.float32)
    inner = torch.zeros((height, width), dtype=torch.float32)
    if 0 < feathering and feathering * 2 < height and feathering * 2 < width:
        rows = torch.arange(height, dtype=torch.float32)[:, None]
        cols = torch.arange(width, dtype=torch.float32)[None, :]
        big = float(max(height, width))
        d_top = rows.expand(height, width) if top else torch.full((height, width), big)
        d_bottom = (height - rows).expand(height, width) if bottom else torch.full((height, width), big)
        d_left = cols.expand(height, width) if left else torch.full((height, width), big)
        d_right = (width - cols).expand(height, width) if right else torch.full((height, width), big)
        d = torch.minimum(torch.minimum(d_top, d_bottom), torch.minimum(d_left, d_right))
        v = (feathering - d) / feathering
        inner = torch.where(d < feathering, v * v, inner)
    mask[top:top + height, left:left + width] = inner
    return new_image, mask.unsqueeze(0)


@node(display_name="Batch Images", category="image", deprecated=True)
def ImageBatch(image1: Image, image2: Image) -> Image:
    """Joins two batches; the second is resized (bilinear, centre crop) to the first's size if needed."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from .image_utils import resize_image

    if image1.shape[-1] != image2.shape[-1]:
        if image1.shape[-1] < image2.shape[-1]:
            image1 = F.pad(image1, (0, 1), value=1.0)
        else:
            image2 = F.pad(image2, (0, 1), value=1.0)
    if image1.shape[1:] != image2.shape[1:]:
        image2 = resize_image(image2, image1.shape[2], image1.shape[1], "bilinear", "center")
    return torch.cat((image1, image2), dim=0)


NODES = [EmptyImage, ImageInvert, ImageScale, ImageScaleBy, ImageCrop, ImagePadForOutpaint, ImageBatch]

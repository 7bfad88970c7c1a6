"""Masks: converting between images and masks, solid and inverted masks (ComfyUI's nodes).

A MASK is a float tensor [B, H, W]; 1 usually marks the area to work on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from inkgraph.engine import Allocation, Float, Image, Int, Mask, node

from . import MAX_RESOLUTION


@node(display_name="Convert Image to Mask", category="mask")
def ImageToMask(image: Image, *, channel: Literal["red", "green", "blue", "alpha"]) -> Mask:
    """Takes one channel of the image as the mask (alpha is not inverted here, unlike LoadImage)."""
    index = ["red", "green", "blue", "alpha"].index(channel)
    if index >= image.shape[-1]:
        raise ValueError(f"channel {channel!r} requested but the image has only {image.shape[-1]} channels")
    return image[:, :, :, index]


@node(display_name="Convert Mask to Image", category="mask")
def MaskToImage(mask: Mask) -> Image:
    """A greyscale RGB image of the mask."""
    return mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1])).movedim(1, -1).expand(-1, -1, -1, 3)


Side = Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)]


@node(display_name="Solid Mask", category="mask", allocates=Allocation(("width", "height"), bytes_per_pixel=4))
def SolidMask(value: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0, width: Side = 512,
              height: Side = 512) -> Mask:
    """A width×height mask filled with one value."""
    import torch

    return torch.full((1, height, width), value, dtype=torch.float32)


@node(display_name="Invert Mask", category="mask")
def InvertMask(mask: Mask) -> Mask:
    """1 − mask."""
    return 1.0 - mask


NODES = [ImageToMask, MaskToImage, SolidMask, InvertMask]

"""Mask editing: crop, combine, feather, grow/shrink, threshold, colour keying, loading a channel of an
image file, previewing (ComfyUI's ``nodes_mask`` and ``LoadImageMask``).

A MASK is float32 [B, H, W]; 1 usually marks the area to work on.
"""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Combo, Context, Float, Hidden, Image, Int, Mask, NodeOutput, Output, node
from inkgraph.engine.core.paths import Folders, file_sha256

from . import MAX_RESOLUTION
from .media_io import input_path, validate_input_file

Coord = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)]
Side = Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)]


def _mask(value: Any, node_name: str, input_name: str) -> Any:
    """The input as [B, H, W] (a single [H, W] mask gets a batch of one), or an error naming node and input."""
    if not hasattr(value, "shape") or len(value.shape) < 2:
        shape = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
        raise ValueError(f"{node_name}: input {input_name!r} must be a MASK [batch, height, width], got {shape}")
    return value.reshape((-1, value.shape[-2], value.shape[-1]))


@node(category="mask")
def CropMask(mask: Mask, x: Coord = 0, y: Coord = 0, width: Side = 512, height: Side = 512) -> Mask:
    """The width×height region at (x, y); a region past the edge is cut short."""
    return _mask(mask, "CropMask", "mask")[:, y:y + height, x:x + width]


@node(category="mask")
def MaskComposite(destination: Mask, source: Mask, x: Coord = 0, y: Coord = 0, *,
                  operation: Literal["multiply", "add", "subtract", "and", "or", "xor"]) -> Mask:
    """Combines source into destination at (x, y) with an arithmetic or logical (rounded) operation;
    the result is clamped to 0..1."""
    import torch

    out = _mask(destination, "MaskComposite", "destination").clone()
    src = _mask(source, "MaskComposite", "source").to(out.device)
    right, bottom = min(x + src.shape[-1], out.shape[-1]), min(y + src.shape[-2], out.shape[-2])
    src = src[:, :bottom - y, :right - x]
    dst = out[:, y:bottom, x:right]
    if operation == "multiply":
        result = dst * src
    elif operation == "add":
        result = dst + src
    elif operation == "subtract":
        result = dst - src
    else:
        logic = {"and": torch.bitwise_and, "or": torch.bitwise_or, "xor": torch.bitwise_xor}[operation]
        result = logic(dst.round().bool(), src.round().bool()).float()
    out[:, y:bottom, x:right] = result
    return torch.clamp(out, 0.0, 1.0)


@node(category="mask")
def FeatherMask(mask: Mask, left: Coord = 0, top: Coord = 0, right: Coord = 0, bottom: Coord = 0) -> Mask:
    """Fades the mask linearly to the edges over the given widths (the outermost pixel keeps 1/width).

    ComfyUI 0.8.0 faded the wrong row and column on the right and bottom edges; this follows the fix
    ComfyUI made later.
    """
    out = _mask(mask, "FeatherMask", "mask").clone()
    left, right = min(left, out.shape[-1]), min(right, out.shape[-1])
    top, bottom = min(top, out.shape[-2]), min(bottom, out.shape[-2])
    for i in range(left):
        out[:, :, i] *= (i + 1.0) / left
    for i in range(right):
        out[:, :, -(i + 1)] *= (i + 1.0) / right
    for i in range(top):
        out[:, i, :] *= (i + 1.0) / top
    for i in range(bottom):
        out[:, -(i + 1), :] *= (i + 1.0) / bottom
    return out


@node(display_name="Grow Mask", category="mask")
def GrowMask(
    mask: Mask,
    expand: Annotated[int, Int(min=-MAX_RESOLUTION, max=MAX_RESOLUTION, step=1)] = 0,
    tapered_corners: Annotated[bool, Boolean()] = True,
) -> Mask:
    """Grows (expand > 0) or shrinks (expand < 0) the mask by one pixel per step: a grey dilation or
    erosion with a 3×3 cross (tapered corners) or square. Pixels outside the mask do not count."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    out = _mask(mask, "GrowMask", "mask").float()[:, None]
    if expand == 0:
        return out[:, 0].clone()
    sign = 1.0 if expand > 0 else -1.0  # erosion is dilation of the negated mask
    out = out * sign
    for _ in range(abs(expand)):
        padded = F.pad(out, (1, 1, 1, 1), mode="constant", value=-float("inf"))
        if tapered_corners:
            shifts = [padded[:, :, 1:-1, 1:-1], padded[:, :, :-2, 1:-1], padded[:, :, 2:, 1:-1],
                      padded[:, :, 1:-1, :-2], padded[:, :, 1:-1, 2:]]
            out = torch.stack(shifts).amax(dim=0)
        else:
            out = F.max_pool2d(padded, kernel_size=3, stride=1)
    return (out * sign)[:, 0]


@node(category="mask")
def ThresholdMask(mask: Mask, value: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 0.5) -> Mask:
    """1 where the mask is above ``value``, else 0."""
    return (_mask(mask, "ThresholdMask", "mask") > value).float()


@node(category="mask")
def ImageColorToMask(image: Image,
                     color: Annotated[int, Int(min=0, max=0xFFFFFF, step=1, display="number")] = 0) -> Mask:
    """1 where the pixel's 8-bit colour equals ``color`` (0xRRGGBB) exactly, else 0."""
    import torch

    if not hasattr(image, "shape") or len(image.shape) != 4 or image.shape[-1] < 3:
        raise ValueError("ImageColorToMask: input 'image' must be an RGB IMAGE [batch, height, width, 3]")
    rgb = (torch.clamp(image, 0, 1.0) * 255.0).round().to(torch.int)
    packed = (rgb[..., 0] << 16) + (rgb[..., 1] << 8) + rgb[..., 2]
    return torch.where(packed == color, 1.0, 0.0).float()


def _list_input_files(folders: Folders) -> list[str]:
    """Every file directly in input/ (ComfyUI lists all files here, not only images)."""
    import os

    folder = folders.input
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_file())
    except FileNotFoundError:
        return []


@node(display_name="Load Image (as Mask)", category="mask")
class LoadImageMask:
    """Loads one channel of an image in input/ as a mask; the alpha channel is inverted (1 = transparent),
    as LoadImage's mask is. A channel the file lacks gives a 64×64 zero mask, as in ComfyUI."""

    def execute(self, ctx: Context,
                image: Annotated[str, Combo(options=_list_input_files, image_upload=True)],
                channel: Literal["alpha", "red", "green", "blue"]) -> Mask:
        import numpy as np
        import torch
        from PIL import Image as PILImage
        from PIL import ImageOps

        with PILImage.open(input_path(ctx.folders, image)) as source:
            frame = ImageOps.exif_transpose(source)
            if frame.getbands() != ("R", "G", "B", "A"):
                if frame.mode == "I":
                    frame = frame.point(lambda value: value * (1 / 255))
                frame = frame.convert("RGBA")
            band = channel[0].upper()
            if band not in frame.getbands():
                return torch.zeros((1, 64, 64), dtype=torch.float32)
            mask = torch.from_numpy(np.array(frame.getchannel(band)).astype(np.float32) / 255.0)
        if band == "A":
            mask = 1.0 - mask
        return mask.unsqueeze(0)

    @staticmethod
    def fingerprint(image: str, folders: Folders) -> str:
        """The file's sha256: a replaced file re-runs the node."""
        return file_sha256(input_path(folders, image))

    @staticmethod
    def validate(image: str, folders: Folders) -> bool | str:
        """Any existing file in input/ (or ``name [output]``) is accepted, not only listed ones."""
        return validate_input_file(folders, image, "image")


_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@node(display_name="Preview Mask", category="mask", output_node=True,
      description="Saves the input images to your ComfyUI output directory.")
class MaskPreview:
    """Shows masks on the node (as grey images in temp/) and passes them on."""

    def __init__(self) -> None:
        self.suffix = "_temp_" + "".join(random.choice(_TEMP_ALPHABET) for _ in range(5))  # noqa: S311

    def execute(self, ctx: Context, mask: Mask, prompt: Annotated[Any, Hidden("PROMPT")] = None,
                extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None
                ) -> Annotated[Any, Output("mask", type="MASK")]:
        from .image_io import save_images

        masks = _mask(mask, "MaskPreview", "mask")
        images = masks.reshape((-1, 1, masks.shape[-2], masks.shape[-1])).movedim(1, -1).expand(-1, -1, -1, 3)
        results = save_images(images, ctx.folders, "temp", "ComfyUI" + self.suffix, prompt, extra_pnginfo,
                              compress_level=1, run_id=ctx.prompt_id)
        return NodeOutput(result=(mask,), ui={"images": results, "animated": [False]})


NODES = [CropMask, MaskComposite, FeatherMask, GrowMask, ThresholdMask, ImageColorToMask, LoadImageMask,
         MaskPreview]

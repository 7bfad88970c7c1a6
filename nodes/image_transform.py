"""Image geometry and simple pixel operations: flip, rotate, stitch, scale to a size or pixel count, pad,
size, noise, colour quantisation (ComfyUI's ``nodes_images`` and ``nodes_post_processing`` nodes).

IMAGE is float32 [B, H, W, C] in 0..1, as in ComfyUI.
"""

from __future__ import annotations

import math
import random
from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Combo, Context, Float, Image, Int, NodeOutput, Output, Socket, node

from . import MAX_RESOLUTION

ScaleMethod = Literal["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]


def _image(value: Any, node_name: str, input_name: str) -> Any:
    """The input as a [B, H, W, C] tensor, or an error that names the node and the input."""
    if not hasattr(value, "shape") or len(value.shape) != 4:
        shape = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
        raise ValueError(f"{node_name}: input {input_name!r} must be an IMAGE [batch, height, width, channels], "
                         f"got {shape}")
    return value


@node(category="image/transform")
def ImageFlip(image: Image, *, flip_method: Literal["x-axis: vertically", "y-axis: horizontally"]) -> Image:
    """Mirrors top↔bottom (x-axis) or left↔right (y-axis)."""
    import torch

    image = _image(image, "ImageFlip", "image")
    return torch.flip(image, dims=[1] if flip_method.startswith("x") else [2])


_ROTATIONS = {"none": 0, "90 degrees": 1, "180 degrees": 2, "270 degrees": 3}


@node(category="image/transform")
def ImageRotate(image: Image, *, rotation: Literal["none", "90 degrees", "180 degrees", "270 degrees"]) -> Image:
    """Rotates clockwise by quarter turns."""
    import torch

    return torch.rot90(_image(image, "ImageRotate", "image"), k=_ROTATIONS[rotation], dims=[2, 1])


_SPACING_COLORS: dict[str, Any] = {"white": 1.0, "black": 0.0, "red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0),
                                   "blue": (0.0, 0.0, 1.0)}


def _pad_to(image: Any, size: int, axis: int, value: float) -> Any:
    """Pad height (axis 1) or width (axis 2) to ``size``, centred."""
    import torch.nn.functional as F  # noqa: N812

    missing = size - image.shape[axis]
    if missing <= 0:
        return image
    before, after = missing // 2, missing - missing // 2
    pad = (0, 0, 0, 0, before, after) if axis == 1 else (0, 0, before, after)
    return F.pad(image, pad, mode="constant", value=value)


def _add_channels(image: Any, channels: int) -> Any:
    import torch

    if image.shape[-1] >= channels:
        return image
    ones = torch.ones(*image.shape[:-1], channels - image.shape[-1], device=image.device, dtype=image.dtype)
    return torch.cat([image, ones], dim=-1)


@node(display_name="Image Stitch", category="image/transform",
      description="Stitches image2 to image1 in the specified direction.\n"
                  "If image2 is not provided, returns image1 unchanged.\n"
                  "Optional spacing can be added between images.")
def ImageStitch(
    image1: Image,
    direction: Literal["right", "down", "left", "up"] = "right",
    match_image_size: Annotated[bool, Boolean()] = True,
    spacing_width: Annotated[int, Int(min=0, max=1024, step=2)] = 0,
    spacing_color: Literal["white", "black", "red", "green", "blue"] = "white",
    image2: Image = None,
) -> Image:
    import torch

    from .image_utils import resize_image

    image1 = _image(image1, "ImageStitch", "image1")
    if image2 is None:
        return image1
    image2 = _image(image2, "ImageStitch", "image2")
    batch = max(image1.shape[0], image2.shape[0])  # the shorter batch repeats its last image
    image1 = torch.cat([image1, image1[-1:].repeat(batch - image1.shape[0], 1, 1, 1)])
    image2 = torch.cat([image2, image2[-1:].repeat(batch - image2.shape[0], 1, 1, 1)])
    horizontal = direction in ("left", "right")
    color = _SPACING_COLORS[spacing_color]
    if match_image_size:
        h1, w1 = image1.shape[1:3]
        aspect = image2.shape[2] / image2.shape[1]
        width, height = (int(h1 * aspect), h1) if horizontal else (w1, int(w1 / aspect))
        image2 = resize_image(image2, width, height, "lanczos")
    else:
        pad_value = 0.0 if isinstance(color, tuple) else color
        axis = 1 if horizontal else 2
        size = max(image1.shape[axis], image2.shape[axis])
        image1, image2 = _pad_to(image1, size, axis, pad_value), _pad_to(image2, size, axis, pad_value)
    channels = max(image1.shape[-1], image2.shape[-1])
    image1, image2 = _add_channels(image1, channels), _add_channels(image2, channels)
    parts = [image2, image1] if direction in ("left", "up") else [image1, image2]
    if spacing_width > 0:
        spacing_width += spacing_width % 2
        shape = ((batch, max(image1.shape[1], image2.shape[1]), spacing_width, channels) if horizontal
                 else (batch, spacing_width, max(image1.shape[2], image2.shape[2]), channels))
        spacing = torch.zeros(shape, device=image1.device, dtype=image1.dtype)
        if isinstance(color, tuple):
            for index, value in enumerate(color[:channels]):
                spacing[..., index] = value
        else:
            spacing[..., :min(3, channels)] = color
        if channels == 4:
            spacing[..., 3] = 1.0
        parts.insert(1, spacing)
    return torch.cat(parts, dim=2 if horizontal else 1)


@node(category="image/upscaling")
def ImageScaleToMaxDimension(
    image: Image,
    *,
    # ComfyUI lists "bilinear" twice; kept so saved workflows and the canvas show the same list.
    upscale_method: Annotated[str, Combo(options=("area", "lanczos", "bilinear", "nearest-exact", "bilinear",
                                                  "bicubic"))],
    largest_size: Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)] = 512,
) -> Image:
    """Scales so the longer side is ``largest_size`` pixels, keeping the aspect ratio."""
    from .image_utils import resize_image

    height, width = _image(image, "ImageScaleToMaxDimension", "image").shape[1:3]
    if height > width:
        width, height = round(width / height * largest_size), largest_size
    elif width > height:
        width, height = largest_size, round(height / width * largest_size)
    else:
        width = height = largest_size
    return resize_image(image, width, height, upscale_method)


@node(category="image/upscaling")
def ImageScaleToTotalPixels(
    image: Image,
    *,
    upscale_method: ScaleMethod,
    megapixels: Annotated[float, Float(min=0.01, max=16.0, step=0.01)] = 1.0,
    resolution_steps: Annotated[int, Int(min=1, max=256)] = 1,
) -> Image:
    """Scales to about ``megapixels`` × 1024² pixels, keeping the aspect ratio; each side is rounded to a
    multiple of ``resolution_steps``."""
    from .image_utils import resize_image

    height, width = _image(image, "ImageScaleToTotalPixels", "image").shape[1:3]
    scale = math.sqrt(megapixels * 1024 * 1024 / (width * height))
    new_width = round(width * scale / resolution_steps) * resolution_steps
    new_height = round(height * scale / resolution_steps) * resolution_steps
    return resize_image(image, int(new_width), int(new_height), upscale_method)


@node(category="image/transform")
def ResizeAndPadImage(
    image: Image,
    target_width: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 512,
    target_height: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 512,
    *,
    padding_color: Literal["white", "black"],
    interpolation: Literal["area", "bicubic", "nearest-exact", "bilinear", "lanczos"],
) -> Image:
    """Fits the image inside target_width×target_height (aspect ratio kept) and pads the rest, centred."""
    import torch

    from .image_utils import resize_image

    batch, height, width, channels = _image(image, "ResizeAndPadImage", "image").shape
    scale = min(target_width / width, target_height / height)
    new_width, new_height = int(width * scale), int(height * scale)
    resized = resize_image(image, new_width, new_height, interpolation)
    out = torch.full((batch, target_height, target_width, channels), 0.0 if padding_color == "black" else 1.0,
                     dtype=image.dtype, device=image.device)
    top, left = (target_height - new_height) // 2, (target_width - new_width) // 2
    out[:, top:top + new_height, left:left + new_width, :] = resized
    return out


@node(display_name="Get Image Size", category="image",
      description="Returns width and height of the image, and passes it through unchanged.")
def GetImageSize(ctx: Context, image: Image) -> tuple[
        Annotated[int, Output("width")], Annotated[int, Output("height")], Annotated[int, Output("batch_size")]]:
    # ComfyUI shows the size on the node as progress text; so do we.
    batch, height, width = _image(image, "GetImageSize", "image").shape[:3]
    ctx.text(f"width: {width}, height: {height}\n batch size: {batch}")
    return int(width), int(height), int(batch)


@node(category="image")
def ImageAddNoise(
    image: Image,
    seed: Annotated[int, Int(min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="The random seed used for creating the noise.")] = 0,
    strength: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 0.5,
) -> Image:
    """Adds Gaussian noise (drawn on the CPU from the seed, so any device gives the same result)."""
    import torch

    image = _image(image, "ImageAddNoise", "image")
    generator = torch.manual_seed(seed)
    noise = torch.randn(image.size(), generator=generator, device="cpu").to(image)
    return torch.clip(image + strength * noise, min=0.0, max=1.0)


def _bayer_matrix(order: int) -> Any:
    """ComfyUI's normalised Bayer threshold matrix of size order×order, centred on zero."""
    import numpy as np

    matrix = np.zeros((1, 1), dtype=np.float64)
    for level in range(1, int(math.log2(order)) + 1):
        q = 4 ** level
        m = q * matrix
        matrix = np.block([[m - 1.5, m + 0.5], [m + 1.5, m - 0.5]]) / q
    return matrix


def _quantize_one(image: Any, colors: int, dither: str) -> Any:
    import numpy as np
    import torch
    from PIL import Image as PILImage

    pixels = (image[..., :3] * 255).to(torch.uint8).cpu().numpy()
    im = PILImage.fromarray(pixels)
    palette = im.quantize(colors=colors)  # Pillow needs a palette image to quantise against
    if dither == "none":
        out = im.quantize(palette=palette, dither=PILImage.Dither.NONE)
    elif dither == "floyd-steinberg":
        out = im.quantize(palette=palette, dither=PILImage.Dither.FLOYDSTEINBERG)
    else:
        order = int(dither.split("-")[-1])
        spread = 2 * 256 / (len(palette.getpalette() or []) // 3)
        threshold = torch.from_numpy(spread * _bayer_matrix(order) + 0.5)
        values = torch.from_numpy(np.array(im).astype(np.float32))
        tiles = threshold.tile(math.ceil(values.shape[0] / order), math.ceil(values.shape[1] / order))
        values.add_(tiles[:values.shape[0], :values.shape[1]].unsqueeze(-1)).clamp_(0, 255)
        out = PILImage.fromarray(values.to(torch.uint8).numpy()).quantize(palette=palette,
                                                                           dither=PILImage.Dither.NONE)
    return torch.from_numpy(np.array(out.convert("RGB"))).float() / 255


@node(category="image/postprocessing")
def ImageQuantize(
    image: Image,
    colors: Annotated[int, Int(min=1, max=256, step=1)] = 256,
    *,
    dither: Literal["none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8", "bayer-16"],
) -> Image:
    """Reduces each image to a palette of at most ``colors`` colours (Pillow's median cut), optionally
    dithered."""
    import torch

    image = _image(image, "ImageQuantize", "image")
    if image.shape[-1] < 3:
        raise ValueError(f"ImageQuantize: input 'image' needs 3 colour channels, got {image.shape[-1]}")
    result = torch.zeros_like(image[..., :3])
    for index in range(image.shape[0]):
        result[index] = _quantize_one(image[index].cpu(), colors, dither).to(result)
    return result


_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@node(display_name="Crop Image", category="image/transform", outputs=[Output(type="IMAGE")],
      description="Crop an image to the specified dimensions.")
class ImageCropV2:
    """Crops to the region drawn in the canvas's box editor ({x, y, width, height}); shows the result."""

    def __init__(self) -> None:
        self.suffix = "_temp_" + "".join(random.choice(_TEMP_ALPHABET) for _ in range(5))  # noqa: S311

    def execute(self, ctx: Context, image: Image,
                crop_region: Annotated[Any, Socket(type="BOUNDING_BOX", extra={
                    "default": {"x": 0, "y": 0, "width": 512, "height": 512}, "socketless": True,
                    "component": "ImageCrop"})]) -> NodeOutput:
        from .image_io import save_images

        image = _image(image, "ImageCropV2", "image")
        region = crop_region if isinstance(crop_region, dict) else {}
        try:
            x, y = int(region.get("x", 0)), int(region.get("y", 0))
            width, height = int(region.get("width", 512)), int(region.get("height", 512))
        except (TypeError, ValueError):
            raise ValueError(f"ImageCropV2: input 'crop_region' must be {{x, y, width, height}} numbers, "
                             f"got {crop_region!r}") from None
        x, y = min(x, image.shape[2] - 1), min(y, image.shape[1] - 1)
        cropped = image[:, y:y + height, x:x + width, :]
        preview = save_images(cropped, ctx.folders, "temp", "ComfyUI" + self.suffix, None, None, compress_level=1,
                              run_id=ctx.prompt_id)
        return NodeOutput(result=(cropped,), ui={"images": preview, "animated": [False]})


NODES = [ImageCropV2, ImageFlip, ImageRotate, ImageStitch, ImageScaleToMaxDimension, ImageScaleToTotalPixels,
         ResizeAndPadImage, GetImageSize, ImageAddNoise, ImageQuantize]

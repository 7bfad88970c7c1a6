"""ComfyUI's "Resize Image/Mask" node: one node for every way of choosing a new size, with the chosen
way's own widgets (a DynamicCombo), for images or masks alike (a MatchType socket).

The options follow ComfyUI's newest version (which added "scale to multiple" and put "scale dimensions"
first); workflows saved with 0.8.0's order name their option, so both load.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any

from inkgraph.engine import (
    MATCHTYPE_TYPE,
    Combo,
    DynamicCombo,
    Float,
    Int,
    MatchType,
    Output,
    Socket,
    input_spec,
    node,
)

from . import MAX_RESOLUTION


class ResizeType(StrEnum):
    SCALE_DIMENSIONS = "scale dimensions"
    SCALE_BY = "scale by multiplier"
    SCALE_LONGER_DIMENSION = "scale longer dimension"
    SCALE_SHORTER_DIMENSION = "scale shorter dimension"
    SCALE_WIDTH = "scale width"
    SCALE_HEIGHT = "scale height"
    SCALE_TOTAL_PIXELS = "scale total pixels"
    MATCH_SIZE = "match size"
    SCALE_TO_MULTIPLE = "scale to multiple"


SCALE_METHODS = ("nearest-exact", "bilinear", "area", "bicubic", "lanczos")


def _side(name: str, tooltip: str) -> Any:
    return input_spec(name, Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1, tooltip=tooltip)], 512)


_CROP = input_spec("crop", Annotated[str, Combo(options=("disabled", "center"), tooltip=(
    "How to handle aspect ratio mismatch: 'disabled' stretches to fit, 'center' crops to maintain aspect "
    "ratio."))], "center")

_OPTIONS = {
    ResizeType.SCALE_DIMENSIONS.value: [
        _side("width", "Target width in pixels. Set to 0 to auto-calculate from height while preserving aspect "
                       "ratio."),
        _side("height", "Target height in pixels. Set to 0 to auto-calculate from width while preserving aspect "
                        "ratio."),
        _CROP],
    ResizeType.SCALE_BY.value: [input_spec("multiplier", Annotated[float, Float(
        min=0.01, max=8.0, step=0.01, tooltip="Scale factor (e.g., 2.0 doubles size, 0.5 halves size).")], 1.0)],
    ResizeType.SCALE_LONGER_DIMENSION.value: [
        _side("longer_size", "The longer edge will be resized to this value. Aspect ratio is preserved.")],
    ResizeType.SCALE_SHORTER_DIMENSION.value: [
        _side("shorter_size", "The shorter edge will be resized to this value. Aspect ratio is preserved.")],
    ResizeType.SCALE_WIDTH.value: [
        _side("width", "Target width in pixels. Height auto-adjusts to preserve aspect ratio.")],
    ResizeType.SCALE_HEIGHT.value: [
        _side("height", "Target height in pixels. Width auto-adjusts to preserve aspect ratio.")],
    ResizeType.SCALE_TOTAL_PIXELS.value: [input_spec("megapixels", Annotated[float, Float(
        min=0.01, max=16.0, step=0.01,
        tooltip="Target total megapixels (e.g., 1.0 ≈ 1024×1024). Aspect ratio is preserved.")], 1.0)],
    ResizeType.MATCH_SIZE.value: [
        input_spec("match", Annotated[Any, Socket(type="IMAGE,MASK", tooltip=(
            "Resize input to match the dimensions of this reference image or mask."))]),
        _CROP],
    ResizeType.SCALE_TO_MULTIPLE.value: [input_spec("multiple", Annotated[int, Int(
        min=1, max=MAX_RESOLUTION, step=1, tooltip=(
            "Resize so width and height are divisible by this number. Useful for latent alignment (e.g., 8 or "
            "64)."))], 8)],
}


def _as_nchw(value: Any) -> tuple[Any, bool]:
    """IMAGE [B,H,W,C] or MASK [B,H,W] → NCHW, and whether it was an image."""
    if len(value.shape) == 4:
        return value.movedim(-1, 1), True
    return value.unsqueeze(1), False


def _back(value: Any, is_image: bool) -> Any:
    return value.movedim(1, -1) if is_image else value.squeeze(1)


def _resize(value: Any, width: int, height: int, method: str, crop: str = "disabled") -> Any:
    from .image_utils import common_upscale

    samples, is_image = _as_nchw(value)
    return _back(common_upscale(samples, width, height, method, crop), is_image)


def scale_dimensions(value: Any, width: int, height: int, method: str, crop: str = "disabled") -> Any:
    """width×height; a side of 0 follows the aspect ratio, both 0 leave the input as it is."""
    if width == 0 and height == 0:
        return value
    old_h, old_w = value.shape[1], value.shape[2]
    if width == 0:
        width = max(1, round(old_w * height / old_h))
    elif height == 0:
        height = max(1, round(old_h * width / old_w))
    return _resize(value, width, height, method, crop)


def scale_longer(value: Any, size: int, method: str) -> Any:
    height, width = value.shape[1], value.shape[2]
    if height > width:
        width, height = round(width / height * size), size
    elif width > height:
        width, height = size, round(height / width * size)
    else:
        width = height = size
    return _resize(value, width, height, method)


def scale_shorter(value: Any, size: int, method: str) -> Any:
    height, width = value.shape[1], value.shape[2]
    if height < width:
        width, height = round(width / height * size), size
    elif width < height:
        width, height = size, round(height / width * size)
    else:
        width = height = size
    return _resize(value, width, height, method)


def scale_total_pixels(value: Any, megapixels: float, method: str) -> Any:
    height, width = value.shape[1], value.shape[2]
    scale = math.sqrt(int(megapixels * 1024 * 1024) / (width * height))
    return _resize(value, round(width * scale), round(height * scale), method)


def scale_to_multiple(value: Any, multiple: int, method: str) -> Any:
    """Scale (keeping the aspect ratio) just enough to cover the largest multiple-of-``multiple`` size that
    fits, then centre-crop to it: both sides end divisible by ``multiple``."""
    if multiple <= 1:
        return value
    height, width = value.shape[1], value.shape[2]
    target_w, target_h = width // multiple * multiple, height // multiple * multiple
    if target_w == 0 or target_h == 0 or (target_w == width and target_h == height):
        return value
    if target_w / width >= target_h / height:
        scaled_w, scaled_h = target_w, max(target_h, math.ceil(height * target_w / width))
    else:
        scaled_w, scaled_h = max(target_w, math.ceil(width * target_h / height)), target_h
    scaled = _resize(value, scaled_w, scaled_h, method)
    x0, y0 = (scaled_w - target_w) // 2, (scaled_h - target_h) // 2
    return scaled[:, y0:y0 + target_h, x0:x0 + target_w]


@node(display_name="Resize Image/Mask", category="transform",
      description="Resize an image or mask using various scaling methods.")
def ResizeImageMaskNode(
    input: Annotated[Any, MatchType("input_type", "IMAGE,MASK")],  # noqa: A002 - ComfyUI's input name
    *,
    resize_type: Annotated[dict[str, Any], DynamicCombo(_OPTIONS, tooltip=(
        "Select how to resize: by exact dimensions, scale factor, matching another image, etc."))],
    scale_method: Annotated[str, Combo(options=SCALE_METHODS, tooltip=(
        "Interpolation algorithm. 'area' is best for downscaling, 'lanczos' for upscaling, 'nearest-exact' for "
        "pixel art."))] = "area",
) -> Annotated[Any, Output("resized", type=MATCHTYPE_TYPE, matchtype="input_type")]:
    if not hasattr(input, "shape") or len(input.shape) not in (3, 4):
        raise ValueError("ResizeImageMaskNode: input 'input' must be an IMAGE or a MASK")
    kind = resize_type.get("resize_type")
    if kind == ResizeType.SCALE_DIMENSIONS:
        return scale_dimensions(input, resize_type["width"], resize_type["height"], scale_method,
                                resize_type["crop"])
    if kind == ResizeType.SCALE_BY:
        multiplier = resize_type["multiplier"]
        return _resize(input, round(input.shape[2] * multiplier), round(input.shape[1] * multiplier), scale_method)
    if kind == ResizeType.SCALE_LONGER_DIMENSION:
        return scale_longer(input, resize_type["longer_size"], scale_method)
    if kind == ResizeType.SCALE_SHORTER_DIMENSION:
        return scale_shorter(input, resize_type["shorter_size"], scale_method)
    if kind == ResizeType.SCALE_WIDTH:
        return scale_dimensions(input, resize_type["width"], 0, scale_method)
    if kind == ResizeType.SCALE_HEIGHT:
        return scale_dimensions(input, 0, resize_type["height"], scale_method)
    if kind == ResizeType.SCALE_TOTAL_PIXELS:
        return scale_total_pixels(input, resize_type["megapixels"], scale_method)
    if kind == ResizeType.MATCH_SIZE:
        match = resize_type.get("match")
        if match is None:
            raise ValueError("ResizeImageMaskNode: 'match size' needs the input 'resize_type.match' connected")
        return _resize(input, match.shape[2], match.shape[1], scale_method, resize_type["crop"])
    if kind == ResizeType.SCALE_TO_MULTIPLE:
        return scale_to_multiple(input, resize_type["multiple"], scale_method)
    raise ValueError(f"ResizeImageMaskNode: input 'resize_type' has an unknown value {kind!r}")


NODES = [ResizeImageMaskNode]

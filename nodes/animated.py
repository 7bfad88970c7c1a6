"""ComfyUI's animated image savers (SaveAnimatedWEBP, SaveAnimatedPNG): a batch of images as one animated
file, with the prompt and workflow embedded where ComfyUI puts them (WEBP: EXIF tags 0x0110 and 0x010F
downwards; APNG: ``comf`` chunks after the image data)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Context, Float, Hidden, Int, NodeOutput, Socket, node

from .media_io import output_files

CATEGORY = "image/animation"
WEBP_METHODS = {"default": 4, "fastest": 0, "slowest": 6}
Fps = Annotated[float, Float(min=0.01, max=1000.0, step=0.01)]


def _pil_frames(images: Any) -> list[Any]:
    from .image_utils import to_pil

    return [to_pil(image) for image in images]


def animated_result(result: dict[str, str], frames: int) -> dict[str, list[Any]]:
    """ComfyUI's ``SavedImages``: ``animated`` is present (and true) only for more than one frame."""
    return {"images": [result], "animated": [True]} if frames > 1 else {"images": [result]}


@node(category=CATEGORY, output_node=True, outputs=[])
def SaveAnimatedWEBP(
    ctx: Context,
    images: Annotated[Any, Socket(type="IMAGE")],
    *,
    filename_prefix: str = "ComfyUI",
    fps: Fps = 6.0,
    lossless: Annotated[bool, Boolean()] = True,
    quality: Annotated[int, Int(min=0, max=100)] = 80,
    method: Literal["default", "fastest", "slowest"],
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    frames = _pil_frames(images)
    [(path, result)] = output_files(ctx.folders, "output", filename_prefix, "webp",
                                    width=frames[0].width, height=frames[0].height)
    exif = frames[0].getexif()
    if prompt is not None:
        exif[0x0110] = f"prompt:{json.dumps(prompt)}"
    if isinstance(extra_pnginfo, dict):
        for offset, (key, value) in enumerate(extra_pnginfo.items()):
            exif[0x010F - offset] = f"{key}:{json.dumps(value)}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000.0 / fps), exif=exif,
                   lossless=lossless, quality=quality, method=WEBP_METHODS.get(method, 4))
    return NodeOutput(ui=animated_result(result, len(frames)))


@node(category=CATEGORY, output_node=True, outputs=[])
def SaveAnimatedPNG(
    ctx: Context,
    images: Annotated[Any, Socket(type="IMAGE")],
    filename_prefix: str = "ComfyUI",
    fps: Fps = 6.0,
    compress_level: Annotated[int, Int(min=0, max=9)] = 4,
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    from PIL.PngImagePlugin import PngInfo

    frames = _pil_frames(images)
    [(path, result)] = output_files(ctx.folders, "output", filename_prefix, "png",
                                    width=frames[0].width, height=frames[0].height)
    info = PngInfo()
    entries = ([("prompt", prompt)] if prompt is not None else []) + (
        list(extra_pnginfo.items()) if isinstance(extra_pnginfo, dict) else [])
    for key, value in entries:
        info.add(b"comf", key.encode("latin-1") + b"\0" + json.dumps(value).encode("latin-1"), after_idat=True)
    frames[0].save(path, pnginfo=info, compress_level=compress_level, save_all=True,
                   duration=int(1000.0 / fps), append_images=frames[1:])
    return NodeOutput(ui=animated_result(result, len(frames)))


NODES = [SaveAnimatedWEBP, SaveAnimatedPNG]

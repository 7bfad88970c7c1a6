"""Painter (ComfyUI's ``comfy_extras/nodes_painter.py``): what the frontend's painting widget drew, over an
image or a solid background.

The widget uploads its drawing as an RGBA PNG to input/ and puts the file's (possibly annotated) name in
``mask``; its alpha is both the painted mask and the weight the painting is composited with over the base —
the first image given, else a width×height canvas of ``bg_color``. The drawing is resized (Lanczos) to the
base's size. The result is also shown as a preview, as ComfyUI's node does.
"""

from __future__ import annotations

import random
from typing import Annotated, Any

from inkgraph.engine import Context, Int, NodeOutput, Output, Socket, String, node
from inkgraph.engine.core.paths import Folders, PathEscapeError, file_sha256

Side = Annotated[int, Int(min=64, max=4096, step=64, extra={"socketless": True, "hidden": True})]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def hex_to_rgb(color: str) -> tuple[float, float, float]:
    """"#rrggbb" (the leading # optional) as 0…1 floats; anything else is black, as ComfyUI."""
    digits = color.lstrip("#")
    if len(digits) != 6:
        return 0.0, 0.0, 0.0
    try:
        return int(digits[0:2], 16) / 255.0, int(digits[2:4], 16) / 255.0, int(digits[4:6], 16) / 255.0
    except ValueError:
        return 0.0, 0.0, 0.0


def _drawing_path(folders: Folders, name: str) -> Any:
    from .media_io import input_path

    return input_path(folders, name)  # "name.png", "clipspace/painter-1.png [input]" …


def _fingerprint(mask: str, folders: Folders) -> str:
    """The drawing's sha256 (a new drawing under the same name re-runs the node); "" without one."""
    if not (mask and mask.strip()):
        return ""
    try:
        path = _drawing_path(folders, mask)
    except PathEscapeError:
        return ""
    return file_sha256(path) if path.is_file() else ""


def composite(base: Any, drawing: Any) -> tuple[Any, Any]:
    """A [1, H, W, 3] base under an RGBA drawing [H, W, 4] (0…1): the image and the drawing's alpha [1, H, W]."""
    alpha = drawing[..., 3:4]
    image = drawing[..., :3] * alpha + base[0] * (1.0 - alpha)
    return image[None], drawing[..., 3][None]


@node(display_name="Painter", category="image", outputs=[Output("IMAGE", type="IMAGE"), Output("MASK", type="MASK")])
class Painter:
    """See the module docstring."""

    def __init__(self) -> None:
        self.suffix = "_temp_" + "".join(random.choice(_LETTERS) for _ in range(5))  # noqa: S311

    def execute(
        self,
        ctx: Context,
        image: Annotated[Any, Socket(type="IMAGE", optional=True, tooltip="Optional base image to paint over")
                         ] = None,
        mask: Annotated[str, String(multiline=False, extra={
            "socketless": True, "widgetType": "PAINTER", "image_upload": True})] = "",
        width: Side = 512,
        height: Side = 512,
        bg_color: Annotated[str, Socket(type="COLOR", extra={"default": "#000000", "socketless": True})] = "#000000",
    ) -> NodeOutput:
        import numpy as np
        import torch
        from PIL import Image as PILImage

        from .image_io import save_images

        if image is not None:
            base = image[:1]
            h, w = int(base.shape[1]), int(base.shape[2])
        else:
            h, w = height, width
            base = torch.tensor(hex_to_rgb(bg_color), dtype=torch.float32).expand(1, h, w, 3).clone()
        if mask and mask.strip():
            path = _drawing_path(ctx.folders, mask)
            if not path.is_file():
                raise ValueError(f"Painter: input 'mask' names {mask!r}, which is not a file in input/")
            with PILImage.open(path) as opened:
                drawing = opened.convert("RGBA")
                if drawing.size != (w, h):
                    drawing = drawing.resize((w, h), PILImage.LANCZOS)
                pixels = torch.from_numpy(np.asarray(drawing, dtype=np.float32) / 255.0)
            out, painted = composite(base.float().cpu(), pixels)
        else:
            out, painted = base, torch.zeros((1, h, w), dtype=torch.float32)
        previews = save_images(out, ctx.folders, "temp", "ComfyUI" + self.suffix, None, None, compress_level=1,
                               run_id=ctx.prompt_id)
        return NodeOutput(result=(out, painted), ui={"images": previews})

    fingerprint = staticmethod(_fingerprint)


NODES = [Painter]

"""Small inspection and conversion nodes: GetLatentSize (ComfyUI's ``nodes_images.py``) and ColorToRGBInt
(``nodes_color.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import Context, Output, Socket, node


@node(display_name="Get Image/Video Latent Size", category="latent",
      description="Returns the width, height, frame count, and batch size of an image or video latent.")
def GetLatentSize(
    ctx: Context,
    latent: Annotated[dict[str, Any], Socket(type="LATENT", tooltip="The image or video latent to inspect.")],
) -> tuple[Annotated[int, Output("width", tooltip="The latent width.")],
           Annotated[int, Output("height", tooltip="The latent height.")],
           Annotated[int, Output("frames", tooltip="The latent frame count. Image latents have one frame.")],
           Annotated[int, Output("batch_size", tooltip="The number of latents in the batch.")]]:
    """Sizes in latent cells (not pixels); a video latent [B, C, T, h, w] has T frames, an image latent one.
    A latent of several streams (nested) is measured by its first. Shown on the node, as ComfyUI does."""
    samples = latent["samples"]
    if getattr(samples, "is_nested", False):
        samples = samples.unbind()[0]
    if samples.ndim == 5:
        batch, _, frames, height, width = samples.shape
    else:
        batch, _, height, width = samples.shape
        frames = 1
    ctx.text(f"width: {width}, height: {height}\n frames: {frames}, batch size: {batch}")
    return int(width), int(height), int(frames), int(batch)


def rgb_int(color: str) -> tuple[int, str, float]:
    """"#RRGGBB" or "#RRGGBBAA" → (R·65536 + G·256 + B, "#RRGGBB", alpha in 0…1 (1 without one))."""
    problem = "ColorToRGBInt: input 'color' must be in format #RRGGBB or #RRGGBBAA"
    if len(color) not in (7, 9) or not color.startswith("#"):
        raise ValueError(f"{problem}, got {color!r}")
    try:
        int(color[1:], 16)
    except ValueError:
        raise ValueError(f"{problem}, got {color!r}") from None
    alpha = int(color[7:9], 16) / 255.0 if len(color) == 9 else 1.0
    color = color[:7]
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return red * 65536 + green * 256 + blue, color, alpha


@node(display_name="Color Picker", category="utilities",
      description="Return a color RGB integer value and hexadecimal representation.")
def ColorToRGBInt(
    color: Annotated[str, Socket(type="COLOR", extra={"default": "#ffffff", "socketless": True})] = "#ffffff",
) -> tuple[Annotated[int, Socket(type="INT"), Output("rgb_int")], Annotated[str, Socket(type="COLOR"), Output("hex")],
           Annotated[float, Socket(type="FLOAT"), Output("alpha")]]:
    return rgb_int(color)


NODES = [GetLatentSize, ColorToRGBInt]

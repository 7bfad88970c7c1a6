"""Newer ComfyUI output nodes the official templates use: Save Image (Advanced) with 16-bit PNG and EXR,
Save Text, and Compare Images (a before/after slider in the canvas)."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Annotated, Any

from inkgraph.engine import Combo, Context, DynamicCombo, Hidden, NodeOutput, Output, Socket, String, input_spec, node
from inkgraph.engine.core.paths import save_target

_ADVANCED = {"advanced": True}


def next_number(folder: Path, base: str) -> int:
    """1 + the highest ``<base>_NNNNN.<ext>`` (or ``_NNNNN_``) number in ``folder``."""
    pattern = re.compile(re.escape(base).replace(re.escape("%batch_num%"), r"\d+") + r"_(\d+)[._]")
    numbers = [int(m.group(1)) for name in os.listdir(folder) if (m := pattern.match(name))]
    return max(numbers, default=0) + 1


def srgb_to_linear(t: Any) -> Any:
    """Inverse sRGB transfer function on the colour channels (alpha untouched)."""
    import torch

    if t.shape[-1] == 4:
        return torch.cat([srgb_to_linear(t[..., :3]), t[..., 3:]], dim=-1)
    return torch.where(t <= 0.04045, t / 12.92, ((t.clamp(min=0.0) + 0.055) / 1.055) ** 2.4)


_HLG_A, _HLG_B, _HLG_C = 0.17883277, 0.28466892, 0.55991072928


def hlg_to_linear(t: Any) -> Any:
    """Inverse HLG OETF (BT.2100): HLG-encoded signal → scene-linear light (alpha untouched)."""
    import torch

    if t.shape[-1] == 4:
        return torch.cat([hlg_to_linear(t[..., :3]), t[..., 3:]], dim=-1)
    high = (torch.exp((t.clamp(min=0.5) - _HLG_C) / _HLG_A) + _HLG_B) / 12.0
    return torch.where(t <= 0.5, t ** 2 / 3.0, high)


def encode_image(image: Any, file_format: str, bit_depth: str, colorspace: str, texts: list[tuple[str, str]]
                 ) -> bytes:
    """One [H, W, C] image as PNG (8/16-bit, values truncated like ComfyUI) or scene-linear float EXR."""
    import numpy as np

    from .image_encode import encode_exr, encode_png, encode_png8

    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"SaveImageAdvanced: input 'images' has {image.shape[-1]} channels; 1, 3 or 4 can be saved")
    if file_format == "exr":
        linear = srgb_to_linear(image) if colorspace == "sRGB" else hlg_to_linear(image) if colorspace == "HDR" \
            else image
        return encode_exr(linear.float().cpu().numpy(), texts, "Rec.2020" if colorspace == "HDR" else "Rec.709")
    if bit_depth == "16-bit":
        pixels = (image * 65535.0).clamp(0, 65535.0).int().cpu().numpy().astype(np.uint16)
        return encode_png(pixels, texts)
    pixels = (image * 255.0).clamp(0, 255.0).int().cpu().numpy().astype(np.uint8)
    return encode_png8(pixels, texts)


_FORMATS = {
    "png": [
        input_spec("bit_depth", Annotated[str, Combo(options=("8-bit", "16-bit"), extra=_ADVANCED)], "8-bit"),
        input_spec("input_color_space", Annotated[str, Combo(options=("sRGB",), extra=_ADVANCED)], "sRGB"),
    ],
    "exr": [
        input_spec("bit_depth", Annotated[str, Combo(options=("32-bit float",), extra=_ADVANCED)], "32-bit float"),
        input_spec("input_color_space", Annotated[str, Combo(options=("sRGB", "HDR", "linear"), extra=_ADVANCED,
                                                             tooltip=(
            "Colorspace of the input tensor. The EXR is always written as scene-linear in the matching gamut.\n"
            "sRGB — input is sRGB-encoded Rec.709; the inverse sRGB EOTF is applied.\n"
            "HDR — input is HLG-encoded Rec.2020 (BT.2100); the inverse HLG OETF is applied to get scene-linear "
            "light.\n"
            "linear — input is already scene-linear (Rec.709 primaries); written through unchanged. Use this for "
            "renderer/compositor output."))], "sRGB"),
    ],
}


@node(display_name="Save Image (Advanced)", category="image", output_node=True,
      outputs=[Output("images", type="IMAGE")],
      description="Saves the input images to your ComfyUI output directory.")
def SaveImageAdvanced(
    ctx: Context,
    images: Annotated[Any, Socket(type="IMAGE", tooltip="The images to save.")],
    filename_prefix: Annotated[str, String(tooltip=(
        "The prefix for the file to save. May include formatting tokens such as %date:yyyy-MM-dd% or "
        "%Empty Latent Image.width%."))] = "ComfyUI",
    *,
    format: Annotated[dict[str, Any], DynamicCombo(_FORMATS, tooltip="The file format in which to save the image.")],  # noqa: A002
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    """Writes <prefix>_00001.png (8 or 16 bits per channel) or .exr (32-bit float, scene-linear), with the
    prompt and workflow embedded, and passes the images on."""
    file_format = format.get("format", "png")
    bit_depth = format.get("bit_depth", "8-bit")
    colorspace = format.get("input_color_space", "sRGB")
    if file_format not in _FORMATS:
        raise ValueError(f"SaveImageAdvanced: input 'format' must be png or exr, got {file_format!r}")
    height, width = int(images.shape[1]), int(images.shape[2])
    target, base, subfolder = save_target(ctx.folders.output, "output", filename_prefix, width, height)
    counter = next_number(target, base)
    from .image_encode import metadata_texts

    texts = metadata_texts(prompt, extra_pnginfo)
    results = []
    for index, image in enumerate(images):
        name = f"{base.replace('%batch_num%', str(index))}_{counter:05}.{file_format}"
        (target / name).write_bytes(encode_image(image, file_format, bit_depth, colorspace, texts))
        results.append({"filename": name, "subfolder": subfolder, "type": "output"})
        counter += 1
    return NodeOutput(result=(images,), ui={"images": results})


TEXT_FORMATS = ("txt", "csv", "md", "json")


@node(display_name="Save Text", category="text", output_node=True, outputs=[Output("text", type="STRING")],
      description="Save text content to a file in the output directory.")
def SaveText(
    ctx: Context,
    text: Annotated[str, String(force_input=True)],
    filename_prefix: Annotated[str, String()] = "ComfyUI",
    format: Annotated[str, Combo(options=TEXT_FORMATS)] = "txt",  # noqa: A002 - ComfyUI's input name
) -> NodeOutput:
    """Writes <prefix>_00001.<format>; JSON that parses is pretty-printed."""
    target, base, subfolder = save_target(ctx.folders.output, "output", filename_prefix, 1, 1)
    name = f"{base}_{next_number(target, base):05}.{format}"
    content = text
    if format == "json":
        try:
            content = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except json.JSONDecodeError:
            pass
    (target / name).write_text(content, encoding="utf-8")
    return NodeOutput(result=(text,), ui={"text": [text],
                                          "files": [{"filename": name, "subfolder": subfolder, "type": "output"}]})


_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@node(display_name="Compare Images", category="image", output_node=True, experimental=True, outputs=[],
      description="Compares two images side by side with a slider.")
class ImageCompare:
    """Shows image_a and image_b in the canvas's before/after slider (both saved to temp/)."""

    def __init__(self) -> None:
        self.suffix = "_temp_" + "".join(random.choice(_TEMP_ALPHABET) for _ in range(5))  # noqa: S311

    def execute(self, ctx: Context,
                compare_view: Annotated[Any, Socket(type="IMAGECOMPARE", extra={"socketless": True})],
                image_a: Annotated[Any, Socket(type="IMAGE", optional=True)] = None,
                image_b: Annotated[Any, Socket(type="IMAGE", optional=True)] = None) -> NodeOutput:
        from .image_io import save_images

        result: dict[str, list[Any]] = {"a_images": [], "b_images": []}
        for key, images, prefix in (("a_images", image_a, "comfy.compare.a"), ("b_images", image_b, "comfy.compare.b")):
            if images is not None and len(images) > 0:
                result[key] = save_images(images, ctx.folders, "temp", prefix + self.suffix, None, None,
                                          compress_level=1, run_id=ctx.prompt_id)
        return NodeOutput(ui=result)


NODES = [SaveImageAdvanced, SaveText, ImageCompare]

"""GetLatentSize and ColorToRGBInt (ComfyUI's ``nodes_images.py``, ``nodes_color.py``): /object_info against
ComfyUI's declarations and their values by hand."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.inspect_nodes import ColorToRGBInt, GetLatentSize


def _info(class_type: str) -> dict[str, Any]:
    return node_info(next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == class_type), None)


def test_object_info_matches_comfyui() -> None:
    latent = _info("GetLatentSize")
    assert (latent["display_name"], latent["category"]) == ("Get Image/Video Latent Size", "latent")
    assert latent["description"] == ("Returns the width, height, frame count, and batch size of an image or video "
                                     "latent.")
    assert latent["input"] == {"required": {"latent": ["LATENT", {"tooltip": "The image or video latent to inspect."}]}}
    assert latent["output"] == ["INT"] * 4 and latent["output_name"] == ["width", "height", "frames", "batch_size"]
    assert latent["output_tooltips"] == ["The latent width.", "The latent height.",
                                         "The latent frame count. Image latents have one frame.",
                                         "The number of latents in the batch."]
    color = _info("ColorToRGBInt")
    assert (color["display_name"], color["category"]) == ("Color Picker", "utilities")
    assert color["description"] == "Return a color RGB integer value and hexadecimal representation."
    assert color["input"] == {"required": {"color": ["COLOR", {"default": "#ffffff", "socketless": True}]}}
    assert color["output"] == ["INT", "COLOR", "FLOAT"] and color["output_name"] == ["rgb_int", "hex", "alpha"]


class Ctx:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def text(self, text: str) -> None:
        self.texts.append(text)


def test_latent_sizes_by_hand() -> None:
    ctx = Ctx()
    assert GetLatentSize(ctx=ctx, latent={"samples": torch.zeros(2, 4, 8, 12)}) == (12, 8, 1, 2)
    assert GetLatentSize(ctx=ctx, latent={"samples": torch.zeros(1, 16, 5, 6, 10)}) == (10, 6, 5, 1)
    # several streams (audio and video latents together): the first one is measured, [B=3, C=4, h=6, w=7]
    nested = torch.nested.nested_tensor([torch.zeros(3, 4, 6, 7), torch.zeros(2, 9, 5, 3)])
    assert GetLatentSize(ctx=ctx, latent={"samples": nested}) == (7, 6, 1, 3)
    assert ctx.texts[0] == "width: 12, height: 8\n frames: 1, batch size: 2"


def test_colours_by_hand() -> None:
    assert ColorToRGBInt(color="#102030") == (0x10 * 65536 + 0x20 * 256 + 0x30, "#102030", 1.0)
    assert ColorToRGBInt(color="#ff000080") == (0xFF0000, "#ff0000", 128 / 255)
    for bad in ("102030", "#12345", "#gg0000"):
        with pytest.raises(ValueError, match="ColorToRGBInt: input 'color'"):
            ColorToRGBInt(color=bad)

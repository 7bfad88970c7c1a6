"""Painter (ComfyUI's ``nodes_painter.py``): /object_info against ComfyUI's declaration; the drawing composited
over a solid canvas and over a given image by hand, its alpha as the mask, the preview written to temp/; the
fingerprint follows the drawing file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.paths import Folders
from inkgraph.nodes.painter import Painter, _fingerprint, hex_to_rgb


def test_object_info_matches_comfyui() -> None:
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "Painter")
    info = node_info(spec, None)
    assert (info["display_name"], info["category"], info["output_node"]) == ("Painter", "image", False)
    side = {"min": 64, "max": 4096, "step": 64, "socketless": True, "hidden": True}
    assert info["input"] == {
        "required": {
            "mask": ["STRING", {"default": "", "multiline": False, "socketless": True, "widgetType": "PAINTER",
                                "image_upload": True}],
            "width": ["INT", {"default": 512, **side}], "height": ["INT", {"default": 512, **side}],
            "bg_color": ["COLOR", {"default": "#000000", "socketless": True}]},
        "optional": {"image": ["IMAGE", {"tooltip": "Optional base image to paint over"}]}}
    assert info["input_order"] == {"required": ["mask", "width", "height", "bg_color"], "optional": ["image"]}
    assert info["output"] == ["IMAGE", "MASK"] and info["output_name"] == ["IMAGE", "MASK"]


def test_colours_are_read_as_comfyui_reads_them() -> None:
    assert hex_to_rgb("#ff8000") == (1.0, 128 / 255, 0.0) and hex_to_rgb("00ff00") == (0.0, 1.0, 0.0)
    assert hex_to_rgb("#fff") == (0.0, 0.0, 0.0) and hex_to_rgb("#zzzzzz") == (0.0, 0.0, 0.0)


def _context(tmp_path: Path) -> Any:
    folders = Folders.at(tmp_path)
    (tmp_path / "input").mkdir(exist_ok=True)
    return SimpleNamespace(folders=folders, prompt_id="test")


def _drawing(path: Path, size: tuple[int, int] = (2, 2)) -> None:
    rgba = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    rgba[0, 0] = (255, 255, 255, 255)  # opaque white
    rgba[0, 1] = (0, 0, 255, 51)  # blue at alpha 0.2
    Image.fromarray(rgba, "RGBA").save(path)


def test_a_drawing_over_a_solid_canvas_by_hand(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    _drawing(tmp_path / "input" / "painting.png")
    out = Painter().execute(ctx, mask="painting.png", width=2, height=2, bg_color="#ff0000")
    image, mask = out.result
    assert image.shape == (1, 2, 2, 3) and mask.shape == (1, 2, 2)
    assert torch.allclose(image[0, 0, 0], torch.tensor([1.0, 1.0, 1.0]))
    assert torch.allclose(image[0, 0, 1], torch.tensor([0.8, 0.0, 0.2]), atol=1e-6)  # 0.2·blue + 0.8·red
    assert torch.allclose(image[0, 1], torch.tensor([[1.0, 0.0, 0.0]] * 2))  # untouched canvas
    assert torch.allclose(mask[0], torch.tensor([[1.0, 0.2], [0.0, 0.0]]))
    [preview] = out.ui["images"]
    assert preview["type"] == "temp" and (tmp_path / "temp" / preview["filename"]).is_file()


def test_over_a_given_image_the_drawing_is_resized_to_it(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    _drawing(tmp_path / "input" / "painting.png", (4, 4))
    base = torch.rand(2, 8, 6, 3)
    image, mask = Painter().execute(ctx, image=base, mask="painting.png", width=512, height=512).result
    assert image.shape == (1, 8, 6, 3) and mask.shape == (1, 8, 6)  # the first image's size
    assert torch.allclose(image[0, -1, -1], base[0, -1, -1])  # transparent there


def test_without_a_drawing_the_base_and_an_empty_mask(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    image, mask = Painter().execute(ctx, mask="", width=64, height=128, bg_color="#0000ff").result
    assert image.shape == (1, 128, 64, 3) and torch.equal(image[0, 0, 0], torch.tensor([0.0, 0.0, 1.0]))
    assert torch.equal(mask, torch.zeros(1, 128, 64))
    with pytest.raises(ValueError, match="Painter: input 'mask'"):
        Painter().execute(ctx, mask="missing.png")


def test_the_fingerprint_follows_the_drawing_file(tmp_path: Path) -> None:
    folders = _context(tmp_path).folders
    path = tmp_path / "input" / "painting.png"
    assert _fingerprint("", folders) == "" and _fingerprint("painting.png", folders) == ""
    _drawing(path)
    first = _fingerprint("painting.png", folders)
    _drawing(path, (3, 3))
    assert first and _fingerprint("painting.png", folders) not in ("", first)
    assert _fingerprint("painting.png [input]", folders) == _fingerprint("painting.png", folders)

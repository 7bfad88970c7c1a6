"""Save Image (Advanced) (8/16-bit PNG, float EXR with metadata), Save Text, Compare Images and Create Bounding
Boxes, read back byte for byte."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from inkgraph.engine.core.paths import Folders
from inkgraph.nodes import bounding_boxes as BB
from inkgraph.nodes import image_encode as E
from inkgraph.nodes import save_nodes as SV


class Ctx:
    def __init__(self, base: Path) -> None:
        self.folders = Folders.at(base)
        self.prompt_id = "p1"


def read_png(blob: bytes) -> tuple[dict[str, str], np.ndarray, int]:
    """(tEXt chunks, pixels, bit depth) of a PNG whose rows all use filter 0 (what encode_png writes)."""
    assert blob[:8] == E.PNG_SIGNATURE
    pos, texts, idat = 8, {}, b""
    width = height = depth = colour = 0
    while pos < len(blob):
        length = struct.unpack(">I", blob[pos:pos + 4])[0]
        kind, data = blob[pos + 4:pos + 8], blob[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + data) & 0xFFFFFFFF == struct.unpack(">I", blob[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
        elif kind == b"tEXt":
            key, value = data.split(b"\x00", 1)
            texts[key.decode()] = value.decode("latin-1")
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(idat)
    row = 1 + width * channels * depth // 8
    rows = [raw[i * row + 1:(i + 1) * row] for i in range(height)]
    assert all(raw[i * row] == 0 for i in range(height))
    pixels = np.frombuffer(b"".join(rows), dtype=">u2" if depth == 16 else np.uint8)
    return texts, pixels.reshape(height, width, channels), depth


def test_png16_and_png8_round_trip_with_metadata(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    img = torch.rand(2, 3, 5, 3, generator=torch.Generator().manual_seed(0))
    prompt, extra = {"1": {"class_type": "X"}}, {"workflow": {"nodes": []}}
    out = SV.SaveImageAdvanced(ctx=ctx, images=img, filename_prefix="sub/pic",
                               format={"format": "png", "bit_depth": "16-bit", "input_color_space": "sRGB"},
                               prompt=prompt, extra_pnginfo=extra)
    assert out.result is not None and out.result[0] is img
    assert out.ui == {"images": [{"filename": "pic_00001.png", "subfolder": "sub", "type": "output"},
                                 {"filename": "pic_00002.png", "subfolder": "sub", "type": "output"}]}
    texts, pixels, depth = read_png((ctx.folders.output / "sub" / "pic_00002.png").read_bytes())
    assert depth == 16 and texts == {"prompt": json.dumps(prompt), "workflow": json.dumps(extra["workflow"])}
    assert np.array_equal(pixels, (img[1] * 65535).clamp(0, 65535).int().numpy().astype(np.uint16))
    again = SV.SaveImageAdvanced(ctx=ctx, images=img[:1], filename_prefix="sub/pic",
                                 format={"format": "png", "bit_depth": "8-bit", "input_color_space": "sRGB"})
    name = again.ui["images"][0]["filename"]  # type: ignore[index]
    assert name == "pic_00003.png"
    with PILImage.open(ctx.folders.output / "sub" / name) as saved:
        assert saved.mode == "RGB" and np.array_equal(np.asarray(saved), (img[0] * 255).int().numpy())


def test_exr_is_scene_linear_float(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    img = torch.tensor([[[[0.0, 0.5, 1.0, 1.0], [0.04, 0.2, 0.9, 0.5]]]])  # 1×1×2 RGBA
    for space, expected in (("linear", img[0]), ("sRGB", SV.srgb_to_linear(img[0])), ("HDR", SV.hlg_to_linear(img[0]))):
        out = SV.SaveImageAdvanced(ctx=ctx, images=img, filename_prefix=f"e_{space}",
                                   format={"format": "exr", "bit_depth": "32-bit float", "input_color_space": space},
                                   prompt={"a": 1})
        blob = (ctx.folders.output / out.ui["images"][0]["filename"]).read_bytes()  # type: ignore[index]
        attributes, pixels = E.read_exr(blob)
        assert np.allclose(pixels, expected.numpy(), atol=0) and pixels.dtype == np.float32
        assert attributes["prompt"] == ("string", b'{"a": 1}')
        primaries = struct.unpack("<8f", attributes["chromaticities"][1])
        assert primaries[0] == pytest.approx(0.708 if space == "HDR" else 0.64)
    assert SV.srgb_to_linear(torch.tensor([0.04045, 1.0])).tolist() == pytest.approx([0.04045 / 12.92, 1.0])
    assert SV.hlg_to_linear(torch.tensor([0.5, 1.0])).tolist() == pytest.approx([1 / 12, 1.0], abs=1e-6)
    with pytest.raises(ValueError, match="SaveImageAdvanced: input 'format'"):
        SV.SaveImageAdvanced(ctx=ctx, images=img, filename_prefix="x", format={"format": "tiff"})


def test_save_text(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    out = SV.SaveText(ctx=ctx, text='{"a": [1, 2]}', filename_prefix="notes/run", format="json")
    assert out.result == ('{"a": [1, 2]}',)
    assert out.ui == {"text": ['{"a": [1, 2]}'], "files": [{"filename": "run_00001.json", "subfolder": "notes",
                                                            "type": "output"}]}
    assert (ctx.folders.output / "notes" / "run_00001.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    second = SV.SaveText(ctx=ctx, text="plain", filename_prefix="notes/run", format="txt")
    assert second.ui["files"][0]["filename"] == "run_00002.txt"  # type: ignore[index]
    with pytest.raises(ValueError, match="outside"):
        SV.SaveText(ctx=ctx, text="x", filename_prefix="../escape", format="txt")


def test_image_compare_previews_both_sides(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    node = SV.ImageCompare()
    out = node.execute(ctx, compare_view=None, image_a=torch.zeros(1, 4, 4, 3), image_b=torch.ones(2, 4, 4, 3))
    assert out.ui is not None and len(out.ui["a_images"]) == 1 and len(out.ui["b_images"]) == 2
    first = out.ui["a_images"][0]
    assert first["type"] == "temp" and first["filename"].startswith("comfy.compare.a_temp_")
    assert node.execute(ctx, compare_view=None).ui == {"a_images": [], "b_images": []}


def test_bounding_boxes_from_the_canvas_and_from_upstream() -> None:
    boxes = [{"x": 0, "y": 0, "width": 512, "height": 256,
              "metadata": {"type": "text", "text": "HI", "desc": "title", "palette": ["#ff0000", "#00ff00"]}},
             {"x": 256, "y": 512, "width": 256, "height": 512, "metadata": {"type": "obj", "desc": "cat"}}]
    out = BB.CreateBoundingBoxes(width=512, height=1024, editor_state=boxes)
    assert out.result is not None
    preview, frame, elements = out.result
    assert preview.shape == (1, 1024, 512, 3)
    assert frame == [[{"x": 0, "y": 0, "width": 512, "height": 256}, {"x": 256, "y": 512, "width": 256, "height": 512}]]
    assert elements == [{"type": "text", "bbox": [0, 0, 250, 1000], "text": "HI", "desc": "title",
                         "color_palette": ["#FF0000", "#00FF00"]},
                        {"type": "obj", "bbox": [500, 500, 1000, 1000], "desc": "cat"}]
    assert out.ui == {"dims": [512, 1024]}
    assert preview[0, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.0])  # the first box's palette swatch
    # an upstream value (elements as JSON text) wins until the canvas has applied it
    upstream = json.dumps([{"type": "obj", "bbox": [0, 0, 500, 500], "desc": "sky"}])
    fresh = BB.CreateBoundingBoxes(width=100, height=200, editor_state=boxes, bboxes=upstream, last_incoming=[])
    assert fresh.result is not None and fresh.result[1] == [[{"x": 0, "y": 0, "width": 50, "height": 100}]]
    assert fresh.ui is not None and fresh.ui["input_bboxes"][0]["metadata"]["desc"] == "sky"
    applied = BB.CreateBoundingBoxes(width=100, height=200, editor_state=[], bboxes=upstream,
                                     last_incoming=fresh.ui["input_bboxes"])
    assert applied.result is not None and applied.result[1] == []  # the user's (empty) canvas now wins
    empty = BB.CreateBoundingBoxes(width=64, height=64, editor_state=[], background=torch.ones(1, 32, 32, 3))
    assert empty.result is not None and empty.result[0].shape == (1, 32, 32, 3)
    assert empty.result[0].max().item() == pytest.approx(0.25, abs=0.01)  # the dimmed background
    with pytest.raises(ValueError, match="CreateBoundingBoxes: input 'bboxes'"):
        BB.CreateBoundingBoxes(width=64, height=64, editor_state=[], bboxes="{not json")

"""LoadImageOutput (ComfyUI's ``nodes.py``): /object_info against ComfyUI's declaration (the remote listing
options), and an image saved to output/ loaded back by its annotated name through the engine, equal to what
LoadImage gives for the same file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.paths import Folders
from inkgraph.nodes.image_io import _load_frames
from inkgraph.nodes.image_output_load import LoadImageOutput, list_output_images


def test_object_info_matches_comfyui(tmp_path: Path) -> None:
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "LoadImageOutput")
    folders = Folders.at(tmp_path)
    (tmp_path / "output").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "output" / "old.png")
    os.utime(tmp_path / "output" / "old.png", (time.time() - 60,) * 2)
    Image.new("RGB", (4, 4)).save(tmp_path / "output" / "new.png")
    (tmp_path / "output" / "notes.txt").write_text("x")
    info = node_info(spec, folders)
    assert (info["display_name"], info["category"], info.get("experimental")) == ("Load Image (from Outputs)",
                                                                                  "image", True)
    choices, options = info["input"]["required"]["image"]
    assert choices == ["new.png [output]", "old.png [output]"]  # newest first, as the route lists them
    assert options == {"image_upload": True, "image_folder": "output", "remote": {
        "route": "/internal/files/output", "refresh_button": True, "control_after_refresh": "first"}}
    assert info["output"] == ["IMAGE", "MASK"] and info["output_name"] == ["IMAGE", "MASK"]
    assert list_output_images(Folders.at(tmp_path / "nothing")) == []


def test_an_output_image_loads_back_through_the_engine(tmp_path: Path) -> None:
    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.runtime import Runtime

    runtime = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    (tmp_path / "output").mkdir(exist_ok=True)
    rgba = np.zeros((3, 5, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    rgba[0, 0, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "output" / "made.png")
    prompt = {"1": {"class_type": "LoadImageOutput", "inputs": {"image": "made.png [output]"}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 1]}}}
    result, outcome = runtime.run(prompt)
    assert result.ok and outcome is not None and outcome.status_str == "success", result.error_body()
    image, mask = LoadImageOutput().execute(runtime_context(runtime), "made.png [output]")
    want_image, want_mask = _load_frames(tmp_path / "output" / "made.png")
    assert torch.equal(image, want_image) and torch.equal(mask, want_mask) and mask[0, 0, 0] == 1.0
    bad = runtime.validate({"1": {"class_type": "LoadImageOutput", "inputs": {"image": "missing.png [output]"}},
                            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}})
    assert not bad.ok and "Invalid image file: missing.png [output]" in str(bad.error_body())


def runtime_context(runtime: object) -> object:
    from types import SimpleNamespace

    return SimpleNamespace(folders=runtime.folders)  # type: ignore[attr-defined]

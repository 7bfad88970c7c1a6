"""Upscale models built in code (ESRGAN and Real-ESRGAN Compact layouts) load through spandrel and upscale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime


def save_models(folder: Path) -> None:
    from spandrel.architectures.Compact import Compact
    from spandrel.architectures.ESRGAN import ESRGAN

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    save_file(ESRGAN(num_filters=8, num_blocks=1, scale=4).state_dict(), str(folder / "esrgan_4x.safetensors"))
    save_file(Compact(num_feat=8, num_conv=2, upscale=4).state_dict(), str(folder / "compact_4x.pth"
                                                                           ).replace(".pth", ".safetensors"))
    (folder / "notes.safetensors").write_bytes(b"not a model")


class Ctx:
    def __init__(self, runtime: Runtime) -> None:
        self.models, self.folders = runtime.models, runtime.folders
        self.steps: list[tuple[int, int]] = []

    def progress(self, value: int, maximum: int, **_: Any) -> None:
        self.steps.append((value, maximum))


@pytest.mark.parametrize("name", ["esrgan_4x.safetensors", "compact_4x.safetensors"])
def test_upscale_4x(tmp_path: Path, name: str) -> None:
    from inkgraph.nodes import upscale

    save_models(tmp_path / "models" / "upscale_models")
    ctx = Ctx(Runtime.create(Settings(base_dir=tmp_path)))
    handle = upscale.UpscaleModelLoader(ctx, model_name=name)
    assert handle.scale == 4
    image = torch.rand(1, 20, 24, 3)
    out = upscale.ImageUpscaleWithModel(ctx, upscale_model=handle, image=image)
    assert out.shape == (1, 80, 96, 3) and 0 <= out.min() and out.max() <= 1
    monkey = upscale.TILE
    upscale.TILE = 16  # force tiling: the seams must blend into the whole-image result
    try:
        tiled = upscale.ImageUpscaleWithModel(ctx, upscale_model=handle, image=image)
    finally:
        upscale.TILE = monkey
    assert len(ctx.steps) > 1 and (tiled - out).abs().mean() < 0.05


def test_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    from inkgraph.nodes import upscale

    save_models(tmp_path / "models" / "upscale_models")
    with pytest.raises(Exception, match="notes.safetensors|header|deserial"):
        upscale.UpscaleModelLoader(Ctx(Runtime.create(Settings(base_dir=tmp_path))), model_name="notes.safetensors")

"""SaveLatent / LoadLatent: ComfyUI's .latent files (safetensors with latent_tensor and the version marker),
the prompt in their metadata, the legacy scale for files without the marker, and /object_info as ComfyUI's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.paths import Folders
from inkgraph.engine.runtime.packs import default_registry
from inkgraph.nodes import latent_io as L


class Ctx:
    def __init__(self, base: Path) -> None:
        self.folders = Folders.at(base)
        self.prompt_id = "p1"


def test_save_then_load_round_trips_with_metadata(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    samples = torch.randn(2, 4, 3, 5, generator=torch.Generator().manual_seed(0))
    prompt, extra = {"1": {"class_type": "KSampler"}}, {"workflow": {"nodes": [1]}}
    out = L.SaveLatent(ctx=ctx, samples={"samples": samples}, filename_prefix="latents/run", prompt=prompt,
                       extra_pnginfo=extra)
    assert out.ui == {"latents": [{"filename": "run_00001_.latent", "subfolder": "latents", "type": "output"}]}
    again = L.SaveLatent(ctx=ctx, samples={"samples": samples}, filename_prefix="latents/run")
    assert again.ui["latents"][0]["filename"] == "run_00002_.latent"  # type: ignore[index]
    path = ctx.folders.output / "latents" / "run_00001_.latent"
    with safe_open(str(path), framework="pt") as handle:
        assert set(handle.keys()) == {"latent_tensor", "latent_format_version_0"}
        assert handle.metadata() == {"prompt": json.dumps(prompt), "workflow": json.dumps(extra["workflow"])}
        assert handle.get_tensor("latent_format_version_0").numel() == 0
    loaded = L.LoadLatent().execute(ctx, latent="latents/run_00001_.latent [output]")
    assert torch.equal(loaded["samples"], samples)


def test_files_without_the_marker_are_scaled_as_comfyui_reads_them(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    ctx.folders.input.mkdir(parents=True, exist_ok=True)
    old = torch.ones(1, 4, 2, 2)
    save_file({"latent_tensor": old}, str(ctx.folders.input / "old.latent"))
    (ctx.folders.input / "picture.png").write_bytes(b"not a latent")
    assert L.list_latents(ctx.folders) == ["old.latent"]
    loaded = L.LoadLatent().execute(ctx, latent="old.latent")
    assert torch.allclose(loaded["samples"], old / 0.18215)
    assert L.LoadLatent.validate("missing.latent", ctx.folders) == "Invalid latent file: missing.latent"
    assert L.LoadLatent.validate("../../etc/passwd", ctx.folders) == "Invalid latent file: ../../etc/passwd"
    (ctx.folders.input / "broken.latent").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="LoadLatent: input 'latent' 'broken.latent'"):
        L.LoadLatent().execute(ctx, latent="broken.latent")


def test_object_info_matches_comfyui() -> None:
    registry = default_registry(entry_points=False)
    save = node_info(registry.get("SaveLatent"), None)
    assert list(save["input"]["required"]) == ["samples", "filename_prefix"]
    assert save["input"]["required"]["filename_prefix"] == ["STRING", {"default": "latents/ComfyUI"}]
    assert save["input"]["hidden"] == {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}
    assert save["output"] == [] and save["output_node"] is True and save["category"] == "_for_testing"
    load = node_info(registry.get("LoadLatent"), None)
    assert list(load["input"]["required"]) == ["latent"] and load["output"] == ["LATENT"]
    assert load["category"] == "_for_testing"

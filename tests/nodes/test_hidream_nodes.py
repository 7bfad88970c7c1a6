"""HiDream's nodes: the five official HiDream templates convert and validate with only model files missing
(they run in test_hidream_models.py); a repeated encoder fails clearly; InstructPixToPixConditioning against a
plain VAE encode; /object_info against ComfyUI's declarations (nodes_hidream.py, nodes_ip2p.py)
written down by hand."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_text as tt

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
NAMES = ["hidream_i1_dev", "hidream_i1_fast", "hidream_i1_full", "hidream_e1_full", "hidream_e1_1"]
MODEL_INPUTS = {"unet_name", "clip_name1", "clip_name2", "clip_name3", "clip_name4", "vae_name"}


def _prompt(name: str, runtime: Runtime) -> dict[str, Any]:
    from PIL import Image

    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for node in prompt.values():
        if node["class_type"] == "LoadImage":
            Image.new("RGB", (40, 32)).save(runtime.folders.input / node["inputs"]["image"])
    return prompt


@pytest.mark.parametrize("name", NAMES)
def test_official_templates_validate_with_only_model_files_missing(name: str, tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    runtime = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    result = runtime.validate(_prompt(name, runtime))
    problems = {(e.type, e.extra_info.get("input_name")) for errors in result.node_errors.values()
                for e in errors.errors}
    assert problems and all(kind == "value_not_in_list" and field in MODEL_INPUTS for kind, field in problems), \
        result.error_body()


def test_two_t5_files_in_quadrupleclip_loader_fail_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "text_encoders"
    tt.save_set(folder, seed=1)
    (tmp_path / "input").mkdir()
    runtime = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    loader = {"class_type": "QuadrupleCLIPLoader", "inputs": {
        "clip_name1": "clip_l.safetensors", "clip_name2": "clip_g.safetensors", "clip_name3": "t5xxl_fp16.safetensors",
        "clip_name4": "t5xxl_fp16.safetensors"}}
    encode = {"class_type": "CLIPTextEncodeHiDream", "inputs": {"clip": ["1", 0], "clip_l": "a", "clip_g": "b",
                                                                 "t5xxl": "c", "llama": "d"}}
    out = {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["2", 0]}}
    preview = {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}
    _, outcome = runtime.run({"1": loader, "2": encode, "3": out, "4": preview})
    assert outcome.status_str == "error" and "a second t5xxl text encoder" in str(outcome.error)


class _Vae:
    def __init__(self, module: Any) -> None:
        self.module = module

    @contextmanager
    def use(self) -> Any:
        yield self.module


def test_instruct_pix2pix_conditioning_attaches_the_cropped_images_latent() -> None:
    from inkgraph.nodes.edit_models import InstructPixToPixConditioning

    class Ctx:
        def check_interrupted(self) -> None:
            return None

    vae = td.vae(3)
    pixels = torch.rand(1, 35, 42, 3)  # cropped to 32×40, centred
    cond = [[torch.zeros(1, 2, 4), {"pooled_output": torch.ones(1, 4)}]]
    positive, negative, latent = InstructPixToPixConditioning(Ctx(), cond, cond, _Vae(vae), pixels)  # type: ignore[arg-type]
    with torch.no_grad():
        expected = vae.encode(pixels[:, 1:33, 1:41].movedim(-1, 1) * 2 - 1).latent_dist.mode()
    for entries in (positive, negative):
        assert torch.allclose(entries[0][1]["concat_latent_image"], expected, atol=1e-5)
        assert entries[0][1]["pooled_output"] is cond[0][1]["pooled_output"]
    assert latent["samples"].shape == expected.shape == (1, 16, 4, 5) and not latent["samples"].any()
    assert "concat_latent_image" not in cond[0][1]


PROMPT = ["STRING", {"multiline": True, "dynamicPrompts": True}]
FILES: list[Any] = [[]]
REFERENCE = {
    "QuadrupleCLIPLoader": ("advanced/loaders", [("clip_name1", FILES), ("clip_name2", FILES),
                                                 ("clip_name3", FILES), ("clip_name4", FILES)], [("CLIP", "CLIP")]),
    "CLIPTextEncodeHiDream": ("advanced/conditioning", [("clip", ["CLIP"]), ("clip_l", PROMPT), ("clip_g", PROMPT),
                                                        ("t5xxl", PROMPT), ("llama", PROMPT)],
                              [("CONDITIONING", "CONDITIONING")]),
    "InstructPixToPixConditioning": ("conditioning/instructpix2pix", [
        ("positive", ["CONDITIONING"]), ("negative", ["CONDITIONING"]), ("vae", ["VAE"]), ("pixels", ["IMAGE"])],
        [("CONDITIONING", "positive"), ("CONDITIONING", "negative"), ("LATENT", "latent")]),
}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(class_type: str) -> None:
    specs = {spec_of(fn).class_type: spec_of(fn) for fn in nodes.node_list()}
    category, required, outputs = REFERENCE[class_type]
    info = node_info(specs[class_type], None)
    assert info["category"] == category
    assert info["input_order"]["required"] == [name for name, _ in required]
    assert not info["input_order"].get("optional")
    for name, config in required:
        assert info["input"]["required"][name] == config, name
    assert info["output"] == [t for t, _ in outputs] and info["output_name"] == [n for _, n in outputs]

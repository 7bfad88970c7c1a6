"""The official OmniGen2 templates (text to image, a subgraph; image edit, with its bypassed second image
switched on as well) with tiny models saved under the file names they ask for — Qwen2.5-VL in ComfyUI's
layout with its vision tower, OmniGen2 in fp16, Flux's VAE — convert, validate with only model files
missing, and run end to end (sizes and steps made small); the edit's reference latents reach the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_omnigen2 as to
from tests.fixtures import tiny_qwen as tq

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
NAMES = ["image_omnigen2_t2i", "image_omnigen2_image_edit"]
MODEL_INPUTS = {"unet_name", "clip_name", "vae_name"}
BYPASSED_SECOND_IMAGE = {33, 34, 37, 38, 39}  # LoadImage, scale, VAEEncode, two ReferenceLatent


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("omnigen2")
    models = root / "models"
    td.save(tq.comfy_qwen_vl_state(tq.qwen_vl(1)), models / "text_encoders" / "qwen_2.5_vl_fp16.safetensors",
            dtype=torch.float16)
    td.save(to.transformer_state(to.transformer(2)), models / "diffusion_models" / "omnigen2_fp16.safetensors",
            dtype=torch.float16)
    td.save(td.vae_state(td.vae(3)), models / "vae" / "ae.safetensors")
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


def template(name: str, runtime: Runtime, second_image: bool = False) -> dict[str, Any]:
    ui = json.loads((TEMPLATES / f"{name}.json").read_text())
    if second_image:
        for node in ui["nodes"]:
            if node["id"] in BYPASSED_SECOND_IMAGE:
                node["mode"] = 0
    prompt, _ = ui_to_api(ui, runtime.registry.get)
    for node in prompt.values():  # the input images are the user's, not models: give them one
        if node["class_type"] == "LoadImage":
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                Image.new("RGB", (96, 64), (200, 100, 50)).save(path)
    return prompt


def small(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same workflow at a few dozen pixels and two steps."""
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "EmptySD3LatentImage":
            for side in ("width", "height"):
                if not isinstance(inputs[side], list):
                    inputs[side] = 48
        if node["class_type"] == "ImageScaleToTotalPixels":
            inputs["megapixels"] = 0.01
        if isinstance(inputs.get("steps"), int):
            inputs["steps"] = 2
    return prompt


@pytest.mark.parametrize("name", NAMES)
def test_official_templates_validate_with_only_model_files_missing(name: str, tmp_path: Path) -> None:
    bare = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    (tmp_path / "input").mkdir(exist_ok=True)
    prompt = template(name, bare)
    assert not [n for n in prompt.values() if bare.registry.get(n["class_type"]) is None]
    result = bare.validate(prompt)
    problems = {(e.type, e.extra_info.get("input_name")) for errors in result.node_errors.values()
                for e in errors.errors}
    assert problems and all(kind == "value_not_in_list" and field in MODEL_INPUTS for kind, field in problems), \
        result.error_body()


@pytest.mark.parametrize("name,second_image", [(NAMES[0], False), (NAMES[1], False), (NAMES[1], True)])
def test_official_templates_run_with_tiny_models(runtime: Runtime, name: str, second_image: bool) -> None:
    prompt = small(template(name, runtime, second_image))
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    images = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    assert len(images) == 1
    picture = np.asarray(Image.open(runtime.folders.output / images[0]["subfolder"] / images[0]["filename"]))
    assert picture.ndim == 3 and picture.std() > 0


def test_the_edits_reference_latents_reach_the_model(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The edit template's positive prompt carries the input image's latent and the negative-with-image
    prompt too; the plain negative carries none: the network sees (0, 1, 1) references per call kind, and
    two each with the second image switched on."""
    from inkgraph.nodes.diffusion.families import omnigen2_model

    seen: list[int] = []
    forward = omnigen2_model.OmniGen2Transformer.forward

    def counting(self: Any, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                 references: Any = ()) -> torch.Tensor:
        seen.append(len(references))
        return forward(self, x, t, context, references)

    monkeypatch.setattr(omnigen2_model.OmniGen2Transformer, "forward", counting)
    for second, count in ((False, 1), (True, 2)):
        seen.clear()
        prompt = small(template(NAMES[1], runtime, second))
        for node in prompt.values():
            if isinstance(node["inputs"].get("noise_seed"), int):
                node["inputs"]["noise_seed"] = 7 + count  # no cached result
        _, outcome = runtime.run(prompt)
        assert outcome.status_str == "success", outcome.error
        assert set(seen) == {0, count}


class Ctx:
    def __init__(self, runtime: Runtime) -> None:
        self.models, self.folders, self.extra_data, self.node_id = runtime.models, runtime.folders, {}, "t"

    def progress(self, *args: Any, **kwargs: Any) -> None:
        return None

    def text(self, _: str) -> None:
        return None

    def check_interrupted(self) -> None:
        return None


def test_euler_with_a_reference_equals_a_plain_loop_over_the_module(runtime: Runtime) -> None:
    """ComfyUI's Omnigen2 sampling: σ from the simple schedule under shift 2.6, the network fed t = 1 − σ,
    the caption states and the reference latent in the model's space; the velocity is its output negated;
    an Euler step moves by (σ' − σ)·v; the result leaves the model's space through Flux's scale and shift."""
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.ksampler import prepare_noise, sample
    from inkgraph.nodes.diffusion.model_api import model_sampling_of
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas
    from inkgraph.nodes.edit_models import ReferenceLatent
    from inkgraph.nodes.loaders import CLIPLoader, UNETLoader

    ctx = Ctx(runtime)
    model = UNETLoader(ctx, "omnigen2_fp16.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    clip = CLIPLoader(ctx, "qwen_2.5_vl_fp16.safetensors", type="omnigen2")
    reference = torch.randn(1, 16, 5, 6, generator=torch.Generator().manual_seed(4))
    cond = ReferenceLatent(CLIPTextEncode(ctx, text="a fox made of glass", clip=clip), {"samples": reference})
    latent = torch.zeros(1, 16, 6, 8)
    with torch.inference_mode():  # as the engine runs nodes
        out = sample(ctx, model, 7, 3, 1.0, "euler", "simple", cond, cond, {"samples": latent})["samples"]  # type: ignore[arg-type]
        sigmas = sampling_sigmas(model_sampling_of(model), "simple", "euler", 3, 1.0).tolist()
        ts = [1.0, 0.667, 0.334]  # every 333⅓th of the 1000 training times
        assert sigmas == pytest.approx([2.6 * t / (1 + 1.6 * t) for t in ts] + [0.0], abs=1e-3)
        x = prepare_noise(latent, 7) * sigmas[0]
        states = cond[0][0]
        ref = (reference - 0.1159) * 0.3611
        with model.use() as module:
            dtype = next(module.parameters()).dtype
            for sigma, following in zip(sigmas, sigmas[1:], strict=False):
                velocity = -module(x.to(dtype), torch.tensor([1.0 - sigma]), states.to(dtype), [ref.to(dtype)])
                x = x + velocity.float() * (following - sigma)
    assert torch.allclose(out, x / 0.3611 + 0.1159, atol=1e-4)

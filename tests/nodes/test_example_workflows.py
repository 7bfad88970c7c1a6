"""Every example in workflows/ validates and runs, on tiny stand-ins saved under the file names it names.

The examples name the files a ComfyUI user has (v1-5-pruned-emaonly.safetensors, RealESRGAN_x4plus.pth, …);
here tiny models of the same families take those names, and the sizes and step counts shrink so the whole
graph runs on the CPU in seconds. Everything else (node types, wiring, widget values) is the file's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures.family_files import save_stand_ins
from tests.fixtures.tiny_sd import save_single_file

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
EXAMPLES = sorted(path.stem for path in WORKFLOWS.glob("*.json") if not path.name.endswith(".ui.json"))
UI_VERSIONS = sorted(path.name.removesuffix(".ui.json") for path in WORKFLOWS.glob("*.ui.json"))
STAND_INS = {"v1-5-pruned-emaonly.safetensors": "sd1", "sd_xl_base_1.0.safetensors": "sdxl"}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    from spandrel.architectures.ESRGAN import ESRGAN

    base = tmp_path_factory.mktemp("examples")
    for name, kind in STAND_INS.items():
        save_single_file(kind, base / "models" / "checkpoints" / name, seed=3)
    (base / "models" / "upscale_models").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(ESRGAN(num_filters=8, num_blocks=1, scale=4).state_dict(),
               base / "models" / "upscale_models" / "RealESRGAN_x4plus.pth")
    save_stand_ins(base / "models")  # the transformer families' examples (Flux, Chroma, SD3.5, Z-Image, Lumina 2)
    (base / "input").mkdir(exist_ok=True)
    Image.new("RGB", (64, 48), (40, 120, 200)).save(base / "input" / "example.png")
    from inkgraph.nodes.demo import lora_data

    lora_data.write(base / "input" / lora_data.FOLDER, rings=2, regular=1)  # train-lora's folder, shrunk
    return Runtime.create(Settings(base_dir=base))


def shrunk(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same graph at 64 px and two steps per sampler (and per training)."""
    for item in prompt.values():
        inputs = item["inputs"]
        if item["class_type"] in ("EmptyLatentImage", "EmptySD3LatentImage", "EmptyFlux2LatentImage"):
            inputs["width"] = inputs["height"] = 64
        elif item["class_type"] in ("KSampler", "KSamplerAdvanced", "BasicScheduler", "Flux2Scheduler",
                                    "TrainLoraNode"):
            inputs["steps"] = 2
    return prompt


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_workflow_runs(runtime: Runtime, name: str) -> None:
    prompt = json.loads((WORKFLOWS / f"{name}.json").read_text())
    assert all("_meta" in item and item["_meta"].get("title") for item in prompt.values()), "titled nodes"
    assert runtime.validate(prompt).ok, runtime.validate(prompt).error_body()  # as shipped, full size
    result, outcome = runtime.run(shrunk(prompt))
    assert result.ok and outcome is not None and outcome.status_str == "success", (result.error_body(), outcome)
    images = [image for output in outcome.outputs.values() for image in output.get("images", [])]
    assert images, "the workflow saves an image"
    images = [image for image in images if image["type"] == "output"] or images  # not train-lora's loss graph
    with Image.open(runtime.folders.resolve(images[0]["type"], images[0]["filename"], images[0]["subfolder"])) as png:
        size = png.size
    decoded = 64 // 8 * 2  # a 64 px latent is 8 cells; the tiny VAE decodes 2× (a real one 8×)
    expected = {"hires-fix": (decoded * 3 // 2,) * 2, "upscale-with-model": (decoded * 4 // 2,) * 2,
                "img2img": (64, 48), "txt2img-sd15": (decoded, decoded), "sdxl-txt2img": (decoded, decoded),
                "txt2img": (256, 256), "train-lora": (256, 256)}  # the demo model's VAE decodes 8×, its upscaler 4×
    if name in expected:
        assert size == expected[name]  # 1.5× latent upscale; 4× model then ½; the input image's own size


@pytest.mark.parametrize("name", UI_VERSIONS)
def test_ui_version_converts_to_the_api_workflow(runtime: Runtime, name: str) -> None:
    """The canvas opens NAME.ui.json; queued, it must be exactly NAME.json."""
    from inkgraph.engine.core.formats import ui_to_api

    ui = json.loads((WORKFLOWS / f"{name}.ui.json").read_text())
    api = json.loads((WORKFLOWS / f"{name}.json").read_text())
    converted, warnings = ui_to_api(ui, runtime.registry.get)
    assert warnings == []
    strip = [{k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in side.items()}
             for side in (converted, api)]
    assert strip[0] == strip[1]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_workflow_validates_with_only_model_files_missing(name: str, tmp_path: Path) -> None:
    """With no models folder (only the embedded demo model), the one thing an example lacks is its model files."""
    bare = Runtime.create(Settings(base_dir=tmp_path))
    (tmp_path / "input").mkdir(exist_ok=True)
    Image.new("RGB", (64, 48), (40, 120, 200)).save(tmp_path / "input" / "example.png")
    (tmp_path / "input" / "inkgraph-demo-rings").mkdir()  # train-lora's pictures (demo.lora_data writes them)
    result = bare.validate(json.loads((WORKFLOWS / f"{name}.json").read_text()))
    problems = {(e.type, e.extra_info.get("input_name")) for errors in result.node_errors.values()
                for e in errors.errors}
    models = {"ckpt_name", "unet_name", "clip_name", "clip_name1", "clip_name2", "vae_name", "model_name"}
    assert all(kind == "value_not_in_list" and field in models for kind, field in problems), result.error_body()

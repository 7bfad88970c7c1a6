"""The official ControlNet, model-patch, Redux, unCLIP/revision, Canny-model, Fill and Kontext templates convert
(UI → API) and validate with only model files missing: every node type exists, every widget value lands on an
input of ComfyUI's name with a valid value, every link connects matching types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
MODEL_INPUTS = {"ckpt_name", "unet_name", "clip_name", "clip_name1", "clip_name2", "clip_name3", "vae_name",
                "lora_name", "control_net_name", "style_model_name", "name"}
CONTROL = ["sd3.5_large_canny_controlnet_example", "sd3.5_large_blur", "image_qwen_image_controlnet_patch",
           "image_z_image_turbo_fun_union_controlnet", "image_qwen_image_instantx_inpainting_controlnet",
           "image_qwen_Image_2512_controlnet"]
IMAGE_PROMPTS = ["flux_redux_model_example", "sdxl_revision_text_prompts", "flux_canny_model_example"]
INPAINT_AND_EDIT = ["flux_fill_inpaint_example", "flux_fill_outpaint_example", "flux_kontext_dev_basic"]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("control_templates")
    (root / "input").mkdir()
    return Runtime.create(Settings(base_dir=root, cache="none"))


def convert(name: str, runtime: Runtime) -> dict[str, Any]:
    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for node in prompt.values():  # the example pictures the templates load, as empty PNGs of their names
        if node["class_type"] in ("LoadImage", "LoadImageMask"):
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                from PIL import Image

                Image.new("RGBA", (64, 64)).save(path, format="PNG")
    return prompt


@pytest.mark.parametrize("name", CONTROL + IMAGE_PROMPTS + INPAINT_AND_EDIT)
def test_official_templates_validate_with_only_model_files_missing(runtime: Runtime, name: str) -> None:
    prompt = convert(name, runtime)
    missing = sorted({n["class_type"] for n in prompt.values() if runtime.registry.get(n["class_type"]) is None})
    assert not missing, f"node types not registered: {missing}"
    result = runtime.validate(prompt)
    problems = {(e.type, e.extra_info.get("input_name")) for errors in result.node_errors.values()
                for e in errors.errors}
    assert problems, "a template that needs no model file?"
    assert all(kind == "value_not_in_list" and field in MODEL_INPUTS for kind, field in problems), \
        result.error_body()


def test_the_control_templates_use_the_nodes_of_this_issue(runtime: Runtime) -> None:
    used = set()
    for name in CONTROL + IMAGE_PROMPTS:
        used |= {n["class_type"] for n in convert(name, runtime).values()}
    assert {"ControlNetLoader", "ControlNetApplyAdvanced", "ControlNetInpaintingAliMamaApply", "ModelPatchLoader",
            "QwenImageDiffsynthControlnet", "CLIPVisionLoader", "CLIPVisionEncode", "StyleModelLoader",
            "StyleModelApply", "unCLIPConditioning", "InstructPixToPixConditioning", "Canny"} <= used

"""The official Flux.2 (dev) and Flux.2 klein templates, with tiny models saved under the file names they ask
for (Flux.2 in BFL's layout, fp8mixed where the name says so; Mistral 3 Small with its tekken tokenizer; Qwen3
for klein; the Flux.2 VAE and its small-decoder variant; the turbo LoRAs), convert, validate with only model
files missing, and run end to end (sizes and steps made small) — the edit templates with their two input
images as reference latents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_flux2 as tf
from tests.fixtures import tiny_lumina as tl

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
MODEL_INPUTS = {"unet_name", "clip_name", "vae_name", "lora_name"}
NAMES = ["image_flux2", "image_flux2_fp8", "image_flux2_text_to_image", "image_flux2_text_to_image_9b",
         "image_flux2_klein_text_to_image", "image_flux2_klein_image_edit_4b_base",
         "image_flux2_klein_image_edit_4b_distilled", "image_flux2_klein_image_edit_9b_base",
         "image_flux2_klein_image_edit_9b_distilled", "image_flux2_klein_9b_kv_image_edit"]
KLEIN = ["flux-2-klein-4b.safetensors", "flux-2-klein-base-4b.safetensors", "flux-2-klein-4b-fp8.safetensors",
         "flux-2-klein-base-4b-fp8.safetensors", "flux-2-klein-9b-fp8.safetensors",
         "flux-2-klein-base-9b-fp8.safetensors", "flux-2-klein-9b-kv-fp8.safetensors"]
LORAS = ["Flux_2-Turbo-LoRA_comfyui.safetensors", "Flux2TurboComfyv2.safetensors"]


def _blocks(state: dict[str, torch.Tensor]) -> set[str]:
    return {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
            and k.startswith(("double_blocks.", "single_blocks."))}


def turbo_lora(rank: int = 2) -> dict[str, torch.Tensor]:
    """A LoRA on double block 0's fused image q, k, v in ComfyUI's names (``diffusion_model.`` + BFL's)."""
    generator = torch.Generator().manual_seed(9)
    return {"diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight": torch.randn(rank, 64, generator=generator),
            "diffusion_model.double_blocks.0.img_attn.qkv.lora_B.weight": torch.randn(192, rank, generator=generator)}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flux2")
    models = root / "models"
    mistral = tf.comfy_mistral_state(tf.mistral(1))
    td.save(mistral, models / "text_encoders" / "mistral_3_small_flux2_bf16.safetensors", dtype=torch.bfloat16)
    layers = {k[: -len(".weight")] for k, v in mistral.items() if k.endswith(".weight") and v.ndim == 2
              and ".mlp." in k}
    td.save(td.fp8_mixed(mistral, layers), models / "text_encoders" / "mistral_3_small_flux2_fp8.safetensors")
    qwen = tl.comfy_llm_state(tf.klein_qwen3(2))
    td.save(qwen, models / "text_encoders" / "qwen_3_4b.safetensors", dtype=torch.bfloat16)
    layers = {k[: -len(".weight")] for k, v in qwen.items() if k.endswith(".weight") and v.ndim == 2 and ".mlp." in k}
    td.save(td.fp8_mixed(qwen, layers), models / "text_encoders" / "qwen_3_8b_fp8mixed.safetensors")
    dev = tf.flux2_state(tf.flux2("dev", 3, context=3 * tf.MISTRAL_WIDTH))
    td.save(td.fp8_mixed(dev, _blocks(dev)), models / "diffusion_models" / "flux2_dev_fp8mixed.safetensors",
            "model.diffusion_model.")
    klein = tf.flux2_state(tf.flux2("klein", 4, context=3 * tl.QWEN_WIDTH))
    for name in KLEIN:
        if "fp8" in name:
            td.save(td.fp8_mixed(klein, _blocks(klein)), models / "diffusion_models" / name)
        else:
            td.save(klein, models / "diffusion_models" / name, dtype=torch.bfloat16)
    td.save(tf.vae_state(tf.vae(5)), models / "vae" / "flux2-vae.safetensors")
    small_decoder = tf.vae(6, decoder=(32, 32, 32, 32))
    td.save(tf.vae_state(small_decoder), models / "vae" / "full_encoder_small_decoder.safetensors")
    (models / "loras").mkdir(parents=True)
    for name in LORAS:
        save_file(turbo_lora(), str(models / "loras" / name))
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


def template(name: str, runtime: Runtime) -> dict[str, Any]:
    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for number, node in enumerate(prompt.values()):  # the input images are the user's: give them one each
        if node["class_type"] == "LoadImage":
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                from PIL import Image

                Image.new("RGB", (80 + 16 * number, 64), (200, 100, 50 + 20 * number)).save(path)
    return prompt


def small(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same workflow at 64×64 (reference images at 0.01 megapixels) and two steps."""
    for node in prompt.values():
        inputs, kind = node["inputs"], node["class_type"]
        if kind in ("EmptyFlux2LatentImage", "Flux2Scheduler"):
            for side in ("width", "height"):
                if not isinstance(inputs[side], list):
                    inputs[side] = 64
        if kind == "PrimitiveInt":  # the templates' width, height and step counts
            inputs["value"] = 64 if inputs["value"] >= 256 else 2
        if kind == "ImageScaleToTotalPixels":
            inputs["megapixels"] = 0.01
        if isinstance(inputs.get("steps"), int):
            inputs["steps"] = 2
    return prompt


def missing_types(prompt: dict[str, Any], runtime: Runtime) -> list[str]:
    return sorted({n["class_type"] for n in prompt.values() if runtime.registry.get(n["class_type"]) is None})


@pytest.mark.parametrize("name", NAMES)
def test_official_templates_validate_with_only_model_files_missing(name: str, tmp_path: Path) -> None:
    bare = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    (tmp_path / "input").mkdir(exist_ok=True)
    prompt = template(name, bare)
    assert not missing_types(prompt, bare)
    result = bare.validate(prompt)
    problems = {(e.type, e.extra_info.get("input_name")) for errors in result.node_errors.values()
                for e in errors.errors}
    assert problems and all(kind == "value_not_in_list" and field in MODEL_INPUTS for kind, field in problems), \
        result.error_body()


@pytest.mark.parametrize("name", NAMES)
def test_official_templates_run_with_tiny_models(runtime: Runtime, name: str) -> None:
    prompt = small(template(name, runtime))
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    images = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    assert images

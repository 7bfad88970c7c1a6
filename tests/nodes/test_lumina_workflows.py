"""The official Z-Image (Turbo and base) and NetaYume Lumina templates, with tiny models saved under the file
names they ask for (Qwen3-4B and Gemma 2 in ComfyUI's layouts, Z-Image in bf16, NetaYume as an all-in-one
checkpoint, Flux's VAE), convert, validate and run end to end (sizes and steps made small); the int8 and
upscaler templates validate with only model files missing; Z-Image's Euler steps equal a plain loop over
the diffusers module as diffusers' Z-Image pipeline drives it; a Z-Image LoRA in ComfyUI's and kohya's
names reaches the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_lumina as tl

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
MODEL_INPUTS = {"ckpt_name", "unet_name", "clip_name", "vae_name", "lora_name", "model_name"}
RUNS = ["image_z_image_turbo", "image_z_image", "image_netayume_lumina_t2i", "basic_switch_node"]
VALIDATE_ONLY = ["image_z_image_turbo_int8", "image_z_image_int8", "utility_z_image_turbo_2k_upscaler.app"]
LORA = "pixel_art_style_z_image_turbo.safetensors"


def _prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in state.items()}


def _linear(state: dict[str, torch.Tensor]) -> set[str]:
    return {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
            and "embed_tokens" not in k}


def z_image_lora(rank: int = 2) -> dict[str, torch.Tensor]:
    """A LoRA on block 0's fused q, k, v (kohya's name for the original layout) and its output projection
    (ComfyUI's ``diffusion_model.`` with diffusers' module name, peft's A/B)."""
    generator = torch.Generator().manual_seed(5)
    return {"lora_unet_layers_0_attention_qkv.lora_down.weight": torch.randn(rank, 64, generator=generator) * 0.3,
            "lora_unet_layers_0_attention_qkv.lora_up.weight": torch.randn(192, rank, generator=generator) * 0.3,
            "lora_unet_layers_0_attention_qkv.alpha": torch.tensor(float(rank)),
            "diffusion_model.layers.0.attention.to_out.0.lora_A.weight": torch.randn(rank, 64, generator=generator),
            "diffusion_model.layers.0.attention.to_out.0.lora_B.weight": torch.randn(64, rank, generator=generator)}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lumina")
    models = root / "models"
    qwen, gemma = tl.qwen3(1), tl.gemma2(2)
    qwen_state = tl.comfy_llm_state(qwen)
    td.save(qwen_state, models / "text_encoders" / "qwen_3_4b.safetensors", dtype=torch.bfloat16)
    layers = {m for m in _linear(qwen_state) if ".mlp." in m}
    td.save(td.fp8_mixed(qwen_state, layers), models / "text_encoders" / "qwen_3_4b_fp8_mixed.safetensors")
    z_image, z_base = tl.z_image(3), tl.z_image(4)
    td.save(tl.z_image_state(z_image), models / "diffusion_models" / "z_image_turbo_bf16.safetensors",
            dtype=torch.bfloat16)
    td.save(tl.z_image_state(z_base), models / "diffusion_models" / "z_image_bf16.safetensors", dtype=torch.bfloat16)
    vae = td.vae(6)
    td.save(td.vae_state(vae), models / "vae" / "ae.safetensors")
    neta = {**_prefixed(tl.lumina2_state(tl.lumina2(7)), "model.diffusion_model."),
            **_prefixed(tl.comfy_llm_state(gemma), "text_encoders.gemma2_2b.transformer."),
            "text_encoders.gemma2_2b.logit_scale": torch.tensor(4.6055),
            "text_encoders.spiece_model": tl.spiece_tensor(),
            **_prefixed(td.vae_state(vae), "vae.")}
    td.save(neta, models / "checkpoints" / "NetaYumev35_pretrained_all_in_one.safetensors", dtype=torch.bfloat16)
    (models / "loras").mkdir(parents=True)
    save_file(z_image_lora(), str(models / "loras" / LORA))
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


def template(name: str, runtime: Runtime) -> dict[str, Any]:
    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for node in prompt.values():  # the templates' input images are the user's, not models: give them one
        if node["class_type"] == "LoadImage":
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                from PIL import Image

                Image.new("RGB", (64, 64), (200, 100, 50)).save(path)
    return prompt


def small(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same workflow at 64×64 pixels (the smallest the resolution selector gives) and two steps."""
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "EmptySD3LatentImage":
            for side in ("width", "height"):
                if not isinstance(inputs[side], list):
                    inputs[side] = 64
        if node["class_type"] == "ResolutionSelector":
            inputs["megapixels"] = 0.1
        if isinstance(inputs.get("steps"), int):
            inputs["steps"] = 2
    return prompt


def missing_types(prompt: dict[str, Any], runtime: Runtime) -> list[str]:
    return sorted({n["class_type"] for n in prompt.values() if runtime.registry.get(n["class_type"]) is None})


@pytest.mark.parametrize("name", RUNS + VALIDATE_ONLY)
def test_official_templates_validate_with_only_model_files_missing(name: str, tmp_path: Path) -> None:
    bare = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    (tmp_path / "input").mkdir(exist_ok=True)
    prompt = template(name, bare)
    missing = missing_types(prompt, bare)
    if missing:
        pytest.skip(f"node types of other issues not on this branch: {', '.join(missing)}")
    result = bare.validate(prompt)
    problems = {(e.type, e.extra_info.get("input_name")) for errors in result.node_errors.values()
                for e in errors.errors}
    assert problems and all(kind == "value_not_in_list" and field in MODEL_INPUTS for kind, field in problems), \
        result.error_body()


@pytest.mark.parametrize("name", RUNS)
def test_official_templates_run_with_tiny_models(runtime: Runtime, name: str) -> None:
    prompt = small(template(name, runtime))
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    images = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    assert images


class Ctx:
    def __init__(self, runtime: Runtime) -> None:
        self.models, self.folders, self.extra_data, self.node_id = runtime.models, runtime.folders, {}, "t"

    def progress(self, *args: Any, **kwargs: Any) -> None:
        return None

    def text(self, _: str) -> None:
        return None


def test_z_image_euler_equals_a_plain_loop_over_the_diffusers_module(runtime: Runtime) -> None:
    """diffusers' ZImagePipeline: the transformer gets the latents as [C, 1, H, W] frames, t = (1000 − 1000σ)/1000
    and the prompt's states; its output is negated into the velocity; an Euler step moves by (σ' − σ)·v."""
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.ksampler import prepare_noise, sample
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas
    from inkgraph.nodes.loaders import CLIPLoader, UNETLoader
    from inkgraph.nodes.model_advanced import ModelSamplingAuraFlow

    ctx = Ctx(runtime)
    model = ModelSamplingAuraFlow(UNETLoader(ctx, "z_image_turbo_bf16.safetensors", weight_dtype="default"), shift=3.0)
    clip = CLIPLoader(ctx, "qwen_3_4b.safetensors", type="lumina2")
    cond = CLIPTextEncode(ctx, text="a fox", clip=clip)
    latent = torch.zeros(1, 16, 6, 8)
    with torch.inference_mode():  # as the engine runs nodes
        out = sample(ctx, model, 7, 3, 1.0, "euler", "simple", cond, cond, {"samples": latent})["samples"]  # type: ignore[arg-type]
        sigmas = sampling_sigmas(model.sampling_override, "simple", "euler", 3, 1.0).tolist()
        # "simple" takes every 333⅓th of the 1000 training times t = 1, 0.667, 0.334; shift 3: σ = 3t / (1 + 2t)
        assert sigmas == pytest.approx([1.0, 2.001 / 2.334, 1.002 / 1.668, 0.0], abs=1e-6)
        x = prepare_noise(latent, 7) * sigmas[0]
        states = cond[0][0][0]
        with model.use() as module:
            for sigma, following in zip(sigmas, sigmas[1:], strict=False):
                t = torch.tensor([(1000 - sigma * 1000) / 1000])
                frames = [x[0].unsqueeze(1).to(torch.float32)]
                velocity = -module(frames, t, [states], return_dict=False)[0][0][:, 0]
                x = x + velocity[None] * (following - sigma)
    assert torch.allclose(out, x / 0.3611 + 0.1159, atol=1e-4)


def test_a_z_image_lora_reaches_the_model(runtime: Runtime) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    ctx = Ctx(runtime)
    model = UNETLoader(ctx, "z_image_turbo_bf16.safetensors", weight_dtype="default")
    patched = LoraLoaderModelOnly(ctx, model, LORA, 0.5)
    lora = z_image_lora()
    with torch.inference_mode(), model.use() as module:
        q = module.layers[0].attention.to_q.weight.float().clone()
        out = module.layers[0].attention.to_out[0].weight.float().clone()
    with torch.inference_mode(), patched.use() as module:
        q_patched = module.layers[0].attention.to_q.weight.float().clone()
        out_patched = module.layers[0].attention.to_out[0].weight.float().clone()
    kohya, comfy = "lora_unet_layers_0_attention_qkv.lora_", "diffusion_model.layers.0.attention.to_out.0.lora_"
    fused = lora[kohya + "up.weight"] @ lora[kohya + "down.weight"]
    projection = lora[comfy + "B.weight"] @ lora[comfy + "A.weight"]
    assert torch.allclose(q_patched - q, 0.5 * fused[:64], atol=2e-2)  # bf16 weights
    assert torch.allclose(out_patched - out, 0.5 * projection, atol=2e-2)


def test_the_same_seed_gives_the_same_image_and_the_prompt_matters(runtime: Runtime) -> None:
    def run(text: str, seed: int) -> np.ndarray:
        prompt = small(template("image_z_image_turbo", runtime))
        for node in prompt.values():
            if node["class_type"] == "CLIPTextEncode":
                node["inputs"]["text"] = text
            if node["class_type"] == "KSampler":
                node["inputs"]["seed"] = seed
        _, outcome = runtime.run(prompt)
        assert outcome.status_str == "success", outcome.error
        (item,) = [i for output in outcome.outputs.values() for i in output.get("images", [])]
        from PIL import Image

        with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
            return np.asarray(png, dtype=np.float32).copy()

    first, again, other_prompt = run("a fox", 3), run("a fox", 3), run("a red house", 3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other_prompt)


def test_clip_text_encode_lumina2_and_renorm_cfg_run_on_netayume(runtime: Runtime) -> None:
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple",
              "inputs": {"ckpt_name": "NetaYumev35_pretrained_all_in_one.safetensors"}},
        "2": {"class_type": "CLIPTextEncodeLumina2", "inputs": {"system_prompt": "superior", "user_prompt": "a cat",
                                                                 "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncodeLumina2", "inputs": {"system_prompt": "alignment", "user_prompt": "",
                                                                 "clip": ["1", 1]}},
        "4": {"class_type": "RenormCFG", "inputs": {"model": ["1", 0], "cfg_trunc": 100, "renorm_cfg": 1.0}},
        "5": {"class_type": "ModelSamplingAuraFlow", "inputs": {"model": ["4", 0], "shift": 6.0}},
        "6": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 64, "height": 48, "batch_size": 1}},
        "7": {"class_type": "KSampler", "inputs": {
            "seed": 1, "steps": 2, "cfg": 4.0, "sampler_name": "res_multistep", "scheduler": "simple", "denoise": 1.0,
            "model": ["5", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["6", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["1", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error


def test_z_image_with_fp8_weights_on_request(runtime: Runtime) -> None:
    """UNETLoader's weight_dtype fp8_e4m3fn: linear weights in one byte, the time embedding still computed in the
    compute dtype (diffusers would cast its input to the fp8 weight's dtype)."""
    prompt = small(template("image_z_image_turbo", runtime))
    for node in prompt.values():
        if node["class_type"] == "UNETLoader":
            node["inputs"]["weight_dtype"] = "fp8_e4m3fn"
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    (key,) = [k for k in runtime.models._entries if k[0] == "diffusion_model" and k[-1] == "fp8_e4m3fn"]
    with runtime.models.use(key) as (module,):
        assert module.layers[0].feed_forward.w1.weight.dtype == torch.float8_e4m3fn
        assert module.t_embedder.mlp[0].weight.dtype == torch.float8_e4m3fn

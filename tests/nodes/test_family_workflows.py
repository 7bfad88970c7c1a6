"""The official Flux.1, Chroma and SD3.5 templates, with tiny models saved under the file names they ask
for (repackaged text encoders, fp8 and scaled-fp8 diffusion models, all-in-one fp8 checkpoints, Flux's VAE),
convert, validate and run end to end through the engine (sizes and steps made small); and what those
workflows rely on: the same seed gives the same image, Flux's Euler steps equal a plain loop over the
diffusers module, reference latents and inpainting inputs reach the model, symlinked model files load."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_text as tt

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
MODEL_INPUTS = {"ckpt_name", "unet_name", "clip_name", "clip_name1", "clip_name2", "clip_name3", "vae_name",
                "lora_name"}
RUNS = ["flux_dev_full_text_to_image", "flux_dev_checkpoint_example", "flux1_krea_dev",
        "flux_schnell_full_text_to_image", "flux_schnell", "flux_fill_inpaint_example",
        "image_flux.1_fill_dev_OneReward", "image_chroma_text_to_image", "sd3.5_simple_example"]
VALIDATE_ONLY = ["flux_kontext_dev_basic", "flux_fill_outpaint_example"]  # images made ~1 MP by the workflow


def _fp8(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Linear weights in fp8 e4m3fn (the "fp8" files), the rest in bf16."""
    return {k: (v.to(torch.float8_e4m3fn) if v.ndim == 2 and k.endswith(".weight") and "norm" not in k
                else v.to(torch.bfloat16)) for k, v in state.items()}


def _linear(state: dict[str, torch.Tensor]) -> set[str]:
    return {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2 and "norm" not in k
            and not k.endswith(("embedding.weight", "shared.weight", "relative_attention_bias.weight"))}


def _prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in state.items()}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("families")
    models = root / "models"
    te = models / "text_encoders"
    encoders = tt.save_set(te, seed=1, fmt="scaled_fp8")
    tt.save_encoder(tt.comfy_t5_state(encoders["t5xxl"]), te / "t5xxl_fp16.safetensors")
    unets = models / "diffusion_models"
    dev, schnell, fill = td.flux("dev", 1), td.flux("schnell", 2), td.flux("fill", 3)
    chroma, sd3 = td.chroma(4), td.sd3(5)
    td.save(td.flux_state(dev), unets / "flux1-dev.safetensors", dtype=torch.bfloat16)
    dev_state = td.flux_state(dev)
    for name in ("flux1-krea-dev_fp8_scaled", "flux1-dev-kontext_fp8_scaled"):
        td.save(td.scaled_fp8(dev_state, _linear(dev_state)), unets / f"{name}.safetensors")
    td.save(td.flux_state(schnell), unets / "flux1-schnell.safetensors", dtype=torch.bfloat16)
    td.save(td.flux_state(fill), unets / "flux1-fill-dev.safetensors", dtype=torch.bfloat16)
    td.save(_fp8(td.flux_state(fill)), unets / "flux.1-fill-dev-OneReward-transformer_fp8.safetensors")
    chroma_state = td.flux_state(chroma, chroma_model=True)
    double = {module for module in _linear(chroma_state) if module.startswith("double_blocks.")}
    td.save(td.fp8_mixed(chroma_state, double), unets / "Chroma1-HD-fp8mixed.safetensors")
    vae = td.vae(6)
    td.save(td.vae_state(vae), models / "vae" / "ae.safetensors")
    clip_l, clip_g = tt.comfy_clip_state(encoders["clip_l"]), tt.comfy_clip_state(encoders["clip_g"])
    t5 = tt.comfy_t5_state(encoders["t5xxl"])
    schnell_fp8 = {**_prefixed(_fp8(td.flux_state(schnell)), "model.diffusion_model."),
                   **_prefixed(clip_l, "text_encoders.clip_l.transformer."),
                   **_prefixed(_fp8(t5), "text_encoders.t5xxl.transformer."), **_prefixed(td.vae_state(vae), "vae.")}
    td.save(schnell_fp8, models / "checkpoints" / "flux1-schnell-fp8.safetensors")
    sd3_state = td.sd3_state(sd3)
    sd35 = {**_prefixed(td.scaled_fp8(sd3_state, _linear(sd3_state)), "model.diffusion_model."),
            **_prefixed(clip_l, "text_encoders.clip_l.transformer."),
            **_prefixed(clip_g, "text_encoders.clip_g.transformer."),
            **_prefixed(td.scaled_fp8(t5, _linear(t5)), "text_encoders.t5xxl.transformer."),
            **_prefixed(td.vae_state(vae), "first_stage_model.")}
    td.save(sd35, models / "checkpoints" / "sd3.5_large_fp8_scaled.safetensors")
    lora = {}
    generator = torch.Generator().manual_seed(9)
    for stem, (rows, cols) in {"lora_unet_double_blocks_0_img_attn_qkv": (192, 64),
                               "lora_unet_single_blocks_0_linear1": (448, 64)}.items():
        lora[stem + ".lora_down.weight"] = torch.randn(2, cols, generator=generator) * 0.1
        lora[stem + ".lora_up.weight"] = torch.randn(rows, 2, generator=generator) * 0.1
        lora[stem + ".alpha"] = torch.tensor(2.0)
    (models / "loras").mkdir(parents=True)
    from safetensors.torch import save_file

    save_file(lora, str(models / "loras" / "removal_timestep_alpha-2-1740.safetensors"))
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


def image_with_hole(path: Path, size: int = 64) -> None:
    """An RGBA image whose alpha is 0 (LoadImage's mask 1: inpaint) in the left half."""
    rgb = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
    alpha = np.full((size, size, 1), 255, dtype=np.uint8)
    alpha[:, : size // 2] = 0
    image = Image.fromarray(np.concatenate([rgb, alpha], axis=-1), "RGBA")
    (image if path.suffix == ".png" else image.convert("RGB")).save(path)


def template(name: str, runtime: Runtime) -> dict[str, Any]:
    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for node in prompt.values():
        if node["class_type"] == "LoadImage":
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                image_with_hole(path)
    return prompt


def small(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same workflow at 64×64 pixels and two steps."""
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] in ("EmptySD3LatentImage", "EmptyLatentImage", "ModelSamplingFlux"):
            inputs["width"] = inputs["height"] = 64
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
    missing = missing_types(prompt, runtime)
    if missing:
        pytest.skip(f"node types of other issues not on this branch: {', '.join(missing)}")
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    images = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    assert images


DUAL = {"clip_name1": "clip_l.safetensors", "clip_name2": "t5xxl_fp8_e4m3fn_scaled.safetensors", "type": "flux"}


def flux_prompt(seed: int = 3, guidance: float = 3.5, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    prompt = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"}},
        "2": {"class_type": "DualCLIPLoader", "inputs": DUAL},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "a (red:1.3) fox", "clip": ["2", 0]}},
        "5": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["4", 0], "guidance": guidance}},
        "6": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["4", 0]}},
        "7": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 64, "height": 48, "batch_size": 1}},
        "8": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": 3, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0,
            "model": ["1", 0], "positive": ["5", 0], "negative": ["6", 0], "latent_image": ["7", 0]}},
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["3", 0]}},
        "10": {"class_type": "PreviewImage", "inputs": {"images": ["9", 0]}},
    }
    prompt.update(extra or {})
    return prompt


def image_of(runtime: Runtime, outcome: Any, node: str = "10") -> np.ndarray:
    item = outcome.outputs[node]["images"][0]
    with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
        return np.asarray(png, dtype=np.float32).copy()


def test_same_seed_same_image_and_guidance_reaches_the_model(runtime: Runtime) -> None:
    images = []
    for seed, guidance in ((3, 3.5), (3, 3.5), (3, 8.0), (4, 3.5)):
        _, outcome = runtime.run(flux_prompt(seed, guidance))
        assert outcome.status_str == "success", outcome.error
        images.append(image_of(runtime, outcome))
    assert images[0].shape == (48, 64, 3)
    assert np.array_equal(images[0], images[1])
    assert not np.array_equal(images[0], images[2]) and not np.array_equal(images[0], images[3])


def test_an_sd_empty_latent_takes_the_models_sixteen_channels(runtime: Runtime) -> None:
    prompt = flux_prompt(extra={"7": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 48,
                                                                                  "batch_size": 1}}})
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error


def test_reference_latents_reach_the_model(runtime: Runtime) -> None:
    image_with_hole(runtime.folders.input / "ref.png")
    extra = {"20": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}},
             "21": {"class_type": "VAEEncode", "inputs": {"pixels": ["20", 0], "vae": ["3", 0]}},
             "22": {"class_type": "ReferenceLatent", "inputs": {"conditioning": ["4", 0], "latent": ["21", 0]}},
             "5": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["22", 0], "guidance": 2.5}}}
    _, with_ref = runtime.run(flux_prompt(extra=extra))
    _, without = runtime.run(flux_prompt(guidance=2.5))
    assert with_ref.status_str == "success", with_ref.error
    assert not np.array_equal(image_of(runtime, with_ref), image_of(runtime, without))


def test_flux_euler_equals_a_plain_loop_over_the_diffusers_module(runtime: Runtime) -> None:
    from diffusers import FluxPipeline

    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.ksampler import prepare_noise, sample
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas
    from inkgraph.nodes.loaders import DualCLIPLoader, UNETLoader
    from inkgraph.nodes.model_advanced import ModelSamplingFlux

    class Ctx:
        models, folders, extra_data, node_id = runtime.models, runtime.folders, {}, "t"

        def progress(self, *args: Any, **kwargs: Any) -> None:
            return None

        def text(self, _: str) -> None:
            return None

    ctx = Ctx()
    model = ModelSamplingFlux(UNETLoader(ctx, "flux1-dev.safetensors", weight_dtype="default"), width=64, height=64)
    clip = DualCLIPLoader(ctx, "clip_l.safetensors", "t5xxl_fp16.safetensors", type="flux")
    cond = CLIPTextEncode(ctx, text="a fox", clip=clip)
    latent = torch.zeros(1, 16, 8, 8)
    with torch.no_grad():
        out = sample(ctx, model, 7, 3, 1.0, "euler", "simple", cond, cond, {"samples": latent})["samples"]  # type: ignore[arg-type]
        sigmas = sampling_sigmas(model.sampling_override, "simple", "euler", 3, 1.0).tolist()
        assert sigmas == pytest.approx([1.0, 0.76, 0.4419, 0.0], abs=1e-4)  # Flux's shift at 64×64
        x = prepare_noise(latent, 7) * sigmas[0]
        states, pooled = cond[0][0], cond[0][1]["pooled_output"]
        ids = FluxPipeline._prepare_latent_image_ids(1, 4, 4, x.device, x.dtype)
        with model.use() as module:
            for sigma, following in zip(sigmas, sigmas[1:], strict=False):
                velocity = module(hidden_states=FluxPipeline._pack_latents(x, 1, 16, 8, 8),
                                  encoder_hidden_states=states, pooled_projections=pooled,
                                  timestep=torch.tensor([sigma]), guidance=torch.tensor([3.5]), img_ids=ids,
                                  txt_ids=torch.zeros(states.shape[1], 3), return_dict=False)[0]
                x = x + FluxPipeline._unpack_latents(velocity, 64, 64, 8) * (following - sigma)
    assert torch.allclose(out, x / 0.3611 + 0.1159, atol=1e-4)


def test_inpainting_keeps_the_unmasked_latent(runtime: Runtime) -> None:
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.ksampler import sample
    from inkgraph.nodes.edit_models import DifferentialDiffusion, InpaintModelConditioning
    from inkgraph.nodes.image_io import LoadImage
    from inkgraph.nodes.loaders import DualCLIPLoader, UNETLoader, VAELoader

    class Ctx:
        models, folders, extra_data, node_id = runtime.models, runtime.folders, {}, "t"

        def progress(self, *args: Any, **kwargs: Any) -> None:
            return None

        def text(self, _: str) -> None:
            return None

    ctx = Ctx()
    image_with_hole(runtime.folders.input / "hole.png")
    pixels, mask = LoadImage().execute(ctx, image="hole.png")  # type: ignore[arg-type]
    model = DifferentialDiffusion(UNETLoader(ctx, "flux1-fill-dev.safetensors", weight_dtype="default"), 1.0)
    cond = CLIPTextEncode(ctx, text="a fox", clip=DualCLIPLoader(ctx, "clip_l.safetensors", "t5xxl_fp16.safetensors",
                                                                 type="flux"))
    positive, negative, latent = InpaintModelConditioning(cond, cond, VAELoader(ctx, "ae.safetensors"), pixels, mask)
    assert positive[0][1]["concat_latent_image"].shape == latent["samples"].shape == (1, 16, 8, 8)
    with torch.no_grad():
        out = sample(ctx, model, 1, 3, 1.0, "euler", "normal", positive, negative, latent)["samples"]  # type: ignore[arg-type]
    kept = latent["samples"][..., 4:]  # the right half is unmasked
    assert torch.allclose(out[..., 4:], kept, atol=1e-5)
    assert not torch.allclose(out[..., :4], latent["samples"][..., :4], atol=1e-2)


def test_differential_diffusion_repaints_a_cell_while_sigma_is_above_its_mask_value() -> None:
    from inkgraph.nodes.diffusion import model_sampling as ms
    from inkgraph.nodes.edit_models import _differential_mask

    sampling = ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=1.0, multiplier=1000)
    sigmas = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])
    # what the sampler passes as extra_options["model"]: its runner, whose inner_model has the model sampling
    runner = SimpleNamespace(inner_model=SimpleNamespace(model_sampling=sampling))
    mask = torch.tensor([0.1, 0.4, 0.6, 0.9])
    binary = _differential_mask(1.0)
    threshold_at = {0.75: [0, 0, 0, 1], 0.5: [0, 0, 1, 1], 0.25: [0, 1, 1, 1]}
    for sigma, want in threshold_at.items():
        got = binary(torch.tensor([sigma]), mask, {"model": runner, "sigmas": sigmas})
        assert got.tolist() == want
    half = _differential_mask(0.5)(torch.tensor([0.5]), mask, {"model": runner, "sigmas": sigmas})
    assert torch.allclose(half, 0.5 * torch.tensor([0.0, 0, 1, 1]) + 0.5 * mask)


def test_symlinked_model_files_and_folders_load_but_names_cannot_leave(runtime: Runtime, tmp_path: Path) -> None:
    from inkgraph.engine.core.paths import PathEscapeError

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    source = runtime.folders.models / "diffusion_models" / "flux1-schnell.safetensors"
    (elsewhere / "linked.safetensors").write_bytes(source.read_bytes())
    unet = runtime.folders.models / "unet"
    unet.mkdir(exist_ok=True)
    (unet / "linked.safetensors").symlink_to(elsewhere / "linked.safetensors")
    (unet / "folder").symlink_to(elsewhere, target_is_directory=True)
    for name in ("linked.safetensors", "folder/linked.safetensors"):
        assert name in runtime.folders.model_files("diffusion_models")
        prompt = flux_prompt(extra={"1": {"class_type": "UNETLoader", "inputs": {"unet_name": name,
                                                                                 "weight_dtype": "fp8_e4m3fn"}}})
        _, outcome = runtime.run(prompt)
        assert outcome.status_str == "success", outcome.error
    for name in ("../checkpoints/flux1-schnell-fp8.safetensors", "/etc/passwd", "folder/../../x"):
        with pytest.raises(PathEscapeError):
            runtime.folders.model_path("diffusion_models", name)


def test_clip_types_inkgraph_does_not_encode_yet_fail_clearly(runtime: Runtime) -> None:
    prompt = flux_prompt(extra={"2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "clip_l.safetensors",
                                                                             "type": "ace"}}})
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "error" and "CLIP type 'ace' is not supported yet" in str(outcome.error)
    prompt = flux_prompt(extra={"2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "clip_l.safetensors",
                                                                             "type": "wan"}}})
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "error" and "type 'wan' takes umt5xxl" in str(outcome.error)
    prompt = flux_prompt(extra={"2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "clip_g.safetensors",
                                                                             "type": "chroma", "device": "cpu"}}})
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "error" and "type 'chroma' takes t5xxl" in str(outcome.error)


def test_text_encoders_on_the_cpu(runtime: Runtime) -> None:
    clip = {"class_type": "CLIPLoader", "inputs": {"clip_name": "t5xxl_fp16.safetensors", "type": "chroma",
                                                   "device": "cpu"}}
    unet = {"class_type": "UNETLoader", "inputs": {"unet_name": "Chroma1-HD-fp8mixed.safetensors",
                                                   "weight_dtype": "default"}}
    prompt = flux_prompt(extra={"1": unet, "2": clip})
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    cpu_keys = [key for key in runtime.models._entries if key[0] == "text_encoder" and key[-1] == "cpu"]
    assert cpu_keys and all(key[-2] == "fp32" for key in cpu_keys)

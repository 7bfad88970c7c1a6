"""Qwen-Image (2512, Edit, Edit 2509, Edit 2511, Layered) end to end: the official templates, with tiny models
saved under the names they ask for (fp8, scaled-fp8 and fp8mixed transformers; the fp8-scaled Qwen2.5-VL
with its vision tower; Wan's 3-D VAE and Layered's RGBA one; Lightning-style LoRAs), convert, validate and
run; and what they rely on, each against a plain reference: the prompt templates token for token against
diffusers' Qwen-Image pipelines, the encoder's states against transformers' module, the adapter's call
against diffusers' own positions, the VAE against the diffusers module, CFGNorm against its formula."""

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
from tests.fixtures import tiny_qwen as tq

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
MODEL_INPUTS = {"ckpt_name", "unet_name", "clip_name", "clip_name1", "clip_name2", "vae_name", "lora_name"}
TEMPLATE_NAMES = ["image_qwen_Image_2512", "image_qwen_image", "image_qwen_image_edit", "image_qwen_image_edit_2509",
                  "image_qwen_image_edit_2511", "image_qwen_image_layered", "image-qwen_image_edit_2511_lora_inflation",
                  "template_qwen_image_illustration_lora"]
UNETS = {"qwen_image_2512_fp8_e4m3fn": "fp8", "qwen_image_fp8_e4m3fn": "fp8", "qwen_image_edit_fp8_e4m3fn": "fp8",
         "qwen_image_edit_2509_fp8_e4m3fn": "fp8", "qwen_image_edit_2511_fp8mixed": "mixed",
         "qwen_image_edit_2511_bf16": "bf16"}
LORAS = ["Qwen-Image-2512-Lightning-4steps-V1.0-fp32", "Qwen-Image-Lightning-8steps-V1.0",
         "Qwen-Image-Edit-Lightning-4steps-V1.0-bf16", "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16",
         "Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16", "Qwen_Image_Edit_2511-SYSTMS_INFL8",
         "illustration-1.0-qwen-image"]


def _linear(state: dict[str, torch.Tensor]) -> set[str]:
    return {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
            and "norm" not in k and "embed" not in k}


def _fp8(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    linear = _linear(state)
    return {k: v.to(torch.float8_e4m3fn) if k[: -len(".weight")] in linear and k.endswith(".weight") else v.to(
        torch.bfloat16) for k, v in state.items()}


def _lora(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """A ComfyUI-format LoRA (``diffusion_model.<module>.lora_down/up``) on two of the model's linear layers."""
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for module in ("transformer_blocks.0.attn.to_q", "transformer_blocks.1.img_mlp.net.2"):
        rows, cols = state[module + ".weight"].shape
        out[f"diffusion_model.{module}.lora_down.weight"] = torch.randn(2, cols, generator=generator) * 0.1
        out[f"diffusion_model.{module}.lora_up.weight"] = torch.randn(rows, 2, generator=generator) * 0.1
    return out


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return {"encoder": tq.qwen_vl(1), "transformer": tq.transformer(2), "layered": tq.transformer(3, layered=True),
            "vae": tq.vae(4), "rgba_vae": tq.vae(5, channels=4)}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("qwen")
    m = root / "models"
    encoder = tq.comfy_qwen_vl_state(models["encoder"])
    language = {k for k in _linear(encoder) if k.startswith("model.")}
    td.save(td.scaled_fp8({k: v.half() for k, v in encoder.items()}, language),
            m / "text_encoders" / "qwen_2.5_vl_7b_fp8_scaled.safetensors")
    state = tq.transformer_state(models["transformer"])
    for name, kind in UNETS.items():
        marked = tq.transformer_state(models["transformer"], zero_marker="2511" in name)
        if kind == "fp8":
            td.save(_fp8(marked), m / "diffusion_models" / f"{name}.safetensors")
        elif kind == "mixed":
            blocks = {module for module in _linear(marked) if module.startswith("transformer_blocks.")}
            td.save(td.fp8_mixed(marked, blocks), m / "diffusion_models" / f"{name}.safetensors")
        else:
            td.save(marked, m / "diffusion_models" / f"{name}.safetensors", "model.diffusion_model.", torch.bfloat16)
    td.save(tq.transformer_state(models["layered"]), m / "diffusion_models" / "qwen_image_layered_bf16.safetensors",
            dtype=torch.bfloat16)
    td.save(tq.vae_state(models["vae"]), m / "vae" / "qwen_image_vae.safetensors")
    td.save(tq.vae_state(models["rgba_vae"]), m / "vae" / "qwen_image_layered_vae.safetensors")
    (m / "loras").mkdir(parents=True)
    for seed, name in enumerate(LORAS):
        save_file(_lora(state, seed), str(m / "loras" / f"{name}.safetensors"))
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


def picture(path: Path, width: int = 40, height: int = 32, seed: int = 0) -> None:
    rgb = (np.random.default_rng(seed).random((height, width, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path)


def template(name: str, runtime: Runtime) -> dict[str, Any]:
    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for seed, node in enumerate(prompt.values()):
        if node["class_type"] == "LoadImage":
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                picture(path, 40 + 8 * seed, 32, seed)
    return prompt


def small(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same workflow at a few dozen pixels and two steps: images scaled by the workflow are made small."""
    for node in prompt.values():
        inputs = node["inputs"]
        kind = node["class_type"]
        if kind in ("EmptySD3LatentImage", "EmptyQwenImageLayeredLatentImage"):
            inputs["width"], inputs["height"] = 48, 32
        if kind == "ImageScaleToTotalPixels":
            inputs["megapixels"] = 0.01
        if kind == "ImageScaleToMaxDimension":
            inputs["largest_size"] = 48
        if kind == "FluxKontextImageScale":  # Kontext's sizes are about a megapixel: a small scale instead
            node["class_type"] = "ImageScale"
            node["inputs"] = {"image": inputs["image"], "upscale_method": "area", "width": 48, "height": 32,
                              "crop": "disabled"}
        if isinstance(inputs.get("steps"), int):
            inputs["steps"] = 2
    return prompt


@pytest.fixture()
def small_references(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Edit encoders' fixed sizes (a megapixel for reference latents) made small for the tiny models."""
    from inkgraph.nodes import qwen_image

    monkeypatch.setattr(qwen_image, "EDIT_PIXELS", 48 * 32)
    monkeypatch.setattr(qwen_image, "VISION_PIXELS", 56 * 56)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
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


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_official_templates_run_with_tiny_models(runtime: Runtime, name: str, small_references: None) -> None:
    prompt = small(template(name, runtime))
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    images = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    assert images


def test_layered_template_gives_each_layer_with_alpha(runtime: Runtime,
                                                                        small_references: None) -> None:
    prompt = small(template("image_qwen_image_layered", runtime))
    layers = next(n["inputs"]["layers"] for n in prompt.values()
                  if n["class_type"] == "EmptyQwenImageLayeredLatentImage")
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    saved = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    assert len(saved) == layers  # the template cuts the composite (frame 0) off and saves each layer
    with Image.open(runtime.folders.resolve(saved[0]["type"], saved[0]["filename"], saved[0]["subfolder"])) as png:
        assert png.mode == "RGBA" and png.size == (48, 32)


def edit_prompt(images: int, method: str | None = None) -> dict[str, Any]:
    """TextEncodeQwenImageEditPlus with ``images`` pictures (and a reference method), sampled from noise."""
    prompt: dict[str, Any] = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "qwen_image_edit_2511_bf16.safetensors",
                                                     "weight_dtype": "default"}},
        "2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "qwen_2.5_vl_7b_fp8_scaled.safetensors",
                                                     "type": "qwen_image"}},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "qwen_image_vae.safetensors"}},
        "4": {"class_type": "TextEncodeQwenImageEditPlus", "inputs": {
            "clip": ["2", 0], "vae": ["3", 0], "prompt": "put the cat from picture 2 on the sofa"}},
        "5": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["4", 0]}},
        "6": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 48, "height": 32, "batch_size": 1}},
        "7": {"class_type": "KSampler", "inputs": {
            "seed": 5, "steps": 2, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0,
            "model": ["1", 0], "positive": ["8", 0], "negative": ["5", 0], "latent_image": ["6", 0]}},
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["3", 0]}},
        "10": {"class_type": "PreviewImage", "inputs": {"images": ["9", 0]}},
    }
    for i in range(images):
        prompt[f"2{i}"] = {"class_type": "LoadImage", "inputs": {"image": f"edit{i}.png"}}
        prompt["4"]["inputs"][f"image{i + 1}"] = [f"2{i}", 0]
    if method:
        prompt["8"] = {"class_type": "FluxKontextMultiReferenceLatentMethod", "inputs": {
            "conditioning": ["4", 0], "reference_latents_method": method}}
    else:
        prompt["7"]["inputs"]["positive"] = ["4", 0]
    return prompt


def image_of(runtime: Runtime, outcome: Any, node: str = "10") -> np.ndarray:
    item = outcome.outputs[node]["images"][0]
    with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
        return np.asarray(png, dtype=np.float32).copy()


def test_an_edit_with_two_images_reaches_the_model_through_both_paths(runtime: Runtime,
                                                                      small_references: None) -> None:
    for i in range(2):
        picture(runtime.folders.input / f"edit{i}.png", 40 + 16 * i, 32, 10 + i)
    results = {}
    for key, images, method in (("two", 2, None), ("one", 1, None), ("index", 2, "index"),
                                ("zero", 2, "index_timestep_zero")):
        _, outcome = runtime.run(edit_prompt(images, method))
        assert outcome.status_str == "success", outcome.error
        results[key] = image_of(runtime, outcome)
    assert not np.array_equal(results["two"], results["one"])
    assert np.array_equal(results["two"], results["zero"])  # 2511's default method is index_timestep_zero
    assert not np.array_equal(results["zero"], results["index"])


def test_edit_plus_encodes_each_image_for_the_encoder_and_the_vae(runtime: Runtime, small_references: None) -> None:
    from inkgraph.nodes.image_io import LoadImage
    from inkgraph.nodes.loaders import CLIPLoader, VAELoader
    from inkgraph.nodes.qwen_image import TextEncodeQwenImageEditPlus

    ctx = _ctx(runtime)
    for i in range(2):
        picture(runtime.folders.input / f"edit{i}.png", 40 + 16 * i, 32, 10 + i)
    first, _ = LoadImage().execute(ctx, image="edit0.png")  # type: ignore[arg-type]
    second, _ = LoadImage().execute(ctx, image="edit1.png")  # type: ignore[arg-type]
    clip = CLIPLoader(ctx, "qwen_2.5_vl_7b_fp8_scaled.safetensors", "qwen_image")
    vae = VAELoader(ctx, "qwen_image_vae.safetensors")
    both = TextEncodeQwenImageEditPlus(ctx, clip, "swap them", vae, first, None, second)
    text_only = TextEncodeQwenImageEditPlus(ctx, clip, "swap them")
    refs = both[0][1]["reference_latents"]
    # about 48·32 pixels, sides multiples of 8: 40×32 stays 40×32, 56×32 becomes 48×32
    assert [tuple(r.shape) for r in refs] == [(1, 16, 1, 4, 5), (1, 16, 1, 4, 6)]
    assert "reference_latents" not in text_only[0][1]
    # at about 56² pixels the pictures (40×32 → 63×50, 56×32 → 74×42) are prepared at 56×56 and 56×84:
    # 2×2 and 2×3 merged patches of 28 pixels, 4 and 6 states beside the text's
    extra = both[0][0].shape[1] - text_only[0][0].shape[1]
    pictures = len(_tokens("Picture 1: <|vision_start|><|image_pad|><|vision_end|>"
                           "Picture 3: <|vision_start|><|image_pad|><|vision_end|>")) - 2
    assert extra == pictures + 4 + 6


def _tokens(text: str) -> list[int]:
    from inkgraph.nodes.diffusion.encoders.qwen_vl import qwen_tokenizer

    return list(qwen_tokenizer()(text, add_special_tokens=False)["input_ids"])


def _ctx(runtime: Runtime) -> Any:
    class Ctx:
        models, folders, extra_data, node_id = runtime.models, runtime.folders, {}, "t"

        def progress(self, *args: Any, **kwargs: Any) -> None:
            return None

        def text(self, _: str) -> None:
            return None

        def check_interrupted(self) -> None:
            return None

    return Ctx()


PROMPT = "A red fox reading a newspaper, \"Qwen\" on the front page."


def test_prompt_templates_token_for_token_against_diffusers_pipelines() -> None:
    from diffusers import QwenImageEditPipeline, QwenImageEditPlusPipeline, QwenImagePipeline

    from inkgraph.nodes.diffusion.encoders.qwen_image import template_end, templated, token_ids

    text_template, start = _pipeline_template(QwenImagePipeline)
    assert templated(PROMPT) == text_template.format(PROMPT)
    ids = token_ids(PROMPT)
    assert template_end(ids) == start == 34
    edit_template, edit_start = _pipeline_template(QwenImageEditPipeline)
    assert templated(PROMPT, images=1) == edit_template.format(PROMPT)
    assert template_end(token_ids(PROMPT, images=1)) == edit_start == 64
    plus_template, _ = _pipeline_template(QwenImageEditPlusPipeline)
    from inkgraph.nodes.qwen_image import PLUS_TEMPLATE

    assert PLUS_TEMPLATE == plus_template
    # the ids themselves: the system turn's opening, the user's text, the assistant's opening
    assert ids[:3] == [151644, 8948, 198]  # <|im_start|> system \n
    assert ids[32:34] == [872, 198] and ids[31] == 151644  # <|im_start|> user \n
    assert ids[34:] == _tokens(PROMPT) + [151645, 198, 151644, 77091, 198]  # … <|im_end|>\n<|im_start|>assistant\n
    assert templated("<|im_start|>system\nown<|im_end|>") == "<|im_start|>system\nown<|im_end|>"


def _pipeline_template(cls: type) -> tuple[str, int]:
    """(prompt template, tokens dropped) as a diffusers pipeline sets them in its __init__."""
    import inspect
    import re

    source = inspect.getsource(cls.__init__)
    found = re.search(r"self\.prompt_template_encode = (\".*?\"|\(.*?\))\n", source, re.S)
    assert found is not None
    template = eval(found.group(1))  # noqa: S307  (a string literal of diffusers' own source)
    start = re.search(r"self\.prompt_template_encode_start_idx = (\d+)", source)
    return template, int(start.group(1)) if start else -1


def test_encoder_states_equal_transformers_module(runtime: Runtime, models: dict[str, Any]) -> None:
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.encoders.qwen_image import token_ids
    from inkgraph.nodes.loaders import CLIPLoader

    ctx = _ctx(runtime)
    clip = CLIPLoader(ctx, "qwen_2.5_vl_7b_fp8_scaled.safetensors", "qwen_image")
    cond = CLIPTextEncode(ctx, text=PROMPT, clip=clip)
    ids = token_ids(PROMPT)
    encoder = models["encoder"]
    with torch.no_grad():
        reference = encoder(input_ids=torch.tensor([ids])).last_hidden_state[:, 34:]
    assert cond[0][0].shape == reference.shape and cond[0][1] == {}
    # the file's language model is fp8-scaled: its states follow the module's closely, not exactly
    assert torch.nn.functional.cosine_similarity(cond[0][0].flatten(), reference.flatten(), dim=0) > 0.99


def test_vision_input_is_prepared_as_comfyui_prepares_it() -> None:
    from inkgraph.nodes.diffusion.encoders.qwen_vl import prepare_image

    image = torch.rand(1, 60, 80, 3)
    patches, grid = prepare_image(image)
    assert grid.tolist() == [[1, 4, 6]]  # 60×80 → 56×84 (multiples of 28) → 4×6 patches of 14
    assert patches.shape == (24, 3 * 2 * 14 * 14)
    resized = torch.nn.functional.interpolate(image.movedim(-1, 1), size=(56, 84), mode="bilinear")[0]
    normalized = (resized[:, :14, :14] - torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)) \
        / torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
    first = patches[0].view(3, 2, 14, 14)  # the first patch: channels, two identical frames, 14×14 pixels
    assert torch.allclose(first[:, 0], normalized, atol=1e-5) and torch.allclose(first[:, 1], normalized, atol=1e-5)


def test_adapter_equals_diffusers_own_call_on_an_even_square_latent(models: dict[str, Any], base: Path) -> None:
    """On an even square grid ComfyUI's centred positions are diffusers' own: the adapter's output must equal
    the module called the way diffusers' pipeline calls it."""
    from diffusers.models.transformers.transformer_qwenimage import QwenEmbedRope

    from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model

    path = base / "models" / "diffusion_models" / "qwen_image_edit_2511_bf16.safetensors"
    detected, _ = detect_file(path)
    module, _ = load_diffusion_model(path, torch.float32, detected=detected)
    adapter = detected.family.adapter(detected)
    context = torch.randn(1, 7, tq.TEXT_WIDTH)
    x = torch.randn(1, 16, 1, 8, 8)
    ctx = SimpleNamespace(device=torch.device("cpu"), dtype=torch.float32, latent_shape=tuple(x.shape))
    with torch.no_grad():
        ours = adapter.apply(module, x, torch.tensor([0.6]), adapter.encode(module, context, {}, ctx))
        module.pos_embed = QwenEmbedRope(10000, [4, 14, 14], scale_rope=True)
        packed = x[:, :, 0].view(1, 16, 4, 2, 4, 2).permute(0, 2, 4, 1, 3, 5).reshape(1, 16, 64)
        theirs = module(hidden_states=packed, encoder_hidden_states=context, timestep=torch.tensor([0.6]),
                        img_shapes=[[(1, 4, 4)]], return_dict=False)[0]
    theirs = theirs.view(1, 4, 4, 16, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(1, 16, 1, 8, 8)
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_reference_positions_follow_comfyui_methods() -> None:
    from inkgraph.nodes.diffusion.families.qwen_image import image_ids, reference_placement

    refs = [torch.zeros(1, 16, 1, 6, 10), torch.zeros(1, 16, 1, 8, 4)]
    assert reference_placement(refs, "index") == [(1, 0, 0), (2, 0, 0)]
    assert reference_placement(refs, "negative_index") == [(-1, 0, 0), (-2, 0, 0)]
    assert reference_placement(refs, "offset") == [(1, 0, 0), (1, 6, 0)]  # Kontext's: the second below
    ids = image_ids(1, 6, 10, index=2)  # 3×5 patches, centred: rows −1…1, columns −2…2
    assert ids[:, 0].unique().tolist() == [2.0]
    assert ids[:, 1].unique().tolist() == [-1.0, 0.0, 1.0] and ids[:, 2].unique().tolist() == [-2.0, -1.0, 0, 1, 2]
    frames = image_ids(3, 4, 4)  # Layered: the frames are numbered
    assert frames[:, 0].unique().tolist() == [0.0, 1.0, 2.0]


def test_vae_file_equals_the_diffusers_module(base: Path, models: dict[str, Any]) -> None:
    from inkgraph.nodes.diffusion import vae_files, vae_ops

    vae = vae_files.load(base / "models" / "vae" / "qwen_image_vae.safetensors", torch.float32)
    image = torch.rand(2, 32, 48, 3)
    # ComfyUI's VAE takes an IMAGE batch as the frames of one video for Wan 2.1's VAE: 5 frames → 2 latent frames
    assert vae_ops.encode(vae, torch.rand(5, 32, 48, 3)).shape == (1, 16, 2, 4, 6)
    latent = torch.cat([vae_ops.encode(vae, image[i:i + 1]) for i in range(2)])
    assert latent.shape == (2, 16, 1, 4, 6)
    with torch.no_grad():
        reference = models["vae"].encode(image.movedim(-1, 1).unsqueeze(2) * 2 - 1).latent_dist.mode()
        decoded = models["vae"].decode(reference, return_dict=False)[0]
    assert torch.allclose(latent, reference, atol=1e-5)
    out = vae_ops.decode(vae, latent)
    assert out.shape == (2, 32, 48, 3)
    assert torch.allclose(out, ((decoded.float() + 1) / 2).clamp(0, 1)[:, :, 0].movedim(1, -1), atol=1e-5)


def test_latents_are_normalised_per_channel_as_wan21() -> None:
    from inkgraph.nodes.diffusion.families.wan import WAN21_LATENT, WAN21_MEAN, WAN21_STD

    latent = torch.randn(1, 16, 1, 2, 2)
    inside = WAN21_LATENT.process_in(latent)
    assert torch.allclose(inside[0, 3], (latent[0, 3] - WAN21_MEAN[3]) / WAN21_STD[3])
    assert torch.allclose(WAN21_LATENT.process_out(inside), latent, atol=1e-6)


def test_cfg_norm_scales_the_guided_prediction_to_the_positive_norm() -> None:
    from inkgraph.nodes.diffusion.patches.guidance_patches import CFGNorm, CFGNormPre

    cond = torch.randn(1, 4, 3, 3)
    guided = 3 * cond + torch.randn(1, 4, 3, 3)
    out = CFGNorm(0.5)({"cond_denoised": cond, "denoised": guided})
    ratio = (cond.norm(dim=1, keepdim=True) / guided.norm(dim=1, keepdim=True)).clamp(max=1.0)
    assert torch.allclose(out, guided * ratio * 0.5)
    uncond = torch.randn(1, 4, 3, 3)
    pre = CFGNormPre(1.0)({"cond": cond, "uncond": uncond, "cond_scale": 4.0})
    combined = uncond + 4.0 * (cond - uncond)
    assert torch.allclose(pre.norm(dim=1), cond.norm(dim=1), atol=1e-5)
    assert torch.allclose(pre / pre.norm(dim=1, keepdim=True), combined / combined.norm(dim=1, keepdim=True), atol=1e-5)


def test_empty_layered_latent_has_a_frame_per_layer_and_the_composite() -> None:
    from inkgraph.nodes.qwen_image import EmptyQwenImageLayeredLatentImage

    assert EmptyQwenImageLayeredLatentImage(640, 320, 2, 3)["samples"].shape == (3, 16, 3, 40, 80)

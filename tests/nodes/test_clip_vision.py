"""Image prompts: CLIP vision towers in transformers' and open_clip's layouts and SigLIP load with exact weights
and encode as transformers does on ComfyUI's preprocessing (centre crop or squash, 8-bit quantised, normalised);
unCLIPConditioning stacks image embeddings and an SDXL UNet takes one as its pooled output (revision) with
ComfyUI's noise augmentation; Flux Redux appends its tokens (StyleModelApply, multiply and attn_bias);
InstructPixToPixConditioning gives the input image's latent to both conditionings."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from inkgraph.engine.core.devices import DevicePolicy, ModelManager
from inkgraph.nodes import clip_vision as nodes
from inkgraph.nodes.diffusion import clip_vision as cv
from inkgraph.nodes.diffusion import unclip
from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from inkgraph.nodes.diffusion.unet import UNetAdapter
from tests.fixtures import tiny_control as tc
from tests.fixtures import tiny_sd as ts
from tests.fixtures import tiny_vision as tv


@pytest.fixture(scope="module")
def manager() -> ModelManager:
    return ModelManager.with_policy(DevicePolicy())


def picture(height: int = 40, width: int = 56, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, height, width, 3, generator=torch.Generator().manual_seed(seed))


def test_preprocess_is_comfyuis_clip_preprocess() -> None:
    image = picture()
    mean, std = cv.CLIP_MEAN, cv.CLIP_STD
    out = cv.preprocess(image, 32, mean, std, crop=True)
    # shorter side 40 → 32: 56 → round(44.8) = 45 wide, then the centre 32 columns (from (45 − 32) // 2 = 6)
    scaled = torch.nn.functional.interpolate(image.movedim(-1, 1), size=(32, 45), mode="bicubic", antialias=True)
    expected = (torch.clip(255 * scaled[..., 6:38], 0, 255).round() / 255 - torch.tensor(mean).view(3, 1, 1)) \
        / torch.tensor(std).view(3, 1, 1)
    assert out.shape == (1, 3, 32, 32) and torch.allclose(out, expected, atol=1e-6)
    squashed = cv.preprocess(image, 32, mean, std, crop=False)
    full = torch.nn.functional.interpolate(image.movedim(-1, 1), size=(32, 32), mode="bicubic", antialias=True)
    assert torch.allclose(squashed * torch.tensor(std).view(3, 1, 1) + torch.tensor(mean).view(3, 1, 1),
                          torch.clip(255 * full, 0, 255).round() / 255, atol=1e-6)


@pytest.mark.parametrize("layout", ["transformers", "open_clip", "unclip_checkpoint"])
def test_clip_vision_loads_and_encodes_as_transformers(tmp_path: Path, manager: ModelManager, layout: str) -> None:
    model = tv.clip_vision(1)
    state = {"transformers": model.state_dict(), "open_clip": tv.open_clip_state(model),
             "unclip_checkpoint": {**tv.open_clip_state(model, "embedder.model.visual."),
                                   "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1)}}[layout]
    handle = cv.load(manager, tc.save(state, tmp_path / f"{layout}.safetensors"))
    assert handle.detected.kind == "clip" and handle.image_size == 32
    with manager.use(handle.key) as (loaded,):
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    image = picture()
    out = nodes.CLIPVisionEncode(handle, image, "center")
    with torch.no_grad():
        expected = model(pixel_values=cv.preprocess(image, 32, cv.CLIP_MEAN, cv.CLIP_STD), output_hidden_states=True)
    assert torch.allclose(out.image_embeds, expected.image_embeds, atol=1e-5)
    assert torch.allclose(out["last_hidden_state"], expected.last_hidden_state, atol=1e-5)
    assert torch.allclose(out.penultimate_hidden_states, expected.hidden_states[-2], atol=1e-5)
    assert out.image_embeds.shape == (1, 48)


def test_siglip_for_redux(tmp_path: Path, manager: ModelManager) -> None:
    model = tv.siglip(2)
    handle = cv.load(manager, tc.save(tv.siglip_state(model), tmp_path / "sigclip_vision_patch14_384.safetensors"))
    assert handle.detected.kind == "siglip" and handle.detected.mean == (0.5, 0.5, 0.5) and handle.image_size == 24
    image = picture()
    out = nodes.CLIPVisionEncode(handle, image, "none")
    with torch.no_grad():
        expected = model(pixel_values=cv.preprocess(image, 24, (0.5,) * 3, (0.5,) * 3, crop=False),
                         output_hidden_states=True)
    assert torch.allclose(out.last_hidden_state, expected.last_hidden_state, atol=1e-5)
    assert out.all_hidden_states.shape == (1, 3, 9, 64)  # every layer's output, 3×3 patches


def test_an_unknown_vision_file_names_what_it_holds(tmp_path: Path, manager: ModelManager) -> None:
    with pytest.raises(ModelFileError, match=r"eye\.safetensors holds no CLIP vision model.*w\.weight"):
        cv.load(manager, tc.save({"w.weight": torch.zeros(1)}, tmp_path / "eye.safetensors"))


def test_redux_appends_its_tokens_scaled_or_biased(tmp_path: Path, manager: ModelManager) -> None:
    state = tv.redux_state(3)
    style = unclip.load_style_model(manager, tc.save(state, tmp_path / "flux1-redux-dev.safetensors"))
    vision = SimpleNamespace(last_hidden_state=torch.randn(1, 9, 64, generator=torch.Generator().manual_seed(4)))
    text = torch.randn(1, 5, 32)
    tokens = torch.nn.functional.silu(vision.last_hidden_state @ state["redux_up.weight"].T + state["redux_up.bias"])
    tokens = tokens @ state["redux_down.weight"].T + state["redux_down.bias"]
    ((out, options),) = nodes.StyleModelApply([[text, {"pooled_output": 1}]], style, vision, strength=0.5,
                                              strength_type="multiply")
    assert out.shape == (1, 14, 32) and torch.equal(out[:, :5], text)
    assert torch.allclose(out[:, 5:], tokens * 0.5, atol=1e-5) and options == {"pooled_output": 1}
    ((out, options),) = nodes.StyleModelApply([[text, {}]], style, vision, strength=0.5, strength_type="attn_bias")
    assert torch.allclose(out[:, 5:], tokens, atol=1e-5)
    mask = options["attention_mask"]
    assert mask.shape == (1, 15, 15) and options["attention_mask_img_shape"] == (1, 1)  # 5 text, 9 image, 1 ref
    bias = math.log(0.5)
    assert torch.allclose(mask[:, :5, 5:14].float(), torch.full((1, 5, 9), bias), atol=1e-3)
    assert torch.allclose(mask[:, 14:, 5:14].float(), torch.full((1, 1, 9), bias), atol=1e-3)
    assert torch.equal(mask[:, :5, :5], torch.zeros(1, 5, 5, dtype=torch.float16))
    with pytest.raises(ModelFileError, match="no style model"):
        unclip.load_style_model(manager, tc.save({"x": torch.zeros(1)}, tmp_path / "not_a_style.safetensors"))


def embeds(*rows: float) -> Any:
    return SimpleNamespace(image_embeds=torch.tensor([rows]))


def test_unclip_conditioning_stacks_entries_and_strength_zero_is_a_no_op() -> None:
    base = [[torch.zeros(1, 2, 3), {"a": 1}]]
    assert nodes.unCLIPConditioning(base, embeds(1.0), 0.0, 0.0) is base
    once = nodes.unCLIPConditioning(base, embeds(1.0), 0.8, 0.1)
    twice = nodes.unCLIPConditioning(once, embeds(2.0), 0.5, 0.0)
    entries = twice[0][1]["unclip_conditioning"]
    assert [(e["strength"], e["noise_augmentation"]) for e in entries] == [(0.8, 0.1), (0.5, 0.0)]
    assert "unclip_conditioning" not in base[0][1] and len(once[0][1]["unclip_conditioning"]) == 1


def test_the_noise_augmentation_is_comfyuis_squared_cosine_schedule() -> None:
    cumprod = unclip._alphas_cumprod()
    assert cumprod.shape == (1000,) and 0.9999 < float(cumprod[0]) < 1.0 and float(cumprod[-1]) < 1e-4
    level = round(999 * 0.25)
    augmentor = unclip.NoiseAugmentor(4)
    z, level_embedding = augmentor(torch.ones(1, 4), level, 7)
    noise = torch.randn(1, 4, generator=torch.Generator().manual_seed(7))
    expected = float(cumprod[level].sqrt()) + noise * float((1 - cumprod[level]).sqrt())
    assert torch.allclose(z, expected, atol=1e-6)
    freqs = torch.exp(-math.log(10000) * torch.arange(2) / 2)
    assert torch.allclose(level_embedding, torch.cat([torch.cos(level * freqs), torch.sin(level * freqs)])[None])


def test_sdxl_takes_an_unclip_embedding_as_its_pooled_output() -> None:
    unet = ts.build("sdxl")["unet"]
    adapter = UNetAdapter()
    image = torch.randn(1, 48, generator=torch.Generator().manual_seed(1))
    vision = SimpleNamespace(image_embeds=image)
    (entry,) = nodes.unCLIPConditioning([[torch.zeros(1, 3, 80), {"pooled_output": torch.ones(1, 48)}]], vision,
                                        0.75, 0.0)
    ctx = EncodeContext("positive", (1, 4, 8, 8), torch.device("cpu"), torch.float32, seed=30)
    out = adapter.encode(unet, entry[0], entry[1], ctx)
    noise = torch.randn(1, 48, generator=torch.Generator().manual_seed(20))  # the run's seed − 10
    first = unclip._alphas_cumprod()[0]
    expected = (image * float(first.sqrt()) + noise * float((1 - first).sqrt())) * 0.75
    assert torch.allclose(out["text_embeds"], expected, atol=1e-6)


def test_instruct_pix2pix_conditioning_carries_the_image_latent() -> None:
    from inkgraph.nodes.edit_models import InstructPixToPixConditioning

    vae = ts.build("sd1")["vae"]
    handle = SimpleNamespace(use=lambda: __import__("contextlib").nullcontext(vae))
    pixels = picture(20, 18)  # the tiny VAE halves each side
    ctx = SimpleNamespace(check_interrupted=lambda: None)
    positive, negative, latent = InstructPixToPixConditioning(ctx, [[torch.zeros(1), {}]],
                                                              [[torch.ones(1), {"x": 1}]], handle, pixels)
    concat = positive[0][1]["concat_latent_image"]
    assert concat is negative[0][1]["concat_latent_image"] and negative[0][1]["x"] == 1
    assert torch.equal(latent["samples"], torch.zeros_like(concat)) and concat.shape[-2:] == (10, 9)

"""LTX-Video against plain references: the tiny transformer and VAE written as Lightricks' all-in-one file load
back through the real loaders to the same weights (the file's ``config`` metadata read for causal time
positions); the adapter's call equals diffusers' module given diffusers' own positions (rope interpolation
scale 8/fps, 32, 32) and per-token timesteps; the ``ltxv`` text encoder equals transformers' T5 with the
attention mask and zeroed padding; a LoRA in Lightricks' names patches diffusers' renamed modules; the VAE
encodes and decodes as diffusers' module with ComfyUI's statistics and decode timestep, and tiled as whole;
ComfyUI's official LTX-Video templates (text and image to video) run end to end with the tiny models and
save a playable video.
"""

from __future__ import annotations

import json
from fractions import Fraction
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
from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model
from tests.fixtures import tiny_ltxv as tl
from tests.fixtures import tiny_text as tt
from tests.fixtures.media import decode_video

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
RUNS = {"ltxv_text_to_video": (9, 24), "ltxv_image_to_video": (9, 24)}
SIDE = 64


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return {"transformer": tl.transformer(1).eval(), "vae": tl.vae(2).eval(), "t5": tt.t5(3).eval()}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Any]) -> Path:
    root = tmp_path_factory.mktemp("ltxv")
    m = root / "models"
    for name in ("ltx-video-2b-v0.9.safetensors", "ltx-video-2b-v0.9.5.safetensors"):
        tl.save_checkpoint(models["transformer"], models["vae"], m / "checkpoints" / name)
    tt.save_encoder(tt.comfy_t5_state(models["t5"]), m / "text_encoders" / "t5xxl_fp16.safetensors", "fp16")
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


def test_the_checkpoint_loads_back_to_the_same_weights(base: Path, models: dict[str, Any]) -> None:
    from inkgraph.nodes.diffusion import vae_files

    path = base / "models" / "checkpoints" / "ltx-video-2b-v0.9.5.safetensors"
    detected, _ = detect_file(path)
    assert detected.family.name == "ltxv" and detected.extra["causal"] is True
    assert detected.config["num_attention_heads"] == 32 and detected.config["caption_channels"] == tt.T5_WIDTH
    loaded, _ = load_diffusion_model(path, torch.float32)
    vae = vae_files.load(path, torch.float32)
    for expected, found in ((models["transformer"].state_dict(), loaded.state_dict()),
                            (models["vae"].state_dict(), vae.state_dict())):
        assert expected.keys() == found.keys() and all(torch.equal(expected[k], found[k]) for k in expected)


def test_the_adapter_equals_diffusers_with_its_own_positions(models: dict[str, Any]) -> None:
    from inkgraph.nodes.diffusion.families.ltxv import LTXV

    family = LTXV()
    detected = SimpleNamespace(config=dict(models["transformer"].config), extra={"causal": False})
    adapter = family.adapter(detected)  # type: ignore[arg-type]
    module = models["transformer"]
    torch.manual_seed(0)
    x = torch.randn(1, 128, 2, 2, 3)
    context = torch.randn(1, 5, tt.T5_WIDTH)
    mask = torch.tensor([[1, 1, 1, 0, 0]])
    denoise = torch.ones(1, 128, 2, 2, 3)
    denoise[:, :, 0] = 0.0  # the first latent frame is an image to keep (LTXVImgToVideo)
    ctx = SimpleNamespace(device=torch.device("cpu"), dtype=torch.float32, latent_shape=tuple(x.shape),
                          denoise_mask=denoise)
    sigma = torch.tensor([0.6])
    with torch.no_grad():
        conds = adapter.encode(module, context, {"attention_mask": mask, "frame_rate": 24.0}, ctx)
        found = adapter.apply(module, x, sigma, conds)
        steps = torch.full((1, 2 * 2 * 3), 600.0)
        steps[:, :6] = 0.0
        reference = module(hidden_states=x.flatten(2).transpose(1, 2), encoder_hidden_states=context, timestep=steps,
                           encoder_attention_mask=mask, num_frames=2, height=2, width=3,
                           rope_interpolation_scale=(8 / 24.0, 32, 32), return_dict=False)[0]
    torch.testing.assert_close(found, reference.transpose(1, 2).reshape(x.shape), rtol=1e-4, atol=1e-5)


def test_the_causal_positions_start_every_frame_at_its_last_pixel_frame() -> None:
    from inkgraph.nodes.diffusion.families.ltxv_adapter import positions

    coords = positions(1, 3, 1, 2, torch.tensor([25.0]), True, torch.device("cpu"))
    assert coords[0, 0].tolist() == pytest.approx([0, 0, 1 / 25, 1 / 25, 9 / 25, 9 / 25])
    assert coords[0, 2].tolist() == [0, 32, 0, 32, 0, 32]


def test_the_ltxv_encoder_masks_and_zeroes_the_padding(runtime: Runtime, models: dict[str, Any]) -> None:
    from inkgraph.nodes.diffusion.encoders.t5 import t5_tokenizer
    from inkgraph.nodes.loaders import CLIPLoader

    ctx = SimpleNamespace(models=runtime.models, folders=runtime.folders)
    clip = CLIPLoader(ctx, "t5xxl_fp16.safetensors", "ltxv")  # type: ignore[arg-type]
    [[states, options]] = _encode(runtime, clip, "a red fox in the snow")
    ids = list(t5_tokenizer()("a red fox in the snow", add_special_tokens=False)["input_ids"]) + [1]
    mask = torch.zeros(1, 128, dtype=torch.long)
    mask[:, :len(ids)] = 1
    padded = torch.tensor([ids + [0] * (128 - len(ids))])
    with torch.no_grad():
        reference = models["t5"](input_ids=padded, attention_mask=mask).last_hidden_state * mask[..., None]
    assert states.shape == (1, 128, tt.T5_WIDTH) and torch.equal(options["attention_mask"], mask)
    torch.testing.assert_close(states, reference, rtol=2e-2, atol=2e-2)  # the file is fp16
    assert bool((states[:, len(ids):] == 0).all())


def _encode(runtime: Runtime, clip: Any, text: str) -> Any:
    from inkgraph.nodes.conditioning import CLIPTextEncode

    class Ctx:
        models, folders, extra_data, node_id = runtime.models, runtime.folders, {}, "t"

        def progress(self, *args: Any, **kwargs: Any) -> None:
            return None

        def check_interrupted(self) -> None:
            return None

    return CLIPTextEncode(Ctx(), text=text, clip=clip)


def test_the_vae_decodes_as_diffusers_with_comfyuis_statistics_and_timestep(base: Path,
                                                                               models: dict[str, Any]) -> None:
    from inkgraph.nodes.diffusion import ltxv_vae, vae_files, video_vae

    vae = vae_files.load(base / "models" / "checkpoints" / "ltx-video-2b-v0.9.5.safetensors", torch.float32)
    module = models["vae"]
    torch.manual_seed(0)
    frames = torch.rand(9, 64, 64, 3)
    with torch.no_grad():
        latent = video_vae.encode(vae, frames)
        video = frames.permute(3, 0, 1, 2)[None] * 2 - 1
        mean = module.encode(video).latent_dist.mode()
        stats = (module.latents_mean.view(1, -1, 1, 1, 1), module.latents_std.view(1, -1, 1, 1, 1))
        torch.testing.assert_close(latent, (mean - stats[0]) / stats[1], rtol=1e-4, atol=1e-5)
        noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(ltxv_vae.NOISE_SEED))
        noised = noise * 0.025 + 0.975 * latent
        reference = module.decode(noised * stats[1] + stats[0], torch.tensor([0.05]), return_dict=False)[0]
        decoded = video_vae.decode(vae, latent)
        torch.testing.assert_close(decoded, ((reference[0].permute(1, 2, 3, 0) + 1) / 2).clamp(0, 1),
                                   rtol=1e-4, atol=1e-5)
        assert torch.equal(video_vae.decode_tiled(vae, latent, 64, 8, 64, 2), decoded)
        with pytest.raises(ValueError, match="1 \\+ 8"):
            video_vae.encode(vae, frames[:6])


def template(name: str, runtime: Runtime) -> dict[str, Any]:
    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for index, node in enumerate(prompt.values()):
        if node["class_type"] == "LoadImage":
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                rgb = (np.random.default_rng(index).random((48, 80, 3)) * 255).astype(np.uint8)
                Image.fromarray(rgb).save(path)
        inputs = node["inputs"]
        for key in ("width", "height"):
            if isinstance(inputs.get(key), int):
                inputs[key] = SIDE
        if isinstance(inputs.get("length"), int):
            inputs["length"] = 9
        if isinstance(inputs.get("steps"), int):
            inputs["steps"] = 2
    return prompt


@pytest.mark.parametrize("name", list(RUNS))
def test_official_templates_run_and_save_a_playable_video(runtime: Runtime, name: str) -> None:
    prompt = template(name, runtime)
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    [entry] = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    video = decode_video(runtime.folders.resolve(entry["type"], entry["filename"], entry["subfolder"]))
    frames, fps = RUNS[name]
    assert (len(video["frames"]), video["width"], video["height"]) == (frames, SIDE, SIDE)
    assert video["rate"] == Fraction(fps)


def test_a_lora_in_lightricks_names_patches_the_renamed_modules(runtime: Runtime) -> None:
    from safetensors.torch import save_file

    from inkgraph.nodes.loaders import CheckpointLoaderSimple, LoraLoaderModelOnly

    ctx = SimpleNamespace(models=runtime.models, folders=runtime.folders, extra_data={}, node_id="t",
                          progress=lambda *a, **k: None, check_interrupted=lambda: None)
    generator = torch.Generator().manual_seed(0)
    lora: dict[str, torch.Tensor] = {}
    for stem, (rows, cols) in (("patchify_proj", (32 * tl.HEAD, 128)),
                               ("transformer_blocks.0.attn1.to_q", (32 * tl.HEAD, 32 * tl.HEAD))):
        lora[f"diffusion_model.{stem}.lora_down.weight"] = torch.randn(2, cols, generator=generator) * 0.1
        lora[f"diffusion_model.{stem}.lora_up.weight"] = torch.randn(rows, 2, generator=generator) * 0.1
    folder = runtime.folders.model_path("checkpoints", "ltx-video-2b-v0.9.safetensors").parent.parent / "loras"
    folder.mkdir(exist_ok=True)
    save_file(lora, str(folder / "ltxv_lora.safetensors"))
    with torch.inference_mode():  # as the executor runs nodes (the template runs loaded these weights so)
        model, _, _ = CheckpointLoaderSimple(ctx, "ltx-video-2b-v0.9.safetensors")  # type: ignore[arg-type]
        with model.use() as module:
            before = {"proj_in": module.proj_in.weight.clone(),
                      "q": module.transformer_blocks[0].attn1.to_q.weight.clone()}
        patched = LoraLoaderModelOnly(ctx, model, "ltxv_lora.safetensors",  # type: ignore[arg-type]
                                      strength_model=0.5)
        with patched.use() as module:
            for name, after, stem in (("proj_in", module.proj_in.weight, "patchify_proj"),
                                      ("q", module.transformer_blocks[0].attn1.to_q.weight,
                                       "transformer_blocks.0.attn1.to_q")):
                key = f"diffusion_model.{stem}"
                delta = 0.5 * lora[key + ".lora_up.weight"] @ lora[key + ".lora_down.weight"]
                assert torch.allclose(after - before[name], delta, atol=1e-5), name

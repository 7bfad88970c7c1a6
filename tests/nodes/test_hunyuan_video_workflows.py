"""ComfyUI's official HunyuanVideo 1.5 templates (720p T2V and I2V) with tiny models saved under the file names
they ask for — the transformer in ComfyUI's repackaged fp16 layout, the fp8-scaled Qwen2.5-VL, ByT5 as
``byt5_small_glyphxl_fp16``, the VAE in Tencent's layout, SigLIP as ``sigclip_vision_patch14_384`` — convert,
validate and run end to end (sizes, frames and steps made small; the super-resolution stage stays bypassed as
the templates ship it — test_hunyuan_video_sr switches it on), and the video they save decodes back with
PyAV. The ``hunyuan_video_15`` text encoder equals transformers' modules on the same template and layer;
SigLIP equals transformers' module on ComfyUI's preprocessing.
"""

from __future__ import annotations

import json
from fractions import Fraction
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
from tests.fixtures import tiny_hunyuan as th
from tests.fixtures import tiny_qwen as tq
from tests.fixtures.media import decode_video

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
RUNS = {"video_hunyuan_video_1.5_720p_t2v": (5, 24), "video_hunyuan_video_1.5_720p_i2v": (5, 24)}
SIDE = 32
PROMPT = 'A neon sign reading "OPEN" flickers above a door, and a “café” chalkboard stands beside it.'


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return {"qwen": tq.qwen_vl(1, vision=False), "byt5": th.byt5(2), "t2v": th.transformer(3),
            "i2v": th.transformer(4), "vae": th.vae(5), "siglip": th.siglip(6)}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Any]) -> Path:
    root = tmp_path_factory.mktemp("hunyuan15")
    m = root / "models"
    qwen = tq.comfy_qwen_vl_state(models["qwen"])
    linear = {k[: -len(".weight")] for k, v in qwen.items() if k.startswith("model.layers.") and v.ndim == 2}
    td.save(td.scaled_fp8({k: v.half() for k, v in qwen.items()}, linear),
            m / "text_encoders" / "qwen_2.5_vl_7b_fp8_scaled.safetensors")
    td.save(th.byt5_state(models["byt5"]), m / "text_encoders" / "byt5_small_glyphxl_fp16.safetensors",
            dtype=torch.float16)
    for kind in ("t2v", "i2v"):
        name = f"hunyuanvideo1.5_720p_{kind}_fp16.safetensors"
        td.save(th.transformer_state(models[kind]), m / "diffusion_models" / name, dtype=torch.float16)
    td.save(th.vae_state(models["vae"]), m / "vae" / "hunyuanvideo15_vae_fp16.safetensors", dtype=torch.float16)
    td.save(models["siglip"].state_dict(), m / "clip_vision" / "sigclip_vision_patch14_384.safetensors",
            prefix="" if next(iter(models["siglip"].state_dict())).startswith("vision_model.") else "vision_model.",
            dtype=torch.float16)
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


def template(name: str, runtime: Runtime, enable: frozenset[int] = frozenset()) -> dict[str, Any]:
    """The template in API format (``enable``: ids of bypassed nodes switched on, as a user would)."""
    workflow = json.loads((TEMPLATES / f"{name}.json").read_text())
    for node in workflow["nodes"]:
        if node["id"] in enable:
            node["mode"] = 0
    prompt, _ = ui_to_api(workflow, runtime.registry.get)
    for index, node in enumerate(prompt.values()):
        if node["class_type"] == "LoadImage":
            path = runtime.folders.input / node["inputs"]["image"]
            if not path.exists():
                rgb = (np.random.default_rng(index).random((24, 40, 3)) * 255).astype(np.uint8)
                Image.fromarray(rgb).save(path)
    return prompt


def small(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same workflow at 32×32 pixels, 5 frames (2 latent frames) and 2 steps."""
    for node in prompt.values():
        inputs = node["inputs"]
        for key in ("width", "height"):
            if isinstance(inputs.get(key), int):
                inputs[key] = SIDE
        if isinstance(inputs.get("length"), int):
            inputs["length"] = 5
        if isinstance(inputs.get("steps"), int):
            inputs["steps"] = 2
    return prompt


def _ctx(runtime: Runtime) -> Any:
    class Ctx:
        models, folders, extra_data, node_id = runtime.models, runtime.folders, {}, "t"

        def progress(self, *args: Any, **kwargs: Any) -> None:
            return None

        def check_interrupted(self) -> None:
            return None

    return Ctx()


@pytest.mark.parametrize("name", list(RUNS))
def test_official_templates_run_and_save_a_playable_video(runtime: Runtime, name: str) -> None:
    prompt = small(template(name, runtime))
    assert {n["class_type"] for n in prompt.values()} >= {"DualCLIPLoader", "UNETLoader", "SamplerCustomAdvanced"}
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    [entry] = [item for output in outcome.outputs.values() for item in output.get("images", [])]
    video = decode_video(runtime.folders.resolve(entry["type"], entry["filename"], entry["subfolder"]))
    frames, fps = RUNS[name]
    assert (len(video["frames"]), video["width"], video["height"]) == (frames, SIDE, SIDE)
    assert video["rate"] == Fraction(fps)


def test_the_t2v_template_runs_with_its_easycache_switched_on(runtime: Runtime) -> None:
    prompt = small(template("video_hunyuan_video_1.5_720p_t2v", runtime, frozenset({105})))  # the 720p stage's
    assert "EasyCache" in {n["class_type"] for n in prompt.values()}
    for node in prompt.values():
        if isinstance(node["inputs"].get("steps"), int):
            node["inputs"]["steps"] = 6  # EasyCache starts skipping after 15 % of the steps
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    assert [item for output in outcome.outputs.values() for item in output.get("images", [])]


def test_the_text_encoder_equals_transformers_on_the_template_with_glyphs(runtime: Runtime,
                                                                          models: dict[str, Any]) -> None:
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.encoders import byt5
    from inkgraph.nodes.diffusion.encoders.hunyuan_video import glyph_text, token_ids
    from inkgraph.nodes.diffusion.encoders.qwen_image import template_end
    from inkgraph.nodes.loaders import DualCLIPLoader

    ctx = _ctx(runtime)
    clip = DualCLIPLoader(ctx, "qwen_2.5_vl_7b_fp8_scaled.safetensors", "byt5_small_glyphxl_fp16.safetensors",
                          "hunyuan_video_15")
    [[states, options]] = CLIPTextEncode(ctx, text=PROMPT, clip=clip)
    assert glyph_text(PROMPT) == 'Text "OPEN". Text "café". '
    ids = token_ids(PROMPT)
    with torch.no_grad():
        hidden = models["qwen"](input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[-3]
        glyphs = list(str(glyph_text(PROMPT)).encode())
        reference = models["byt5"](input_ids=torch.tensor([[b + 3 for b in glyphs] + [byt5.END]])).last_hidden_state
    start = template_end(ids)
    assert ids[start - 3:start] == [151644, 872, 198]  # <|im_start|>user\n: the kept states start after it
    assert states.shape == hidden[:, start:].shape
    # the language model is fp8-scaled in the file: close to the module, not equal
    assert torch.nn.functional.cosine_similarity(states.flatten(), hidden[:, start:].flatten(), dim=0) > 0.99
    assert set(options) == {"conditioning_byt5small"}
    torch.testing.assert_close(options["conditioning_byt5small"], reference, rtol=2e-2, atol=2e-2)  # fp16 file
    [[_, plain]] = CLIPTextEncode(ctx, text="no quotes here", clip=clip)
    assert plain == {}
    empty = token_ids("")  # the templates' empty negative prompt is read as one space, as ComfyUI reads it
    assert empty == token_ids(" ") and len(empty) == template_end(empty) + 6  # " " and the 5 closing tokens


def test_siglip_equals_transformers_on_comfyuis_preprocessing(runtime: Runtime, models: dict[str, Any]) -> None:
    from inkgraph.nodes.clip_vision import CLIPVisionEncode, CLIPVisionLoader

    ctx = _ctx(runtime)
    vision = CLIPVisionLoader(ctx, "sigclip_vision_patch14_384.safetensors")
    image = torch.rand(1, 28, 28, 3)
    out = CLIPVisionEncode(vision, image, "center")
    pixels = ((torch.round(image.movedim(-1, 1) * 255) / 255) - 0.5) / 0.5
    with torch.no_grad():
        reference = models["siglip"](pixel_values=pixels).last_hidden_state
    assert out.last_hidden_state.shape == (1, 4, th.IMAGE_WIDTH)
    torch.testing.assert_close(out.last_hidden_state, reference, rtol=2e-2, atol=2e-2)  # fp16 file

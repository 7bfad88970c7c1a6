"""ComfyUI's internal modules over Inkgraph's models and samplers, through the server on tiny models.

A V1 pack written as ComfyUI packs are (``tests/fixtures/comfy_model_pack``) samples with ``comfy.sample`` /
``comfy.samplers`` / ``nodes.common_ksampler``, patches MODELs through ``ModelPatcher`` (``clone`` +
``set_model_unet_function_wrapper``, CFG functions, an object patch of the model sampling, ``add_patches``),
encodes with ``CLIP.tokenize`` / ``encode_from_tokens``, decodes and encodes with ``VAE`` (whole and tiled),
and uses ``latent_preview`` and ``node_helpers``. Each prompt runs the pack's node beside the built-in node it
imitates and a comparison node reports whether the two results are equal: they must be, exactly (one case,
the legacy CFG function computed in ε-space, within float rounding).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from safetensors.torch import save_file

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.server.app import PromptServer, ServerConfig
from tests.fixtures.tiny_sd import save_single_file
from tests.nodes.test_lora import kohya_lora

from .conftest import receive_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("facades")
    models = save_single_file("sd1", root / "models" / "checkpoints" / "tiny_sd1.safetensors", seed=1)
    save_single_file("sdxl", root / "models" / "checkpoints" / "tiny_sdxl.safetensors", seed=2)
    (root / "models" / "loras").mkdir(parents=True)
    save_file(kohya_lora(models), str(root / "models" / "loras" / "style.safetensors"))
    from tests.fixtures import tiny_control as tc

    tc.save(tc.controlnet_ldm_state(tc.sd1_controlnet(3)),
            root / "models" / "controlnet" / "control_v11p_sd15_canny.safetensors")
    shutil.copytree(FIXTURES / "comfy_model_pack", root / "custom_nodes" / "comfy_model_pack")
    return root


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], base: Path) -> AsyncIterator[TestClient]:
    server = PromptServer(ServerConfig(settings=Settings(base_dir=str(base), preview_method="latent2rgb")))
    yield await aiohttp_client(server.make_app())


def graph(ckpt: str = "tiny_sd1.safetensors", size: int = 64) -> dict[str, Any]:
    """A checkpoint, two prompts, an empty latent and the built-in KSampler (node "ks")."""
    return {
        "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["ckpt", 1]}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["ckpt", 1]}},
        "empty": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": 1}},
        "ks": ksampler(["ckpt", 0]),
    }


def ksampler(model: list[Any], positive: list[Any] | None = None, class_type: str = "KSampler",
             sampler: str = "euler", scheduler: str = "normal") -> dict[str, Any]:
    return {"class_type": class_type, "inputs": {
        "model": model, "seed": 5, "steps": 3, "cfg": 7.0, "sampler_name": sampler, "scheduler": scheduler,
        "positive": positive or ["pos", 0], "negative": ["neg", 0], "latent_image": ["empty", 0], "denoise": 1.0}}


def same(a: list[Any], b: list[Any], label: str) -> dict[str, Any]:
    return {"class_type": "FacadeSame", "inputs": {"a": a, "b": b, "label": label}}


async def run(client: TestClient, prompt: dict[str, Any]) -> dict[str, Any]:
    """The ``ui`` outputs of a prompt run through the server, by node id."""
    reply = await client.post("/prompt", json={"prompt": prompt, "client_id": "facades"})
    body = await reply.json()
    assert reply.status == 200, body
    prompt_id = body["prompt_id"]
    for _ in range(1200):
        history = await (await client.get(f"/history/{prompt_id}")).json()
        if prompt_id in history:
            entry = history[prompt_id]
            assert entry["status"]["status_str"] == "success", entry["status"]
            return entry["outputs"]  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError("the prompt did not finish")


def verdicts(outputs: dict[str, Any]) -> dict[str, str]:
    return {node: out["text"][0] for node, out in outputs.items() if "text" in out and ": " in out["text"][0]}


async def test_sampling_entry_points_equal_the_builtin_ksampler(client: TestClient) -> None:
    prompt = graph()
    for name in ("FacadeSample", "FacadeKSamplerObject", "FacadeCommonKSampler"):
        prompt[name] = ksampler(["ckpt", 0], class_type=name, sampler="dpmpp_2m", scheduler="karras")
        prompt[f"{name}_same"] = same(["ks_dpm", 0], [name, 0], name)
    prompt["ks_dpm"] = ksampler(["ckpt", 0], sampler="dpmpp_2m", scheduler="karras")
    prompt["show"] = {"class_type": "FacadeStepCounter", "inputs": {"latent": ["FacadeSample", 0]}}
    outputs = await run(client, prompt)
    assert set(verdicts(outputs).values()) == {f"{n}: same" for n in
                                               ("FacadeSample", "FacadeKSamplerObject", "FacadeCommonKSampler")}
    assert "x0 (1, 4, 8, 8)" in outputs["show"]["text"]  # latent_preview's callback kept the last x0


async def test_custom_sampling_pieces_equal_the_builtin_ones(client: TestClient) -> None:
    prompt = graph()
    prompt.update({
        "sigmas": {"class_type": "BasicScheduler", "inputs": {"model": ["ckpt", 0], "scheduler": "karras", "steps": 3,
                                                             "denoise": 1.0}},
        "facade_sigmas": {"class_type": "FacadeSigmas", "inputs": {"model": ["ckpt", 0], "scheduler": "karras",
                                                                  "steps": 3}},
        "euler": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "facade_euler": {"class_type": "FacadeEulerSampler", "inputs": {}},
        "custom": {"class_type": "SamplerCustom", "inputs": {
            "model": ["ckpt", 0], "add_noise": True, "noise_seed": 5, "cfg": 7.0, "positive": ["pos", 0],
            "negative": ["neg", 0], "sampler": ["euler", 0], "sigmas": ["sigmas", 0], "latent_image": ["empty", 0]}},
        "noise": {"class_type": "RandomNoise", "inputs": {"noise_seed": 5}},
        "guider": {"class_type": "CFGGuider", "inputs": {"model": ["ckpt", 0], "positive": ["pos", 0],
                                                        "negative": ["neg", 0], "cfg": 7.0}},
        "facade_guider": {"class_type": "FacadeGuider", "inputs": {"model": ["ckpt", 0], "positive": ["pos", 0],
                                                                  "negative": ["neg", 0], "cfg": 7.0}},
        "advanced": {"class_type": "SamplerCustomAdvanced", "inputs": {
            "noise": ["noise", 0], "guider": ["guider", 0], "sampler": ["euler", 0], "sigmas": ["sigmas", 0],
            "latent_image": ["empty", 0]}},
        "facade_sample_custom": {"class_type": "FacadeSampleCustom", "inputs": {
            "model": ["ckpt", 0], "seed": 5, "cfg": 7.0, "sampler_name": "euler", "sigmas": ["sigmas", 0],
            "positive": ["pos", 0], "negative": ["neg", 0], "latent_image": ["empty", 0]}},
        "show": {"class_type": "FacadeStepCounter", "inputs": {"latent": ["custom_facade", 0]}},
        "s1": same(["sigmas", 0], ["facade_sigmas", 0], "calculate_sigmas"),
        "s4": same(["custom", 0], ["facade_sample_custom", 0], "sample_custom"),
    })
    prompt["custom_facade"] = {**prompt["custom"],
                               "inputs": {**prompt["custom"]["inputs"], "sampler": ["facade_euler", 0]}}
    prompt["advanced_facade"] = {**prompt["advanced"],
                                 "inputs": {**prompt["advanced"]["inputs"], "guider": ["facade_guider", 0]}}
    prompt["s2"] = same(["custom", 0], ["custom_facade", 0], "KSAMPLER")
    prompt["s3"] = same(["advanced", 0], ["advanced_facade", 0], "CFGGuider subclass")
    outputs = await run(client, prompt)
    assert sorted(verdicts(outputs).values()) == ["CFGGuider subclass: same", "KSAMPLER: same",
                                                  "calculate_sigmas: same", "sample_custom: same"]
    assert "sampler calls [4]" in outputs["show"]["text"]  # the pack's own sampler function ran over 3 steps


async def test_model_patcher_patches_equal_the_builtin_nodes(client: TestClient) -> None:
    prompt = graph()
    prompt.update({
        "wrapped": {"class_type": "FacadeUnetWrapper", "inputs": {"model": ["ckpt", 0]}},
        "ks_wrapped": ksampler(["wrapped", 0]),
        "calls": {"class_type": "FacadeWrapperCalls", "inputs": {"latent": ["ks_wrapped", 0]}},
        "rescale": {"class_type": "RescaleCFG", "inputs": {"model": ["ckpt", 0], "multiplier": 0.7}},
        "facade_rescale": {"class_type": "FacadeRescaleCFG", "inputs": {"model": ["ckpt", 0], "multiplier": 0.7}},
        "ks_rescale": ksampler(["rescale", 0]),
        "ks_facade_rescale": ksampler(["facade_rescale", 0]),
        "legacy": {"class_type": "FacadeLegacyCFG", "inputs": {"model": ["ckpt", 0]}},
        "ks_legacy": ksampler(["legacy", 0]),
        "zsnr": {"class_type": "ModelSamplingDiscrete", "inputs": {"model": ["ckpt", 0], "sampling": "eps",
                                                                  "zsnr": True}},
        "facade_zsnr": {"class_type": "FacadeZsnr", "inputs": {"model": ["ckpt", 0]}},
        "ks_zsnr": ksampler(["zsnr", 0]),
        "ks_facade_zsnr": ksampler(["facade_zsnr", 0]),
        "s1": same(["ks", 0], ["ks_wrapped", 0], "unet wrapper"),
        "s2": same(["ks_rescale", 0], ["ks_facade_rescale", 0], "cfg function"),
        "s3": same(["ks", 0], ["ks_legacy", 0], "legacy cfg"),
        "s4": same(["ks_zsnr", 0], ["ks_facade_zsnr", 0], "model sampling"),
        "s5": same(["ks", 0], ["ks_rescale", 0], "rescale changes the result"),
    })
    outputs = await run(client, prompt)
    found = verdicts(outputs)
    assert found["s1"] == "unet wrapper: same" and found["s2"] == "cfg function: same"
    assert found["s4"] == "model sampling: same"
    assert found["s3"] == "legacy cfg: same" or float(found["s3"].rsplit(" ", 1)[1]) < 1e-4  # ε-space rounding
    assert found["s5"] != "rescale changes the result: same"
    # the wrapper ran for the positive and the negative pass (batched together) on every step
    assert outputs["calls"]["text"] == ["wrapper calls 3 [(0, 1)]"]


@pytest.mark.parametrize("ckpt", ["tiny_sd1.safetensors", "tiny_sdxl.safetensors"])
async def test_clip_tokenize_and_encode_equal_clip_text_encode(client: TestClient, ckpt: str) -> None:
    prompt = graph(ckpt)
    for mode in ("scheduled", "pooled", "dict", "reweight"):
        prompt[mode] = {"class_type": "FacadeEncode", "inputs": {"clip": ["ckpt", 1], "text": "a red circle",
                                                                "mode": mode, "clip_layer": 0}}
    prompt["layer"] = {"class_type": "FacadeEncode", "inputs": {"clip": ["ckpt", 1], "text": "a red circle",
                                                               "mode": "scheduled", "clip_layer": -2}}
    prompt.update({
        "weighted": {"class_type": "CLIPTextEncode", "inputs": {"text": "a (red:1.2) circle", "clip": ["ckpt", 1]}},
        "skip": {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["ckpt", 1], "stop_at_clip_layer": -2}},
        "pos_skip": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["skip", 0]}},
        "strength": {"class_type": "ConditioningSetAreaStrength", "inputs": {"conditioning": ["pos", 0],
                                                                            "strength": 0.5}},
        "facade_strength": {"class_type": "FacadeConditioning", "inputs": {"conditioning": ["pos", 0],
                                                                          "strength": 0.5}},
        "s1": same(["pos", 0], ["scheduled", 0], "scheduled"),
        "s2": same(["pos", 0], ["pooled", 0], "pooled"),
        "s3": same(["pos", 0], ["dict", 0], "dict"),
        "s4": same(["weighted", 0], ["reweight", 0], "edited chunks"),
        "s5": same(["pos_skip", 0], ["layer", 0], "clip_layer"),
        "s6": same(["strength", 0], ["facade_strength", 0], "node_helpers"),
        "s7": same(["pos", 0], ["weighted", 0], "weights change the result"),
    })
    outputs = await run(client, prompt)
    found = verdicts(outputs)
    assert found.pop("s7") != "weights change the result: same"
    assert all(text.endswith(": same") for text in found.values()), found


async def test_vae_whole_and_tiled_equal_the_vae_nodes(client: TestClient) -> None:
    # the tiny VAE halves the size once (2 pixels per latent cell): VAEDecodeTiled's 64-pixel tiles with a
    # 16-pixel overlap are 32 latent cells with 8 of overlap; a 512-wide empty latent has 64 cells
    prompt = graph(size=512)
    prompt.update({
        "decode": {"class_type": "VAEDecode", "inputs": {"samples": ["ks", 0], "vae": ["ckpt", 2]}},
        "encode": {"class_type": "VAEEncode", "inputs": {"pixels": ["decode", 0], "vae": ["ckpt", 2]}},
        "decode_tiled": {"class_type": "VAEDecodeTiled", "inputs": {"samples": ["ks", 0], "vae": ["ckpt", 2],
                                                                   "tile_size": 64, "overlap": 16,
                                                                   "temporal_size": 64, "temporal_overlap": 8}},
        "encode_tiled": {"class_type": "VAEEncodeTiled", "inputs": {"pixels": ["decode_tiled", 0],
                                                                   "vae": ["ckpt", 2], "tile_size": 64,
                                                                   "overlap": 16, "temporal_size": 64,
                                                                   "temporal_overlap": 8}},
        "facade": {"class_type": "FacadeVAE", "inputs": {"vae": ["ckpt", 2], "samples": ["ks", 0], "tile": 0,
                                                        "overlap": 0}},
        "facade_tiled": {"class_type": "FacadeVAE", "inputs": {"vae": ["ckpt", 2], "samples": ["ks", 0], "tile": 32,
                                                              "overlap": 8}},
        "s1": same(["decode", 0], ["facade", 0], "decode"),
        "s2": same(["encode", 0], ["facade", 1], "encode"),
        "s3": same(["decode_tiled", 0], ["facade_tiled", 0], "decode_tiled"),
        "s4": same(["encode_tiled", 0], ["facade_tiled", 1], "encode_tiled"),
        "s5": same(["decode", 0], ["decode_tiled", 0], "tiles change the result"),
    })
    found = verdicts(await run(client, prompt))
    assert found.pop("s5") != "tiles change the result: same"
    assert sorted(found.values()) == ["decode: same", "decode_tiled: same", "encode: same", "encode_tiled: same"]


async def test_weight_patches_and_loaders_equal_the_loader_nodes(client: TestClient) -> None:
    prompt = graph()
    prompt.update({
        "lora": {"class_type": "LoraLoader", "inputs": {"model": ["ckpt", 0], "clip": ["ckpt", 1],
                                                       "lora_name": "style.safetensors", "strength_model": 0.8,
                                                       "strength_clip": 0.8}},
        "add_patches": {"class_type": "FacadeAddLora", "inputs": {"model": ["ckpt", 0], "clip": ["ckpt", 1],
                                                                 "lora_name": "style.safetensors", "strength": 0.8}},
        "load_lora": {"class_type": "FacadeLoadLora", "inputs": {"model": ["ckpt", 0], "clip": ["ckpt", 1],
                                                                "lora_name": "style.safetensors",
                                                                "strength_model": 0.8, "strength_clip": 0.8}},
        "checkpoint": {"class_type": "FacadeCheckpoint", "inputs": {"ckpt_name": "tiny_sd1.safetensors"}},
    })
    for name in ("lora", "add_patches", "load_lora", "checkpoint"):
        prompt[f"pos_{name}"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle",
                                                                          "clip": [name, 1]}}
        prompt[f"ks_{name}"] = ksampler([name, 0], [f"pos_{name}", 0])
    prompt["decode"] = {"class_type": "VAEDecode", "inputs": {"samples": ["ks_checkpoint", 0], "vae": ["ckpt", 2]}}
    prompt["decode_facade"] = {"class_type": "VAEDecode", "inputs": {"samples": ["ks_checkpoint", 0],
                                                                    "vae": ["checkpoint", 2]}}
    prompt.update({
        "s1": same(["ks_lora", 0], ["ks_add_patches", 0], "add_patches model"),
        "s2": same(["pos_lora", 0], ["pos_add_patches", 0], "add_patches clip"),
        "s3": same(["ks_lora", 0], ["ks_load_lora", 0], "load_lora_for_models model"),
        "s4": same(["pos_lora", 0], ["pos_load_lora", 0], "load_lora_for_models clip"),
        "s5": same(["ks", 0], ["ks_checkpoint", 0], "load_checkpoint_guess_config"),
        "s6": same(["decode", 0], ["decode_facade", 0], "checkpoint vae"),
        "s7": same(["ks", 0], ["ks_lora", 0], "the LoRA changes the result"),
    })
    found = verdicts(await run(client, prompt))
    assert found.pop("s7") != "the LoRA changes the result: same"
    assert all(text.endswith(": same") for text in found.values()), found


async def test_latent_preview_callback_reports_progress_and_previews(client: TestClient) -> None:
    ws = await client.ws_connect("/ws?clientId=facades")
    await ws.receive_json()
    prompt = graph()
    del prompt["ks"]
    prompt["sample"] = ksampler(["ckpt", 0], class_type="FacadeSample")
    prompt["show"] = {"class_type": "FacadeStepCounter", "inputs": {"latent": ["sample", 0]}}
    body = await (await client.post("/prompt", json={"prompt": prompt, "client_id": "facades"})).json()
    texts, frames = await receive_until(ws, lambda m: m["type"] == "executing" and m["data"]["node"] is None
                                        and m["data"]["prompt_id"] == body["prompt_id"], timeout=120)
    progress = [(m["data"]["value"], m["data"]["max"]) for m in texts if m["type"] == "progress"
                and m["data"]["node"] == "sample"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert len(frames) == 3  # one latent2rgb preview per step
    await ws.close()


async def test_comfy_controlnet_loader_equals_controlnet_loader(client: TestClient) -> None:
    prompt = graph()
    prompt["hint"] = {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                              "color": 0xFF8800}}
    loaders = {"builtin": {"class_type": "ControlNetLoader",
                           "inputs": {"control_net_name": "control_v11p_sd15_canny.safetensors"}}}
    for older in (False, True):
        loaders[f"facade_{older}"] = {"class_type": "FacadeControlNet", "inputs": {
            "control_net_name": "control_v11p_sd15_canny.safetensors", "older_name": older}}
    for name, loader in loaders.items():
        prompt[f"cn_{name}"] = loader
        prompt[f"apply_{name}"] = {"class_type": "ControlNetApplyAdvanced", "inputs": {
            "positive": ["pos", 0], "negative": ["neg", 0], "control_net": [f"cn_{name}", 0], "image": ["hint", 0],
            "strength": 0.9, "start_percent": 0.0, "end_percent": 1.0}}
        prompt[f"ks_{name}"] = ksampler(["ckpt", 0], [f"apply_{name}", 0])
    prompt.update({
        "s1": same(["ks_builtin", 0], ["ks_facade_False", 0], "comfy.controlnet.load_controlnet"),
        "s2": same(["ks_builtin", 0], ["ks_facade_True", 0], "comfy.sd.load_controlnet"),
        "s3": same(["ks", 0], ["ks_builtin", 0], "the ControlNet changes the result"),
    })
    found = verdicts(await run(client, prompt))
    assert found.pop("s3") != "the ControlNet changes the result: same"
    assert all(text.endswith(": same") for text in found.values()), found

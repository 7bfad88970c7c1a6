"""ControlNets through the engine: a tiny SD1.5 checkpoint and ControlNet files (original and diffusers layouts)
in models/, a workflow with LoadImage → Canny → ControlNetApplyAdvanced → KSampler. The ControlNet changes the
image; strength 0 gives the very same image as no ControlNet; two ControlNets stack; the loader caches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_control as tc
from tests.fixtures.tiny_sd import save_single_file


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("cn_workflows")
    save_single_file("sd1", root / "models" / "checkpoints" / "tiny_sd1.safetensors", seed=1)
    net = tc.sd1_controlnet(2)
    tc.save(tc.controlnet_ldm_state(net), root / "models" / "controlnet" / "control_v11p_sd15_canny.safetensors")
    tc.save(tc.sd1_controlnet(3).state_dict(), root / "models" / "controlnet" / "diffusers_depth.safetensors")
    (root / "input").mkdir()
    picture = np.zeros((64, 64, 3), dtype=np.uint8)
    picture[16:48, 20:44] = 255
    Image.fromarray(picture).save(root / "input" / "rectangle.png")
    return Runtime.create(Settings(base_dir=root, cache="none"))


def prompt(strength: float | None, start: float = 0.0, end: float = 1.0, second: bool = False) -> dict[str, Any]:
    graph: dict[str, Any] = {
        "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 3, "cfg": 6.0, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny_sd1.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a box", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }
    if strength is None:
        return graph
    graph.update({
        "10": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "control_v11p_sd15_canny.safetensors"}},
        "11": {"class_type": "LoadImage", "inputs": {"image": "rectangle.png"}},
        "12": {"class_type": "Canny", "inputs": {"image": ["11", 0], "low_threshold": 0.4, "high_threshold": 0.8}},
        "13": {"class_type": "ControlNetApplyAdvanced", "inputs": {
            "positive": ["6", 0], "negative": ["7", 0], "control_net": ["10", 0], "image": ["12", 0],
            "strength": strength, "start_percent": start, "end_percent": end}},
    })
    graph["3"]["inputs"].update(positive=["13", 0], negative=["13", 1])
    if second:
        graph.update({
            "14": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "diffusers_depth.safetensors"}},
            "15": {"class_type": "ControlNetApplyAdvanced", "inputs": {
                "positive": ["13", 0], "negative": ["13", 1], "control_net": ["14", 0], "image": ["11", 0],
                "strength": 0.5, "start_percent": 0.0, "end_percent": 1.0}},
        })
        graph["3"]["inputs"].update(positive=["15", 0], negative=["15", 1])
    return graph


def image_of(runtime: Runtime, outcome: Any) -> np.ndarray:
    assert outcome.status_str == "success", outcome.error
    item = outcome.outputs["9"]["images"][0]
    with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
        return np.asarray(png, dtype=np.float32).copy()


def test_a_controlnet_changes_the_image_and_strength_zero_does_not(runtime: Runtime) -> None:
    plain = image_of(runtime, runtime.run(prompt(None))[1])
    zero = image_of(runtime, runtime.run(prompt(0.0))[1])
    assert np.array_equal(plain, zero)
    steered = image_of(runtime, runtime.run(prompt(1.0))[1])
    assert np.abs(steered - plain).max() > 0
    outside = image_of(runtime, runtime.run(prompt(1.0, 0.99, 1.0))[1])  # after the last of 3 steps: never runs
    assert np.array_equal(plain, outside)
    stacked = image_of(runtime, runtime.run(prompt(1.0, second=True))[1])
    assert np.abs(stacked - steered).max() > 0

"""ComfyUI's official Qwen-Image control templates run end to end on tiny models under their real file names:
the DiffSynth model patch (ModelPatchLoader + QwenImageDiffsynthControlnet, Canny on the loaded picture) and
InstantX's inpainting ControlNet (ControlNetLoader + ControlNetInpaintingAliMamaApply). Each control changes the
picture the same workflow makes without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_control as tc
from tests.fixtures import tiny_qwen as tq
from tests.nodes import test_qwen_image as qwen_tests
from tests.nodes.test_control_patches import blockwise_state

# the Qwen-Image tests' tiny models and runtime, as this module's fixtures
base, models, runtime, small_references = (qwen_tests.base, qwen_tests.models, qwen_tests.runtime,
                                           qwen_tests.small_references)
small, template = qwen_tests.small, qwen_tests.template

CONTROL_TEMPLATES = ["image_qwen_image_controlnet_patch", "image_qwen_image_instantx_inpainting_controlnet"]


@pytest.fixture(scope="module")
def control_files(base: Path) -> Path:
    """The Qwen-Image fixtures' folder with the templates' control files added."""
    from diffusers import QwenImageControlNetModel

    patches = base / "models" / "model_patches"
    patches.mkdir(parents=True, exist_ok=True)
    tc.save(blockwise_state(dim=64, layers=2, seed=3), patches / "qwen_image_canny_diffsynth_controlnet.safetensors")
    inpaint = tc.randomize(QwenImageControlNetModel(
        patch_size=2, in_channels=64, out_channels=16, num_layers=2, attention_head_dim=tq.HEAD,
        num_attention_heads=2, joint_attention_dim=tq.TEXT_WIDTH, axes_dims_rope=(4, 14, 14),
        extra_condition_channels=4), 4)
    controlnets = base / "models" / "controlnet"
    controlnets.mkdir(parents=True, exist_ok=True)
    tc.save(inpaint.state_dict(), controlnets / "Qwen-Image-InstantX-ControlNet-Inpainting.safetensors")
    return base


def pictures(runtime: Runtime, outcome: Any) -> list[np.ndarray]:
    found = []
    for _, output in sorted(outcome.outputs.items()):  # by node id: the same order in both runs
        for item in output.get("images", []):
            path = runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])
            with Image.open(path) as png:
                found.append(np.asarray(png.convert("RGB"), dtype=np.float32))
    return found


def without_control(prompt: dict[str, Any]) -> dict[str, Any]:
    """The same workflow with the ControlNet or model patch taken out (its inputs passed through)."""
    out = {k: {**v, "inputs": dict(v["inputs"])} for k, v in prompt.items()}
    for key, node in list(out.items()):
        kind, inputs = node["class_type"], node["inputs"]
        if kind == "QwenImageDiffsynthControlnet":
            source = inputs["model"]
        elif kind in ("ControlNetApplyAdvanced", "ControlNetInpaintingAliMamaApply"):
            source = None
        else:
            continue
        for other in out.values():
            for name, value in other["inputs"].items():
                if isinstance(value, list) and len(value) == 2 and value[0] == key:
                    if source is not None:
                        other["inputs"][name] = source
                    else:  # positive / negative outputs 0 and 1 are the apply node's inputs of the same names
                        other["inputs"][name] = inputs["positive" if value[1] == 0 else "negative"]
        del out[key]
    return out


@pytest.mark.parametrize("name", CONTROL_TEMPLATES)
def test_control_templates_run_and_their_control_changes_the_picture(
        runtime: Runtime, control_files: Path, small_references: None, name: str) -> None:
    prompt = small(template(name, runtime))
    for node in prompt.values():  # pictures with a transparent half: the inpainting template repaints it
        if node["class_type"] == "LoadImage":
            rgba = np.random.default_rng(7).integers(0, 256, (32, 48, 4)).astype(np.uint8)
            rgba[:, :24, 3], rgba[:, 24:, 3] = 0, 255
            Image.fromarray(rgba, "RGBA").save(runtime.folders.input / node["inputs"]["image"])
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    steered = pictures(runtime, outcome)
    _, plain_outcome = runtime.run(without_control(prompt))
    assert plain_outcome.status_str == "success", plain_outcome.error
    plain = pictures(runtime, plain_outcome)
    assert steered and len(steered) == len(plain)
    assert any(a.shape == b.shape and np.abs(a - b).max() > 0 for a, b in zip(steered, plain, strict=True))
    assert torch.isfinite(torch.from_numpy(np.stack([s.mean() for s in steered]))).all()

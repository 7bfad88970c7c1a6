"""ComfyUI's official Z-Image Turbo Fun ControlNet Union template (ModelPatchLoader + QwenImageDiffsynthControlnet
on a Z-Image model, Canny on the loaded picture) runs end to end on tiny models under its real file names, and
its control changes the picture the same workflow makes without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inkgraph.engine.runtime import Runtime
from tests.fixtures import tiny_control as tc
from tests.nodes import test_lumina_workflows as lumina_tests
from tests.nodes.test_qwen_control_templates import pictures, without_control

base, runtime = lumina_tests.base, lumina_tests.runtime  # the Z-Image tests' tiny models, as fixtures here
small, template = lumina_tests.small, lumina_tests.template


@pytest.fixture(scope="module")
def fun_patch(base: Path) -> Path:
    """The Z-Image fixtures' folder with the template's Fun ControlNet added."""
    from diffusers import ZImageControlNetModel

    net = tc.randomize(ZImageControlNetModel(control_layers_places=[0], control_in_dim=16, dim=64,
                                             n_refiner_layers=1, n_heads=2, n_kv_heads=2), 6, scale=0.2)
    folder = base / "models" / "model_patches"
    folder.mkdir(parents=True, exist_ok=True)
    return tc.save(net.state_dict(), folder / "Z-Image-Turbo-Fun-Controlnet-Union.safetensors")


def test_the_fun_controlnet_template_runs_and_steers_the_picture(runtime: Runtime, fun_patch: Path) -> None:
    prompt = small(template("image_z_image_turbo_fun_union_controlnet", runtime))
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    _, plain = runtime.run(without_control(prompt))
    assert plain.status_str == "success", plain.error
    steered, reference = pictures(runtime, outcome), pictures(runtime, plain)
    assert steered and len(steered) == len(reference)
    assert any(a.shape == b.shape and np.abs(a - b).max() > 0 for a, b in zip(steered, reference, strict=True))
    assert all(torch.isfinite(torch.from_numpy(s)).all() for s in steered)

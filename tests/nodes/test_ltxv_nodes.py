"""ModelSamplingLTXV and LTXVPreprocess: /object_info against ComfyUI's declarations (written down by hand from
comfy_extras/nodes_lt.py), the shift against the hand-computed line through (1024, base) and (4096, max), and
the preprocessing against its definition (0 leaves the image alone; otherwise one H.264 frame of the image,
cut to even sides, close to it and not equal)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info

SHIFT = {"max_shift": ["FLOAT", {"default": 2.05, "min": 0.0, "max": 100.0, "step": 0.01}],
         "base_shift": ["FLOAT", {"default": 0.95, "min": 0.0, "max": 100.0, "step": 0.01}]}
REFERENCE: dict[str, tuple[str, str, dict[str, Any], dict[str, Any], list[tuple[str, str]]]] = {
    "ModelSamplingLTXV": ("model/patch/ltxv", "ModelSamplingLTXV", {"model": ["MODEL"], **SHIFT},
                          {"latent": ["LATENT"]}, [("MODEL", "MODEL")]),
    "LTXVPreprocess": ("video/preprocessors", "LTXV Preprocess", {
        "image": ["IMAGE"],
        "img_compression": ["INT", {"default": 35, "min": 0, "max": 100,
                                    "tooltip": "Amount of compression to apply on image."}]},
                       {}, [("IMAGE", "output_image")]),
}


@pytest.fixture(scope="module")
def infos() -> dict[str, dict[str, Any]]:
    return {spec_of(n).class_type: node_info(spec_of(n), None) for n in nodes.node_list()}


@pytest.mark.parametrize("class_type", list(REFERENCE))
def test_declaration_matches_comfyui(class_type: str, infos: dict[str, dict[str, Any]]) -> None:
    category, display, required, optional, outputs = REFERENCE[class_type]
    info = infos[class_type]
    assert (info["category"], info["display_name"]) == (category, display)
    assert info["input_order"]["required"] == list(required)
    assert info["input_order"].get("optional", []) == list(optional)
    for section, expected in (("required", required), ("optional", optional)):
        for name, config in expected.items():
            got = info["input"][section][name]
            if len(got) == 2 and len(config) == 2:
                got = [got[0], {k: v for k, v in got[1].items() if k in config[1]}]
            assert got[: len(config)] == config, (class_type, name)
    assert list(zip(info["output"], info["output_name"], strict=True)) == outputs


def test_model_sampling_ltxv_shifts_by_the_latents_tokens() -> None:
    import dataclasses

    from inkgraph.nodes.diffusion.model_sampling import ModelSamplingFlux
    from inkgraph.nodes.ltxv import ModelSamplingLTXV

    # the node only replaces the MODEL handle's sampling_override (a dataclass field)
    model = dataclasses.make_dataclass("M", [("sampling_override", Any, None)])()
    latent = {"samples": torch.zeros(1, 128, 3, 16, 24)}  # 3·16·24 = 1152 tokens
    patched = ModelSamplingLTXV(model, max_shift=2.05, base_shift=0.95, latent=latent)
    shift = 0.95 + (1152 - 1024) * (2.05 - 0.95) / 3072
    sampling = patched.sampling_override
    assert isinstance(sampling, ModelSamplingFlux) and sampling.shift == pytest.approx(shift)
    assert float(sampling.sigma(torch.tensor(0.5))) == pytest.approx(math.exp(shift) / (math.exp(shift) + 1))
    assert ModelSamplingLTXV(model).sampling_override.shift == pytest.approx(2.05)  # 4096 tokens: max_shift
    assert model.sampling_override is None  # the input model is left as it was


def test_ltxv_preprocess_compresses_one_frame() -> None:
    from inkgraph.nodes.ltxv import LTXVPreprocess

    torch.manual_seed(0)
    smooth = torch.linspace(0, 1, 33)[None, :, None].expand(31, 33, 3)
    image = (smooth + 0.05 * torch.rand(31, 33, 3)).clamp(0, 1)[None].repeat(2, 1, 1, 1)
    assert torch.equal(LTXVPreprocess(image, img_compression=0), image)
    out = LTXVPreprocess(image, img_compression=35)
    assert out.shape == (2, 30, 32, 3) and out.dtype == image.dtype
    difference = (out - image[:, :30, :32]).abs().mean()
    assert 0 < difference < 0.1

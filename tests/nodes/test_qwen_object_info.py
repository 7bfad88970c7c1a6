"""/object_info of Qwen-Image's nodes and CFGNorm against ComfyUI's declarations (comfy_extras/nodes_qwen.py,
nodes_cfg.py) written down here by hand: names, input order, widget options, outputs, categories."""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info

PROMPT = ["STRING", {"multiline": True, "dynamicPrompts": True}]
SIZE = ["INT", {"default": 640, "min": 16, "max": 16384, "step": 16}]
PRE_CFG_TIP = ("If true, rescale the combined noise BEFORE the sampler's CFG combine, without clamping (can amplify). "
               "Matches the norm-scaled CFG used by models like Lens. Default false keeps the original post-CFG "
               "x0-space attenuate-only behavior.")

# class_type: (category, required inputs, optional inputs, [(output type, output name)])
REFERENCE: dict[str, tuple[str, list[tuple[str, Any]], list[tuple[str, Any]], list[tuple[str, str]]]] = {
    "TextEncodeQwenImageEdit": ("advanced/conditioning", [("clip", ["CLIP"]), ("prompt", PROMPT)],
                                [("vae", ["VAE"]), ("image", ["IMAGE"])], [("CONDITIONING", "CONDITIONING")]),
    "TextEncodeQwenImageEditPlus": ("advanced/conditioning", [("clip", ["CLIP"]), ("prompt", PROMPT)],
                                    [("vae", ["VAE"]), ("image1", ["IMAGE"]), ("image2", ["IMAGE"]),
                                     ("image3", ["IMAGE"])], [("CONDITIONING", "CONDITIONING")]),
    "EmptyQwenImageLayeredLatentImage": ("latent/qwen", [
        ("width", SIZE), ("height", SIZE), ("layers", ["INT", {"default": 3, "min": 0, "max": 16384, "step": 1}]),
        ("batch_size", ["INT", {"default": 1, "min": 1, "max": 4096}])], [], [("LATENT", "LATENT")]),
    "CFGNorm": ("advanced/guidance", [
        ("model", ["MODEL"]), ("strength", ["FLOAT", {"default": 1.0, "min": 0.0, "max": 100.0, "step": 0.01}])],
        [("pre_cfg", ["BOOLEAN", {"default": False, "tooltip": PRE_CFG_TIP}])], [("MODEL", "patched_model")]),
}


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    return {spec_of(fn).class_type: spec_of(fn) for fn in nodes.node_list()}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(specs: dict[str, Any], class_type: str) -> None:
    category, required, optional, outputs = REFERENCE[class_type]
    info = node_info(specs[class_type], None)
    assert info["name"] == class_type and info["category"] == category
    assert info["input_order"]["required"] == [name for name, _ in required]
    assert info["input_order"].get("optional", []) == [name for name, _ in optional]
    for name, config in required:
        assert info["input"]["required"][name] == config, name
    for name, config in optional:
        assert info["input"]["optional"][name] == config, name
    assert info["output"] == [t for t, _ in outputs] and info["output_name"] == [n for _, n in outputs]
    assert info["output_node"] is False

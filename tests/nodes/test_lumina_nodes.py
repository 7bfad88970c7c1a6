"""CLIPTextEncodeLumina2 and RenormCFG: /object_info against ComfyUI's declarations
(``comfy_extras/nodes_lumina2.py``, written down here by hand) and RenormCFG's guidance against
hand-computed results."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.lumina2 import CLIPTextEncodeLumina2, RenormCFG, RenormCfg

TIP = ("Lumina2 provide two types of system prompts:Superior: You are an assistant designed to generate superior "
       "images with the superior degree of image-text alignment based on textual prompts or user prompts. Alignment: "
       "You are an assistant designed to generate high-quality images with the highest degree of image-text alignment "
       "based on textual prompts.")
REFERENCE: dict[str, tuple[Any, str, str, list[tuple[str, Any]], list[str]]] = {
    "CLIPTextEncodeLumina2": (CLIPTextEncodeLumina2, "conditioning", "CLIP Text Encode for Lumina2", [
        ("system_prompt", [["superior", "alignment"], {"tooltip": TIP}]),
        ("user_prompt", ["STRING", {"multiline": True, "dynamicPrompts": True, "tooltip": "The text to be encoded."}]),
        ("clip", ["CLIP", {"tooltip": "The CLIP model used for encoding the text."}])], ["CONDITIONING"]),
    "RenormCFG": (RenormCFG, "advanced/model", "RenormCFG", [
        ("model", ["MODEL"]), ("cfg_trunc", ["FLOAT", {"default": 100, "min": 0.0, "max": 100.0, "step": 0.01}]),
        ("renorm_cfg", ["FLOAT", {"default": 1.0, "min": 0.0, "max": 100.0, "step": 0.01}])], ["MODEL"]),
}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(class_type: str) -> None:
    fn, category, display, required, outputs = REFERENCE[class_type]
    info = node_info(spec_of(fn), None)
    assert (info["name"], info["category"], info["display_name"]) == (class_type, category, display)
    assert info["input_order"] == {"required": [name for name, _ in required]}
    assert info["input"]["required"] == dict(required)
    assert info["output"] == outputs == info["output_name"] and info["output_node"] is False
    if class_type == "CLIPTextEncodeLumina2":
        assert info["description"] == ("Encodes a system prompt and a user prompt using a CLIP model into an embedding "
                                       "that can be used to guide the diffusion model towards generating specific "
                                       "images.")
        assert info["output_tooltips"] == ["A conditioning containing the embedded text used to guide the diffusion "
                                           "model."]


def args(cond: torch.Tensor, uncond: torch.Tensor, scale: float, sigma: float) -> dict[str, Any]:
    x = torch.full_like(cond, 2.0)
    return {"cond_denoised": cond, "uncond_denoised": uncond, "cond_scale": scale, "timestep": torch.tensor([sigma]),
            "input": x}


def test_renorm_cfg_caps_the_guided_result_at_the_positive_norm() -> None:
    cond = torch.tensor([[[[3.0]], [[4.0]]]])  # |cond| = 5
    uncond = torch.zeros_like(cond)
    # scale 2: uncond + 2·(cond − uncond) = (6, 8), |.| = 10 ≥ 1·5: scaled back to (3, 4)
    out = RenormCfg(2, 100.0, 1.0)(args(cond, uncond, 2.0, 0.5))
    assert torch.allclose(2.0 - out, torch.tensor([[[[3.0]], [[4.0]]]]))
    # renorm 3: the cap is 15, (6, 8) passes as it is
    out = RenormCfg(2, 100.0, 3.0)(args(cond, uncond, 2.0, 0.5))
    assert torch.allclose(2.0 - out, torch.tensor([[[[6.0]], [[8.0]]]]))
    # renorm 0: no cap
    assert torch.allclose(2.0 - RenormCfg(2, 100.0, 0.0)(args(cond, uncond, 2.0, 0.5)), 2 * cond)


def test_renorm_cfg_uses_the_positive_alone_above_cfg_trunc_and_keeps_extra_channels() -> None:
    cond = torch.tensor([[[[1.0]], [[2.0]], [[7.0]]]])
    uncond = torch.tensor([[[[0.0]], [[1.0]], [[-5.0]]]])
    above = RenormCfg(2, 0.25, 0.0)(args(cond, uncond, 4.0, 0.5))
    assert torch.allclose(2.0 - above, cond)
    below = RenormCfg(2, 0.75, 0.0)(args(cond, uncond, 4.0, 0.5))
    # the first two channels guided (0 + 4·1, 1 + 4·1), the third the positive's
    assert torch.allclose(2.0 - below, torch.tensor([[[[4.0]], [[5.0]], [[7.0]]]]))

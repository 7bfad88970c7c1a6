"""/object_info of the loaders and nodes the Flux, Chroma and SD3 workflows use, against ComfyUI's declarations
(nodes.py, nodes_flux.py, nodes_sd3.py, nodes_edit_model.py, nodes_differential_diffusion.py, nodes_cond.py)
written down here by hand: names, input order, widget options, outputs, categories."""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info

TEXT = ["STRING", {"multiline": True, "dynamicPrompts": True}]
FILES: list[Any] = [[]]  # a file listing (empty: no models folder given)
CLIP_TYPES = ["stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "cosmos",
              "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image", "hunyuan_image", "flux2", "ovis",
              "longcat_image", "cogvideox", "lens", "pixeldit", "ideogram4", "boogu", "krea2", "joyimage", "mage",
              "minimax", "yue2", "flux3", "moss_image", "fibo2"]
DUAL_TYPES = ["sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image", "hunyuan_video_15", "kandinsky5",
              "kandinsky5_image", "ltxv", "newbie", "ace"]
DEVICE = [["default", "cpu"], {"default": "default", "advanced": True}]

# class_type: (category, display name or None, required inputs, optional inputs, [(output type, output name)])
REFERENCE: dict[str, tuple[str, str | None, list[tuple[str, Any]], list[tuple[str, Any]], list[tuple[str, str]]]] = {
    "UNETLoader": ("advanced/loaders", "Load Diffusion Model", [
        ("unet_name", FILES), ("weight_dtype", [["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]])], [],
        [("MODEL", "MODEL")]),
    "CLIPLoader": ("advanced/loaders", "Load CLIP", [("clip_name", FILES), ("type", [CLIP_TYPES])],
                   [("device", DEVICE)], [("CLIP", "CLIP")]),
    "DualCLIPLoader": ("advanced/loaders", None, [("clip_name1", FILES), ("clip_name2", FILES),
                                                  ("type", [DUAL_TYPES])], [("device", DEVICE)], [("CLIP", "CLIP")]),
    "TripleCLIPLoader": ("advanced/loaders", None, [("clip_name1", FILES), ("clip_name2", FILES),
                                                    ("clip_name3", FILES)], [], [("CLIP", "CLIP")]),
    "CLIPTextEncodeFlux": ("advanced/conditioning/flux", None, [
        ("clip", ["CLIP"]), ("clip_l", TEXT), ("t5xxl", TEXT),
        ("guidance", ["FLOAT", {"default": 3.5, "min": 0.0, "max": 100.0, "step": 0.1}])], [],
        [("CONDITIONING", "CONDITIONING")]),
    "CLIPTextEncodeSD3": ("advanced/conditioning", None, [
        ("clip", ["CLIP"]), ("clip_l", TEXT), ("clip_g", TEXT), ("t5xxl", TEXT),
        ("empty_padding", [["none", "empty_prompt"]])], [], [("CONDITIONING", "CONDITIONING")]),
    "EmptySD3LatentImage": ("latent/sd3", None, [
        ("width", ["INT", {"default": 1024, "min": 16, "max": 16384, "step": 16}]),
        ("height", ["INT", {"default": 1024, "min": 16, "max": 16384, "step": 16}]),
        ("batch_size", ["INT", {"default": 1, "min": 1, "max": 4096}])], [], [("LATENT", "LATENT")]),
    "FluxKontextImageScale": ("advanced/conditioning/flux", None, [("image", ["IMAGE"])], [], [("IMAGE", "IMAGE")]),
    "FluxKontextMultiReferenceLatentMethod": ("advanced/conditioning/flux", "Edit Model Reference Method", [
        ("conditioning", ["CONDITIONING"]),
        ("reference_latents_method", [["offset", "index", "uxo/uno", "index_timestep_zero"], {"advanced": True}])], [],
        [("CONDITIONING", "CONDITIONING")]),
    "ReferenceLatent": ("advanced/conditioning/edit_models", None, [("conditioning", ["CONDITIONING"])],
                        [("latent", ["LATENT"])], [("CONDITIONING", "CONDITIONING")]),
    "InpaintModelConditioning": ("conditioning/inpaint", None, [
        ("positive", ["CONDITIONING"]), ("negative", ["CONDITIONING"]), ("vae", ["VAE"]), ("pixels", ["IMAGE"]),
        ("mask", ["MASK"]), ("noise_mask", ["BOOLEAN", {"default": True, "tooltip": (
            "Add a noise mask to the latent so sampling will only happen within the mask. Might improve results or "
            "completely break things depending on the model.")}])], [],
        [("CONDITIONING", "positive"), ("CONDITIONING", "negative"), ("LATENT", "latent")]),
    "DifferentialDiffusion": ("_for_testing", "Differential Diffusion", [("model", ["MODEL"])], [
        ("strength", ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}])], [("MODEL", "MODEL")]),
    "T5TokenizerOptions": ("_for_testing/conditioning", None, [
        ("clip", ["CLIP"]), ("min_padding", ["INT", {"default": 0, "min": 0, "max": 10000, "step": 1}]),
        ("min_length", ["INT", {"default": 0, "min": 0, "max": 10000, "step": 1}])], [], [("CLIP", "CLIP")]),
}


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    return {spec_of(fn).class_type: spec_of(fn) for fn in nodes.node_list()}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(specs: dict[str, Any], class_type: str) -> None:
    category, display, required, optional, outputs = REFERENCE[class_type]
    info = node_info(specs[class_type], None)
    assert info["name"] == class_type and info["category"] == category
    assert info["display_name"] == (display or class_type)
    assert info["input_order"]["required"] == [name for name, _ in required]
    assert info["input_order"].get("optional", []) == [name for name, _ in optional]
    for name, config in required:
        assert info["input"]["required"][name] == config, name
    for name, config in optional:
        assert info["input"]["optional"][name] == config, name
    assert info["output"] == [t for t, _ in outputs] and info["output_name"] == [n for _, n in outputs]
    assert info["output_is_list"] == [False] * len(outputs) and info["output_node"] is False

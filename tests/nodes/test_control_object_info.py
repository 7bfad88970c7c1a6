"""/object_info of the nodes of issue 21 (ControlNets, model patches, CLIP vision and style models, inpainting,
model merging and saving), against shapes written down from ComfyUI's source: ``nodes.py`` (ControlNetLoader,
DiffControlNetLoader, ControlNetApply, ControlNetApplyAdvanced, CLIPVisionLoader, CLIPVisionEncode, StyleModelLoader,
StyleModelApply, unCLIPConditioning, unCLIPCheckpointLoader), ``comfy_extras/nodes_controlnet.py``
(SetUnionControlNetType, ControlNetInpaintingAliMamaApply), ``nodes_sd3.py`` (ControlNetApplySD3),
``nodes_model_patch.py``, ``nodes_ip2p.py``, ``nodes_video_model.py`` (ImageOnlyCheckpointLoader),
``nodes_model_merging.py`` and ``nodes_model_merging_model_specific.py``, with the categories ComfyUI 0.8 serves.
Names, display names, categories, input order, types, defaults, ranges, optional inputs and outputs."""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.runtime.packs import default_registry


def i(name: str, kind: Any, **options: Any) -> tuple[str, Any, dict[str, Any]]:
    return name, kind, options


STRENGTH = dict(default=1.0, min=0.0, max=10.0, step=0.01)
PERCENT = dict(min=0.0, max=1.0, step=0.001)
RATIO = dict(default=1.0, min=0.0, max=1.0, step=0.01)
MULTIPLIER = dict(default=1.0, min=-10.0, max=10.0, step=0.01)
PATCH_STRENGTH = dict(default=1.0, min=-10.0, max=10.0, step=0.01)
COND = "CONDITIONING"
APPLY = [i("positive", COND), i("negative", COND), i("control_net", "CONTROL_NET")]
RANGE = [i("strength", "FLOAT", **STRENGTH), i("start_percent", "FLOAT", default=0.0, **PERCENT),
         i("end_percent", "FLOAT", default=1.0, **PERCENT)]
UNION = ["auto", "openpose", "depth", "hed/pidi/scribble/ted", "canny/lineart/anime_lineart/mlsd", "normal", "segment",
         "tile", "repaint"]
MERGING, SPECIFIC = "advanced/model_merging", "advanced/model_merging/model_specific"
SAVE_HIDDEN = {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}

# class_type: (category, display name, required, optional, outputs (type, name), flags)
REFERENCE: dict[str, tuple[str, str, list[Any], list[Any], list[tuple[str, str]], dict[str, Any]]] = {
    "ControlNetLoader": ("loaders", "Load ControlNet Model", [i("control_net_name", list)], [],
                         [("CONTROL_NET", "CONTROL_NET")], {}),
    "DiffControlNetLoader": ("loaders", "Load ControlNet Model (diff)", [i("model", "MODEL"),
                                                                         i("control_net_name", list)], [],
                             [("CONTROL_NET", "CONTROL_NET")], {}),
    "ControlNetApply": ("conditioning/controlnet", "Apply ControlNet (DEPRECATED)", [
        i("conditioning", COND), i("control_net", "CONTROL_NET"), i("image", "IMAGE"),
        i("strength", "FLOAT", **STRENGTH)], [], [(COND, COND)], {"deprecated": True}),
    "ControlNetApplyAdvanced": ("conditioning/controlnet", "Apply ControlNet", [*APPLY, i("image", "IMAGE"), *RANGE],
                                [i("vae", "VAE")], [(COND, "positive"), (COND, "negative")], {}),
    "ControlNetApplySD3": ("conditioning/controlnet", "Apply Controlnet with VAE", [
        *APPLY, i("vae", "VAE"), i("image", "IMAGE"), *RANGE], [], [(COND, "positive"), (COND, "negative")],
        {"deprecated": True}),
    "SetUnionControlNetType": ("conditioning/controlnet", "SetUnionControlNetType", [
        i("control_net", "CONTROL_NET"), i("type", UNION)], [], [("CONTROL_NET", "CONTROL_NET")], {}),
    "ControlNetInpaintingAliMamaApply": ("conditioning/controlnet", "ControlNetInpaintingAliMamaApply", [
        *APPLY, i("vae", "VAE"), i("image", "IMAGE"), i("mask", "MASK"), *RANGE], [],
        [(COND, "positive"), (COND, "negative")], {}),
    "ModelPatchLoader": ("advanced/loaders", "ModelPatchLoader", [i("name", list)], [],
                         [("MODEL_PATCH", "MODEL_PATCH")], {"experimental": True}),
    "QwenImageDiffsynthControlnet": ("advanced/loaders/qwen", "QwenImageDiffsynthControlnet", [
        i("model", "MODEL"), i("model_patch", "MODEL_PATCH"), i("vae", "VAE"), i("image", "IMAGE"),
        i("strength", "FLOAT", **PATCH_STRENGTH)], [i("mask", "MASK")], [("MODEL", "MODEL")], {"experimental": True}),
    "ZImageFunControlnet": ("advanced/loaders/zimage", "ZImageFunControlnet", [
        i("model", "MODEL"), i("model_patch", "MODEL_PATCH"), i("vae", "VAE"),
        i("strength", "FLOAT", **PATCH_STRENGTH)],
        [i("image", "IMAGE"), i("inpaint_image", "IMAGE"), i("mask", "MASK")], [("MODEL", "MODEL")],
        {"experimental": True}),
    "CLIPVisionLoader": ("loaders", "Load CLIP Vision", [i("clip_name", list)], [], [("CLIP_VISION", "CLIP_VISION")],
                         {}),
    "CLIPVisionEncode": ("conditioning", "CLIP Vision Encode", [i("clip_vision", "CLIP_VISION"), i("image", "IMAGE"),
                                                                 i("crop", ["center", "none"])], [],
                         [("CLIP_VISION_OUTPUT", "CLIP_VISION_OUTPUT")], {}),
    "unCLIPConditioning": ("conditioning", "unCLIPConditioning", [
        i("conditioning", COND), i("clip_vision_output", "CLIP_VISION_OUTPUT"),
        i("strength", "FLOAT", default=1.0, min=-10.0, max=10.0, step=0.01),
        i("noise_augmentation", "FLOAT", default=0.0, min=0.0, max=1.0, step=0.01)], [], [(COND, COND)], {}),
    "StyleModelLoader": ("loaders", "Load Style Model", [i("style_model_name", list)], [],
                         [("STYLE_MODEL", "STYLE_MODEL")], {}),
    "StyleModelApply": ("conditioning/style_model", "Apply Style Model", [
        i("conditioning", COND), i("style_model", "STYLE_MODEL"), i("clip_vision_output", "CLIP_VISION_OUTPUT"),
        i("strength", "FLOAT", default=1.0, min=0.0, max=10.0, step=0.001),
        i("strength_type", ["multiply", "attn_bias"])], [], [(COND, COND)], {}),
    "unCLIPCheckpointLoader": ("loaders", "Load unCLIP Checkpoint", [i("ckpt_name", list)], [],
                               [("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE"), ("CLIP_VISION", "CLIP_VISION")],
                               {}),
    "ImageOnlyCheckpointLoader": ("loaders/video_models", "Image Only Checkpoint Loader (img2vid model)",
                                  [i("ckpt_name", list)], [],
                                  [("MODEL", "MODEL"), ("CLIP_VISION", "CLIP_VISION"), ("VAE", "VAE")], {}),
    "InstructPixToPixConditioning": ("conditioning/instructpix2pix", "InstructPixToPixConditioning", [
        i("positive", COND), i("negative", COND), i("vae", "VAE"), i("pixels", "IMAGE")], [],
        [(COND, "positive"), (COND, "negative"), ("LATENT", "latent")], {}),
    "ModelMergeSimple": (MERGING, "ModelMergeSimple", [i("model1", "MODEL"), i("model2", "MODEL"),
                                                       i("ratio", "FLOAT", **RATIO)], [], [("MODEL", "MODEL")], {}),
    "ModelMergeBlocks": (MERGING, "ModelMergeBlocks", [
        i("model1", "MODEL"), i("model2", "MODEL"), i("input", "FLOAT", **RATIO), i("middle", "FLOAT", **RATIO),
        i("out", "FLOAT", **RATIO)], [], [("MODEL", "MODEL")], {}),
    "ModelMergeSubtract": (MERGING, "ModelMergeSubtract", [i("model1", "MODEL"), i("model2", "MODEL"),
                                                           i("multiplier", "FLOAT", **MULTIPLIER)], [],
                           [("MODEL", "MODEL")], {}),
    "ModelMergeAdd": (MERGING, "ModelMergeAdd", [i("model1", "MODEL"), i("model2", "MODEL")], [], [("MODEL", "MODEL")],
                      {}),
    "CLIPMergeSimple": (MERGING, "CLIPMergeSimple", [i("clip1", "CLIP"), i("clip2", "CLIP"),
                                                     i("ratio", "FLOAT", **RATIO)], [], [("CLIP", "CLIP")], {}),
    "CLIPMergeSubtract": (MERGING, "CLIPMergeSubtract", [i("clip1", "CLIP"), i("clip2", "CLIP"),
                                                         i("multiplier", "FLOAT", **MULTIPLIER)], [],
                          [("CLIP", "CLIP")], {}),
    "CLIPMergeAdd": (MERGING, "CLIPMergeAdd", [i("clip1", "CLIP"), i("clip2", "CLIP")], [], [("CLIP", "CLIP")], {}),
    "ModelSave": (MERGING, "ModelSave", [i("model", "MODEL"), i("filename_prefix", "STRING",
                                                                 default="diffusion_models/ComfyUI")], [], [],
                  {"output_node": True, "hidden": SAVE_HIDDEN}),
    "CLIPSave": (MERGING, "CLIPSave", [i("clip", "CLIP"), i("filename_prefix", "STRING", default="clip/ComfyUI")], [],
                 [], {"output_node": True, "hidden": SAVE_HIDDEN}),
    "VAESave": (MERGING, "VAESave", [i("vae", "VAE"), i("filename_prefix", "STRING", default="vae/ComfyUI_vae")], [],
                [], {"output_node": True, "hidden": SAVE_HIDDEN}),
}


def blocks(*names: str) -> list[Any]:
    return [i("model1", "MODEL"), i("model2", "MODEL"), *(i(name, "FLOAT", **RATIO) for name in names)]


def unet(count: int, dot: str) -> list[str]:
    return ["time_embed.", "label_emb.", *(f"input_blocks.{n}{dot}" for n in range(count)),
            *(f"middle_block.{n}{dot}" for n in range(3)), *(f"output_blocks.{n}{dot}" for n in range(count)), "out."]


def mmdit(count: int) -> list[str]:
    return ["pos_embed.", "x_embedder.", "context_embedder.", "y_embedder.", "t_embedder.",
            *(f"joint_blocks.{n}." for n in range(count)), "final_layer."]


FLUX = ["img_in.", "time_in.", "guidance_in", "vector_in.", "txt_in.", *(f"double_blocks.{n}." for n in range(19)),
        *(f"single_blocks.{n}." for n in range(38)), "final_layer."]
for name, names in (("ModelMergeSD1", unet(12, ".")), ("ModelMergeSD2", unet(12, ".")),
                    ("ModelMergeSDXL", unet(9, "")), ("ModelMergeSD3_2B", mmdit(24)),
                    ("ModelMergeSD35_Large", mmdit(38)), ("ModelMergeFlux1", FLUX)):
    REFERENCE[name] = (SPECIFIC, name, blocks(*names), [], [("MODEL", "MODEL")], {})


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


def check(config: list[Any], kind: Any, options: dict[str, Any], where: str) -> None:
    if kind is list:  # a file listing: any choices
        assert isinstance(config[0], list), where
        return
    assert config[0] == kind, f"{where}: {config[0]!r}"
    given = config[1] if len(config) > 1 else {}
    assert given == options, f"{where}: {given} != {options}"


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(registry: NodeRegistry, class_type: str) -> None:
    category, display, required, optional, outputs, flags = REFERENCE[class_type]
    spec = registry.get(class_type)
    assert spec is not None, f"{class_type} is not registered"
    info = node_info(spec, None)
    assert (info["name"], info["category"], info["display_name"]) == (class_type, category, display)
    order: dict[str, list[str]] = {"required": [n for n, _, _ in required]}
    if optional:
        order["optional"] = [n for n, _, _ in optional]
    if "hidden" in flags:
        order["hidden"] = list(flags["hidden"])
        assert info["input"]["hidden"] == flags["hidden"]
    assert info["input_order"] == order
    for section, inputs in (("required", required), ("optional", optional)):
        for name, kind, options in inputs:
            check(info["input"][section][name], kind, options, f"{class_type}.{name}")
    assert info["output"] == [t for t, _ in outputs] and info["output_name"] == [n for _, n in outputs]
    assert info["output_node"] is flags.get("output_node", False)
    assert info.get("deprecated", False) is flags.get("deprecated", False)
    assert info.get("experimental", False) is flags.get("experimental", False)

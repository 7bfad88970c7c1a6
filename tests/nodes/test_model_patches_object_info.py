"""/object_info of the model-patch nodes (issue 19), against shapes written down from ComfyUI's source.

Reference: ComfyUI's ``comfy_extras/nodes_freelunch.py``, ``nodes_pag.py``, ``nodes_sag.py``,
``nodes_model_advanced.py`` (RescaleCFG), ``nodes_cfg.py``, ``nodes_apg.py``, ``nodes_tomesd.py``,
``nodes_hypertile.py``, ``nodes_model_downscale.py``, ``nodes_easycache.py`` and ``nodes_latent.py``
(LatentApplyOperationCFG), in their V3 schemas (categories as ComfyUI 0.8 serves them: ToMe, HyperTile and PAG
moved from ``_for_testing`` to ``model_patches/unet``). Names, categories, display names, input order, types,
defaults, ranges, tooltips, output names and the experimental flag; a renamed or re-ranged input fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.runtime.packs import default_registry


def i(name: str, kind: Any, **options: Any) -> tuple[str, Any, dict[str, Any]]:
    return name, kind, options


MODEL = i("model", "MODEL")
UNET = "model_patches/unet"
RESIZE = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"]


def scales(b1: float, b2: float) -> list[Any]:
    return [MODEL, *(i(name, "FLOAT", default=value, min=0.0, max=10.0, step=0.01)
                     for name, value in (("b1", b1), ("b2", b2), ("s1", 0.9), ("s2", 0.2)))]


def cache(name: str) -> list[Any]:
    return [i("model", "MODEL", tooltip=f"The model to add {name} to."),
            i("reuse_threshold", "FLOAT", default=0.2, min=0.0, max=3.0, step=0.01,
              tooltip="The threshold for reusing cached steps."),
            i("start_percent", "FLOAT", default=0.15, min=0.0, max=1.0, step=0.01,
              tooltip=f"The relative sampling step to begin use of {name}."),
            i("end_percent", "FLOAT", default=0.95, min=0.0, max=1.0, step=0.01,
              tooltip=f"The relative sampling step to end use of {name}."),
            i("verbose", "BOOLEAN", default=False, tooltip="Whether to log verbose information.")]


# class_type: (category, display name or None, inputs, output names, experimental)
REFERENCE: dict[str, tuple[str, str | None, list[Any], list[str], bool]] = {
    "FreeU": (UNET, None, scales(1.1, 1.2), ["MODEL"], False),
    "FreeU_V2": (UNET, None, scales(1.3, 1.4), ["MODEL"], False),
    "PerturbedAttentionGuidance": (UNET, None, [MODEL, i("scale", "FLOAT", default=3.0, min=0.0, max=100.0, step=0.01,
                                                         round=0.01)], ["MODEL"], False),
    "SelfAttentionGuidance": ("_for_testing", "Self-Attention Guidance", [
        MODEL, i("scale", "FLOAT", default=0.5, min=-2.0, max=5.0, step=0.01),
        i("blur_sigma", "FLOAT", default=2.0, min=0.0, max=10.0, step=0.1)], ["MODEL"], True),
    "RescaleCFG": ("advanced/model", None, [MODEL, i("multiplier", "FLOAT", default=0.7, min=0.0, max=1.0, step=0.01)],
                   ["MODEL"], False),
    "CFGZeroStar": ("advanced/guidance", None, [MODEL], ["patched_model"], False),
    "APG": ("sampling/custom_sampling", "Adaptive Projected Guidance", [
        MODEL,
        i("eta", "FLOAT", default=1.0, min=-10.0, max=10.0, step=0.01,
          tooltip="Controls the scale of the parallel guidance vector. Default CFG behavior at a setting of 1."),
        i("norm_threshold", "FLOAT", default=5.0, min=0.0, max=50.0, step=0.1,
          tooltip="Normalize guidance vector to this value, normalization disable at a setting of 0."),
        i("momentum", "FLOAT", default=0.0, min=-5.0, max=1.0, step=0.01,
          tooltip="Controls a running average of guidance during diffusion, disabled at a setting of 0.")],
        ["MODEL"], False),
    "TomePatchModel": (UNET, None, [MODEL, i("ratio", "FLOAT", default=0.3, min=0.0, max=1.0, step=0.01)], ["MODEL"],
                       False),
    "HyperTile": (UNET, None, [MODEL, i("tile_size", "INT", default=256, min=1, max=2048),
                               i("swap_size", "INT", default=2, min=1, max=128),
                               i("max_depth", "INT", default=0, min=0, max=10),
                               i("scale_depth", "BOOLEAN", default=False)], ["MODEL"], False),
    "PatchModelAddDownscale": (UNET, "PatchModelAddDownscale (Kohya Deep Shrink)", [
        MODEL, i("block_number", "INT", default=3, min=1, max=32, step=1),
        i("downscale_factor", "FLOAT", default=2.0, min=0.1, max=9.0, step=0.001),
        i("start_percent", "FLOAT", default=0.0, min=0.0, max=1.0, step=0.001),
        i("end_percent", "FLOAT", default=0.35, min=0.0, max=1.0, step=0.001),
        i("downscale_after_skip", "BOOLEAN", default=True), i("downscale_method", RESIZE),
        i("upscale_method", RESIZE)], ["MODEL"], False),
    "EasyCache": ("advanced/debug/model", "EasyCache", cache("EasyCache"), ["MODEL"], True),
    "LazyCache": ("advanced/debug/model", "LazyCache", cache("LazyCache"), ["MODEL"], True),
    "LatentApplyOperationCFG": ("latent/advanced/operations", None, [MODEL, i("operation", "LATENT_OPERATION")],
                                ["MODEL"], True),
}
OUTPUT_TOOLTIPS = {"EasyCache": ["The model with EasyCache."], "LazyCache": ["The model with LazyCache."]}


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(registry: NodeRegistry, class_type: str) -> None:
    category, display, inputs, names, experimental = REFERENCE[class_type]
    spec = registry.get(class_type)
    assert spec is not None, f"{class_type} is not registered"
    info = node_info(spec, None)
    assert info["name"] == class_type and info["category"] == category
    assert info["display_name"] == (display or class_type)
    assert info["input_order"] == {"required": [name for name, _, _ in inputs]}
    for name, kind, options in inputs:
        config = info["input"]["required"][name]
        assert config[0] == kind, f"{class_type}.{name}: {config[0]!r}"
        given = config[1] if len(config) > 1 else {}
        assert given == options, f"{class_type}.{name}: {given} != {options}"  # no option more, none less
    assert info["output"] == ["MODEL"] and info["output_name"] == names and info["output_is_list"] == [False]
    assert info["output_node"] is False
    assert info.get("experimental", False) is experimental
    assert info.get("output_tooltips") == OUTPUT_TOOLTIPS.get(class_type)

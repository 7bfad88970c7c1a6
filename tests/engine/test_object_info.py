"""object_info in exactly ComfyUI's V1 shape, keys and order included (reference §5.6, §10b)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from inkgraph.engine import Conditioning, Float, Int, Latent, Model, Output, node, spec_of
from inkgraph.engine.core.object_info import node_info, object_info
from inkgraph.engine.runtime.packs import default_registry

V1_KEYS = ["input", "input_order", "output", "output_is_list", "output_name", "name", "display_name",
           "description", "python_module", "category", "output_node"]


@node(display_name="KSampler", category="sampling",
      description="Uses the provided model, positive and negative conditioning to denoise the latent image.")
def KSamplerLike(
    model: Model,
    seed: Annotated[int, Int(min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True, tooltip="s")] = 0,
    steps: Annotated[int, Int(min=1, max=10000, tooltip="t")] = 20,
    cfg: Annotated[float, Float(min=0.0, max=100.0, step=0.1, round=0.01, tooltip="c")] = 8.0,
    *,
    sampler_name: Literal["euler", "euler_ancestral"],
    positive: Conditioning,
    negative: Conditioning,
    latent_image: Latent,
    denoise: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0,
) -> Annotated[dict[str, Any], Output(type="LATENT", tooltip="The denoised latent.")]:
    return latent_image


def test_ksampler_shape_matches_comfyui() -> None:
    info = node_info(spec_of(KSamplerLike), None)
    assert list(info) == V1_KEYS + ["output_tooltips"]
    required = info["input"]["required"]
    assert list(required) == ["model", "seed", "steps", "cfg", "sampler_name", "positive", "negative",
                              "latent_image", "denoise"]
    assert required["model"] == ["MODEL"]
    assert required["seed"] == ["INT", {"default": 0, "min": 0, "max": 18446744073709551615,
                                        "control_after_generate": True, "tooltip": "s"}]
    assert list(required["cfg"][1]) == ["default", "min", "max", "step", "round", "tooltip"]
    assert required["sampler_name"] == [["euler", "euler_ancestral"]]
    assert info["input_order"] == {"required": list(required)}
    assert info["output"] == ["LATENT"] and info["output_is_list"] == [False] and info["output_name"] == ["LATENT"]
    assert info["output_tooltips"] == ["The denoised latent."]
    assert info["python_module"] == "nodes" and info["output_node"] is False


def test_builtin_save_image_matches_reference(tmp_path: Path) -> None:
    registry = default_registry(entry_points=False)
    info = node_info(registry.get("SaveImage"), None)
    assert info == {
        "input": {"required": {"images": ["IMAGE", {"tooltip": "The images to save."}],
                               "filename_prefix": ["STRING", {"default": "ComfyUI", "tooltip": (
                                   "The prefix for the file to save. This may include formatting information "
                                   "such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values "
                                   "from nodes.")}]},
                  "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}},
        "input_order": {"required": ["images", "filename_prefix"], "hidden": ["prompt", "extra_pnginfo"]},
        "output": [], "output_is_list": [], "output_name": [], "name": "SaveImage", "display_name": "Save Image",
        "description": "Saves the input images to your ComfyUI output directory.", "python_module": "nodes",
        "category": "image", "output_node": True}


def test_builtin_shapes_match_comfyui_for_v1_nodes() -> None:
    registry = default_registry(entry_points=False)
    scale = node_info(registry.get("ImageScale"), None)
    assert scale["input"] == {"required": {
        "image": ["IMAGE"],
        "upscale_method": [["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]],
        "width": ["INT", {"default": 512, "min": 0, "max": 16384, "step": 1}],
        "height": ["INT", {"default": 512, "min": 0, "max": 16384, "step": 1}],
        "crop": [["disabled", "center"]]}}
    empty = node_info(registry.get("EmptyImage"), None)
    assert empty["input"]["required"]["color"] == ["INT", {"default": 0, "min": 0, "max": 16777215, "step": 1,
                                                           "display": "color"}]
    assert node_info(registry.get("ImageBatch"), None)["deprecated"] is True
    pad = node_info(registry.get("ImagePadForOutpaint"), None)
    assert pad["output"] == ["IMAGE", "MASK"] and pad["display_name"] == "Pad Image for Outpainting"


def test_load_image_lists_input_files(tmp_path: Path) -> None:
    from inkgraph.engine.core.paths import Folders

    folders = Folders.at(tmp_path).ensure()
    for name in ("b.png", "a.jpg", "notes.txt"):
        (folders.input / name).write_bytes(b"x")
    (folders.input / "sub").mkdir()
    registry = default_registry(entry_points=False)
    info = object_info(registry, folders)["LoadImage"]
    assert info["input"]["required"]["image"] == [["a.jpg", "b.png"], {"image_upload": True}]
    assert info["output"] == ["IMAGE", "MASK"]

"""/object_info of the core nodes added for issue 19, against shapes written down from ComfyUI's source.

Reference: ComfyUI 0.8.0 (``comfy_extras/nodes_latent.py``, ``nodes_images.py``, ``nodes_mask.py``,
``nodes_morphology.py``, ``nodes_canny.py``, ``nodes_string.py``, ``nodes_logic.py``, ``nodes_preview_any.py``,
``nodes_post_processing.py``, ``nodes_rebatch.py``, ``nodes_dataset.py``, ``nodes.py``) for names, categories,
inputs (section, order, type, default, range) and outputs; nodes newer than 0.8.0 (ComfyMathExpression,
ResolutionSelector, SaveImageAdvanced, SaveText, ImageCompare, CreateBoundingBoxes, JsonExtractString,
StringFormat) and inputs/outputs that newer ComfyUI added and the current templates use (ImageFromBatch's
negative index, MaskPreview's and PreviewAny's outputs, CustomCombo's INDEX, ResizeImageMaskNode's options)
from its current source. A renamed, reordered, retyped or re-ranged input fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.runtime.packs import default_registry

MAX = 16384
SEED_MAX = 0xFFFFFFFFFFFFFFFF
ROTATIONS = ["none", "90 degrees", "180 degrees", "270 degrees"]
FLIPS = ["x-axis: vertically", "y-axis: horizontally"]
SCALE = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]


def i(name: str, kind: Any, **options: Any) -> tuple[str, Any, dict[str, Any]]:
    """One input: its name, its type (a list = combo choices) and the options that must match."""
    return name, kind, options


LATENT, IMAGE, MASK = i("samples", "LATENT"), i("image", "IMAGE"), i("mask", "MASK")
XY8 = [i("x", "INT", default=0, min=0, max=MAX, step=8), i("y", "INT", default=0, min=0, max=MAX, step=8)]
XY1 = [i("x", "INT", default=0, min=0, max=MAX, step=1), i("y", "INT", default=0, min=0, max=MAX, step=1)]
BOOL3 = [i("case_insensitive", "BOOLEAN", default=True), i("multiline", "BOOLEAN", default=False),
         i("dotall", "BOOLEAN", default=False)]

# class_type: (category, display name or None (ComfyUI gives none: the class name shows), required, optional,
#              outputs, output names)
REFERENCE: dict[str, tuple[str, str | None, list[Any], list[Any], list[str], list[str]]] = {
    "LatentAdd": ("latent/advanced", None, [i("samples1", "LATENT"), i("samples2", "LATENT")], [], ["LATENT"],
                  ["LATENT"]),
    "LatentSubtract": ("latent/advanced", None, [i("samples1", "LATENT"), i("samples2", "LATENT")], [], ["LATENT"],
                       ["LATENT"]),
    "LatentMultiply": ("latent/advanced", None, [LATENT, i("multiplier", "FLOAT", default=1.0, min=-10.0, max=10.0,
                                                           step=0.01)], [], ["LATENT"], ["LATENT"]),
    "LatentInterpolate": ("latent/advanced", None, [i("samples1", "LATENT"), i("samples2", "LATENT"),
                                                    i("ratio", "FLOAT", default=1.0, min=0.0, max=1.0, step=0.01)],
                          [], ["LATENT"], ["LATENT"]),
    "LatentBlend": ("_for_testing", "Latent Blend", [i("samples1", "LATENT"), i("samples2", "LATENT"),
                                                     i("blend_factor", "FLOAT", default=0.5, min=0, max=1, step=0.01)],
                    [], ["LATENT"], ["LATENT"]),
    "LatentComposite": ("latent", "Latent Composite", [i("samples_to", "LATENT"), i("samples_from", "LATENT"), *XY8,
                                                       i("feather", "INT", default=0, min=0, max=MAX, step=8)],
                        [], ["LATENT"], ["LATENT"]),
    "LatentCompositeMasked": ("latent", None, [i("destination", "LATENT"), i("source", "LATENT"), *XY8,
                                               i("resize_source", "BOOLEAN", default=False)], [MASK], ["LATENT"],
                              ["LATENT"]),
    "LatentCrop": ("latent/transform", "Crop Latent", [LATENT, i("width", "INT", default=512, min=64, max=MAX, step=8),
                                                       i("height", "INT", default=512, min=64, max=MAX, step=8), *XY8],
                   [], ["LATENT"], ["LATENT"]),
    "LatentFlip": ("latent/transform", "Flip Latent", [LATENT, i("flip_method", FLIPS)], [], ["LATENT"], ["LATENT"]),
    "LatentRotate": ("latent/transform", "Rotate Latent", [LATENT, i("rotation", ROTATIONS)], [], ["LATENT"],
                     ["LATENT"]),
    "LatentBatch": ("latent/batch", None, [i("samples1", "LATENT"), i("samples2", "LATENT")], [], ["LATENT"],
                    ["LATENT"]),
    "LatentBatchSeedBehavior": ("latent/advanced", None, [LATENT, i("seed_behavior", ["random", "fixed"],
                                                                    default="fixed")], [], ["LATENT"], ["LATENT"]),
    "LatentConcat": ("latent/advanced", None, [i("samples1", "LATENT"), i("samples2", "LATENT"),
                                               i("dim", ["x", "-x", "y", "-y", "t", "-t"])], [], ["LATENT"],
                     ["LATENT"]),
    "LatentCut": ("latent/advanced", None, [LATENT, i("dim", ["x", "y", "t"]),
                                            i("index", "INT", default=0, min=-MAX, max=MAX, step=1),
                                            i("amount", "INT", default=1, min=1, max=MAX, step=1)], [], ["LATENT"],
                  ["LATENT"]),
    "LatentCutToBatch": ("latent/advanced", None, [LATENT, i("dim", ["t", "x", "y"]),
                                                   i("slice_size", "INT", default=1, min=1, max=MAX, step=1)], [],
                         ["LATENT"], ["LATENT"]),
    "LatentApplyOperation": ("latent/advanced/operations", None, [LATENT, i("operation", "LATENT_OPERATION")], [],
                             ["LATENT"], ["LATENT"]),
    "LatentOperationTonemapReinhard": ("latent/advanced/operations", None, [
        i("multiplier", "FLOAT", default=1.0, min=0.0, max=100.0, step=0.01)], [], ["LATENT_OPERATION"],
        ["LATENT_OPERATION"]),
    "LatentOperationSharpen": ("latent/advanced/operations", None, [
        i("sharpen_radius", "INT", default=9, min=1, max=31, step=1),
        i("sigma", "FLOAT", default=1.0, min=0.1, max=10.0, step=0.1),
        i("alpha", "FLOAT", default=0.1, min=0.0, max=5.0, step=0.01)], [], ["LATENT_OPERATION"],
        ["LATENT_OPERATION"]),
    "ImageCropV2": ("image/transform", "Crop Image", [IMAGE, i("crop_region", "BOUNDING_BOX", component="ImageCrop",
                                                                default={"x": 0, "y": 0, "width": 512, "height": 512})],
                    [], ["IMAGE"], ["IMAGE"]),
    "ImageFlip": ("image/transform", None, [IMAGE, i("flip_method", FLIPS)], [], ["IMAGE"], ["IMAGE"]),
    "ImageRotate": ("image/transform", None, [IMAGE, i("rotation", ROTATIONS)], [], ["IMAGE"], ["IMAGE"]),
    "ImageStitch": ("image/transform", "Image Stitch", [
        i("image1", "IMAGE"), i("direction", ["right", "down", "left", "up"], default="right"),
        i("match_image_size", "BOOLEAN", default=True), i("spacing_width", "INT", default=0, min=0, max=1024, step=2),
        i("spacing_color", ["white", "black", "red", "green", "blue"], default="white")], [i("image2", "IMAGE")],
        ["IMAGE"], ["IMAGE"]),
    "ImageScaleToMaxDimension": ("image/upscaling", None, [
        IMAGE, i("upscale_method", ["area", "lanczos", "bilinear", "nearest-exact", "bilinear", "bicubic"]),
        i("largest_size", "INT", default=512, min=0, max=MAX, step=1)], [], ["IMAGE"], ["IMAGE"]),
    "ImageScaleToTotalPixels": ("image/upscaling", None, [
        IMAGE, i("upscale_method", SCALE), i("megapixels", "FLOAT", default=1.0, min=0.01, max=16.0, step=0.01),
        i("resolution_steps", "INT", default=1, min=1, max=256)], [], ["IMAGE"], ["IMAGE"]),
    "ResizeAndPadImage": ("image/transform", None, [
        IMAGE, i("target_width", "INT", default=512, min=1, max=MAX, step=1),
        i("target_height", "INT", default=512, min=1, max=MAX, step=1), i("padding_color", ["white", "black"]),
        i("interpolation", ["area", "bicubic", "nearest-exact", "bilinear", "lanczos"])], [], ["IMAGE"], ["IMAGE"]),
    "GetImageSize": ("image", "Get Image Size", [IMAGE], [], ["INT", "INT", "INT"], ["width", "height", "batch_size"]),
    "ImageAddNoise": ("image", None, [IMAGE, i("seed", "INT", default=0, min=0, max=SEED_MAX,
                                               control_after_generate=True,
                                               tooltip="The random seed used for creating the noise."),
                                      i("strength", "FLOAT", default=0.5, min=0.0, max=1.0, step=0.01)], [],
                      ["IMAGE"], ["IMAGE"]),
    "ImageQuantize": ("image/postprocessing", None, [
        IMAGE, i("colors", "INT", default=256, min=1, max=256, step=1),
        i("dither", ["none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8", "bayer-16"])], [], ["IMAGE"],
        ["IMAGE"]),
    "ImageFromBatch": ("image/batch", None, [IMAGE, i("batch_index", "INT", default=0, min=-MAX, max=MAX),
                                             i("length", "INT", default=1, min=1, max=4096)], [], ["IMAGE"],
                       ["IMAGE"]),
    "RepeatImageBatch": ("image/batch", None, [IMAGE, i("amount", "INT", default=1, min=1, max=4096)], [],
                         ["IMAGE"], ["IMAGE"]),
    "RebatchImages": ("image/batch", "Rebatch Images", [i("images", "IMAGE"),
                                                        i("batch_size", "INT", default=1, min=1, max=4096)], [],
                      ["IMAGE"], ["IMAGE"]),
    "RebatchLatents": ("latent/batch", "Rebatch Latents", [i("latents", "LATENT"),
                                                           i("batch_size", "INT", default=1, min=1, max=4096)], [],
                       ["LATENT"], ["LATENT"]),
    "BatchImagesNode": ("image", "Batch Images", [i("images", "COMFY_AUTOGROW_V3")], [], ["IMAGE"], ["IMAGE"]),
    "BatchMasksNode": ("mask", "Batch Masks", [i("masks", "COMFY_AUTOGROW_V3")], [], ["MASK"], ["MASK"]),
    "BatchLatentsNode": ("latent", "Batch Latents", [i("latents", "COMFY_AUTOGROW_V3")], [], ["LATENT"], ["LATENT"]),
    "ResizeImageMaskNode": ("transform", "Resize Image/Mask", [
        i("input", "COMFY_MATCHTYPE_V3"), i("resize_type", "COMFY_DYNAMICCOMBO_V3"),
        i("scale_method", SCALE, default="area")], [], ["COMFY_MATCHTYPE_V3"], ["resized"]),
    "ImageGrid": ("dataset/image", "Image Grid", [
        i("images", "IMAGE"), i("columns", "INT", default=4, min=1, max=20),
        i("cell_width", "INT", default=256, min=32, max=2048), i("cell_height", "INT", default=256, min=32, max=2048),
        i("padding", "INT", default=4, min=0, max=50)], [], ["IMAGE"], ["images"]),
    "ImageDeduplication": ("dataset/image", "Image Deduplication", [
        i("images", "IMAGE"), i("similarity_threshold", "FLOAT", default=0.95, min=0.0, max=1.0)], [], ["IMAGE"],
        ["images"]),
    "Morphology": ("image/postprocessing", "ImageMorphology", [
        IMAGE, i("operation", ["erode", "dilate", "open", "close", "gradient", "bottom_hat", "top_hat"]),
        i("kernel_size", "INT", default=3, min=3, max=999, step=1)], [], ["IMAGE"], ["IMAGE"]),
    "ImageRGBToYUV": ("image/batch", None, [IMAGE], [], ["IMAGE", "IMAGE", "IMAGE"], ["Y", "U", "V"]),
    "ImageYUVToRGB": ("image/batch", None, [i("Y", "IMAGE"), i("U", "IMAGE"), i("V", "IMAGE")], [], ["IMAGE"],
                      ["IMAGE"]),
    "Canny": ("image/preprocessors", None, [IMAGE, i("low_threshold", "FLOAT", default=0.4, min=0.01, max=0.99,
                                                     step=0.01),
                                            i("high_threshold", "FLOAT", default=0.8, min=0.01, max=0.99, step=0.01)],
              [], ["IMAGE"], ["IMAGE"]),
    "CropMask": ("mask", None, [MASK, *XY1, i("width", "INT", default=512, min=1, max=MAX, step=1),
                                i("height", "INT", default=512, min=1, max=MAX, step=1)], [], ["MASK"], ["MASK"]),
    "MaskComposite": ("mask", None, [i("destination", "MASK"), i("source", "MASK"), *XY1,
                                     i("operation", ["multiply", "add", "subtract", "and", "or", "xor"])], [],
                      ["MASK"], ["MASK"]),
    "FeatherMask": ("mask", None, [MASK, *(i(side, "INT", default=0, min=0, max=MAX, step=1)
                                           for side in ("left", "top", "right", "bottom"))], [], ["MASK"], ["MASK"]),
    "GrowMask": ("mask", "Grow Mask", [MASK, i("expand", "INT", default=0, min=-MAX, max=MAX, step=1),
                                       i("tapered_corners", "BOOLEAN", default=True)], [], ["MASK"], ["MASK"]),
    "ThresholdMask": ("mask", None, [MASK, i("value", "FLOAT", default=0.5, min=0.0, max=1.0, step=0.01)], [],
                      ["MASK"], ["MASK"]),
    "ImageColorToMask": ("mask", None, [IMAGE, i("color", "INT", default=0, min=0, max=0xFFFFFF, step=1,
                                                 display="number")], [], ["MASK"], ["MASK"]),
    "LoadImageMask": ("mask", "Load Image (as Mask)", [i("image", [], image_upload=True),
                                                      i("channel", ["alpha", "red", "green", "blue"])], [], ["MASK"],
                      ["MASK"]),
    "MaskPreview": ("mask", "Preview Mask", [MASK], [], ["MASK"], ["mask"]),
    "StringConcatenate": ("utils/string", "Concatenate", [
        i("string_a", "STRING", multiline=True), i("string_b", "STRING", multiline=True),
        i("delimiter", "STRING", default="", multiline=False)], [], ["STRING"], ["STRING"]),
    "StringSubstring": ("utils/string", "Substring", [i("string", "STRING", multiline=True), i("start", "INT"),
                                                      i("end", "INT")], [], ["STRING"], ["STRING"]),
    "StringLength": ("utils/string", "Length", [i("string", "STRING", multiline=True)], [], ["INT"], ["length"]),
    "CaseConverter": ("utils/string", "Case Converter", [
        i("string", "STRING", multiline=True), i("mode", ["UPPERCASE", "lowercase", "Capitalize", "Title Case"])], [],
        ["STRING"], ["STRING"]),
    "StringTrim": ("utils/string", "Trim",
                   [i("string", "STRING", multiline=True), i("mode", ["Both", "Left", "Right"])],
                   [], ["STRING"], ["STRING"]),
    "StringReplace": ("utils/string", "Replace",
                      [i(n, "STRING", multiline=True) for n in ("string", "find", "replace")],
                      [], ["STRING"], ["STRING"]),
    "StringContains": ("utils/string", "Contains", [
        i("string", "STRING", multiline=True), i("substring", "STRING", multiline=True),
        i("case_sensitive", "BOOLEAN", default=True)], [], ["BOOLEAN"], ["contains"]),
    "StringCompare": ("utils/string", "Compare", [
        i("string_a", "STRING", multiline=True), i("string_b", "STRING", multiline=True),
        i("mode", ["Starts With", "Ends With", "Equal"]), i("case_sensitive", "BOOLEAN", default=True)], [],
        ["BOOLEAN"], ["BOOLEAN"]),
    "RegexMatch": ("utils/string", "Regex Match", [
        i("string", "STRING", multiline=True), i("regex_pattern", "STRING", multiline=True), *BOOL3], [],
        ["BOOLEAN"], ["matches"]),
    "RegexExtract": ("utils/string", "Regex Extract", [
        i("string", "STRING", multiline=True), i("regex_pattern", "STRING", multiline=True),
        i("mode", ["First Match", "All Matches", "First Group", "All Groups"]), *BOOL3,
        i("group_index", "INT", default=1, min=0, max=100)], [], ["STRING"], ["STRING"]),
    "RegexReplace": ("utils/string", "Regex Replace", [
        i("string", "STRING", multiline=True), i("regex_pattern", "STRING", multiline=True),
        i("replace", "STRING", multiline=True)], [*BOOL3, i("count", "INT", default=0, min=0, max=100)], ["STRING"],
        ["STRING"]),
    "JsonExtractString": ("text", "Extract Text from JSON", [i("json_string", "STRING", multiline=True),
                                                             i("key", "STRING", multiline=False)], [], ["STRING"],
                          ["STRING"]),
    "StringFormat": ("text", "Format Text", [i("values", "COMFY_AUTOGROW_V3"),
                                             i("f_string", "STRING", default="{a}", multiline=True)], [], ["STRING"],
                     ["STRING"]),
    "ComfySwitchNode": ("logic", "Switch", [i("switch", "BOOLEAN"), i("on_false", "COMFY_MATCHTYPE_V3", lazy=True),
                                            i("on_true", "COMFY_MATCHTYPE_V3", lazy=True)], [],
                        ["COMFY_MATCHTYPE_V3"], ["output"]),
    "CustomCombo": ("utils", "Custom Combo", [i("choice", [])], [], ["STRING", "INT"], ["STRING", "INDEX"]),
    "PreviewAny": ("utils", "Preview as Text", [i("source", "*")], [], ["STRING"], ["STRING"]),
    "ResolutionSelector": ("utilities", "Resolution Selector", [
        i("aspect_ratio", ["1:1 (Square)", "2:3 (Portrait Photo)", "3:2 (Photo)", "3:4 (Portrait Standard)",
                           "4:3 (Standard)", "9:16 (Portrait Widescreen)", "16:9 (Widescreen)", "21:9 (Ultrawide)"],
          default="1:1 (Square)"),
        i("megapixels", "FLOAT", default=1.0, min=0.1, max=16.0, step=0.1),
        i("multiple", "INT", default=8, min=8, max=128, step=4)], [], ["INT", "INT"], ["width", "height"]),
    "ComfyMathExpression": ("utilities", "Math Expression", [
        i("expression", "STRING", default="a + b", multiline=True), i("values", "COMFY_AUTOGROW_V3")], [],
        ["FLOAT", "INT", "BOOLEAN"], ["FLOAT", "INT", "BOOL"]),
    "SaveImageAdvanced": ("image", "Save Image (Advanced)", [
        i("images", "IMAGE", tooltip="The images to save."), i("filename_prefix", "STRING", default="ComfyUI"),
        i("format", "COMFY_DYNAMICCOMBO_V3", tooltip="The file format in which to save the image.")], [], ["IMAGE"],
        ["images"]),
    "SaveText": ("text", "Save Text", [i("text", "STRING", forceInput=True),
                                       i("filename_prefix", "STRING", default="ComfyUI"),
                                       i("format", ["txt", "csv", "md", "json"], default="txt")], [], ["STRING"],
                 ["text"]),
    "ImageCompare": ("image", "Compare Images", [i("compare_view", "IMAGECOMPARE", socketless=True)],
                     [i("image_a", "IMAGE"), i("image_b", "IMAGE")], [], []),
    "CreateBoundingBoxes": ("utilities", "Create Bounding Boxes", [
        i("width", "INT", default=1024, min=64, max=16384, step=16),
        i("height", "INT", default=1024, min=64, max=16384, step=16),
        i("editor_state", "BOUNDING_BOXES", default=[], socketless=False)],
        [i("background", "IMAGE"), i("bboxes", "BOUNDING_BOX,ARRAY,STRING"),
         i("last_incoming", "BOUNDING_BOXES", default=[], socketless=True)],
        ["IMAGE", "BOUNDING_BOX", "ARRAY"], ["preview", "bboxes", "elements"]),
}

# V3 flags ComfyUI sets on these nodes.
EXPERIMENTAL = {"LatentApplyOperation", "LatentOperationTonemapReinhard", "LatentOperationSharpen", "ImageGrid",
                "ImageDeduplication", "ComfySwitchNode", "CustomCombo", "ImageCompare", "CreateBoundingBoxes"}
DEPRECATED = {"LatentBatch"}
OUTPUT_NODES = {"MaskPreview", "PreviewAny", "SaveImageAdvanced", "SaveText", "ImageCompare", "CreateBoundingBoxes"}
LIST_OUTPUTS = {"RebatchImages", "RebatchLatents", "ImageDeduplication"}


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


def _check_input(class_type: str, config: list[Any], kind: Any, options: dict[str, Any]) -> None:
    where = f"{class_type}.{options.get('name', '')}"
    if isinstance(kind, list):
        assert isinstance(config[0], list), f"{where}: expected a combo, got {config[0]!r}"
        if kind:  # [] = choices come from files or the canvas
            assert config[0] == kind, where
    else:
        assert config[0] == kind, f"{where}: type {config[0]!r} != {kind!r}"
    given = config[1] if len(config) > 1 else {}
    for key, value in options.items():
        assert key in given and given[key] == value, f"{where}: option {key} is {given.get(key)!r}, expected {value!r}"


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(registry: NodeRegistry, class_type: str) -> None:
    category, display, required, optional, outputs, names = REFERENCE[class_type]
    spec = registry.get(class_type)
    assert spec is not None, f"{class_type} is not registered"
    info = node_info(spec, None)
    assert info["name"] == class_type and info["category"] == category
    assert info["display_name"] == (display or class_type)
    assert info["input_order"].get("required", []) == [n for n, _, _ in required]
    assert info["input_order"].get("optional", []) == [n for n, _, _ in optional]
    for section, entries in (("required", required), ("optional", optional)):
        for name, kind, options in entries:
            _check_input(class_type, info["input"][section][name], kind, options)
    assert info["output"] == outputs and info["output_name"] == names
    assert info["output_node"] is (class_type in OUTPUT_NODES)
    assert info.get("experimental", False) is (class_type in EXPERIMENTAL)
    assert info.get("deprecated", False) is (class_type in DEPRECATED)
    assert any(info["output_is_list"]) is (class_type in LIST_OUTPUTS)


def test_dynamic_declarations_match_comfyui(registry: NodeRegistry) -> None:
    def config(class_type: str, name: str) -> dict[str, Any]:
        spec = registry.get(class_type)
        assert spec is not None
        return node_info(spec, None)["input"]["required"][name][1]  # type: ignore[no-any-return]

    assert config("BatchImagesNode", "images")["template"] == {
        "input": {"required": {"image": ["IMAGE", {}]}}, "prefix": "image", "min": 2, "max": 50}
    assert config("ComfyMathExpression", "values")["template"] == {
        "input": {"required": {"value": ["FLOAT,INT,BOOLEAN", {}]}}, "names": list("abcdefghijklmnopqrstuvwxyz"),
        "min": 1}
    assert config("StringFormat", "values")["template"]["min"] == 0
    options = config("ResizeImageMaskNode", "resize_type")["options"]
    assert [o["key"] for o in options] == ["scale dimensions", "scale by multiplier", "scale longer dimension",
                                           "scale shorter dimension", "scale width", "scale height",
                                           "scale total pixels", "match size", "scale to multiple"]
    assert list(options[0]["inputs"]["required"]) == ["width", "height", "crop"]
    assert options[7]["inputs"]["required"]["match"][0] == "IMAGE,MASK"
    assert config("ResizeImageMaskNode", "input")["template"] == {"template_id": "input_type",
                                                                  "allowed_types": "IMAGE,MASK"}
    formats = config("SaveImageAdvanced", "format")["options"]
    assert [(o["key"], list(o["inputs"]["required"])) for o in formats] == [
        ("png", ["bit_depth", "input_color_space"]), ("exr", ["bit_depth", "input_color_space"])]
    assert formats[1]["inputs"]["required"]["input_color_space"][0] == ["sRGB", "HDR", "linear"]
    switch = registry.get("ComfySwitchNode")
    assert switch is not None and node_info(switch, None)["output_matchtypes"] == ["switch"]

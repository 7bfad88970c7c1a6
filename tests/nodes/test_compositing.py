"""PorterDuffImageComposite, SplitImageWithAlpha, JoinImageWithAlpha (ComfyUI's ``nodes_compositing.py``) and
ComfyNumberConvert (``nodes_number_convert.py``): /object_info against ComfyUI's declarations and behaviour
against hand-computed values."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.compositing import (
    MODES,
    JoinImageWithAlpha,
    PorterDuffImageComposite,
    SplitImageWithAlpha,
    porter_duff,
)
from inkgraph.nodes.number_convert import ComfyNumberConvert, convert

# class_type: (display_name, category, required inputs, outputs, output names)
REFERENCE: dict[str, tuple[str, str, dict[str, Any], list[str], list[str]]] = {
    "PorterDuffImageComposite": ("Porter-Duff Image Composite", "mask/compositing", {
        "source": ["IMAGE"], "source_alpha": ["MASK"], "destination": ["IMAGE"], "destination_alpha": ["MASK"],
        "mode": [["ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN",
                  "MULTIPLY", "OVERLAY", "SCREEN", "SRC", "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR"],
                 {"default": "DST"}]}, ["IMAGE", "MASK"], ["IMAGE", "MASK"]),
    "SplitImageWithAlpha": ("Split Image with Alpha", "mask/compositing", {"image": ["IMAGE"]},
                            ["IMAGE", "MASK"], ["IMAGE", "MASK"]),
    "JoinImageWithAlpha": ("Join Image with Alpha", "mask/compositing", {"image": ["IMAGE"], "alpha": ["MASK"]},
                           ["IMAGE"], ["IMAGE"]),
    "ComfyNumberConvert": ("Number Convert", "math", {"value": ["INT,FLOAT,STRING,BOOLEAN", {"display_name": "value"}]},
                           ["FLOAT", "INT"], ["FLOAT", "INT"]),
}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(class_type: str) -> None:
    display, category, required, outputs, names = REFERENCE[class_type]
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == class_type)
    info = node_info(spec, None)
    assert (info["display_name"], info["category"]) == (display, category)
    assert info["input"] == {"required": required}
    assert info["input_order"] == {"required": list(required)}
    assert info["output"] == outputs and info["output_name"] == names
    assert not info.get("experimental") and not info["output_node"]


# -- compositing -----------------------------------------------------------------------------------------------

def test_join_then_split_round_trips_and_alpha_is_one_minus_the_mask() -> None:
    image = torch.rand(2, 4, 6, 3)
    mask = torch.rand(2, 4, 6)
    rgba = JoinImageWithAlpha(image=image, alpha=mask)
    assert rgba.shape == (2, 4, 6, 4)
    assert torch.equal(rgba[..., :3], image) and torch.allclose(rgba[..., 3], 1 - mask)
    rgb, back = SplitImageWithAlpha(image=rgba)
    assert torch.equal(rgb, image) and torch.allclose(back, mask)


def test_join_resizes_the_mask_bilinearly_and_takes_the_shorter_batch() -> None:
    image = torch.zeros(3, 2, 4, 3)
    mask = torch.tensor([[[0.0, 1.0], [0.0, 1.0]]])  # one 2×2 mask: left column 0, right column 1
    out = JoinImageWithAlpha(image=image, alpha=mask)
    assert out.shape == (1, 2, 4, 4)
    # bilinear 2 → 4 columns (half-pixel centres): sources at x = −0.25, 0.25, 0.75, 1.25 → 0, 0.25, 0.75, 1
    assert torch.allclose(out[0, 0, :, 3], torch.tensor([1.0, 0.75, 0.25, 0.0]))


def test_split_of_an_rgb_image_is_an_all_zero_mask() -> None:
    rgb, mask = SplitImageWithAlpha(image=torch.rand(1, 3, 3, 3))
    assert rgb.shape == (1, 3, 3, 3) and torch.equal(mask, torch.zeros(1, 3, 3))


def test_source_over_by_hand() -> None:
    # source colour 1.0 at alpha 0.5 (mask 0.5) over destination colour 0.2 at alpha 1 (mask 0)
    src, src_mask = torch.full((1, 1, 3), 1.0), torch.full((1, 1, 1), 0.5)
    dst, dst_mask = torch.full((1, 1, 3), 0.2), torch.zeros(1, 1, 1)
    colour, mask = porter_duff(src, src_mask, dst, dst_mask, "SRC_OVER")
    # alpha 0.5 + 0.5·1 = 1; premultiplied colour 0.5 + 0.5·0.2 = 0.6
    assert torch.allclose(colour, torch.full((1, 1, 3), 0.6)) and torch.allclose(mask, torch.zeros(1, 1, 1))
    colour, mask = porter_duff(src, src_mask, dst, dst_mask, "SRC_IN")
    # alpha 0.5·1; colour (1·0.5)·1 / 0.5 = 1
    assert torch.allclose(colour, torch.ones(1, 1, 3)) and torch.allclose(mask, torch.full((1, 1, 1), 0.5))
    colour, mask = porter_duff(src, src_mask, dst, dst_mask, "XOR")
    # alpha (1−1)·0.5 + (1−0.5)·1 = 0.5; colour (0 + 0.5·0.2) / 0.5 = 0.2
    assert torch.allclose(colour, torch.full((1, 1, 3), 0.2)) and torch.allclose(mask, torch.full((1, 1, 1), 0.5))
    colour, mask = porter_duff(src, src_mask, dst, dst_mask, "CLEAR")
    assert torch.equal(colour, torch.zeros(1, 1, 3)) and torch.equal(mask, torch.ones(1, 1, 1))


def test_every_mode_runs_and_dst_returns_the_destination() -> None:
    torch.manual_seed(0)
    src, dst = torch.rand(2, 3, 3, 3), torch.rand(2, 3, 3, 3)
    src_mask, dst_mask = torch.rand(2, 3, 3), torch.zeros(2, 3, 3)
    for mode in MODES:
        image, mask = PorterDuffImageComposite(source=src, source_alpha=src_mask, destination=dst,
                                               destination_alpha=dst_mask, mode=mode)
        assert image.shape == (2, 3, 3, 3) and mask.shape == (2, 3, 3)
        assert image.min() >= 0 and image.max() <= 1
    image, mask = PorterDuffImageComposite(source=src, source_alpha=src_mask, destination=dst,
                                           destination_alpha=dst_mask, mode="DST")
    assert torch.allclose(image, dst) and torch.equal(mask, dst_mask)


def test_the_source_is_fitted_to_the_destination() -> None:
    src, src_mask = torch.full((1, 2, 2, 3), 0.5), torch.zeros(1, 2, 2)
    dst, dst_mask = torch.zeros(1, 4, 4, 3), torch.zeros(1, 1, 1)
    image, mask = PorterDuffImageComposite(source=src, source_alpha=src_mask, destination=dst,
                                           destination_alpha=dst_mask, mode="SRC")
    assert image.shape == (1, 4, 4, 3) and mask.shape == (1, 4, 4)
    assert torch.allclose(image, torch.full_like(image, 0.5), atol=1e-6)
    with pytest.raises(ValueError, match="channels"):
        PorterDuffImageComposite(source=torch.zeros(1, 2, 2, 4), source_alpha=src_mask, destination=dst,
                                 destination_alpha=dst_mask, mode="SRC")


# -- number convert --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "want"), [
    (True, (1.0, 1)), (False, (0.0, 0)), (7, (7.0, 7)), (-2.75, (-2.75, -2)), (" 42 ", (42.0, 42)),
    ("3.9", (3.9, 3)), ("-1e3", (-1000.0, -1000)), ("12345678901234567890", (1.2345678901234567e19,
                                                                           12345678901234567890)),
])
def test_number_convert_by_hand(value: Any, want: tuple[float, int]) -> None:
    out = ComfyNumberConvert(value=value)
    assert out == want and type(out[0]) is float and type(out[1]) is int


@pytest.mark.parametrize("value", ["", "  ", "abc", "inf", "nan", float("inf"), float("nan")])
def test_number_convert_refuses_what_comfyui_refuses(value: Any) -> None:
    with pytest.raises(ValueError, match="ComfyNumberConvert"):
        convert(value)
    with pytest.raises(TypeError, match="unsupported input type"):
        convert([1])


def test_the_official_datatype_conversion_template_runs(tmp_path: Any) -> None:
    import json
    from pathlib import Path

    from inkgraph.engine.core.formats import ui_to_api
    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.runtime import Runtime

    template = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
    runtime = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    prompt, _ = ui_to_api(json.loads((template / "basic_datatype_conversion.json").read_text()), runtime.registry.get)
    (convert_id,) = [k for k, n in prompt.items() if n["class_type"] == "ComfyNumberConvert"]
    source = prompt[prompt[convert_id]["inputs"]["value"][0]]["inputs"]["value"]  # the template's text: "1"
    result, outcome = runtime.run(prompt)
    assert result.ok and outcome is not None and outcome.status_str == "success", result.error_body()
    shown = {prompt[k]["inputs"]["source"][1]: v["text"] for k, v in outcome.outputs.items()
             if prompt[k]["inputs"].get("source", [None])[0] == convert_id}
    assert shown == {0: [repr(float(source))], 1: [str(int(source))]}

"""Not, And, Or and Pass or None (ComfyUI's ``nodes_logic.py``): /object_info against ComfyUI's declarations,
Python truthiness by hand, and the grown value sockets through the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.logic_gates import ComfyAndNode, ComfyNotNode, ComfyOrNode, ComfyPassOrNoneNode

GROWN = ["COMFY_AUTOGROW_V3", {"template": {"input": {"required": {"value": ["*", {}]}}, "prefix": "value", "min": 1,
                                            "max": 10}}]
PASS_TIP = ("Passes the input through, or a default value when input is None/not provided, or outputs None when "
            "both inputs are None/not provided.")
MATCH = {"template": {"template_id": "value", "allowed_types": "*"}}
REFERENCE: dict[str, tuple[str, dict[str, Any], list[str], list[str], str]] = {
    "ComfyNotNode": ("Not", {"required": {"value": ["*"]}}, ["BOOLEAN"], ["BOOLEAN"],
                     "Logical NOT operation. Returns true if the value is falsy. Uses Python's rules for truthiness."),
    "ComfyAndNode": ("And", {"required": {"values": GROWN}}, ["BOOLEAN"], ["BOOLEAN"],
                     "Logical AND operation. Returns true if all of the values are truthy. Uses Python's rules for "
                     "truthiness."),
    "ComfyOrNode": ("Or", {"required": {"values": GROWN}}, ["BOOLEAN"], ["BOOLEAN"],
                    "Logical OR operation. Returns true if any of the values are truthy. Uses Python's rules for "
                    "truthiness."),
    "ComfyPassOrNoneNode": ("Pass or None", {"required": {}, "optional": {
        "anything": ["COMFY_MATCHTYPE_V3", {**MATCH, "tooltip": PASS_TIP}],
        "default": ["COMFY_MATCHTYPE_V3", {**MATCH, "tooltip": "Fallback value to use when the input is None/not "
                                                             "provided."}]}},
        ["COMFY_MATCHTYPE_V3", "BOOLEAN"], ["COMFY_MATCHTYPE_V3", "BOOLEAN"], PASS_TIP),
}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(class_type: str) -> None:
    display, inputs, outputs, names, description = REFERENCE[class_type]
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == class_type)
    info = node_info(spec, None)
    assert (info["display_name"], info["category"], info["description"]) == (display, "utilities/logic", description)
    assert info["input"] == inputs and info["output"] == outputs and info["output_name"] == names
    assert not info.get("experimental")


def test_truthiness_by_hand() -> None:
    assert ComfyNotNode(value=0) is True and ComfyNotNode(value="x") is False and ComfyNotNode(value=[]) is True
    assert ComfyAndNode(values={"value0": 1, "value1": "a"}) is True
    assert ComfyAndNode(values={"value0": 1, "value1": ""}) is False
    assert ComfyOrNode(values={"value0": 0, "value1": None, "value2": [0]}) is True
    assert ComfyOrNode(values={"value0": 0.0}) is False


def test_pass_or_none() -> None:
    assert ComfyPassOrNoneNode(anything=0, default=5) == (0, False)  # 0 is given, not None
    assert ComfyPassOrNoneNode(anything=None, default=5) == (5, False)
    assert ComfyPassOrNoneNode() == (None, True)


def test_grown_sockets_reach_the_node_through_the_engine(tmp_path: Path) -> None:
    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.runtime import Runtime

    runtime = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    prompt = {"1": {"class_type": "PrimitiveInt", "inputs": {"value": 3}},
              "2": {"class_type": "PrimitiveInt", "inputs": {"value": 0}},
              "3": {"class_type": "ComfyAndNode", "inputs": {"values.value0": ["1", 0], "values.value1": ["2", 0]}},
              "4": {"class_type": "ComfyOrNode", "inputs": {"values.value0": ["1", 0], "values.value1": ["2", 0]}},
              "5": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}},
              "6": {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}}}
    result, outcome = runtime.run(prompt)
    assert result.ok and outcome is not None, result.error_body()
    assert outcome.outputs["5"]["text"] == ["False"] and outcome.outputs["6"]["text"] == ["True"]
